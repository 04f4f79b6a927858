"""Queue and task names, and the Celery app every service builds from shared settings."""

from __future__ import annotations

from typing import Any

from celery import Celery

from akhbar.settings import Settings, get_settings

INGEST = "ingest"


def task_name(stage: str) -> str:
    return f"akhbar.{stage}"


def dlq_key(stage: str) -> str:
    return f"akhbar:dlq:{stage}"


def make_app(main: str, settings: Settings | None = None) -> Celery:
    s = settings or get_settings()
    app = Celery(main, broker=s.redis_url)
    app.conf.update(
        # JSON only: a pickled message could execute code on the worker.
        task_serializer="json",
        accept_content=["json"],
        result_serializer="json",
        task_ignore_result=True,
        # At least once: ack after the task, requeue when the worker process dies.
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        # An exception escaping a task (only infrastructure failures do: the stage glue
        # dead-letters everything else) leaves its message unacknowledged for redelivery.
        task_acks_on_failure_or_timeout=False,
        worker_prefetch_multiplier=1,
        task_time_limit=s.task_time_limit_s,
        task_soft_time_limit=max(1, s.task_time_limit_s - 30),
        broker_transport_options={"visibility_timeout": s.visibility_timeout_s},
        broker_connection_retry_on_startup=True,
        task_default_queue=INGEST,
        task_routes={f"akhbar.{st}": {"queue": st} for st in [INGEST, *s.route]},
        # Task events feed Flower's task view but cost ~2.7 ms per task in a prefork worker
        # (measured): off unless AKHBAR_TASK_EVENTS is set. Workers still report to Flower.
        worker_send_task_events=s.task_events,
        task_send_sent_event=s.task_events,
        worker_hijack_root_logger=False,
    )
    return app


def send_job(app: Celery, stage: str, message: dict[str, Any],
             countdown: float | None = None) -> None:
    # argsrepr: logs and Flower show the job id, not the article (and Celery skips a repr
    # of the whole article, ~0.5 ms per message).
    label = message.get("job_id") or message.get("file") or "job"
    app.send_task(task_name(stage), args=[message], queue=stage, countdown=countdown,
                  argsrepr=f"[{label}]", kwargsrepr="{}")
