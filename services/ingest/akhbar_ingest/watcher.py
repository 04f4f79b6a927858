"""Watches the inbox and sends one ingest job per finished file.

Files already present at start are taken too, and jobs for files a previous run claimed but may
not have sent are re-sent (ingest skips files already filed). Between change events the inbox is
rescanned at a short interval, so a file is taken as soon as it has been quiet long enough.
While a stage queue is full (AKHBAR_QUEUE_MAX_MESSAGES) or Redis cannot be reached, no file is
claimed: files wait in the inbox, not in Redis.
"""

from __future__ import annotations

import logging
import threading

import watchfiles
from redis import Redis
from redis.exceptions import RedisError

from akhbar.queues import PauseLog, describe_full, full_queues, make_app
from akhbar.settings import Settings
from akhbar_ingest.inbox import Inbox
from akhbar_ingest.jobs import submit

log = logging.getLogger(__name__)


class Pause:
    """Backpressure for the watcher: `room()` is false while a stage queue is full or Redis
    cannot be reached."""

    def __init__(self, redis: Redis, s: Settings) -> None:
        self.redis, self.settings = redis, s
        self.log = PauseLog(log, "no new inbox files are claimed",
                            f"every stage queue is below AKHBAR_QUEUE_MAX_MESSAGES="
                            f"{s.queue_max_messages}")

    def room(self) -> bool:
        try:
            full = full_queues(self.redis, self.settings)
        except RedisError as exc:
            return self.log.update(f"Redis is unreachable ({type(exc).__name__}: {exc})")
        return self.log.update(describe_full(full, self.settings) if full else None)


def watch(box: Inbox, s: Settings, stop: threading.Event | None = None) -> None:
    log.info("watching %s", box.root)
    app = make_app("akhbar_watcher", s)  # sends ingest jobs; runs no task
    pause = Pause(Redis.from_url(s.redis_url), s)
    submit(app, box, recover=True, room=pause.room)
    tick_ms = max(100, int(box.stable_seconds * 500))
    # A short debounce: the quiet-time check, not event grouping, decides when a file is done.
    for _changes in watchfiles.watch(box.root, recursive=False, rust_timeout=tick_ms,
                                     yield_on_timeout=True, stop_event=stop, debounce=tick_ms,
                                     step=min(50, tick_ms)):
        for name in submit(app, box, room=pause.room):
            log.info("queued %s", name)
