"""Elasticsearch unavailable: the index worker pauses instead of spending the jobs' retries.

The pause itself (akhbar_index.outage.Pause) with a clock and a probe of the test's own, then a
real index worker on a real Redis against ElasticsearchDouble (the HTTP boundary) refusing
connections from the start, for longer than the jobs' whole retry budget and with a delivery cap
of 2: nothing is dead-lettered for the outage, nothing is lost, everything is indexed once it
ends, and only the document Elasticsearch refuses for itself is dead-lettered, with the reason
and the node."""

from __future__ import annotations

import base64
import json
import logging
import time
from pathlib import Path

import pytest

from akhbar.deadletter import list_dead
from akhbar.queues import make_app, send_jobs
from akhbar.settings import Settings
from akhbar.upstream.kombu_redis import fetch_key
from akhbar_index.outage import Pause, probe, wait_after
from akhbar_testkit.es_double import ElasticsearchDouble
from akhbar_testkit.harness import RedisServer, wait_until
from akhbar_testkit.index_stage import index_job, index_workers

S = Settings(es_url="http://writer:secret@es.example:9200", es_backoff_s=1.0,
             es_backoff_max_s=8.0)


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def paused_pause(answers: list[str | None]) -> tuple[Pause, Clock, list[str | None]]:
    """A Pause whose probe gives `answers` in turn (None: Elasticsearch answered)."""
    clock, probes = Clock(), list(answers)
    pause = Pause(S, lambda: probes.pop(0), clock)
    return pause, clock, probes


def test_backoff_doubles_up_to_the_cap() -> None:
    assert [wait_after(n, S) for n in range(1, 7)] == [1.0, 2.0, 4.0, 8.0, 8.0, 8.0]


def test_the_pause_probes_with_capped_backoff_and_logs_once_each_way(
        caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="akhbar_index.outage")
    pause, clock, probes = paused_pause(["refused", "refused", "refused", "refused", None])
    assert pause.open()
    pause.report("ConnectionError: refused")
    waits = []
    while not pause.open():
        waits.append(pause.reopen_at - clock.now)  # type: ignore[operator]
        clock.now = pause.reopen_at  # type: ignore[assignment]
    assert waits == [1.0, 2.0, 4.0, 8.0, 8.0] and probes == []
    pausing = [r.getMessage() for r in caplog.records if "pausing" in r.getMessage()]
    assert len(pausing) == 1 and "ConnectionError: refused" in pausing[0]
    # The password redacted as everywhere (akhbar.settings.redact_url).
    assert "Elasticsearch at http://writer:***@es.example:9200 is unavailable" in pausing[0]
    assert "secret" not in caplog.text
    assert sum("resuming" in r.getMessage() for r in caplog.records) == 1


def test_no_probe_before_the_wait_is_over() -> None:
    pause, clock, probes = paused_pause([None])
    pause.report("503")
    clock.now += 0.5
    assert not pause.open() and probes == [None]  # not asked yet
    clock.now += 0.5
    assert pause.open() and probes == []


def test_a_batch_failing_again_after_a_resume_waits_longer_until_one_is_taken() -> None:
    """Under 429s the probe (cluster health) answers while _bulk does not: each failure right
    after a resume doubles the wait; a batch taken starts again from the first wait."""
    pause, clock, _ = paused_pause([None, None, None])
    for expected in (1.0, 2.0):
        pause.report("429")
        assert pause.reopen_at == clock.now + expected
        clock.now = pause.reopen_at
        assert pause.open()
    pause.report(None)  # a batch taken
    pause.report("429")
    assert pause.reopen_at == clock.now + 1.0


def test_batches_already_under_way_do_not_lengthen_the_pause() -> None:
    pause, clock, _ = paused_pause([])
    pause.report("refused")
    pause.report("refused")
    pause.report(None)
    assert pause.reopen_at == clock.now + 1.0 and pause.failures == 1


