"""The embed stage against a real Elasticsearch: runs only when AKHBAR_ES_URL points at a
cluster (e.g. `docker compose up -d elasticsearch`, then AKHBAR_ES_URL=http://localhost:9200).
The cluster accepts the mapping update, the partial updates and the kNN searches, and the
similar articles of a seed come from other stories."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from akhbar.contract import Indexed
from akhbar.embedding import DIMS, FIELD, SIMILAR_FIELD, missing_query
from akhbar.es import ALIAS, make_client
from akhbar.settings import Settings
from akhbar.stages import InProcessPipeline, StageContext
from akhbar_embed.embedder import Embedder
from akhbar_embed.mapping import ensure_mapping
from akhbar_embed.stage import similar_body
from akhbar_index.bulk import BulkWriter
from akhbar_index.setup import setup_elasticsearch
from akhbar_ingest.formats import read_file

pytestmark = [
    pytest.mark.live,
    pytest.mark.skipif("AKHBAR_ES_URL" not in os.environ,
                       reason="AKHBAR_ES_URL is not set: no live Elasticsearch cluster to test"),
]


def test_seeds_get_vectors_and_similar_articles_on_the_cluster(seeds: list[Path]) -> None:
    s = Settings()
    es = make_client(s)
    setup_elasticsearch(es, s)
    ensure_mapping(es, s)  # idempotent on indices that have the fields already
    articles = [a for p in seeds for a in read_file(p).articles]
    docs = [a.document() for a in InProcessPipeline(StageContext(s)).run(articles)]
    written = BulkWriter(es, s).write(docs).indexed
    assert len(written) == len(docs)
    jobs = [Indexed(id=i, index=index) for i, index in written.items()]
    first = Embedder(es, s).run(jobs, refresh=True)
    assert sorted(first.done) == sorted(written) and not first.failed, first
    again = Embedder(es, s).run(jobs, refresh=True)  # now every seed has a neighbour
    assert sorted(again.done) == sorted(written) and not again.failed, again
    story = {d["id"]: d["story_id"] for d in docs}
    for doc_id in written:
        src = es.get(index=ALIAS, id=doc_id)["_source"]
        assert len(src[FIELD]) == DIMS
        assert all(story.get(o) != story[doc_id] for o in src[SIMILAR_FIELD])
        hits = es.search(index=ALIAS, body=similar_body(src[FIELD], doc_id, story[doc_id], 3,
                                                        ids_only=False))["hits"]["hits"]
        assert doc_id not in {h["_id"] for h in hits}
    es.indices.refresh(index=ALIAS)
    missing = es.count(index=ALIAS, query={"bool": {"filter": [
        {"ids": {"values": list(written)}}, missing_query()]}})
    assert missing["count"] == 0
