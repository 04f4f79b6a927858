"""Celery glue for index (`celery -A akhbar_index.tasks worker -Q index`).

Importing this module reads no settings: Celery asks for its `app` when the worker starts (`-A`
looks the attribute up), and `worker_app` builds it then, with the worker's `settings`, `rt`
and `pause` below.

Messages are buffered by celery-batches and their jobs written together (bulk.py): a batch is
flushed once its messages can carry `bulk_size` documents (`jobs_per_message` each) or every
`bulk_flush_s`. With late acks a batch is acknowledged only after it returns (and put back on
the queue if it raised, `ReliableBatches`), so the batch function never raises for a job's
sake: every job ends indexed, dead-lettered with its reason, or back on the queue.

While Elasticsearch is unavailable the worker pauses (akhbar_index.outage.Pause): the jobs that
met the outage are sent back to the index queue as they came — new messages, so neither a retry
nor a delivery is counted against them however long it lasts — and the worker's fetch gate
(akhbar.broker) stays closed until a probe gets an answer; the queue fills to
AKHBAR_QUEUE_MAX_MESSAGES and backpressure holds the stages before it.
"""

from __future__ import annotations

import logging
from collections.abc import Collection
from contextlib import ExitStack
from dataclasses import dataclass
from functools import cache, lru_cache, partial
from typing import Any

from celery import Celery, bootsteps
from celery_batches import Batches, SimpleRequest
from celery_batches.trace import apply_batches_task
from elasticsearch import ApiError, Elasticsearch, TransportError
from redis import Redis

from akhbar.contract import ContractError, Envelope
from akhbar.es import make_client
from akhbar.queues import make_app, send_jobs, task_name
from akhbar.settings import Settings, get_settings, redact_url
from akhbar.worker import Job, StageRuntime, delivery, process_jobs, retry_later
from akhbar_index.bulk import BulkOutcome, BulkWriter
from akhbar_index.outage import Pause, describe, probe
from akhbar_index.setup import SetupError, setup_elasticsearch

STAGE = "index"
log = logging.getLogger(__name__)
# Set by worker_app when the worker starts.
settings: Settings
app: Celery
rt: StageRuntime
# In the worker's main process: reported to by each batch, asked before each fetch.
pause: Pause


@lru_cache(maxsize=1)
def es() -> Elasticsearch:  # one client per worker process
    return make_client(settings)


@lru_cache(maxsize=1)
def ready() -> bool:
    """Template, policy and alias applied (once per process; idempotent if repeated)."""
    setup_elasticsearch(es(), settings)
    return True


@dataclass(frozen=True)
class Settled:
    """What a batch returns to the worker's main process: every job ended indexed,
    dead-lettered or back on the queue; `unavailable` says why Elasticsearch did not take
    them all (None: it did)."""

    unavailable: str | None = None


class ReliableBatches(Batches):
    """celery-batches made safe for at-least-once delivery.

    - Its flush timer survives a lost broker connection: Celery clears the consumer's timer when
      the connection drops (Redis restarted) and builds the strategy again on reconnecting, but
      Batches kept the dead timer entry and never started a new one, so the index stage buffered
      jobs and never wrote them (found by bench/faults.py redis-restart).
    - A batch is acknowledged only when the batch function returned: celery-batches catches what
      it raises (Redis away while re-sending a job, say) and acknowledged the messages anyway,
      losing them; they go back on the queue instead.
    - What it returned tells the worker's `pause` whether Elasticsearch took the batch."""

    def Strategy(self, task: Batches, app: Any, consumer: Any) -> Any:  # noqa: N802 (Celery's)
        self._tref = None  # the next buffered request starts the timer again
        return super().Strategy(task, app, consumer)

    def flush(self, requests: Collection[Any]) -> Any:
        """Run the batch in the pool; then acknowledge its messages (the task is late-acked)
        if it returned, else put them back on the queue, redelivered. While the worker is
        paused, a batch it had already fetched goes back untried (a delivery that did not run
        is not counted)."""
        if pause.paused:
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
            pause.report(result.unavailable)

        batch = ([SimpleRequest.from_request(r) for r in requests],)
        return self._pool.apply_async(apply_batches_task, (self, batch, 0, None),
                                      callback=settle)


class ElasticsearchGate(bootsteps.StartStopStep):
    """A consumer step of the index worker: no message is fetched while `pause` is closed (on
    top of the backpressure gate, when the route has a stage after index)."""

    requires = ("akhbar.worker:Backpressure",)

    def start(self, c: Any) -> None:
        channel = c.task_consumer.channel
        after = channel.fetch_gate

        def gate(redis: Redis) -> bool:
            return pause.open() and (after is None or after(redis))

        channel.fetch_gate = gate


@cache
def worker_app() -> Celery:
    """The index worker's app, with the settings of its environment."""
    global settings, app, rt, pause
    settings = get_settings()
    app = make_app("akhbar_index", settings)
    # Batches count messages; a message carries up to jobs_per_message documents.
    flush_messages = -(-settings.bulk_size // settings.jobs_per_message)
    # celery-batches needs prefetch × concurrency above its flush size to ever fill a batch.
    app.conf.worker_prefetch_multiplier = flush_messages * 2
    rt = StageRuntime(STAGE, settings)
    pause = Pause(settings, partial(probe, settings))
    app.steps["consumer"].add(ElasticsearchGate)
    app.task(name=task_name(STAGE), base=ReliableBatches, acks_late=True,
             flush_every=flush_messages, flush_interval=settings.bulk_flush_s)(index_batch)
    return app


def __getattr__(name: str) -> Celery:
    if name == "app":  # what `celery -A akhbar_index.tasks` looks up before worker_app ran
        return worker_app()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


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
