"""Celery glue for index (`celery -A akhbar_index.tasks worker -Q index`).

Jobs are buffered by celery-batches and written with one `_bulk` per batch (at `bulk_size`
jobs or every `bulk_flush_s`). With late acks a batch is acknowledged only after it returns,
so the batch function never raises: every job ends indexed, dead-lettered with its reason, or
re-sent with a backoff delay (and dead-lettered once it has used its retries).
"""

from __future__ import annotations

import logging
from functools import lru_cache
from typing import Any

from celery_batches import Batches, SimpleRequest
from elasticsearch import Elasticsearch, TransportError

from akhbar.contract import ContractError, Envelope, TransientError
from akhbar.es import make_client
from akhbar.queues import make_app, send_job, task_name
from akhbar.settings import get_settings
from akhbar.stages import run_stage
from akhbar.worker import DeliveryGuard, StageRuntime, backoff_delay, with_failure
from akhbar_index.bulk import BulkOutcome, BulkWriter
from akhbar_index.setup import setup_elasticsearch

STAGE = "index"
log = logging.getLogger(__name__)
settings = get_settings()
app = make_app("akhbar_index", settings)
# celery-batches needs prefetch × concurrency above its flush size to ever fill a batch.
app.conf.worker_prefetch_multiplier = settings.bulk_size * 2
rt = StageRuntime(STAGE, settings)




@lru_cache(maxsize=1)
def es() -> Elasticsearch:  # one client per worker process
    return make_client(settings)


@lru_cache(maxsize=1)
def ready() -> bool:
    """Template, policy and alias applied (once per process; idempotent if repeated)."""
    setup_elasticsearch(es(), settings)
    return True


@app.task(name=task_name(STAGE), base=Batches, acks_late=True,
          flush_every=settings.bulk_size, flush_interval=settings.bulk_flush_s)
def index_batch(requests: list[SimpleRequest]) -> None:
    jobs: dict[str, tuple[Any, Envelope]] = {}
    guard = DeliveryGuard(rt.redis, STAGE)
    for req in requests:
        message = req.args[0] if req.args else None
        try:
            env = Envelope.from_message(message)
            if guard.enter(req.id, req.delivery_info) > settings.max_deliveries:
                raise RuntimeError(f"delivered more than {settings.max_deliveries} times "
                                   "without finishing (the worker died while running it)")
            env.article = run_stage(STAGE, rt.process, env.article)
        except Exception as exc:  # contract violation or a stage bug: this job only
            rt.reject(message, exc)
            continue
        jobs[env.article.id] = (message, env)  # a re-sent duplicate in one batch is one doc
    try:
        write(jobs)
    finally:
        for req in requests:
            guard.leave(req.id, req.delivery_info)


def write(jobs: dict[str, tuple[Any, Envelope]]) -> None:
    """Bulk-index the batch; every job ends indexed, dead-lettered or re-sent."""
    if not jobs:
        return
    docs = [env.article.document() for _, env in jobs.values()]
    try:
        ready()
        outcome = BulkWriter(es(), settings).write(docs)
    except (TransportError, TransientError) as exc:  # not reachable yet: every job waits
        outcome = BulkOutcome(unavailable=list(jobs), last_error=f"{type(exc).__name__}: {exc}")
    except Exception as exc:  # Elasticsearch refused the request itself
        for message, _ in jobs.values():
            rt.reject(message, exc)
        return
    if outcome.unavailable:
        ready.cache_clear()  # set up again next time, in case the cluster was reset
    for doc_id, reason in outcome.rejected.items():
        rt.reject(jobs[doc_id][0], ContractError(f"Elasticsearch rejected the document: {reason}"))
    for doc_id in outcome.unavailable:
        message, _ = jobs[doc_id]
        exc = ConnectionError(f"Elasticsearch unavailable: {outcome.last_error}")
        again = with_failure(message, STAGE, exc)
        tries = again["attempts"][STAGE]
        if tries > settings.retry_max:
            rt.reject(again, exc)
        else:
            send_job(app, STAGE, again, countdown=backoff_delay(tries, settings))
    log.info("batch of %d: %d indexed, %d rejected, %d re-sent", len(jobs),
             len(outcome.indexed), len(outcome.rejected), len(outcome.unavailable))

