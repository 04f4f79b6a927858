"""Thin Celery glue around a stage's pure `process` function.

Per job: validate the envelope, count deliveries (Redis has no redelivery counter, so a message
that keeps killing its worker is dead-lettered after `max_deliveries`), run the stage, forward
to the next stage on the job's route. Transient errors are retried with exponential backoff and
jitter up to `retry_max`; anything else is dead-lettered at once with its reason.
"""

from __future__ import annotations

import logging
import random
from typing import Any

from celery import Celery, Task
from kombu.exceptions import OperationalError
from redis import Redis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from akhbar.contract import ContractError, Envelope, Failure, TransientError, utcnow
from akhbar.deadletter import dead_letter
from akhbar.queues import send_job, task_name
from akhbar.settings import Settings, get_settings
from akhbar.stages import ProcessFn, StageContext, load_stage, run_stage, worker_name

log = logging.getLogger(__name__)
RETRYABLE: tuple[type[BaseException], ...] = (
    TransientError, ConnectionError, TimeoutError, RedisConnectionError, RedisTimeoutError,
    OperationalError)


def backoff_delay(attempt: int, s: Settings) -> float:
    """Full-jitter exponential backoff: uniform in [0, min(cap, base·2^attempt)]."""
    return random.uniform(0, min(s.retry_backoff_max_s, s.retry_backoff_s * 2**attempt))


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
        return 1 + int(self.redis.hincrby(self.key, task_id, 1))

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
    """Define the `akhbar.<stage>` task that runs `stage` and forwards the job."""
    rt = StageRuntime(stage)

    @app.task(name=task_name(stage), bind=True, acks_late=True)
    def run(self: Task, message: Any) -> None:
        try:
            env = Envelope.from_message(message)
        except ContractError as exc:
            rt.reject(message, exc)
            return
        guard, retry = DeliveryGuard(rt.redis, stage), self.request.retries
        task_id, info = self.request.id, self.request.delivery_info
        if guard.enter(task_id, info) > rt.settings.max_deliveries:
            rt.reject(message, RuntimeError(
                f"delivered more than {rt.settings.max_deliveries} times without finishing "
                "(the worker died or was killed while running it)"))
            guard.leave(task_id, info)
            return
        try:
            handle(app, rt, env)
        except RETRYABLE as exc:
            guard.leave(task_id, info)
            again = with_failure(message, rt.stage, exc)
            if retry >= rt.settings.retry_max:
                rt.reject(again, exc)
                return
            raise self.retry(args=[again], exc=exc, countdown=backoff_delay(retry, rt.settings),
                             max_retries=rt.settings.retry_max) from exc
        except Exception as exc:  # a bug or bad data: retrying cannot help
            rt.reject(message, exc)
        guard.leave(task_id, info)

    return run


def with_failure(message: dict[str, Any], stage: str, exc: BaseException) -> dict[str, Any]:
    """The job as it arrived, with this failed attempt counted and recorded."""
    env = Envelope.from_message(message)
    env.attempts[stage] = env.attempts.get(stage, 0) + 1
    env.errors.append(Failure(stage=stage, error_class=type(exc).__name__,
                              message=str(exc)[:500], at=utcnow()))
    return env.to_message()


def handle(app: Celery, rt: StageRuntime, env: Envelope) -> None:
    env.article = run_stage(rt.stage, rt.process, env.article)
    nxt = env.next_stage(rt.stage)
    if nxt is not None:
        send_job(app, nxt, env.to_message())
