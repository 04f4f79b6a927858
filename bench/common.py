"""What the pipeline benchmarks share: the SaudiNewsNet day as inbox records, the real pipeline's
processes (akhbar_testkit.harness) and their settings, dropping files into its inbox, the memory and
CPU of its workers, and printing a table."""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psutil

from akhbar.settings import Settings
from akhbar.terminal import print_table, say  # noqa: F401 (the bench scripts import it from here)
from akhbar_testkit.es_double import ElasticsearchDouble
from akhbar_testkit.harness import Pipeline, RedisServer, Workers, wait_until

REPO = Path(__file__).resolve().parents[1]

NEWS = REPO.parent / "shared" / "data" / "news" / "saudinewsnet-2015-08-10.jsonl"
# Ingest, then the route: akhbar.queues.stage_queues, not imported here because it would load
# Celery into the bench process, whose RSS is the in-process run's figure.
STAGES = ["ingest", *Settings().route]


def concurrency(text: str) -> dict[str, int]:
    """`enrich=2,normalize=1` → {"enrich": 2, "normalize": 1}."""
    return {k: int(v) for k, v in (item.split("=") for item in text.split(",") if item)}


def add_pipeline_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--news", type=Path, default=NEWS)
    parser.add_argument("--stable-seconds", type=float, default=0.2,
                        help="AKHBAR_INBOX_STABLE_SECONDS for the run (producer renames files)")
    parser.add_argument("--flush-seconds", type=float, default=0.2,
                        help="AKHBAR_BULK_FLUSH_S for the run")
    parser.add_argument("--concurrency", type=concurrency, default={},
                        help="worker processes per stage, e.g. enrich=2,normalize=1 (default 1)")


def inbox_records(path: Path) -> list[dict[str, Any]]:
    """SaudiNewsNet rows in the inbox JSON format (date_extracted is the best date there is)."""
    if not path.exists():
        sys.exit(f"{path} not found: the benchmark needs ../shared/data/news")
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    return [{"title": r["title"], "body": r["content"], "url": r["url"],
             "published_at": r["date_extracted"], "source": r["source"]} for r in rows]


def drop(inbox: Path, name: str, data: bytes) -> None:
    part = inbox / f".{name}.part"
    part.write_bytes(data)
    os.replace(part, inbox / name)


@contextmanager
def running_pipeline(workdir: Path, es: ElasticsearchDouble, args: argparse.Namespace,
                     extra_env: dict[str, str] | None = None) -> Iterator[Pipeline]:
    """A redis-server, one `celery worker` per stage and the inbox watcher, writing to `es`
    with the settings of `add_pipeline_options` and then `extra_env`; all stopped on exit."""
    redis = RedisServer(workdir / "redis")
    inbox = workdir / "inbox"
    env = {**os.environ, "AKHBAR_REDIS_URL": redis.url, "AKHBAR_ES_URL": es.url,
           "AKHBAR_INBOX": str(inbox),
           "AKHBAR_INBOX_STABLE_SECONDS": str(args.stable_seconds),
           "AKHBAR_BULK_FLUSH_S": str(args.flush_seconds)}
    (workdir / "logs").mkdir()
    workers = Workers(env | (extra_env or {}), workdir / "logs")
    try:
        workers.start_pipeline(STAGES, inbox, args.concurrency, timeout=60)
        yield Pipeline(redis, workers, inbox)
    finally:
        workers.stop()
        redis.stop()


def warm_up(pipeline: Pipeline, es: ElasticsearchDouble, record: dict[str, Any]) -> None:
    """Every worker loads its models and connections before timing starts; the double then
    forgets the article, so that only timed ones are counted."""
    drop(pipeline.inbox, "warmup.json", json.dumps(record).encode())
    wait_until(lambda: es.docs, 120, "the warm-up article")
    with es.lock:
        es.docs.clear()
        es.arrivals.clear()


@dataclass(frozen=True)
class TreeUsage:
    """One worker's processes: the Celery parent and its children (the watcher has none)."""

    rss_max: int  # bytes, the largest process
    rss_sum: int  # bytes, all of them (pages shared since the fork count in each)
    cpu_s: float  # user + system seconds, all of them


def tree_usage(pid: int) -> TreeUsage:
    """Raises psutil.Error when a process of the tree has gone."""
    parent = psutil.Process(pid)
    tree = [parent, *parent.children(True)]
    rss = [p.memory_info().rss for p in tree]
    return TreeUsage(max(rss), sum(rss), sum(sum(p.cpu_times()[:2]) for p in tree))


Report = dict[str, Any]


def report_blocks(blocks: Iterable[tuple[str, Callable[[], Report]]],
                  show: Callable[[str, Report], None], json_path: Path | None) -> None:
    """Measure each named block in turn, print it as it is done, then write all to `json_path`."""
    report = {}
    for name, measure in blocks:
        t0 = time.perf_counter()
        report[name] = measure()
        say(f"{name}: measured in {time.perf_counter() - t0:.1f} s")
        show(name, report[name])
    if json_path:
        json_path.write_text(json.dumps(report, ensure_ascii=False, indent=2), encoding="utf-8")
