"""Queue and task names, and the Celery app every service builds from shared settings."""

from __future__ import annotations

import logging
from collections.abc import Callable
from functools import cache
from typing import Any

from celery import Celery
from redis import Redis

from akhbar.contract import SCHEMA_VERSION, ContractError
from akhbar.settings import MAX_JOBS_PER_MESSAGE, Settings, get_settings
from akhbar.upstream.kombu_redis import TRANSPORT

INGEST = "ingest"


def task_name(stage: str) -> str:
    return f"akhbar.{stage}"


def dlq_key(stage: str) -> str:
    return f"akhbar:dlq:{stage}"


def stage_queues(s: Settings) -> list[str]:
    """Every stage's queue (a Redis list of messages named after the stage)."""
    return [INGEST, *s.route]


def keyword_queues(s: Settings) -> list[str]:
    """The queues under backpressure: ingest's and the keyword route's (up to index). A stage
    after index (embed) never holds index or the producers back: its backlog is bounded by
    what index sends it (AKHBAR_EMBED_BACKLOG_MAX)."""
    return [INGEST, *s.keyword_route]


def queue_lengths(redis: Redis, queues: list[str]) -> dict[str, int]:
    """Waiting messages (LLEN) of each queue, in one round trip."""
    with redis.pipeline(transaction=False) as pipe:
        for queue in queues:
            pipe.llen(queue)
        return {q: int(n) for q, n in zip(queues, pipe.execute(), strict=True)}


def keyword_idle(redis: Redis, s: Settings) -> bool:
    """Whether every keyword queue holds at most `embed_yield_messages` waiting messages: when
    a stage after index (embed) may take CPU from the stages that make articles searchable."""
    return all(n <= s.embed_yield_messages
               for n in queue_lengths(redis, keyword_queues(s)).values())


def skipped_key(stage: str) -> str:
    """Documents index wrote but did not send to `stage` (a stage after index): its queue was
    at AKHBAR_EMBED_BACKLOG_MAX, or Redis refused the message."""
    return f"akhbar:skipped:{stage}"


def downstream_queues(s: Settings, consumed: list[str]) -> list[str]:
    """The keyword queues after the first of `consumed` on the route (empty for the last)."""
    queues = keyword_queues(s)
    mine = [i for i, q in enumerate(queues) if q in consumed]
    return queues[min(mine) + 1:] if mine else []


def full_queues(redis: Redis, s: Settings, queues: list[str] | None = None) -> dict[str, int]:
    """Of `queues` (every keyword queue by default), those holding `queue_max_messages` messages
    or more, with their lengths.

    The one backpressure check: producers (the inbox watcher and sweep, feed polls) take no new
    input while it is not empty for any queue, and a stage worker fetches nothing while it is
    not empty for the queues after its own (`akhbar.upstream.celery_worker.Backpressure`), so a
    slow stage makes the ones before it wait instead of filling Redis. It counts waiting messages
    only (LLEN), not those a worker holds unacknowledged, which its prefetch bounds."""
    lengths = queue_lengths(redis, keyword_queues(s) if queues is None else queues)
    return {q: n for q, n in lengths.items() if n >= s.queue_max_messages}


def describe_full(full: dict[str, int], s: Settings) -> str:
    queues = ", ".join(f"{q} holds {n} messages" for q, n in full.items())
    return f"{queues} (AKHBAR_QUEUE_MAX_MESSAGES={s.queue_max_messages})"


class PauseLog:
    """Logs once when a producer or a worker pauses for backpressure and once when it resumes,
    however often it is asked: `update(why)` with the reason to wait, or None for room."""

    def __init__(self, log: logging.Logger, paused: str, resumed: str) -> None:
        self.log, self.paused_text, self.resumed_text = log, paused, resumed
        self.paused = False

    def update(self, why: str | None) -> bool:
        """Record the reason to wait (None: there is room); True if there is room."""
        if why and not self.paused:
            self.log.warning("pausing: %s while %s", self.paused_text, why)
        elif not why and self.paused:
            self.log.info("resuming: %s", self.resumed_text)
        self.paused = why is not None
        return not self.paused


