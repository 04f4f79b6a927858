"""celery-batches made safe for at-least-once delivery (imported by the index worker only:
celery-batches is a dependency of akhbar-index).

Internals relied on (celery-batches 0.11, celery 5.6.3): `Batches._tref` (the flush timer entry)
and `Batches.Strategy`, which Celery calls again on each reconnect; `Batches.flush` (overridden)
and what it does: `_pool.apply_async(apply_batches_task, (task, ([SimpleRequest…],), 0, None))`,
whose result is None when the batch function raised.
"""

from __future__ import annotations

import logging
from collections.abc import Collection
from dataclasses import dataclass
from typing import Any, Protocol

from celery_batches import Batches, SimpleRequest
from celery_batches.trace import apply_batches_task

from akhbar.upstream import require

require("celery", "celery-batches")
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Settled:
    """What a batch function of `ReliableBatches` returns to the worker's main process: every
    job ended done, dead-lettered or back on the queue; `unavailable` says why the service it
    writes to did not take them all (None: it did)."""

    unavailable: str | None = None


class BatchGate(Protocol):
    """In the worker's main process: asked before a batch runs, told how each one went."""

    @property
    def paused(self) -> bool: ...

    def report(self, unavailable: str | None) -> None: ...


class ReliableBatches(Batches):  # type: ignore[misc]  # celery-batches ships no types
    """celery-batches made safe for at-least-once delivery.

    - Its flush timer survives a lost broker connection: Celery clears the consumer's timer when
      the connection drops (Redis restarted) and builds the strategy again on reconnecting, but
      Batches kept the dead timer entry and never started a new one, so the index stage buffered
      jobs and never wrote them (found by bench/faults.py redis-restart).
    - A batch is acknowledged only when the batch function returned: celery-batches catches what
      it raises (Redis away while re-sending a job, say) and acknowledged the messages anyway,
      losing them; they go back on the queue instead.
    - What it returned (`Settled`) is reported to the task's `gate` (a task option), which
      also holds batches while it is paused."""

    gate: BatchGate | None = None

    def Strategy(self, task: Batches, app: Any, consumer: Any) -> Any:  # noqa: N802 (Celery's)
        self._tref = None  # the next buffered request starts the timer again
        return super().Strategy(task, app, consumer)

    def flush(self, requests: Collection[Any]) -> Any:
        """Run the batch in the pool; then acknowledge its messages (the task is late-acked)
        if it returned, else put them back on the queue, redelivered. While the gate is
        paused, a batch it had already fetched goes back untried (a delivery that did not run
        is not counted)."""
        gate = self.gate
        if gate is not None and gate.paused:
            for req in requests:
                req.reject(requeue=True)
            return None

        def settle(result: Settled | None) -> None:  # None: the batch function raised
            if result is None:
                log.warning("putting a batch of %d message(s) back on the queue", len(requests))
                for req in requests:
                    req.reject(requeue=True)
                return
            for req in requests:
                req.acknowledge()
            if gate is not None:
                gate.report(result.unavailable)

        batch = ([SimpleRequest.from_request(r) for r in requests],)
        return self._pool.apply_async(apply_batches_task, (self, batch, 0, None),
                                      callback=settle)
