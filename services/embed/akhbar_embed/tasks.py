"""Celery glue for embed (`celery -A akhbar_embed.tasks worker -Q embed`).

The index worker sends each document it wrote (akhbar.contract.Indexed: id and concrete index)
to the embed queue, bounded by AKHBAR_EMBED_BACKLOG_MAX; messages are buffered by celery-batches
and their documents embedded together (batching makes the model faster), at a lower CPU
priority than the keyword stages (AKHBAR_EMBED_NICE), AKHBAR_EMBED_THREADS model threads per
worker process.

The durable backlog is the index itself: the documents without a vector. While the embed queue
is empty, the worker's main process looks every AKHBAR_EMBED_CATCHUP_S for the newest
AKHBAR_EMBED_CATCHUP_BATCH of them and queues them (`CatchUp`): so the stage catches up when
traffic falls, after index skipped documents past the bound, and after an outage of embed or of
Elasticsearch. One catch-up is in flight at a time across all embed workers (a Redis lock,
released once its batch is written and refreshed, or after AKHBAR_TASK_TIME_LIMIT_S).

Nothing blocks or loses an article: Elasticsearch unavailable leaves the batch to the catch-up;
a document that cannot be embedded is dead-lettered with its job and marked (FAILED_FIELD), so
the catch-up never takes it again; `akhbar dlq replay embed` tries it once more.
"""

from __future__ import annotations

import logging
import os
from contextlib import ExitStack
from typing import Any

import httpx
from celery import Celery, bootsteps, signals
from celery_batches import SimpleRequest
from elasticsearch import ApiError, TransportError
from redis import Redis

from akhbar.contract import ContractError, Indexed
from akhbar.es import ALIAS, make_client
from akhbar.queues import app_on_lookup, keyword_idle, make_app, send_jobs, task_name, unpack
from akhbar.settings import MAX_JOBS_PER_MESSAGE, Settings, get_settings
from akhbar.stages import worker_name
from akhbar.upstream.batches import ReliableBatches, Settled
from akhbar.upstream.celery_worker import gate_fetching
from akhbar.worker import RETRYABLE, Job, StageRuntime, delivery
from akhbar_embed.embedder import Embedder
from akhbar_embed.mapping import ensure_mapping
from akhbar_embed.stage import catch_up_body

STAGE = "embed"
CATCH_UP_LOCK = "akhbar:embed:catch-up"
log = logging.getLogger(__name__)


class Worker:
    """Per worker process: the Elasticsearch client and the mapping check, once."""

    def __init__(self, rt: StageRuntime) -> None:
        self.rt, self.settings = rt, rt.settings
        self._embedder: Embedder | None = None

    def embedder(self) -> Embedder:
        if self._embedder is None:
            es = make_client(self.settings)
            ensure_mapping(es, self.settings)  # older indices get the embed fields
            redis = self.rt.redis
            self._embedder = Embedder(es, self.settings,
                                      lambda: keyword_idle(redis, self.settings))
        return self._embedder

    def batch(self, requests: list[SimpleRequest]) -> Settled:
        """Every document embedded, dead-lettered, gone, or left to the catch-up."""
        with ExitStack() as stack:
            jobs: dict[str, tuple[Job, Indexed]] = {}
            for req in requests:
                message = req.args[0] if req.args else None
                if stack.enter_context(delivery(self.rt, req, message)):
                    jobs.update(self.admit(message))
            self.embed(jobs)
        return Settled()

    def admit(self, message: Any) -> dict[str, tuple[Job, Indexed]]:
        try:
            raw = unpack(message)
        except ContractError as exc:
            self.rt.reject(message, exc)
            return {}
        out = {}
        for job in raw:
            try:
                indexed = Indexed.from_message(job)
            except ContractError as exc:
                self.rt.reject(job, exc)
                continue
            out[indexed.id] = (job, indexed)
        return out

    def embed(self, jobs: dict[str, tuple[Job, Indexed]]) -> None:
        catch_up = any(ix.catch_up for _, ix in jobs.values())
        try:
            if not jobs:
                return
            try:
                embedder = self.embedder()
                outcome = embedder.run([ix for _, ix in jobs.values()], refresh=catch_up)
            except (ApiError, TransportError) as exc:  # the mapping check: unavailable
                log.warning("Elasticsearch unavailable (%s): %d document(s) left to the "
                            "catch-up", exc, len(jobs))
                return
            for doc_id, why in outcome.failed.items():
                self.rt.reject(jobs[doc_id][0], ContractError(why))
            embedder.mark_failed({i: ix for i, (_, ix) in jobs.items()}, outcome.failed)
            if outcome.unavailable:
                log.warning("Elasticsearch unavailable (%s): %d document(s) left to the "
                            "catch-up", outcome.why, len(outcome.unavailable))
            log.info("%d document(s): %d embedded, %d dead-lettered, %d gone, %d left to the "
                     "catch-up (%d while the keyword stages were busy)", len(jobs),
                     len(outcome.done), len(outcome.failed), len(outcome.gone),
                     len(outcome.unavailable) + len(outcome.deferred), len(outcome.deferred))
        finally:
            if catch_up:
                self.rt.redis.delete(CATCH_UP_LOCK)


