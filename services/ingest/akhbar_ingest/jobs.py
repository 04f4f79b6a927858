"""Ingest's work, without a Celery worker: claiming quiet inbox files into ingest jobs
(`submit`), filing one claimed file into article jobs (`file_jobs`) and polling a feed into
article jobs (`poll_feed`).

Each function is given what it works with: the Celery app it sends through (only
`send_task` is used, so any app built by `akhbar.queues.make_app` will do), the ingest runtime
(settings, Redis, dead letters) and, for feeds, the fetching context. `akhbar_ingest.tasks`
binds them to the ingest queue; the watcher and the tests call them directly.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from itertools import chain
from typing import Any

from celery import Celery
from redis import Redis

from akhbar.contract import Article, Envelope, SourceError, TransientError
from akhbar.queues import INGEST, describe_full, full_queues, send_jobs, send_message
from akhbar.settings import Settings
from akhbar.worker import StageRuntime
from akhbar_ingest.formats import read_file
from akhbar_ingest.inbox import Inbox, original_name
from akhbar_ingest.sources import SourceContext, commit, load_feeds, poll

log = logging.getLogger(__name__)


def inbox(s: Settings) -> Inbox:
    return Inbox(s.inbox, s.inbox_stable_seconds)


def room_for(redis: Redis, s: Settings, what: str) -> bool:
    """True unless a stage queue is full (backpressure); then `what` is logged as skipped."""
    full = full_queues(redis, s)
    if full:
        log.warning("%s skipped: %s", what, describe_full(full, s))
    return not full


def send_articles(app: Celery, s: Settings, articles: list[Article]) -> None:
    """One job per article, on its way to the first stage of the route."""
    jobs = [Envelope(route=s.route, article=a).to_message() for a in articles]
    send_jobs(app, s.route[0], jobs, s.jobs_per_message)


def submit(app: Celery, box: Inbox, room: Callable[[], bool], recover: bool = False
           ) -> list[str]:
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


def file_jobs(app: Celery, rt: StageRuntime, message: dict[str, Any]) -> None:
    """Read one claimed file, send its article jobs, then file it as processed (or failed).

    Errors sending jobs propagate: the message goes back on the queue (`requeue_on_failure`),
    and articles already sent are overwritten downstream (deterministic ids)."""
    s, box = rt.settings, inbox(rt.settings)
    try:
        path = box.claimed(str(message["file"]))
    except (KeyError, TypeError, ValueError) as exc:
        rt.reject(message, exc)
        return
    if not path.exists():  # a redelivered job whose file was already filed
        log.info("%s already filed", path.name)
        return
    try:
        result = read_file(path, max_bytes=s.max_file_bytes, settings=s, name=original_name(path))
    except FileNotFoundError:  # another delivery of this job filed it meanwhile
        return
    except (SourceError, OSError) as exc:  # refused: the file goes to failed/ with the reason
        box.fail(path, str(exc) if isinstance(exc, SourceError) else f"cannot read: {exc}")
        return
    for warning in result.warnings:
        log.warning("%s: %s", path.name, warning)
    send_articles(app, s, result.articles)
    try:
        box.finish(path, result.errors)
    except FileNotFoundError:
        log.info("%s was filed by another delivery of its job", path.name)


def poll_feed(app: Celery, rt: StageRuntime, sources: SourceContext, name: str) -> int:
    """Poll one feed by name and send a job per new article. A failed poll is logged and left
    to the next scheduled one (beat polls again at the feed's interval), and so is a poll while
    a stage queue is full (backpressure)."""
    s = rt.settings
    if not room_for(rt.redis, s, f"poll of feed {name}"):
        return 0  # the next scheduled poll tries again
    feed = load_feeds(s.feeds_file).get(name)
    if feed is None:
        log.warning("feed %r is not in %s", name, s.feeds_file)
        return 0
    try:
        result = poll(feed, sources)
    except (SourceError, TransientError) as exc:
        log.warning("feed %s: %s: %s", name, type(exc).__name__, exc)
        return 0
    for e in result.errors:
        log.warning("feed %s: skipped %s: %s", name, e["url"], e["error"])
    send_articles(app, s, result.articles)
    commit(result, sources)
    log.info("feed %s: %d new article(s)%s", name, len(result.articles),
             " (not modified)" if result.not_modified else "")
    return len(result.articles)
