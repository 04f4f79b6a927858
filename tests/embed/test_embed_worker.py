"""The embed stage on a real Redis with real Celery workers (index and embed), Elasticsearch
replaced at its HTTP boundary by ElasticsearchDouble: keyword indexing never waits for embed,
the vectors come afterwards, the embed backlog is bounded without holding index back, a
document embed cannot take is dead-lettered and stays searchable, and documents without a
vector are caught up."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psutil
import pytest
from redis import Redis

from akhbar.contract import Article, Envelope, Source, article_id, utcnow
from akhbar.deadletter import list_dead
from akhbar.embedding import DIMS, FAILED_FIELD, FIELD
from akhbar.es import make_client
from akhbar.queues import (
    downstream_queues,
    full_queues,
    keyword_queues,
    make_app,
    send_jobs,
    skipped_key,
)
from akhbar.settings import Settings
from akhbar_embed.tasks import STAGE, catch_up
from akhbar_index.bulk import BulkWriter
from akhbar_index.setup import setup_elasticsearch
from akhbar_testkit.es_double import ElasticsearchDouble
from akhbar_testkit.harness import RedisServer, Workers, wait_until

ROUTE = ["index", "embed"]
TITLES = ["الحكومة تقر موازنة العام المقبل", "ارتفاع أسعار النفط في الأسواق العالمية",
          "افتتاح معرض الكتاب في الرياض", "فوز المنتخب في مباراة الأمس",
          "أمطار غزيرة تغمر شوارع المدينة", "البنك المركزي يبقي أسعار الفائدة دون تغيير"]


def article(n: int) -> Article:
    title = f"{TITLES[n % len(TITLES)]} {n}"
    return Article(id=article_id(url=f"https://example.com/{n}", title=title, body="نص"),
                   url=f"https://example.com/{n}", source=Source(name="test", kind="inbox"),
                   title=title, body=f"{title}. تفاصيل الخبر في السطر الأول.", language="ar",
                   story_id=f"story-{n % 4}", ingested_at=utcnow())


def jobs(n: int, start: int = 0) -> list[dict[str, Any]]:
    return [Envelope(route=ROUTE, article=article(i)).to_message()
            for i in range(start, start + n)]


@pytest.fixture
def es() -> Iterator[ElasticsearchDouble]:
    with ElasticsearchDouble() as double:
        yield double


@pytest.fixture
def workers(redis_db: Redis, redis_server: RedisServer, es: ElasticsearchDouble,
            tmp_path: Path) -> Iterator[Workers]:
    w = Workers({**os.environ, "AKHBAR_REDIS_URL": redis_server.url, "AKHBAR_ES_URL": es.url,
                 "AKHBAR_ROUTE": ",".join(ROUTE), "AKHBAR_BULK_FLUSH_S": "0.2",
                 "AKHBAR_EMBED_FLUSH_S": "0.2", "AKHBAR_EMBED_CATCHUP_S": "0.5"}, tmp_path)
    yield w
    w.stop()


def send(redis_server: RedisServer, stage: str, batch: list[dict[str, Any]]) -> None:
    s = Settings(redis_url=redis_server.url, route=ROUTE)
    send_jobs(make_app("akhbar_test", s), stage, batch, 5)


def with_vectors(es: ElasticsearchDouble) -> set[str]:
    return {i for i, d in list(es.docs.items()) if d.get(FIELD) is not None}


def test_embed_is_outside_backpressure() -> None:
    s = Settings(route=["normalize", "enrich", "index", "embed"])
    assert keyword_queues(s) == ["ingest", "normalize", "enrich", "index"]
    assert downstream_queues(s, ["enrich"]) == ["index"]
    assert downstream_queues(s, ["index"]) == [] and downstream_queues(s, ["embed"]) == []


def test_full_queues_ignore_the_embed_queue(redis_db: Redis) -> None:
    s = Settings(route=["index", "embed"], queue_max_messages=2)
    redis_db.rpush("embed", *["m"] * 5)
    assert full_queues(redis_db, s) == {}


def test_indexing_does_not_wait_for_embed_and_the_vectors_come_after(
        redis_server: RedisServer, es: ElasticsearchDouble, workers: Workers) -> None:
    batch = jobs(12)
    ids = {j["article"]["id"] for j in batch}
    workers.start_stage("index")  # no embed worker yet
    send(redis_server, "index", batch)
    wait_until(lambda: set(es.docs) == ids, 60, f"the documents indexed\n{workers.logs()}")
    assert with_vectors(es) == set()  # keyword-searchable, no vector yet
    wait_until(lambda: {j["id"] for j in all_queued(redis_server)} == ids, 30,
               "every document sent to the embed queue")
    assert {j["index"] for j in all_queued(redis_server)} == {"akhbar-articles-000001"}

    workers.start_stage("embed")
    wait_until(lambda: with_vectors(es) == ids, 120, f"the vectors written\n{workers.logs()}")
    assert all(len(es.docs[i][FIELD]) == DIMS for i in ids)
    assert not redis_server.client.llen("akhbar:dlq:embed")
    # The model ran at a lower CPU priority than the keyword stages (AKHBAR_EMBED_NICE).
    main = psutil.Process(workers.procs["embed"].pid)
    # niceness tops out at 19 (a run under `nice` starts higher)
    assert [p.nice() for p in main.children()] == [min(19, main.nice() + Settings().embed_nice)]


def all_queued(redis_server: RedisServer) -> list[dict[str, Any]]:
    return [j for m in redis_server.queued(STAGE) for j in m["jobs"]]


def test_a_full_embed_queue_does_not_hold_index_back(
        redis_server: RedisServer, es: ElasticsearchDouble, workers: Workers) -> None:
    r = redis_server.client
    first, later = jobs(5), jobs(10, start=5)
    workers.start_stage("index", env={"AKHBAR_EMBED_BACKLOG_MAX": "1",
                                      "AKHBAR_QUEUE_MAX_MESSAGES": "1"})
    send(redis_server, "index", first)  # fills the embed queue to its bound: one message
    wait_until(lambda: r.llen(STAGE) == 1, 60, f"the first batch sent on\n{workers.logs()}")
    send(redis_server, "index", later)
    ids = {j["article"]["id"] for j in first + later}
    wait_until(lambda: set(es.docs) == ids, 60, f"everything indexed\n{workers.logs()}")
    wait_until(lambda: int(r.get(skipped_key(STAGE)) or 0) == len(later), 30,
               "the documents not sent counted")
    assert r.llen(STAGE) == 1 and r.llen("index") == 0


def test_a_document_embed_cannot_take_is_dead_lettered_and_stays_searchable(
        redis_server: RedisServer, es: ElasticsearchDouble, workers: Workers) -> None:
    r = redis_server.client
    batch = jobs(4)
    refused = batch[1]["article"]["id"]
    es.reject_fields[FIELD] = "failed to parse field [embedding]"
    workers.start_stage("index")
    workers.start_stage("embed")
    send(redis_server, "index", batch)
    wait_until(lambda: r.llen("akhbar:dlq:embed") == len(batch), 120,
               f"the documents dead-lettered\n{workers.logs()}")
    dead = {d.payload["id"]: d for d in list_dead(r, "embed")}
    assert dead[refused].payload == {"id": refused, "index": "akhbar-articles-000001",
                                     "catch_up": False}
    assert "failed to parse field [embedding]" in dead[refused].message
    wait_until(lambda: all(es.docs[i].get(FAILED_FIELD) for i in dead), 30, "the markers")
    doc = es.docs[refused]
    assert doc["title"] == batch[1]["article"]["title"] and FIELD not in doc
    # Marked: the catch-up never takes them again, however old they get.
    workers.stop()
    for d in es.docs.values():
        d["ingested_at"] = "2026-01-01T00:00:00+00:00"
    s = Settings(es_url=es.url, redis_url=redis_server.url)
    app = make_app("akhbar_test", s)
    assert catch_up(app, s, r) == 0
    del es.docs[refused][FAILED_FIELD]
    assert catch_up(app, s, r) == 1


def test_documents_without_a_vector_are_caught_up(
        redis_server: RedisServer, es: ElasticsearchDouble, workers: Workers) -> None:
    """Written with no embed message (index skipped them, or embed was away): the embed
    worker finds them in the index while its queue is empty."""
    s = Settings(es_url=es.url)
    setup_elasticsearch(make_client(s), s)
    docs = [{**article(n).document(), "ingested_at": "2026-01-01T00:00:00+00:00"}
            for n in range(30)]
    BulkWriter(make_client(s), s).write(docs)
    workers.start_stage("embed", env={"AKHBAR_EMBED_CATCHUP_BATCH": "8"})
    wait_until(lambda: with_vectors(es) == {d["id"] for d in docs}, 180,
               f"every document caught up\n{workers.logs()}")
    assert "catch-up: 8 document(s) without a vector queued" in workers.logs()


@pytest.mark.parametrize("route", [["normalize", "embed", "index"], ["normalize", "embed"]])
def test_embed_anywhere_but_after_index_is_a_configuration_error(route: list[str]) -> None:
    with pytest.raises(ValueError, match="embed must come after index"):
        Settings(route=route).check()
