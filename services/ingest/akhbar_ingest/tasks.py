"""Celery glue for ingest (`celery -A akhbar_ingest.tasks worker -Q ingest`, and beat):
`akhbar.ingest` files one claimed inbox file into article jobs; beat runs `akhbar.ingest.sweep`
as a safety net beside the watcher, and `akhbar.ingest.feed` for each feed of AKHBAR_FEEDS_FILE
at its interval. The work itself is in akhbar_ingest.jobs.

Importing this module reads no settings: Celery asks for its `app` when the worker or beat
starts (`-A` looks the attribute up), and `make_ingest_app` builds it then."""

from __future__ import annotations

import logging
from contextlib import suppress
from functools import cache
from typing import Any

from celery import Celery, Task

from akhbar.contract import SourceError
from akhbar.queues import INGEST, app_on_lookup, make_app, task_name
from akhbar.settings import Settings, get_settings
from akhbar.worker import StageRuntime, delivery, requeue_on_failure
from akhbar_ingest import jobs
from akhbar_ingest.sources import SourceContext, load_feeds, make_context

log = logging.getLogger(__name__)
FEED_TASK = f"{task_name(INGEST)}.feed"
SWEEP_TASK = f"{task_name(INGEST)}.sweep"


def beat_schedule(s: Settings) -> dict[str, dict[str, Any]]:
    """The inbox sweep every 30 s, and one entry per feed of AKHBAR_FEEDS_FILE at its interval
    (no feed, logged, when the file is invalid)."""
    schedule: dict[str, dict[str, Any]] = {
        "sweep-inbox": {"task": SWEEP_TASK, "schedule": 30.0,
                        "options": {"queue": INGEST, "expires": 30.0}}}
    try:
        feeds = load_feeds(s.feeds_file)
    except SourceError as exc:
        log.error("no feeds scheduled: %s", exc)
        return schedule
    return schedule | {f"feed-{f.name}": {"task": FEED_TASK, "schedule": f.interval,
                                          "args": [f.name],
                                          "options": {"queue": INGEST, "expires": f.interval}}
                       for f in feeds.values()}


def make_ingest_app(s: Settings) -> Celery:
    """The ingest tasks bound to the ingest queue, and beat's schedule."""
    app = make_app("akhbar_ingest", s)
    app.conf.beat_schedule = beat_schedule(s)
    rt = StageRuntime(INGEST, s)  # Redis and dead letters; ingest has no stage function

    @cache
    def sources() -> SourceContext:
        """Per worker process: one HTTP client; validators and seen URLs in Redis."""
        return make_context(s, rt.redis)

    @app.task(name=task_name(INGEST), bind=True, acks_late=True)  # type: ignore[untyped-decorator]
    def ingest_file(self: Task, message: dict[str, Any]) -> None:
        with requeue_on_failure(), delivery(rt, self.request, message) as admitted:
            if admitted:
                jobs.file_jobs(app, rt, message)
            else:  # the file kept killing its worker: file it with the reason, not retried
                with suppress(Exception):
                    box = jobs.inbox(s)
                    box.fail(box.claimed(str(message["file"])),
                             f"ingest did not finish after {s.max_deliveries} attempts "
                             "(its worker died each time)")

    @app.task(name=SWEEP_TASK, acks_late=True)  # type: ignore[untyped-decorator]
    def sweep() -> int:
        return len(jobs.submit(app, jobs.inbox(s),
                               room=lambda: jobs.room_for(rt.redis, s, "inbox sweep")))

    @app.task(name=FEED_TASK, acks_late=True)  # type: ignore[untyped-decorator]
    def poll_feed(name: str) -> int:
        return jobs.poll_feed(app, rt, sources(), name)

    return app


__getattr__ = app_on_lookup(__name__, lambda: make_ingest_app(get_settings()))
