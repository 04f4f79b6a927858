"""The whole flow on real parts: a real redis-server, real `celery worker -Q <stage>` processes
and the inbox watcher; Elasticsearch is replaced at its HTTP boundary by ElasticsearchDouble."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from akhbar.contract import Envelope, article_id
from akhbar.deadletter import list_dead, replay
from akhbar.embedding import FIELD
from akhbar.queues import keyword_queues, make_app, send_jobs, send_message, stage_queues
from akhbar.settings import Settings
from akhbar_ingest.formats import read_file
from akhbar_testkit.data import SEEDS
from akhbar_testkit.es_double import ElasticsearchDouble
from akhbar_testkit.harness import RedisServer, Workers, wait_until

STAGES = stage_queues(Settings())  # ingest, then the route


class Pipeline:
    def __init__(self, inbox: Path, es: ElasticsearchDouble, redis: RedisServer,
                 workers: Workers) -> None:
        self.inbox, self.es, self.redis, self.workers = inbox, es, redis, workers
        self.settings = Settings(redis_url=redis.url, es_url=es.url, inbox=inbox)
        self.app = make_app("akhbar_test", self.settings)
        self.processed_after_seeds: list[str] = []  # inbox/processed once the seeds are indexed

    def drop(self, name: str, data: bytes) -> None:
        """Write-then-rename, as a careful producer does."""
        part = self.inbox / f"{name}.part"
        part.write_bytes(data)
        part.rename(self.inbox / name)

    def wait_docs(self, n: int, timeout: float = 120) -> dict[str, dict[str, Any]]:
        try:
            wait_until(lambda: len(self.es.docs) >= n, timeout, f"{n} indexed documents")
        except AssertionError:
            raise AssertionError(self.workers.logs()) from None
        return self.es.docs


@pytest.fixture(scope="module")
def pipeline(redis_server: RedisServer, tmp_path_factory: pytest.TempPathFactory,
             seeds: list[Path]) -> Iterator[Pipeline]:
    """The running pipeline, the seeds dropped into its inbox and indexed before any test of the
    module runs (whichever runs first, and alone), so that the seeds are the only input then."""
    redis_server.client.flushall()
    root = tmp_path_factory.mktemp("pipeline")
    inbox, logs = root / "inbox", root / "logs"
    logs.mkdir()
    with ElasticsearchDouble() as es:
        env = {**os.environ, "AKHBAR_REDIS_URL": redis_server.url, "AKHBAR_ES_URL": es.url,
               "AKHBAR_INBOX": str(inbox), "AKHBAR_INBOX_STABLE_SECONDS": "0.3",
               "AKHBAR_BULK_FLUSH_S": "0.3", "AKHBAR_RETRY_BACKOFF_S": "0.2"}
        workers = Workers(env, logs)
        try:
            workers.start_pipeline(STAGES, inbox)
            pipeline = Pipeline(inbox, es, redis_server, workers)
            for path in seeds:
                pipeline.drop(path.name, path.read_bytes())
            pipeline.wait_docs(len(seeds))
            pipeline.processed_after_seeds = sorted(
                p.name for p in (inbox / "processed").iterdir())
            yield pipeline
        finally:
            workers.stop()


def by_seed(docs: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Seed number → document, matched on the title (first line of each seed)."""
    titles = {p.read_text(encoding="utf-8").splitlines()[0].strip(): p.name[:3]
              for p in sorted(SEEDS.glob("*.txt"))}
    return {titles[d["title"]]: d for d in docs.values() if d["title"] in titles}


def test_seeds_flow_from_inbox_to_the_index(pipeline: Pipeline, seeds: list[Path]) -> None:
    docs = by_seed(pipeline.es.docs)
    assert sorted(docs) == ["000", "001", "002", "003", "004"]
    assert docs["003"]["published_at"].startswith("2015-11-02T23:25:00")
    assert docs["003"]["published_raw"] == "الإثنين 02/نوفمبر/2015 - 11:25 م"
    # Every indexed document has a time: its publication when known, else its arrival.
    assert {k: d["date_source"] for k, d in docs.items()} == {
        "000": "ingested", "001": "ingested", "002": "ingested", "003": "body",
        "004": "ingested"}
    assert all(d["@timestamp"] == d[{"body": "published_at", "ingested": "ingested_at"}[
        d["date_source"]]] for d in docs.values())
    assert any(c.startswith("In this photo made from video") for c in docs["000"]["captions"])
    assert any(c.startswith("Russian President Vladimir Putin") for c in docs["004"]["captions"])
    story = {k: d["story_id"] for k, d in docs.items()}
    assert story["001"] == story["002"] == story["004"]
    assert len({story["000"], story["001"], story["003"]}) == 3
    for d in docs.values():
        assert [s["stage"] for s in d["pipeline"]] == keyword_queues(Settings())
        assert d["language"] == "ar" and "\u0637\u0628\u0627\u0639\u0629" not in d["body"]
    # What reached Elasticsearch went in _bulk requests, never one request per document.
    actions = [line for body in pipeline.es.bulk_bodies for line in body[::2]]
    assert {a["index"]["_id"] for a in actions if "index" in a} == set(pipeline.es.docs)
    assert ("PUT", "/_index_template/akhbar-articles") in pipeline.es.requests
    assert pipeline.processed_after_seeds == sorted(p.name for p in seeds)
    # Then the embed stage, after index on the route, adds each document's vector.
    wait_until(lambda: all(d.get(FIELD) for d in list(pipeline.es.docs.values())), 120,
               f"every document's vector\n{pipeline.workers.logs()}")