def test_the_probe_asks_for_cluster_health() -> None:
    with ElasticsearchDouble() as es:
        s = Settings(es_url=es.url)
        assert probe(s) is None and es.requests == [("GET", "/_cluster/health")]
        es.answers[("GET", "/_cluster/health")] = [(503, {"error": "no master"})]
        assert "503 Service Unavailable" in (probe(s) or "")
        es.stop_listening()
        assert "Connection refused" in (probe(s) or "")


# --- a real index worker through an outage -------------------------------------------------

def jobs_held(redis_server: RedisServer) -> set[str]:
    """Ids of every job in Redis: waiting in the index queue, being fetched or held
    unacknowledged, read in one snapshot (a message moves between them quickly)."""
    r = redis_server.client
    with r.pipeline(transaction=True) as pipe:
        pipe.lrange("index", 0, -1).lrange(fetch_key("index@test", "index"), 0, -1)
        pipe.hvals("unacked")
        waiting, fetching, unacked = pipe.execute()
    messages = [json.loads(raw) for raw in [*waiting, *fetching]]
    messages += [json.loads(raw)[0] for raw in unacked]  # [message, exchange, routing key]
    return {job["job_id"] for m in messages
            for job in json.loads(base64.b64decode(m["body"]))[0][0]["jobs"]}


def test_an_outage_longer_than_every_retry_loses_and_dead_letters_nothing(
        redis_server: RedisServer, tmp_path: Path) -> None:
    r = redis_server.client
    r.flushall()
    jobs = [index_job(f"https://example.com/outage/{n}") for n in range(30)]
    refused = jobs[7]["article"]["id"]  # a document Elasticsearch rejects for itself
    send_jobs(make_app("akhbar_test", Settings(redis_url=redis_server.url, route=["index"])),
              "index", jobs, 5)
    with ElasticsearchDouble() as es:
        es.stop_listening()  # absent from the start: the first setup fails too
        es.reject_ids[refused] = "failed to parse field [published_at]"
        workers = index_workers(redis_server, es.url, tmp_path)
        log = tmp_path / "index.log"
        text = lambda: log.read_text(errors="replace")  # noqa: E731
        try:
            # A retry budget of 0.3 s and a delivery cap of 2: spending either shows at once.
            workers.start_stage("index", env={
                "AKHBAR_RETRY_MAX": "1", "AKHBAR_RETRY_BACKOFF_S": "0.1",
                "AKHBAR_RETRY_BACKOFF_MAX_S": "0.2", "AKHBAR_MAX_DELIVERIES": "2",
                "AKHBAR_ES_BACKOFF_S": "0.2", "AKHBAR_ES_BACKOFF_MAX_S": "1",
                "AKHBAR_ES_REQUEST_TIMEOUT_S": "2"})
            wait_until(lambda: "pausing" in text(), 60, f"the worker to pause\n{workers.logs()}")
            sent = {job["job_id"] for job in jobs}
            time.sleep(2)  # the batches fetched before the pause go back untried
            for _ in range(8):  # more seconds of outage: many probes, many retry budgets
                assert jobs_held(redis_server) == sent
                assert r.llen("akhbar:dlq:index") == 0
                time.sleep(1)
            assert text().count("pausing") == 1 and "resuming" not in text()
            assert es.docs == {}

            es.listen()
            indexed = {job["article"]["id"] for job in jobs} - {refused}
            wait_until(lambda: set(es.docs) == indexed, 60,
                       f"everything indexed after the outage\n{workers.logs()}")
            wait_until(lambda: r.hlen("unacked") == 0 and r.llen("index") == 0, 30,
                       "every message acknowledged")
            assert text().count("resuming") == 1
            assert es.aliases == {"akhbar-articles": "akhbar-articles-000001"}  # set up late
            [dead] = list_dead(r, "index")
            assert dead.payload["article"]["id"] == refused
            assert dead.message == (f"Elasticsearch at {es.url} rejected the document: 400 "
                                    "document_parsing_exception: failed to parse field "
                                    "[published_at]")
        finally:
            workers.stop()
            r.flushall()
