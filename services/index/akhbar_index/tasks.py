"""Celery glue for index (`celery -A akhbar_index.tasks worker -Q index`).

Messages are buffered by celery-batches and their jobs written together (bulk.py): a batch is
flushed once its messages can carry `bulk_size` documents (`jobs_per_message` each) or every
`bulk_flush_s`. With late acks a batch is acknowledged only
after it returns, so the batch function never raises for a job's sake: every job ends indexed,
dead-lettered with its reason, or re-sent with a backoff delay (dead-lettered once it has used
its retries).
"""

from __future__ import annotations

import logging
from contextlib import ExitStack
from functools import lru_cache
from typing import Any

from celery_batches import Batches, SimpleRequest
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


class RestartingBatches(Batches):
    """celery-batches whose flush timer survives a lost broker connection. Celery clears the
    consumer's timer when the connection drops (Redis restarted) and builds the strategy again
    on reconnecting, but Batches kept the dead timer entry and never started a new one, so the
    index stage buffered jobs and never wrote them (found by bench/faults.py redis-restart)."""

    def Strategy(self, task: Batches, app: Any, consumer: Any) -> Any:  # noqa: N802 (Celery's)
        self._tref = None  # the next buffered request starts the timer again
        return super().Strategy(task, app, consumer)


@app.task(name=task_name(STAGE), base=RestartingBatches, acks_late=True,
          flush_every=FLUSH_MESSAGES, flush_interval=settings.bulk_flush_s)
def index_batch(requests: list[SimpleRequest]) -> None:
    with ExitStack() as stack:
        done: list[tuple[Job, Envelope]] = []
        for req in requests:
            message = req.args[0] if req.args else None
            if stack.enter_context(delivery(rt, req, message)):
                finished, failed = process_jobs(rt, message)
                done += finished
                retry_later(app, rt, failed)
        write(done)


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
