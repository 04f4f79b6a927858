"""The embed stage against ElasticsearchDouble (a stand-in at the HTTP boundary, no evidence
that Elasticsearch accepts the requests: test_embed_requests.py checks them against the spec):
the seed articles written by the index stage's own writer get their vectors and similar
articles of other stories; documents gone, refused or met by an outage; the catch-up on a real
Redis."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from redis import Redis

from akhbar.contract import Indexed, utcnow
from akhbar.embedding import DIMS, FAILED_FIELD, FIELD, SIMILAR_FIELD
from akhbar.es import make_client
from akhbar.queues import keyword_idle, make_app
from akhbar.settings import Settings
from akhbar.stages import InProcessPipeline, StageContext
from akhbar_embed.embedder import Embedder, embed_documents
from akhbar_embed.tasks import CATCH_UP_LOCK, STAGE, catch_up
from akhbar_index.bulk import BulkWriter
from akhbar_index.setup import setup_elasticsearch
from akhbar_ingest.formats import read_file
from akhbar_testkit.es_double import ElasticsearchDouble
from akhbar_testkit.harness import RedisServer


@pytest.fixture(scope="module")
def seed_docs(seeds: list[Path]) -> list[dict[str, Any]]:
    """The seed articles as the index stage writes them (three outlets carry one story)."""
    articles = [a for p in seeds for a in read_file(p).articles]
    return [a.document() for a in InProcessPipeline(StageContext(Settings())).run(articles)]


@pytest.fixture
def double() -> Iterator[ElasticsearchDouble]:
    with ElasticsearchDouble() as d:
        yield d


def indexed(double: ElasticsearchDouble, docs: list[dict[str, Any]]) -> list[Indexed]:
    s = Settings(es_url=double.url)
    setup_elasticsearch(make_client(s), s)
    written = BulkWriter(make_client(s), s).write(docs).indexed
    return [Indexed(id=i, index=index) for i, index in written.items()]


def embedder(double: ElasticsearchDouble, **settings: Any) -> Embedder:
    s = Settings(es_url=double.url, **settings)
    return Embedder(make_client(s), s)


def test_documents_get_vectors_and_similar_articles_of_other_stories(
        double: ElasticsearchDouble, seed_docs: list[dict[str, Any]]) -> None:
    jobs = indexed(double, seed_docs)
    assert len({d["story_id"] for d in seed_docs}) < len(seed_docs)  # a story of several
    first = embedder(double).run(jobs[:2])  # the first two: nothing else has a vector yet
    assert sorted(first.done) == sorted(j.id for j in jobs[:2]) and not first.failed
    outcome = embedder(double).run(jobs[2:])
    assert sorted(outcome.done) == sorted(j.id for j in jobs[2:])
    assert not (outcome.failed or outcome.gone or outcome.unavailable)
    story = {d["id"]: d["story_id"] for d in seed_docs}
    for job in jobs:
        doc = double.docs[job.id]
        assert len(doc[FIELD]) == DIMS and doc[FAILED_FIELD] is None
        assert job.id not in doc[SIMILAR_FIELD]
        assert all(story[other] != story[job.id] for other in doc[SIMILAR_FIELD])
    assert any(double.docs[j.id][SIMILAR_FIELD] for j in jobs[2:])
    # The rest of the document is as index wrote it: keyword search is untouched.
    assert all(double.docs[d["id"]]["body"] == d["body"] for d in seed_docs)


def test_a_deleted_document_is_gone_and_a_refused_one_failed_and_marked(
        double: ElasticsearchDouble, seed_docs: list[dict[str, Any]]) -> None:
    jobs = indexed(double, seed_docs[:2])
    elsewhere = Indexed(id="f" * 32, index="akhbar-articles-000001")
    double.reject_fields[FIELD] = "the vector was refused"
    e = embedder(double)
    outcome = e.run([*jobs, elsewhere])
    assert outcome.gone == [elsewhere.id]
    assert set(outcome.failed) == {j.id for j in jobs}
    assert "the vector was refused" in outcome.failed[jobs[0].id]
    e.mark_failed({j.id: j for j in jobs}, outcome.failed)
    assert all("the vector was refused" in double.docs[j.id][FAILED_FIELD] for j in jobs)
    assert all(FIELD not in double.docs[j.id] for j in jobs)  # still keyword-searchable
    count = make_client(Settings(es_url=double.url)).count(
        index="akhbar-articles", query={"bool": {"must_not": [{"exists": {"field": FIELD}}]}})
    assert count["count"] == 2


def test_a_document_without_text_fails_alone(double: ElasticsearchDouble,
                                             seed_docs: list[dict[str, Any]]) -> None:
    empty = {**seed_docs[0], "id": "e" * 32, "title": "", "body": ""}
    jobs = indexed(double, [empty, seed_docs[1]])
    outcome = embedder(double).run(jobs)
    assert outcome.failed == {empty["id"]: "ContractError: no title or body to embed"}
    assert outcome.done == [seed_docs[1]["id"]]


def test_elasticsearch_unavailable_leaves_the_documents_for_later(
        double: ElasticsearchDouble, seed_docs: list[dict[str, Any]]) -> None:
    jobs = indexed(double, seed_docs[:3])
    double.busy_ids = {jobs[0].id}
    outcome = embedder(double).run(jobs)
    assert outcome.unavailable == [jobs[0].id] and len(outcome.done) == 2
    double.stop_listening()
    outcome = embedder(double).run(jobs)
    assert sorted(outcome.unavailable) == sorted(j.id for j in jobs)
    assert not (outcome.failed or outcome.done) and "ConnectionError" in outcome.why


def test_process_embed_adds_vectors_in_process(seed_docs: list[dict[str, Any]]) -> None:
    docs = [dict(d) for d in seed_docs] + [{"id": "e" * 32, "title": "", "body": ""}]
    embed_documents(docs, Settings(embed_batch_size=2))
    assert all(len(d[FIELD]) == DIMS for d in docs[:-1])
    assert docs[-1][FAILED_FIELD].startswith("ContractError") and FIELD not in docs[-1]


def test_catch_up_queues_the_documents_without_a_vector_once(
        double: ElasticsearchDouble, seed_docs: list[dict[str, Any]], redis_db: Redis,
        redis_server: RedisServer) -> None:
    hour_ago = (utcnow() - timedelta(hours=1)).isoformat()
    jobs = indexed(double, [{**d, "ingested_at": hour_ago} for d in seed_docs])
    fresh = indexed(double, [{**seed_docs[0], "id": "e" * 32}])  # its embed job is under way
    embedder(double).run(jobs[:1])  # one has its vector already
    double.docs[jobs[1].id][FAILED_FIELD] = "given up"  # one was dead-lettered
    s = Settings(es_url=double.url, redis_url=redis_server.url, embed_catchup_batch=2)
    app = make_app("test", s)
    assert catch_up(app, s, redis_db) == 2  # a bounded batch
    queued = redis_server.queued(STAGE)
    assert len(queued) == 1 and all(j["catch_up"] for j in queued[0]["jobs"])
    left = {j.id for j in jobs[2:]}
    assert {j["id"] for j in queued[0]["jobs"]} <= left and fresh[0].id not in left
    assert catch_up(app, s, redis_db) == 0  # the queue is not empty
    redis_db.delete(STAGE)
    assert catch_up(app, s, redis_db) == 0  # the first catch-up is still in flight
    redis_db.delete(CATCH_UP_LOCK)
    for job in jobs:  # all done: nothing to queue, and the lock is free again
        double.docs[job.id].setdefault(FIELD, [0.0] * DIMS)
    assert catch_up(app, s, redis_db) == 0 and not redis_db.exists(CATCH_UP_LOCK)


def test_a_batch_yields_to_busy_keyword_stages(double: ElasticsearchDouble,
                                               seed_docs: list[dict[str, Any]]) -> None:
    """Once the keyword stages have work waiting, the rest of the batch is left without a
    vector, for the catch-up: the model call in hand is the most the keyword stages wait."""
    jobs = indexed(double, seed_docs)
    asked: list[bool] = []

    def go_on() -> bool:
        asked.append(True)
        return len(asked) == 1  # idle for the first model call only

    s = Settings(es_url=double.url, embed_batch_size=2)
    outcome = Embedder(make_client(s), s, go_on).run(jobs)
    assert len(outcome.done) == 2 and sorted(outcome.deferred) == sorted(
        j.id for j in jobs if j.id not in outcome.done)
    assert not (outcome.failed or outcome.unavailable)
    assert all(FIELD not in double.docs[i] for i in outcome.deferred)


def test_keyword_idle_reads_the_keyword_queues(redis_db: Redis) -> None:
    redis_db.rpush("embed", "a message")  # embed's own queue does not count
    assert keyword_idle(redis_db, Settings())
    redis_db.rpush("enrich", "a message")
    assert not keyword_idle(redis_db, Settings())
    assert keyword_idle(redis_db, Settings(embed_yield_messages=1))