class CatchUp(bootsteps.StartStopStep):  # type: ignore[misc]  # Celery ships no types
    """A consumer step of the embed worker: every AKHBAR_EMBED_CATCHUP_S, while the embed
    queue is empty and no other catch-up is in flight, queue the newest documents without a
    vector (one message). In the main process, so a plain short request, no client kept."""

    requires = ("celery.worker.consumer.tasks:Tasks",)

    def __init__(self, c: Any, **kwargs: Any) -> None:
        super().__init__(c, **kwargs)
        self.tref: Any = None

    def start(self, c: Any) -> None:
        s = get_settings()
        self.tref = c.timer.call_repeatedly(s.embed_catchup_s, catch_up,
                                            (c.app, s, Redis.from_url(s.redis_url)))

    def stop(self, c: Any) -> None:
        if self.tref is not None:
            self.tref.cancel()
            self.tref = None


def catch_up(app: Celery, s: Settings, redis: Redis) -> int:
    """Queue a batch of documents still without a vector, if the embed queue is empty and no
    catch-up is in flight; the number queued."""
    try:
        if redis.llen(STAGE) or not redis.set(CATCH_UP_LOCK, worker_name(), nx=True,
                                              ex=s.task_time_limit_s):
            return 0
        try:
            resp = httpx.post(f"{s.es_url.rstrip('/')}/{ALIAS}/_search",
                              params={"ignore_unavailable": "true"},
                              json=catch_up_body(s.embed_catchup_batch), auth=s.es_auth,
                              timeout=5.0)
            resp.raise_for_status()
            hits = resp.json()["hits"]["hits"]
        except (httpx.HTTPError, ValueError, KeyError) as exc:
            log.info("catch-up: Elasticsearch did not answer (%s); trying again later", exc)
            hits = []
        if not hits:
            redis.delete(CATCH_UP_LOCK)
            return 0
        jobs = [Indexed(id=h["_id"], index=h["_index"], catch_up=True).model_dump(mode="json")
                for h in hits]
        send_jobs(app, STAGE, jobs, MAX_JOBS_PER_MESSAGE)  # one message: one batch, one lock
        log.info("catch-up: %d document(s) without a vector queued", len(jobs))
        return len(jobs)
    except RETRYABLE as exc:  # Redis away: the next tick tries again
        log.warning("catch-up skipped: %s: %s", type(exc).__name__, exc)
        return 0


def make_embed_app(s: Settings) -> Celery:
    """The batch task bound to the embed queue, the catch-up step, the niceness."""
    app = make_app("akhbar_embed", s)
    flush_messages = -(-s.embed_batch_size // s.jobs_per_message)
    app.conf.worker_prefetch_multiplier = flush_messages * 2  # as the index worker
    app.steps["consumer"].add(CatchUp)
    redis = Redis.from_url(s.redis_url)
    gate_fetching(app, lambda: keyword_idle(redis, s))  # keyword stages first
    worker = Worker(StageRuntime(STAGE, s))
    app.task(name=task_name(STAGE), base=ReliableBatches, acks_late=True,
             flush_every=flush_messages, flush_interval=s.embed_flush_s)(worker.batch)

    @signals.worker_process_init.connect(weak=False)  # type: ignore[untyped-decorator]
    def lower_priority(**_: Any) -> None:
        # The model's CPU time yields to the keyword stages on a shared machine.
        os.nice(s.embed_nice)

    return app


__getattr__ = app_on_lookup(__name__, lambda: make_embed_app(get_settings()))
