"""Celery glue for index (`celery -A akhbar_index.tasks worker -Q index`).

Importing this module reads no settings: Celery asks for its `app` when the worker starts (`-A`
looks the attribute up), and `make_index_app` builds it then.

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

What was written goes on to the stage after index on the job's route (embed) as id and concrete
index (akhbar.contract.Indexed), but never at index's expense: past AKHBAR_EMBED_BACKLOG_MAX
messages in that queue, or with Redis refusing, the documents are counted (akhbar status) and
left to that stage's catch-up: they are in the index, without its field.
"""

from __future__ import annotations

import logging
from contextlib import ExitStack
from functools import partial

from celery import Celery
from celery_batches import SimpleRequest
from elasticsearch import ApiError, Elasticsearch, TransportError

from akhbar.contract import ContractError, Envelope, Indexed
from akhbar.es import make_client
from akhbar.queues import app_on_lookup, make_app, send_jobs, skipped_key, task_name
from akhbar.redis_reply import sync
from akhbar.settings import Settings, get_settings, redact_url
from akhbar.upstream.batches import ReliableBatches, Settled
from akhbar.upstream.celery_worker import gate_fetching
from akhbar.worker import RETRYABLE, Job, StageRuntime, delivery, process_jobs, retry_later
from akhbar_index.bulk import BulkOutcome, BulkWriter
from akhbar_index.outage import Pause, describe, probe
from akhbar_index.setup import SetupError, setup_elasticsearch

STAGE = "index"
log = logging.getLogger(__name__)


class Writer:
    """Per worker process: the Elasticsearch client, set up once (idempotent if repeated)."""

    def __init__(self, app: Celery, rt: StageRuntime) -> None:
        self.app, self.rt, self.settings = app, rt, rt.settings
        self._es: Elasticsearch | None = None
        self._ready = False

    def es(self) -> Elasticsearch:
        if self._es is None:
            self._es = make_client(self.settings)
        return self._es

    def batch(self, requests: list[SimpleRequest]) -> Settled:
        """Every job indexed, dead-lettered or sent back (see ReliableBatches)."""
        with ExitStack() as stack:
            done: list[tuple[Job, Envelope]] = []
            for req in requests:
                message = req.args[0] if req.args else None
                if stack.enter_context(delivery(self.rt, req, message)):
                    finished, failed = process_jobs(self.rt, message)
                    done += finished
                    retry_later(self.app, self.rt, failed)
            unavailable = self.write(done)
        return Settled(unavailable)

    def write(self, done: list[tuple[Job, Envelope]]) -> str | None:
        """Bulk-index the jobs: each ends indexed, dead-lettered (a document Elasticsearch
        refuses) or, Elasticsearch unavailable, sent back to the index queue as it came.
        Returns why Elasticsearch was unavailable, if it was."""
        s = self.settings
        jobs = {env.article.id: (job, env) for job, env in done}  # one document per id
        if not jobs:
            return None
        try:
            if not self._ready:  # template, policy and alias applied
                setup_elasticsearch(self.es(), s)
                self._ready = True
            outcome = BulkWriter(self.es(), s).write(
                [env.article.document() for _, env in jobs.values()])
        except SetupError as exc:  # a configuration error: nothing is written until it is fixed
            log.error("Elasticsearch setup failed: %s", exc)
            outcome = BulkOutcome(unavailable=list(jobs), why=f"setup failed: {exc}")
        except (ApiError, TransportError) as exc:  # unavailable during setup
            outcome = BulkOutcome(unavailable=list(jobs), why=f"setup: {describe(exc)}")
        for doc_id, reason in outcome.rejected.items():
            self.rt.reject(jobs[doc_id][0], ContractError(reason))
        if outcome.unavailable:
            self._ready = False  # set up again next time, in case the cluster was reset
            send_jobs(self.app, STAGE, [jobs[doc_id][0] for doc_id in outcome.unavailable],
                      s.jobs_per_message)
            log.warning("Elasticsearch at %s unavailable (%s): %d job(s) back on the index "
                        "queue", redact_url(s.es_url), outcome.why, len(outcome.unavailable))
        log.info("%d job(s): %d indexed, %d rejected, %d back on the queue", len(jobs),
                 len(outcome.indexed), len(outcome.rejected), len(outcome.unavailable))
        self.send_on(jobs, outcome.indexed)
        return outcome.why if outcome.unavailable else None

    def send_on(self, jobs: dict[str, tuple[Job, Envelope]], indexed: dict[str, str]) -> None:
        """Send the documents written to the stage after index on their route, while its queue
        holds fewer than AKHBAR_EMBED_BACKLOG_MAX messages; else count them as skipped."""
        by_stage: dict[str, list[Job]] = {}
        for doc_id, index in indexed.items():
            nxt = jobs[doc_id][1].next_stage(STAGE)
            if nxt is not None:
                by_stage.setdefault(nxt, []).append(
                    Indexed(id=doc_id, index=index).model_dump(mode="json"))
        bound = self.settings.embed_backlog_max
        for nxt, sent in by_stage.items():
            try:
                if sync(self.rt.redis.llen(nxt)) < bound:
                    send_jobs(self.app, nxt, sent, self.settings.jobs_per_message)
                    continue
                self.rt.redis.incrby(skipped_key(nxt), len(sent))
                log.info("%d document(s) not sent to %s: it holds AKHBAR_EMBED_BACKLOG_MAX=%d "
                         "messages (left to its catch-up)", len(sent), nxt, bound)
            except RETRYABLE as exc:  # the documents are indexed: nothing may undo that
                log.warning("%d document(s) not sent to %s (left to its catch-up): %s: %s",
                            len(sent), nxt, type(exc).__name__, exc)


def make_index_app(s: Settings) -> Celery:
    """The batch task bound to the index queue, and the worker's fetch gate."""
    app = make_app("akhbar_index", s)
    # Batches count messages; a message carries up to jobs_per_message documents.
    flush_messages = -(-s.bulk_size // s.jobs_per_message)
    # celery-batches needs prefetch × concurrency above its flush size to ever fill a batch.
    app.conf.worker_prefetch_multiplier = flush_messages * 2
    # In the worker's main process: reported to by each batch, asked before each fetch.
    pause = Pause(s, partial(probe, s))
    gate_fetching(app, pause.open)  # nothing fetched while Elasticsearch is unavailable
    writer = Writer(app, StageRuntime(STAGE, s))
    app.task(name=task_name(STAGE), base=ReliableBatches, gate=pause, acks_late=True,
             flush_every=flush_messages, flush_interval=s.bulk_flush_s)(writer.batch)
    return app


__getattr__ = app_on_lookup(__name__, lambda: make_index_app(get_settings()))
