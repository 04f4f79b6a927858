"""Elasticsearch unavailable: what counts as a transient failure, and the index worker's pause.

Elasticsearch unreachable, slow or overloaded (connection refused, a timeout, 408, 429, 5xx)
says nothing about the documents: waiting helps, and retrying each job on its own budget only
dead-letters it when the outage outlasts the budget. So the index worker pauses instead
(`Pause`): it fetches nothing from its queue, probes Elasticsearch after a wait doubling up to a
cap, and fetches again once the probe answers. The jobs that met the outage go back on the queue
as they came. Setup (akhbar_index.setup) tries again on the same failures, with the same waits.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

import httpx
from elasticsearch import ApiError, ConnectionTimeout
from elasticsearch import ConnectionError as ESConnectionError

from akhbar.es import error_of
from akhbar.queues import PauseLog
from akhbar.retry import TRANSIENT_STATUS, backoff
from akhbar.settings import Settings, redact_url

log = logging.getLogger(__name__)
PROBE_TIMEOUT_S = 5.0  # the probe runs in the worker's event loop: keep it short


def transient(exc: BaseException) -> bool:
    """Elasticsearch (or Kibana, for setup) unreachable, slow or overloaded: waiting helps."""
    if isinstance(exc, ApiError):
        return exc.status_code in TRANSIENT_STATUS
    if isinstance(exc, httpx.HTTPStatusError):
        return exc.response.status_code in TRANSIENT_STATUS
    return isinstance(exc, (ESConnectionError, ConnectionTimeout, httpx.TransportError))


def describe(exc: BaseException) -> str:
    """One line: the status, type and reason Elasticsearch gave, else the exception."""
    if isinstance(exc, ApiError):
        err = error_of(exc)
        text = (f"{exc.status_code} {err.get('type')}: {err.get('reason')}"
                if err else f"{exc.status_code} {exc.body}")
    else:
        text = f"{type(exc).__name__}: {exc}"
    return " ".join(text.split())


def wait_after(failures: int, s: Settings) -> float:
    """The wait after `failures` consecutive failures (1, 2, …): doubling, capped."""
    return backoff(failures - 1, s.es_backoff_s, s.es_backoff_max_s)


def probe(s: Settings) -> str | None:
    """None if Elasticsearch answers a cluster health request (yellow or better), else why not.
    A plain request: the worker's main process keeps no client (nor connection) its pool would
    inherit, and a refused probe is not logged by a client's node pool each time."""
    try:
        httpx.get(f"{s.es_url.rstrip('/')}/_cluster/health", auth=s.es_auth,
                  params={"wait_for_status": "yellow", "timeout": "1s"},
                  timeout=PROBE_TIMEOUT_S).raise_for_status()
        return None
    except httpx.HTTPError as exc:  # anything but an answer: still unavailable
        return describe(exc)


class Pause:
    """The index worker's gate on fetching (in its main process): closed when a batch reports
    Elasticsearch unavailable, opened again by the first probe that gets an answer. Probes come
    `wait_after` apart, and consecutive failures (failed probes, and batches failing again right
    after a resume, as under 429s the probe does not see) lengthen the wait until a batch is
    taken. Logs once when it pauses and once when it resumes."""

    def __init__(self, s: Settings, probe: Callable[[], str | None],
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.s, self.probe, self.clock = s, probe, clock
        self.failures = 0
        self.reopen_at: float | None = None  # None: open
        self.log = PauseLog(log, "no index message is fetched", "fetching index messages again")

    @property
    def paused(self) -> bool:
        return self.reopen_at is not None

    def report(self, unavailable: str | None) -> None:
        """A batch ended: None if Elasticsearch took it, else why it was unavailable."""
        if unavailable is None:
            if not self.paused:
                self.failures = 0
        elif not self.paused:  # batches already under way when it paused change nothing
            self._close(unavailable)

    def open(self) -> bool:
        """May the worker fetch? Probes Elasticsearch once the wait is over."""
        if self.reopen_at is None:
            return True
        if self.clock() < self.reopen_at:
            return False
        why = self.probe()
        if why is not None:
            log.debug("Elasticsearch still unavailable: %s", why)
            self._close(why)
            return False
        self.reopen_at = None
        return self.log.update(None)

    def _close(self, why: str) -> None:
        self.failures += 1
        wait = wait_after(self.failures, self.s)
        self.reopen_at = self.clock() + wait
        self.log.update(f"Elasticsearch at {redact_url(self.s.es_url)} is unavailable ({why}); "
                        f"probing it every {self.s.es_backoff_s:g}-{self.s.es_backoff_max_s:g} s")
