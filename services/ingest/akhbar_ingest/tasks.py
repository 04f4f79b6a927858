"""Celery glue for ingest: `akhbar.ingest` files one claimed inbox file into article jobs;
beat runs `akhbar.ingest.sweep` as a safety net beside the watcher."""

from __future__ import annotations

import logging
from typing import Any

from redis import Redis

from akhbar.contract import Envelope
from akhbar.deadletter import dead_letter
from akhbar.queues import INGEST, make_app, send_jobs, send_message, task_name
from akhbar.settings import get_settings
from akhbar.stages import worker_name
from akhbar_ingest.formats import FileRejected, read_file
from akhbar_ingest.inbox import Inbox

log = logging.getLogger(__name__)
settings = get_settings()
app = make_app("akhbar_ingest", settings)
app.conf.beat_schedule = {
    "sweep-inbox": {"task": f"{task_name(INGEST)}.sweep", "schedule": 30.0,
                    "options": {"queue": INGEST, "expires": 30.0}},
}


def inbox() -> Inbox:
    return Inbox(settings.inbox, settings.inbox_stable_seconds)


@app.task(name=task_name(INGEST), acks_late=True)
def ingest_file(message: dict[str, Any]) -> None:
    # Errors sending jobs propagate: the message stays unacknowledged and is redelivered, and
    # the articles already sent are overwritten downstream (deterministic ids).
    box = inbox()
    try:
        path = box.claimed(str(message["file"]))
    except (KeyError, TypeError, ValueError) as exc:
        dead_letter(Redis.from_url(settings.redis_url), INGEST, message, exc, worker_name())
        return
    if not path.exists():  # a redelivered job whose file was already filed
        log.info("%s already filed", path.name)
        return
    try:
        result = read_file(path, max_bytes=settings.max_file_bytes)
    except FileNotFoundError:  # another delivery of this job filed it meanwhile
        return
    except (FileRejected, OSError) as exc:
        box.fail(path, str(exc) if isinstance(exc, FileRejected) else f"cannot read: {exc}")
        return
    jobs = [Envelope(route=settings.route, article=a).to_message() for a in result.articles]
    send_jobs(app, settings.route[0], jobs, settings.jobs_per_message)
    try:
        box.finish(path, result.errors)
    except FileNotFoundError:
        log.info("%s was filed by another delivery of its job", path.name)


@app.task(name=f"{task_name(INGEST)}.sweep", acks_late=True)
def sweep() -> int:
    claimed = submit(inbox())
    return len(claimed)


def submit(box: Inbox, recover: bool = False) -> list[str]:
    """Claim quiet inbox files and send one ingest job each (and, with `recover`, re-send jobs
    for files left in .work/ by a previous run). A file whose job cannot be sent is put back."""
    left = sorted(box.work.iterdir()) if recover else []
    paths = left + box.sweep()
    sent = []
    for path in paths:
        try:
            send_message(app, INGEST, {"file": path.name}, path.name)
            sent.append(path.name)
        except Exception:
            log.exception("could not send the job for %s; returning it to the inbox", path.name)
            box.unclaim(path)
    return sent
