"""Watches the inbox and sends one ingest job per finished file.

Files already present at start are taken too, and jobs for files a previous run claimed but may
not have sent are re-sent (ingest skips files already filed). Between change events the inbox is
rescanned at a short interval, so a file is taken as soon as it has been quiet long enough.
"""

from __future__ import annotations

import logging
import threading

import watchfiles

from akhbar_ingest.inbox import Inbox
from akhbar_ingest.tasks import submit

log = logging.getLogger(__name__)


def watch(box: Inbox, stop: threading.Event | None = None) -> None:
    log.info("watching %s", box.root)
    submit(box, recover=True)
    tick_ms = max(100, int(box.stable_seconds * 500))
    # A short debounce: the quiet-time check, not event grouping, decides when a file is done.
    for _changes in watchfiles.watch(box.root, recursive=False, rust_timeout=tick_ms,
                                     yield_on_timeout=True, stop_event=stop, debounce=tick_ms,
                                     step=min(50, tick_ms)):
        for name in submit(box):
            log.info("queued %s", name)
