"""Celery glue for ingest: `akhbar.ingest` files one claimed inbox file into article jobs;
beat runs `akhbar.ingest.sweep` as a safety net beside the watcher."""

from __future__ import annotations

import logging
from contextlib import suppress
from typing import Any

from celery import Task

from akhbar.contract import Envelope
from akhbar.queues import INGEST, make_app, send_jobs, send_message, task_name
from akhbar.settings import get_settings
from akhbar.worker import StageRuntime, delivery
from akhbar_ingest.formats import FileRejected, read_file
from akhbar_ingest.inbox import Inbox

log = logging.getLogger(__name__)
settings = get_settings()
app = make_app("akhbar_ingest", settings)
app.conf.beat_schedule = {
    "sweep-inbox": {"task": f"{task_name(INGEST)}.sweep", "schedule": 30.0,
                    "options": {"queue": INGEST, "expires": 30.0}},
}


rt = StageRuntime(INGEST, settings)  # Redis and dead letters; ingest has no stage function


def inbox() -> Inbox:
    return Inbox(settings.inbox, settings.inbox_stable_seconds)


@app.task(name=task_name(INGEST), bind=True, acks_late=True)
def ingest_file(self: Task, message: dict[str, Any]) -> None:
    with delivery(rt, self.request, message) as admitted:
        if admitted:
            file_jobs(message)
        else:  # the file kept killing its worker: file it with the reason, not forever retried
            with suppress(Exception):
                inbox().fail(inbox().claimed(str(message["file"])),
                             f"ingest did not finish after {settings.max_deliveries} attempts "
                             "(its worker died each time)")


def file_jobs(message: dict[str, Any]) -> None:
    """Read one claimed file, send its article jobs, then file it as processed (or failed).

    Errors sending jobs propagate: the message stays unacknowledged and is redelivered, and
    articles already sent are overwritten downstream (deterministic ids)."""
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
