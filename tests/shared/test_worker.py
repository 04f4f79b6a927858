"""The Celery glue's reliability helpers, on a real Redis and a real worker."""

from __future__ import annotations

import os
import re
from pathlib import Path

from redis import Redis

from akhbar.contract import Article, Envelope, Source, utcnow
from akhbar.queues import make_app, send_jobs
from akhbar.retry import backoff
from akhbar.settings import Settings
from akhbar.worker import DeliveryGuard, with_failure
from akhbar_testkit.harness import RedisServer, Workers, wait_until


def test_only_redeliveries_are_counted(redis_db: Redis) -> None:
    guard = DeliveryGuard(redis_db, "normalize")
    assert guard.enter("t1", {"redelivered": False}) == 1
    assert redis_db.hlen("akhbar:deliveries:normalize") == 0  # first delivery: no round trip
    counts = [guard.enter("t1", {"redelivered": True}) for _ in range(3)]
    assert counts == [2, 3, 4]
    guard.leave("t1", {"redelivered": True})
    assert redis_db.hlen("akhbar:deliveries:normalize") == 0


def test_workers_reconnect_for_as_long_as_redis_is_down(tmp_path: Path) -> None:
    """A real stage worker whose Redis stops keeps trying to reconnect with no limit on the
    attempts (Celery's default gives up after 100, about 46 minutes, and the worker exits: too
    long to wait for here, so the limit is read from the worker's own retry log lines), stays
    up, and works again once Redis is back."""
    redis, logs = RedisServer(tmp_path / "redis"), tmp_path / "logs"
    logs.mkdir()
    workers = Workers({**os.environ, "AKHBAR_REDIS_URL": redis.url,
                       "AKHBAR_ROUTE": "normalize,enrich"}, logs)
    log = logs / "normalize.log"
    attempts = re.compile(r"Trying again in [^(]*\((\d+)/(\w+)\)")
    try:
        workers.start_stage("normalize")
        wait_until(lambda: "normalize@test ready." in log.read_text(), 60, "the worker")
        redis.stop()
        wait_until(lambda: len(attempts.findall(log.read_text())) >= 2, 60,
                   f"two attempts to reconnect\n{workers.logs()}")
        assert {limit for _, limit in attempts.findall(log.read_text())} == {"None"}, \
            workers.logs()
        assert workers.procs["normalize"].poll() is None, workers.logs()
        redis.start()
        app = make_app("akhbar_test", Settings(redis_url=redis.url, route=["normalize", "enrich"]))
        article = Article(id="0" * 32, source=Source(name="t", kind="inbox"),
                          ingested_at=utcnow(), title="عنوان", body="نص الخبر")
        send_jobs(app, "normalize", [Envelope(route=["normalize", "enrich"],
                                              article=article).to_message()], 1)
        wait_until(lambda: redis.client.llen("enrich"), 60,
                   f"the job normalized after Redis came back\n{workers.logs()}")
    finally:
        workers.stop()
        redis.stop()


def test_backoff_is_bounded_and_jittered() -> None:
    delays = [backoff(n, 2, 30, jitter=True) for n in range(12) for _ in range(20)]
    assert all(0 <= d <= 30 for d in delays)
    assert len({round(d, 6) for d in delays}) > 100  # jitter: no synchronized retry waves
    assert max(backoff(0, 2, 30, jitter=True) for _ in range(50)) <= 2
    assert [backoff(n, 2, 30) for n in range(6)] == [2, 4, 8, 16, 30, 30]  # without: doubling


def test_failures_are_recorded_in_the_job() -> None:
    env = Envelope(route=["enrich"], article=Article(
        id="0" * 32, source=Source(name="t", kind="inbox"), ingested_at=utcnow(), title="x"))
    again = with_failure(with_failure(env.to_message(), "enrich", ConnectionError("down")),
                         "enrich", TimeoutError("slow"))
    back = Envelope.from_message(again)
    assert back.attempts == {"enrich": 2}
    assert [(f.error_class, f.message) for f in back.errors] == [
        ("ConnectionError", "down"), ("TimeoutError", "slow")]