def test_same_content_dropped_twice_is_one_document(pipeline: Pipeline,
                                                    seeds: list[Path]) -> None:
    docs = by_seed(pipeline.wait_docs(len(seeds)))
    doc_id, before = docs["003"]["id"], len(pipeline.es.docs)
    pipeline.drop("again-" + seeds[3].name, seeds[3].read_bytes())
    wait_until(lambda: pipeline.es.actions_for(doc_id) >= 2, 60, "the copy to be indexed")
    assert len(pipeline.es.docs) == before


def test_bad_file_goes_to_failed_with_reason(pipeline: Pipeline) -> None:
    """A program named .txt is refused by ingest: filed as failed, never sent on."""
    pipeline.drop("program.txt", Path(sys.executable).resolve().read_bytes()[:65536])
    sidecar = pipeline.inbox / "failed" / "program.txt.error.json"
    wait_until(sidecar.exists, 60, "the failed sidecar")
    assert "not valid text in any supported encoding" in json.loads(sidecar.read_text())["error"]
    assert (pipeline.inbox / "failed" / "program.txt").exists()
    assert not (pipeline.inbox / "processed" / "program.txt").exists()


def test_poison_messages_and_jobs_are_dead_lettered_alone(pipeline: Pipeline,
                                                          seeds: list[Path]) -> None:
    r = pipeline.redis.client
    poison = {"schema_version": 1, "article": "not a stage message"}
    send_message(pipeline.app, "normalize", poison, "poison")
    wait_until(lambda: r.llen("akhbar:dlq:normalize"), 60, "the poison message")
    entry = list_dead(r, "normalize")[0]
    assert entry.error_class == "ContractError" and "'jobs'" in entry.message
    assert entry.payload == poison

    # One bad job among good ones: it alone is dead-lettered, the good one is indexed.
    [good] = read_file(seeds[4]).articles
    bad = {"schema_version": 1, "route": ["normalize"], "article": {"id": "x"}}
    send_jobs(pipeline.app, "normalize", [bad, Envelope(
        route=pipeline.settings.route, article=good).to_message()], 25)
    wait_until(lambda: r.llen("akhbar:dlq:normalize") == 2, 60, "the bad job")
    assert list_dead(r, "normalize")[1].payload == bad
    wait_until(lambda: pipeline.es.actions_for(by_seed(pipeline.es.docs)["004"]["id"]) >= 2,
               60, "the good job of the same message")


def test_rejected_document_is_dead_lettered_then_replayed(pipeline: Pipeline,
                                                          seeds: list[Path]) -> None:
    r, url = pipeline.redis.client, "https://example.com/refused"
    doc_id = article_id(url=url, title="", body="")
    pipeline.es.reject_ids[doc_id] = "failed to parse field [published_at]"
    body = seeds[2].read_text(encoding="utf-8")
    pipeline.drop("refused.json", json.dumps(
        {"title": "خبر مرفوض", "body": body, "url": url, "source": "test"}).encode())
    wait_until(lambda: r.llen("akhbar:dlq:index"), 60, "the rejection to be dead-lettered")
    entry = list_dead(r, "index")[0]
    assert "failed to parse field [published_at]" in entry.message
    assert entry.payload["article"]["url"] == url and doc_id not in pipeline.es.docs
    assert (entry.input, entry.title) == (url, "خبر مرفوض")

    del pipeline.es.reject_ids[doc_id]  # the cause is fixed: replay
    assert replay(r, "index", lambda st, job: send_jobs(pipeline.app, st, [job], 1)) == 1
    wait_until(lambda: doc_id in pipeline.es.docs, 60, "the replayed document")
    assert r.llen("akhbar:dlq:index") == 0
    assert pipeline.es.docs[doc_id]["title"] == "خبر مرفوض"


class _Payload:
    """Unpickling this runs a shell command: what a pickle-accepting worker would execute."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[object, tuple[str]]:
        return os.system, (f"touch {self.marker}",)


def test_pickled_messages_are_refused(pipeline: Pipeline, seeds: list[Path],
                                      tmp_path: Path) -> None:
    marker = tmp_path / "executed"
    pipeline.app.send_task("akhbar.normalize", args=[_Payload(marker)], queue="normalize",
                           serializer="pickle")
    # A valid job sent after it still flows, so the refused one was consumed, not stuck.
    url = "https://example.com/after-pickle"
    pipeline.drop("after-pickle.json", json.dumps(
        {"title": "بعد الرسالة المرفوضة", "body": seeds[0].read_text(encoding="utf-8"),
         "url": url}).encode())
    wait_until(lambda: any(d["url"] == url for d in pipeline.es.docs.values()), 60,
               "the job sent after the pickled one")
    assert not marker.exists()
    assert "untrusted content of type pickle" in (
        pipeline.workers.logdir / "normalize.log").read_text()
