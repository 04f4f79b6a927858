"""The Celery glue's reliability helpers, on a real Redis."""

from __future__ import annotations

from redis import Redis

from akhbar.contract import Article, Envelope, Source, utcnow
from akhbar.queues import make_app
from akhbar.settings import Settings
from akhbar.worker import DeliveryGuard, backoff_delay, with_failure


def test_only_redeliveries_are_counted(redis_db: Redis) -> None:
    guard = DeliveryGuard(redis_db, "normalize")
    assert guard.enter("t1", {"redelivered": False}) == 1
    assert redis_db.hlen("akhbar:deliveries:normalize") == 0  # first delivery: no round trip
    counts = [guard.enter("t1", {"redelivered": True}) for _ in range(3)]
    assert counts == [2, 3, 4]
    guard.leave("t1", {"redelivered": True})
    assert redis_db.hlen("akhbar:deliveries:normalize") == 0


def test_workers_reconnect_for_as_long_as_redis_is_down() -> None:
    conf = make_app("akhbar_test", Settings()).conf
    assert conf.broker_connection_retry and conf.broker_connection_max_retries is None


def test_backoff_is_bounded_and_jittered() -> None:
    s = Settings(retry_backoff_s=2, retry_backoff_max_s=30)
    delays = [backoff_delay(n, s) for n in range(12) for _ in range(20)]
    assert all(0 <= d <= 30 for d in delays)
    assert len({round(d, 6) for d in delays}) > 100  # jitter: no synchronized retry waves
    assert max(backoff_delay(0, s) for _ in range(50)) <= 2


def test_failures_are_recorded_in_the_job() -> None:
    env = Envelope(route=["enrich"], article=Article(
        id="0" * 32, source=Source(name="t", kind="inbox"), ingested_at=utcnow(), title="x"))
    again = with_failure(with_failure(env.to_message(), "enrich", ConnectionError("down")),
                         "enrich", TimeoutError("slow"))
    back = Envelope.from_message(again)
    assert back.attempts == {"enrich": 2}
    assert [(f.error_class, f.message) for f in back.errors] == [
        ("ConnectionError", "down"), ("TimeoutError", "slow")]
