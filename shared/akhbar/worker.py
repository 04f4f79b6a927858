"""Thin Celery glue around a stage's pure `process` function.

A message carries up to `jobs_per_message` jobs. Per message: count deliveries (Redis has no
redelivery counter, so a message that keeps killing its worker is dead-lettered after
`max_deliveries`). Per job: validate the envelope, run the stage, forward to the next stage on
the job's route. A job failing transiently is re-sent alone after an exponential backoff with
jitter, up to `retry_max` times; a job failing otherwise is dead-lettered at once with its
reason, and the other jobs of its message go on. A message whose handling fails outside its
jobs (Redis away while forwarding) goes back on its queue (`requeue_on_failure`). A worker
(re)connecting to Redis puts back the messages a killed predecessor, or its own lost
connection, left behind (`Reclaim`), and a worker fetches nothing while a queue after its own
is full (`Backpressure`): consumer steps in akhbar.upstream.celery_worker.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from celery import Celery, Task
from celery.exceptions import Reject
from kombu.exceptions import OperationalError
from redis import Redis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from akhbar.contract import ContractError, Envelope, Failure, TransientError, utcnow
from akhbar.deadletter import dead_letter
from akhbar.queues import send_jobs, task_name, unpack
from akhbar.retry import backoff
from akhbar.settings import Settings, get_settings
from akhbar.stages import ProcessFn, StageContext, load_stage, run_stage, worker_name
from akhbar.upstream import celery_worker  # noqa: F401 (adds Reclaim, Backpressure: see there)

log = logging.getLogger(__name__)
RETRYABLE: tuple[type[BaseException], ...] = (
    TransientError, ConnectionError, TimeoutError, RedisConnectionError, RedisTimeoutError,
    OperationalError)


class DeliveryGuard:
    """Counts deliveries of a message in a Redis hash, keyed by the message's task id.

    Only redelivered messages (the broker marks them) are counted, so the common first
    delivery costs no round trip; the count then includes that first delivery.
    """

    def __init__(self, redis: Redis, stage: str) -> None:
        self.redis, self.key = redis, f"akhbar:deliveries:{stage}"

    def enter(self, task_id: str, delivery_info: dict[str, Any] | None) -> int:
        if not (delivery_info or {}).get("redelivered"):
            return 1
        count = self.redis.hincrby(self.key, task_id, 1)
        assert isinstance(count, int)  # a synchronous client's reply
        return 1 + count

    def leave(self, task_id: str, delivery_info: dict[str, Any] | None) -> None:
        if (delivery_info or {}).get("redelivered"):
            self.redis.hdel(self.key, task_id)


class StageRuntime:
    """Per worker process: the Redis client and the stage function, built on first use."""

    def __init__(self, stage: str, settings: Settings | None = None) -> None:
        self.stage, self._settings = stage, settings
        self._redis: Redis | None = None
        self._process: ProcessFn | None = None

    @property
    def settings(self) -> Settings:
        return self._settings or get_settings()

    @property
    def redis(self) -> Redis:
        if self._redis is None:
            self._redis = Redis.from_url(self.settings.redis_url)
        return self._redis

    @property
    def process(self) -> ProcessFn:
        if self._process is None:
            self._process = load_stage(self.stage, StageContext(self.settings, self.redis))
        return self._process

    def reject(self, payload: Any, exc: BaseException) -> None:
        log.warning("dead-lettering a %s job: %s: %s", self.stage, type(exc).__name__, exc)
        dead_letter(self.redis, self.stage, payload, exc, worker_name())


def register_stage(app: Celery, stage: str) -> Task:
    """Define the `akhbar.<stage>` task: run `stage` on each job of a message, forward."""
    rt = StageRuntime(stage)

    @app.task(name=task_name(stage), bind=True, acks_late=True)  # type: ignore[untyped-decorator]
    def run(self: Task, message: Any) -> None:
        with requeue_on_failure(), delivery(rt, self.request, message) as admitted:
            if admitted:
                done, failed = process_jobs(rt, message)
                forward(app, rt, done)
                retry_later(app, rt, failed)

    return run


@contextmanager
def requeue_on_failure() -> Iterator[None]:
    """Around a late-acknowledged task whose handling failed outside its jobs (Redis
    unreachable while forwarding, a delivery count that cannot be kept): Celery would reject
    its message without requeueing it, deleting it once Redis answers again (found by
    bench/faults.py --restarts). It goes back on its queue instead, redelivered, so `delivery`
    counts it; if Redis is still away, it stays unacknowledged for `Reclaim`."""
    try:
        yield
    except Exception as exc:
        log.warning("putting a message back on its queue: %s: %s", type(exc).__name__, exc)
        raise Reject(f"{type(exc).__name__}: {exc}", requeue=True) from exc


@contextmanager
def delivery(rt: StageRuntime, request: Any, message: Any) -> Iterator[bool]:
    """Admit a message unless it was delivered too often; forget its count once handled.

    An exception escaping the handling leaves the count (the message is redelivered)."""
    guard = DeliveryGuard(rt.redis, rt.stage)
    if guard.enter(request.id, request.delivery_info) > rt.settings.max_deliveries:
        rt.reject(message, RuntimeError(
            f"delivered more than {rt.settings.max_deliveries} times without finishing "
            "(the worker died or was killed while running it)"))
        yield False
    else:
        yield True
    guard.leave(request.id, request.delivery_info)


Job = dict[str, Any]  # an envelope as it travels (Envelope.to_message())


def process_jobs(rt: StageRuntime, message: Any
                 ) -> tuple[list[tuple[Job, Envelope]], list[tuple[Job, BaseException]]]:
    """Run the stage on each job: ((job as received, job done) pairs, jobs that failed
    transiently). Any other failure dead-letters that job alone; the others go on."""
    try:
        jobs = unpack(message)
    except ContractError as exc:
        rt.reject(message, exc)
        return [], []
    done, failed = [], []
    for job in jobs:
        try:
            env = Envelope.from_message(job)
            env.article = run_stage(rt.stage, rt.process, env.article)
            done.append((job, env))
        except RETRYABLE as exc:
            failed.append((job, exc))
        except Exception as exc:  # a bug or bad data: retrying cannot help
            rt.reject(job, exc)
    return done, failed


def forward(app: Celery, rt: StageRuntime, done: list[tuple[Job, Envelope]]) -> None:
    by_stage: dict[str, list[Job]] = {}
    for _, env in done:
        nxt = env.next_stage(rt.stage)
        if nxt is not None:
            by_stage.setdefault(nxt, []).append(env.to_message())
    for nxt, jobs in by_stage.items():
        send_jobs(app, nxt, jobs, rt.settings.jobs_per_message)


def retry_later(app: Celery, rt: StageRuntime, failed: list[tuple[Job, BaseException]]) -> None:
    """Re-send each job after a backoff delay, or dead-letter it once its retries are used."""
    for job, exc in failed:
        again = with_failure(job, rt.stage, exc)
        tries = again["attempts"][rt.stage]
        if tries > rt.settings.retry_max:
            rt.reject(again, exc)
        else:
            send_jobs(app, rt.stage, [again], 1, countdown=backoff(
                tries - 1, rt.settings.retry_backoff_s, rt.settings.retry_backoff_max_s,
                jitter=True))


def with_failure(job: Job, stage: str, exc: BaseException) -> Job:
    """The job as it arrived, with this failed attempt counted and recorded."""
    env = Envelope.from_message(job)
    env.attempts[stage] = env.attempts.get(stage, 0) + 1
    env.errors.append(Failure(stage=stage, error_class=type(exc).__name__,
                              message=str(exc)[:500], at=utcnow()))
    return env.to_message()
