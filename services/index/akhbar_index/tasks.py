"""Celery glue for index (`celery -A akhbar_index.tasks worker -Q index`).

Messages are buffered by celery-batches and their jobs written together (bulk.py): a batch is
flushed once its messages can carry `bulk_size` documents (`jobs_per_message` each) or every
`bulk_flush_s`. With late acks a batch is acknowledged only after it returns (and put back on
the queue if it raised: akhbar.upstream.batches.ReliableBatches), so the batch function never
raises for a job's sake: every job ends indexed, dead-lettered with its reason, or back on the
queue.

While Elasticsearch is unavailable the worker pauses (akhbar_index.outage.Pause): the jobs that
met the outage are sent back to the index queue as they came — new messages, so neither a retry
nor a delivery is counted against them however long it lasts — and the worker's fetch gate
(akhbar.upstream.kombu_redis) stays closed until a probe gets an answer; the queue fills to
AKHBAR_QUEUE_MAX_MESSAGES and backpressure holds the stages before it.
"""

from __future__ import annotations

import logging
from contextlib import ExitStack
from functools import lru_cache, partial

from celery_batches import SimpleRequest
from elasticsearch import ApiError, Elasticsearch, TransportError

from akhbar.contract import ContractError, Envelope
from akhbar.es import make_client
from akhbar.queues import make_app, send_jobs, task_name
from akhbar.settings import get_settings, redact_url
from akhbar.upstream.batches import ReliableBatches, Settled
from akhbar.upstream.celery_worker import gate_fetching
from akhbar.worker import Job, StageRuntime, delivery, process_jobs, retry_later
from akhbar_index.bulk import BulkOutcome, BulkWriter
from akhbar_index.outage import Pause, describe, probe
from akhbar_index.setup import SetupError, setup_elasticsearch

STAGE = "index"
log = logging.getLogger(__name__)
settings = get_settings()
app = make_app("akhbar_index", settings)
# Batches count messages; a message carries up to jobs_per_message documents.
FLUSH_MESSAGES = -(-settings.bulk_size // settings.jobs_per_message)
# celery-batches needs prefetch × concurrency above its flush size to ever fill a batch.
app.conf.worker_prefetch_multiplier = FLUSH_MESSAGES * 2
rt = StageRuntime(STAGE, settings)
# In the worker's main process: reported to by each batch, asked before each fetch.
pause = Pause(settings, partial(probe, settings))


@lru_cache(maxsize=1)
def es() -> Elasticsearch:  # one client per worker process
    return make_client(settings)


@lru_cache(maxsize=1)
def ready() -> bool:
    """Template, policy and alias applied (once per process; idempotent if repeated)."""
    setup_elasticsearch(es(), settings)
    return True


gate_fetching(app, pause.open)  # nothing fetched while Elasticsearch is unavailable


@app.task(name=task_name(STAGE), base=ReliableBatches, gate=pause, acks_late=True,  # type: ignore[untyped-decorator]
          flush_every=FLUSH_MESSAGES, flush_interval=settings.bulk_flush_s)
def index_batch(requests: list[SimpleRequest]) -> Settled:
    """Every job indexed, dead-lettered or sent back (see ReliableBatches)."""
    with ExitStack() as stack:
        done: list[tuple[Job, Envelope]] = []
        for req in requests:
            message = req.args[0] if req.args else None
            if stack.enter_context(delivery(rt, req, message)):
                finished, failed = process_jobs(rt, message)
                done += finished
                retry_later(app, rt, failed)
        unavailable = write(done)
    return Settled(unavailable)


def write(done: list[tuple[Job, Envelope]]) -> str | None:
    """Bulk-index the jobs: each ends indexed, dead-lettered (a document Elasticsearch refuses)
    or, Elasticsearch unavailable, sent back to the index queue as it came. Returns why
    Elasticsearch was unavailable, if it was."""
    jobs = {env.article.id: (job, env) for job, env in done}  # one document per id
    if not jobs:
        return None
    try:
        ready()
        outcome = BulkWriter(es(), settings).write(
            [env.article.document() for _, env in jobs.values()])
    except SetupError as exc:  # a configuration error: nothing is written until it is fixed
        log.error("Elasticsearch setup failed: %s", exc)
        outcome = BulkOutcome(unavailable=list(jobs), why=f"setup failed: {exc}")
    except (ApiError, TransportError) as exc:  # unavailable during setup
        outcome = BulkOutcome(unavailable=list(jobs), why=f"setup: {describe(exc)}")
    for doc_id, reason in outcome.rejected.items():
        rt.reject(jobs[doc_id][0], ContractError(reason))
    if outcome.unavailable:
        ready.cache_clear()  # set up again next time, in case the cluster was reset
        send_jobs(app, STAGE, [jobs[doc_id][0] for doc_id in outcome.unavailable],
                  settings.jobs_per_message)
        log.warning("Elasticsearch at %s unavailable (%s): %d job(s) back on the index queue",
                    redact_url(settings.es_url), outcome.why, len(outcome.unavailable))
    log.info("%d job(s): %d indexed, %d rejected, %d back on the queue", len(jobs),
             len(outcome.indexed), len(outcome.rejected), len(outcome.unavailable))
    return outcome.why if outcome.unavailable else None