def make_app(main: str, settings: Settings | None = None) -> Celery:
    s = settings or get_settings()
    app = Celery(main, broker=s.redis_url)
    app.conf.update(
        # Kombu's Redis transport with a fetch that cannot lose a message
        # (akhbar.upstream.kombu_redis).
        broker_transport=TRANSPORT,
        # JSON only: a pickled message could execute code on the worker.
        task_serializer="json",
        accept_content=["json"],
        result_serializer="json",
        task_ignore_result=True,
        # At least once: ack after the task, requeue when the worker process dies.
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        # A task over its time limit is requeued, not acknowledged (and counted as a delivery).
        # Any other exception escaping a task would have Celery drop its message: the stage
        # glue turns those into a requeue (akhbar.worker.requeue_on_failure).
        task_acks_on_failure_or_timeout=False,
        worker_prefetch_multiplier=1,
        task_time_limit=s.task_time_limit_s,
        task_soft_time_limit=max(1, s.task_time_limit_s - 30),
        broker_transport_options={"visibility_timeout": s.visibility_timeout_s},
        broker_connection_retry_on_startup=True,
        # Reconnect for as long as Redis is down: Celery's default gives up after 100 tries
        # (2, 4, … 30 s apart: about 46 minutes) and the worker exits.
        broker_connection_max_retries=None,
        task_default_queue=INGEST,
        task_routes={f"akhbar.{st}": {"queue": st} for st in stage_queues(s)},
        # Task events feed Flower's task view but cost ~2.7 ms per task in a prefork worker
        # (measured): off unless AKHBAR_TASK_EVENTS is set. Workers still report to Flower.
        worker_send_task_events=s.task_events,
        task_send_sent_event=s.task_events,
        worker_hijack_root_logger=False,
    )
    return app


def app_on_lookup(module: str, factory: Callable[[], Celery]) -> Callable[[str], Celery]:
    """A Celery module's `__getattr__`: its `app` (what `celery -A module` looks up) is built
    by `factory` on first lookup, when the worker starts, so importing the module reads no
    settings."""

    build = cache(factory)

    def lookup(name: str) -> Celery:
        if name == "app":
            return build()
        raise AttributeError(f"module {module!r} has no attribute {name!r}")

    return lookup


def send_message(app: Celery, stage: str, message: dict[str, Any], label: str,
                 countdown: float | None = None) -> None:
    # argsrepr: logs and Flower show a short label, not the articles (and Celery skips a repr
    # of the whole message, ~0.5 ms per message).
    app.send_task(task_name(stage), args=[message], queue=stage, countdown=countdown,
                  argsrepr=f"[{label}]", kwargsrepr="{}")


def send_jobs(app: Celery, stage: str, jobs: list[dict[str, Any]], per_message: int,
              countdown: float | None = None) -> None:
    """Send jobs (envelope dicts) to a stage, up to `per_message` in one message: each message
    costs a few milliseconds of broker and worker overhead, whatever it carries."""
    for i in range(0, len(jobs), per_message):
        chunk = jobs[i:i + per_message]
        first = chunk[0].get("job_id", "?") if isinstance(chunk[0], dict) else "?"
        label = f"{len(chunk)} job(s): {first}…"
        send_message(app, stage, {"schema_version": SCHEMA_VERSION, "jobs": chunk}, label,
                     countdown)


def unpack(message: Any) -> list[Any]:
    """The jobs of a stage message; ContractError when the message is not shaped as one."""
    if (not isinstance(message, dict) or message.get("schema_version") != SCHEMA_VERSION
            or not isinstance(message.get("jobs"), list) or not message["jobs"]):
        raise ContractError(f"a stage message must be {{'schema_version': {SCHEMA_VERSION}, "
                            "'jobs': [job, …]}")
    jobs: list[Any] = message["jobs"]
    if len(jobs) > MAX_JOBS_PER_MESSAGE:
        raise ContractError(f"a stage message carries {len(jobs)} jobs, above the "
                            f"cap of {MAX_JOBS_PER_MESSAGE} (AKHBAR_JOBS_PER_MESSAGE)")
    return jobs
