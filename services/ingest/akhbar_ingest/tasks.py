"""Celery glue for ingest: `akhbar.ingest` files one claimed inbox file into article jobs;
beat runs `akhbar.ingest.sweep` as a safety net beside the watcher, and `akhbar.ingest.feed`
for each feed of AKHBAR_FEEDS_FILE at its interval."""

from __future__ import annotations

import logging
from collections.abc import Callable
from contextlib import suppress
from itertools import chain
from typing import Any

from celery import Task

from akhbar.contract import Article, Envelope, SourceError, TransientError
from akhbar.queues import (
    INGEST,
    describe_full,
    full_queues,
    make_app,
    send_jobs,
    send_message,
    task_name,
)
from akhbar.settings import get_settings
from akhbar.worker import StageRuntime, delivery, requeue_on_failure
from akhbar_ingest.formats import FileRejected, read_file
from akhbar_ingest.inbox import Inbox, original_name
from akhbar_ingest.sources import SourceContext, commit, load_feeds, make_context, poll

log = logging.getLogger(__name__)
settings = get_settings()
app = make_app("akhbar_ingest", settings)
FEED_TASK = f"{task_name(INGEST)}.feed"
app.conf.beat_schedule = {
    "sweep-inbox": {"task": f"{task_name(INGEST)}.sweep", "schedule": 30.0,
                    "options": {"queue": INGEST, "expires": 30.0}},
}


def feed_schedule() -> dict[str, dict[str, Any]]:
    """One beat entry per feed of AKHBAR_FEEDS_FILE (none, logged, when the file is invalid)."""
    try:
        feeds = load_feeds(settings.feeds_file)
    except SourceError as exc:
        log.error("no feeds scheduled: %s", exc)
        return {}
    return {f"feed-{f.name}": {"task": FEED_TASK, "schedule": f.interval, "args": [f.name],
                               "options": {"queue": INGEST, "expires": f.interval}}
            for f in feeds.values()}


app.conf.beat_schedule.update(feed_schedule())


rt = StageRuntime(INGEST, settings)  # Redis and dead letters; ingest has no stage function


_sources: SourceContext | None = None


def sources() -> SourceContext:
    """Per worker process: one HTTP client; validators and seen URLs in Redis."""
    global _sources
    if _sources is None:
        _sources = make_context(settings, rt.redis)
    return _sources


def inbox() -> Inbox:
    return Inbox(settings.inbox, settings.inbox_stable_seconds)


@app.task(name=task_name(INGEST), bind=True, acks_late=True)
def ingest_file(self: Task, message: dict[str, Any]) -> None:
    with requeue_on_failure(), delivery(rt, self.request, message) as admitted:
        if admitted:
            file_jobs(message)
        else:  # the file kept killing its worker: file it with the reason, not forever retried
            with suppress(Exception):
                inbox().fail(inbox().claimed(str(message["file"])),
                             f"ingest did not finish after {settings.max_deliveries} attempts "
                             "(its worker died each time)")


def file_jobs(message: dict[str, Any]) -> None:
    """Read one claimed file, send its article jobs, then file it as processed (or failed).

    Errors sending jobs propagate: the message goes back on the queue (`requeue_on_failure`),
    and articles already sent are overwritten downstream (deterministic ids)."""
    box = inbox()
    try:
        path = box.claimed(str(message["file"]))
    except (KeyError, TypeError, ValueError) as exc:
        rt.reject(message, exc)
        return
    if not path.exists():  # a redelivered job whose file was already filed
        log.info("%s already filed", path.name)
        return
    try:
        result = read_file(path, max_bytes=settings.max_file_bytes, settings=settings,
                           name=original_name(path))
    except FileNotFoundError:  # another delivery of this job filed it meanwhile
        return
    except (FileRejected, OSError) as exc:
        box.fail(path, str(exc) if isinstance(exc, FileRejected) else f"cannot read: {exc}")
        return
    for warning in result.warnings:
        log.warning("%s: %s", path.name, warning)
    send_articles(result.articles)
    try:
        box.finish(path, result.errors)
    except FileNotFoundError:
        log.info("%s was filed by another delivery of its job", path.name)


@app.task(name=f"{task_name(INGEST)}.sweep", acks_late=True)
def sweep() -> int:
    claimed = submit(inbox())
    return len(claimed)


def room_for(what: str) -> bool:
    """True unless a stage queue is full (backpressure); then `what` is logged as skipped."""
    full = full_queues(rt.redis, settings)
    if full:
        log.warning("%s skipped: %s", what, describe_full(full, settings))
    return not full


def submit(box: Inbox, recover: bool = False,
           room: Callable[[], bool] = lambda: room_for("inbox sweep")) -> list[str]:
    """Claim quiet inbox files while `room()` holds (no stage queue full), sending one ingest
    job per file as it is claimed, so the ingest queue's own length counts (and, with `recover`,
    first re-send jobs for files left in .work/ by a previous run). A file whose job cannot be
    sent is put back."""
    left = sorted(box.work.iterdir()) if recover else []
    sent = []
    for path in chain(left, box.sweep(room)):
        try:
            send_message(app, INGEST, {"file": path.name}, path.name)
            sent.append(path.name)
        except Exception:
            log.exception("could not send the job for %s; returning it to the inbox", path.name)
            box.unclaim(path)
    return sent


@app.task(name=FEED_TASK, acks_late=True)
def poll_feed(name: str) -> int:
    """Poll one feed by name and send a job per new article. A failed poll is logged and left
    to the next scheduled one (beat polls again at the feed's interval), and so is a poll while
    a stage queue is full (backpressure)."""
    if not room_for(f"poll of feed {name}"):
        return 0  # the next scheduled poll tries again
    feed = load_feeds(settings.feeds_file).get(name)
    if feed is None:
        log.warning("feed %r is not in %s", name, settings.feeds_file)
        return 0
    ctx = sources()
    try:
        result = poll(feed, ctx)
    except (SourceError, TransientError) as exc:
        log.warning("feed %s: %s: %s", name, type(exc).__name__, exc)
        return 0
    for e in result.errors:
        log.warning("feed %s: skipped %s: %s", name, e["url"], e["error"])
    send_articles(result.articles)
    commit(result, ctx)
    log.info("feed %s: %d new article(s)%s", name, len(result.articles),
             " (not modified)" if result.not_modified else "")
    return len(result.articles)


def send_articles(articles: list[Article]) -> None:
    """One job per article, on its way to the first stage of the route."""
    jobs = [Envelope(route=settings.route, article=a).to_message() for a in articles]
    send_jobs(app, settings.route[0], jobs, settings.jobs_per_message)
