"""Celery glue for index (`celery -A akhbar_index.tasks worker -Q index`).

Messages are buffered by celery-batches and their jobs written together (bulk.py): a batch is
flushed once its messages can carry `bulk_size` documents (`jobs_per_message` each) or every
`bulk_flush_s`. With late acks a batch is acknowledged only after it returns (and put back on
the queue if it raised, `ReliableBatches`), so the batch function never raises for a job's
sake: every job ends indexed, dead-lettered with its reason, or re-sent with a backoff delay
(dead-lettered once it has used its retries).
"""

from __future__ import annotations

import logging
from collections.abc import Collection
from contextlib import ExitStack
from functools import lru_cache
from typing import Any

from celery_batches import Batches, SimpleRequest
from celery_batches.trace import apply_batches_task
from elasticsearch import Elasticsearch, TransportError

from akhbar.contract import ContractError, Envelope, TransientError
from akhbar.es import make_client
from akhbar.queues import make_app, task_name
from akhbar.settings import get_settings
from akhbar.worker import Job, StageRuntime, delivery, process_jobs, retry_later
from akhbar_index.bulk import BulkOutcome, BulkWriter
from akhbar_index.setup import setup_elasticsearch

STAGE = "index"
log = logging.getLogger(__name__)
settings = get_settings()
app = make_app("akhbar_index", settings)
# Batches count messages; a message carries up to jobs_per_message documents.
FLUSH_MESSAGES = -(-settings.bulk_size // settings.jobs_per_message)
# celery-batches needs prefetch × concurrency above its flush size to ever fill a batch.
app.conf.worker_prefetch_multiplier = FLUSH_MESSAGES * 2
rt = StageRuntime(STAGE, settings)


@lru_cache(maxsize=1)
def es() -> Elasticsearch:  # one client per worker process
    return make_client(settings)


@lru_cache(maxsize=1)
def ready() -> bool:
    """Template, policy and alias applied (once per process; idempotent if repeated)."""
    setup_elasticsearch(es(), settings)
    return True


class ReliableBatches(Batches):
    """celery-batches made safe for at-least-once delivery.

    - Its flush timer survives a lost broker connection: Celery clears the consumer's timer when
      the connection drops (Redis restarted) and builds the strategy again on reconnecting, but
      Batches kept the dead timer entry and never started a new one, so the index stage buffered
      jobs and never wrote them (found by bench/faults.py redis-restart).
    - A batch is acknowledged only when the batch function returned: celery-batches catches what
      it raises (Redis away while re-sending a job, say) and acknowledged the messages anyway,
      losing them; they go back on the queue instead."""

    def Strategy(self, task: Batches, app: Any, consumer: Any) -> Any:  # noqa: N802 (Celery's)
        self._tref = None  # the next buffered request starts the timer again
        return super().Strategy(task, app, consumer)

    def flush(self, requests: Collection[Any]) -> Any:
        """Run the batch in the pool; then acknowledge its messages (the task is late-acked)
        if it returned True, else put them back on the queue, redelivered."""
        def settle(finished: bool | None) -> None:  # None: the batch function raised
            if not finished:
                log.warning("putting a batch of %d message(s) back on the queue", len(requests))
            for req in requests:
                if finished:
                    req.acknowledge()
                else:
                    req.reject(requeue=True)

        batch = ([SimpleRequest.from_request(r) for r in requests],)
        return self._pool.apply_async(apply_batches_task, (self, batch, 0, None),
                                      callback=settle)


@app.task(name=task_name(STAGE), base=ReliableBatches, acks_late=True,
          flush_every=FLUSH_MESSAGES, flush_interval=settings.bulk_flush_s)
def index_batch(requests: list[SimpleRequest]) -> bool:
    """True once every job is indexed, dead-lettered or re-sent (see ReliableBatches)."""
    with ExitStack() as stack:
        done: list[tuple[Job, Envelope]] = []
        for req in requests:
            message = req.args[0] if req.args else None
            if stack.enter_context(delivery(rt, req, message)):
                finished, failed = process_jobs(rt, message)
                done += finished
                retry_later(app, rt, failed)
        write(done)
    return True


def write(done: list[tuple[Job, Envelope]]) -> None:
    """Bulk-index the jobs; each ends indexed, dead-lettered or re-sent."""
    jobs = {env.article.id: (job, env) for job, env in done}  # one document per id
    if not jobs:
        return
    try:
        ready()
        outcome = BulkWriter(es(), settings).write(
            [env.article.document() for _, env in jobs.values()])
    except (TransportError, TransientError) as exc:  # not reachable yet: every job waits
        outcome = BulkOutcome(unavailable=list(jobs), last_error=f"{type(exc).__name__}: {exc}")
    except Exception as exc:  # Elasticsearch refused the request itself
        for job, _ in jobs.values():
            rt.reject(job, exc)
        return
    if outcome.unavailable:
        ready.cache_clear()  # set up again next time, in case the cluster was reset
    for doc_id, reason in outcome.rejected.items():
        rt.reject(jobs[doc_id][0], ContractError(f"Elasticsearch rejected the document: {reason}"))
    unavailable = ConnectionError(f"Elasticsearch unavailable: {outcome.last_error}")
    retry_later(app, rt, [(jobs[doc_id][0], unavailable) for doc_id in outcome.unavailable])
    log.info("%d job(s): %d indexed, %d rejected, %d to retry", len(jobs),
             len(outcome.indexed), len(outcome.rejected), len(outcome.unavailable))
