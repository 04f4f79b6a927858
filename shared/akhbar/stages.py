"""How stages are found and run: one code path for Celery workers and `akhbar process`.

A stage package registers a factory under the `akhbar.stages` entry-point group
(akhbar.plugins.StageFactory). The factory receives a `StageContext` and returns the stage's
pure `process(article) -> article` function.
State a stage keeps across articles lives in Redis when the context has a client (workers),
in memory when it has none (in-process runs).

A stage's worker runs the generic Celery app `akhbar.stage_app`, unless its package registers
a Celery module of its own under the `akhbar.workers` entry-point group (ingest, which has no
stage function; index, which writes in batches).
"""

from __future__ import annotations

import os
import socket
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from redis import Redis

from akhbar import plugins
from akhbar.contract import Article, Step, utcnow
from akhbar.settings import Settings

ProcessFn = Callable[[Article], Article]
STAGE_APP = "akhbar.stage_app"  # the Celery app of a stage without glue of its own


@dataclass(frozen=True)
class StageContext:
    settings: Settings
    redis: Redis | None = None  # None: keep cross-article state in this process


def worker_name() -> str:
    return f"{socket.gethostname()}/{os.getpid()}"


def load_stage(name: str, ctx: StageContext) -> ProcessFn:
    factory: plugins.StageFactory = plugins.load(plugins.STAGE_GROUP, name, "stage")
    return factory(ctx)


@contextmanager
def traced(stage: str) -> Iterator[list[Step]]:
    """Time the block as one pass of `stage`: the list it yields holds the trace step once
    the block is done, for the caller to add to the articles it produced."""
    step: list[Step] = []
    started, t0 = utcnow(), time.perf_counter()
    yield step
    step.append(Step(stage=stage, worker=worker_name(), at=started,
                     duration_ms=round((time.perf_counter() - t0) * 1000, 3)))


def worker_module(stage: str) -> str | None:
    """The module `celery -A` starts the stage's worker with: its package's own (the
    `akhbar.workers` entry point), else the generic STAGE_APP for a stage registered under
    `akhbar.stages`; None when no installed package provides the stage."""
    own = plugins.registered(plugins.WORKER_GROUP, stage)
    if own is not None:
        return own
    return STAGE_APP if stage in plugins.installed(plugins.STAGE_GROUP) else None


CELERY = [sys.executable, "-m", "celery"]


def worker_argv(stage: str, concurrency: int, loglevel: str, hostname: str | None = None
                ) -> list[str]:
    """The `celery worker` command line of a stage (its node name `<stage>@<host>` unless
    `hostname` is given): `akhbar worker`, `akhbar run` and the tests' harness start workers
    with it. A LookupError when no installed package provides the stage."""
    module = worker_module(stage)
    if module is None:
        raise LookupError(f"no stage {stage!r} installed")
    return [*CELERY, "-A", module, "worker", "-Q", stage, "--concurrency", str(concurrency),
            "--hostname", hostname or f"{stage}@%h", "--loglevel", loglevel.upper()]


def run_stage(stage: str, process: ProcessFn, article: Article) -> Article:
    """Run one stage and append its trace step."""
    with traced(stage) as step:
        out = process(article)
    out.pipeline = [*out.pipeline, *step]
    return out


class InProcessPipeline:
    """Chains the keyword route's stage functions without Redis or Elasticsearch (a stage
    after index works on the documents: akhbar.plugins.DocumentStage)."""

    def __init__(self, ctx: StageContext) -> None:
        self.route = ctx.settings.keyword_route
        self.stages = [(name, load_stage(name, ctx)) for name in self.route]

    def run(self, articles: Iterable[Article]) -> Iterator[Article]:
        for article in articles:
            for name, process in self.stages:
                article = run_stage(name, process, article)
            yield article

    def documents(self, articles: Iterable[Article],
                  on_error: Callable[[Article, Exception], None]) -> Iterator[dict[str, Any]]:
        """The indexed documents of the articles that pass every stage; a failing article is
        reported to `on_error` and the run goes on."""
        for article in articles:
            try:
                done = next(self.run([article]))
            except Exception as exc:  # one bad article must not stop the run
                on_error(article, exc)
                continue
            yield done.document()
