"""How stages are found and run: one code path for Celery workers and `akhbar process`.

A stage package registers a factory under the `akhbar.stages` entry-point group
(akhbar.plugins.StageFactory). The factory receives a `StageContext` and returns the stage's
pure `process(article) -> article` function.
State a stage keeps across articles lives in Redis when the context has a client (workers),
in memory when it has none (in-process runs).
"""

from __future__ import annotations

import os
import socket
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


def run_stage(stage: str, process: ProcessFn, article: Article) -> Article:
    """Run one stage and append its trace step."""
    with traced(stage) as step:
        out = process(article)
    out.pipeline = [*out.pipeline, *step]
    return out


class InProcessPipeline:
    """Chains the route's stage functions without Redis or Elasticsearch."""

    def __init__(self, ctx: StageContext) -> None:
        self.route = list(ctx.settings.route)
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
