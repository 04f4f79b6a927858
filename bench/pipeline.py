"""Pipeline benchmark: the 1,700 SaudiNewsNet articles through the real Redis + Celery pipeline
(Elasticsearch replaced by the HTTP test double, which records arrival times), beside
`akhbar process` on the same input. Prints a table; asserts nothing.

    .venv/bin/python bench/pipeline.py [--json FILE] [--rate 20] [--latency-articles 300]

Throughput: the articles are dropped as JSONL files of `--file-size` articles at once, timed from
the first drop to the last document reaching the index boundary. Latency: one-article JSON files
dropped at `--rate` per second (write-then-rename), inbox-to-index time per article.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import common
import psutil

from akhbar.settings import Settings
from akhbar.stages import InProcessPipeline, StageContext
from akhbar_ingest.formats import read_file
from akhbar_testkit.es_double import ElasticsearchDouble
from akhbar_testkit.harness import Workers, wait_until


class RssSampler(threading.Thread):
    """Peak resident memory of each worker's processes (the Celery parent and its children)."""

    def __init__(self, workers: Workers, every: float = 0.5) -> None:
        super().__init__(daemon=True)
        self.workers, self.every = workers, every
        self.peak: dict[str, int] = {}
        self.cpu: dict[str, float] = {}  # CPU seconds of the process tree, last seen
        self.done = threading.Event()

    def run(self) -> None:
        while not self.done.wait(self.every):
            for name, proc in self.workers.procs.items():
                try:
                    use = common.tree_usage(proc.pid)
                except psutil.Error:
                    continue
                self.peak[name] = max(self.peak.get(name, 0), use.rss_max)
                self.cpu[name] = use.cpu_s


def run_pipeline(records: list[dict[str, Any]], expected_ids: set[str],
                 args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    with ElasticsearchDouble() as es, common.running_pipeline(workdir, es, args) as pipeline:
        redis, inbox = pipeline.redis, pipeline.inbox
        sampler = RssSampler(pipeline.workers)
        try:
            sampler.start()
            common.warm_up(pipeline, es, records[0])

            # Latency at a steady offered load: one article per file.
            sent: dict[str, float] = {}
            sample = list({r["url"]: r for r in records[1:1 + args.latency_articles]}.values())
            t0 = time.time()
            for i, rec in enumerate(sample):
                time.sleep(max(0.0, t0 + i / args.rate - time.time()))
                sent[rec["url"]] = time.time()
                common.drop(inbox, f"lat-{i:05d}.json", json.dumps(rec).encode())
            wait_until(lambda: len(es.docs) >= len(sent), 300, "the latency articles")
            by_url = {d["url"]: es.arrivals[i] for i, d in es.docs.items()}
            latency = sorted(by_url[u] - t for u, t in sent.items())
            es.docs.clear(), es.arrivals.clear()

            # Throughput: everything at once, in JSONL files.
            expected = len(expected_ids)
            cpu0 = dict(sampler.cpu)
            others = {"redis-server": psutil.Process(redis.proc.pid),
                      "bench+double": psutil.Process()}
            other0 = {k: sum(p.cpu_times()[:2]) for k, p in others.items()}
            t0 = time.time()
            for n in range(0, len(records), args.file_size):
                chunk = records[n:n + args.file_size]
                common.drop(inbox, f"bulk-{n:05d}.jsonl",
                     "\n".join(json.dumps(r, ensure_ascii=False) for r in chunk).encode())
            wait_until(lambda: len(es.docs) >= expected, 900, "every article to be indexed")
            elapsed = max(es.arrivals.values()) - t0
            time.sleep(2 * sampler.every)
            cpu = {k: round(v - cpu0.get(k, 0.0), 2) for k, v in sorted(sampler.cpu.items())}
            cpu |= {k: round(sum(p.cpu_times()[:2]) - other0[k], 2) for k, p in others.items()}
            stage_ms = {s: round(statistics.mean(
                st["duration_ms"] for d in es.docs.values() for st in d["pipeline"]
                if st["stage"] == s), 2) for s in common.STAGES}
            dlq = {s: redis.client.llen(f"akhbar:dlq:{s}") for s in common.STAGES}
        finally:
            sampler.done.set()
    return {
        "articles": expected, "seconds": round(elapsed, 2),
        "articles_per_s": round(expected / elapsed, 1),
        "latency": {"rate_per_s": args.rate, "articles": len(latency),
                    "p50_s": round(statistics.median(latency), 3),
                    "p95_s": round(latency[int(0.95 * (len(latency) - 1))], 3),
                    "max_s": round(latency[-1], 3)},
        "peak_rss_mb": {k: round(v / 2**20, 1) for k, v in sorted(sampler.peak.items())},
        "cpu_s": cpu, "stage_ms_mean": stage_ms,
        "dead_lettered": dlq,
        "bulk_requests": len(es.bulk_bodies),
    }


def run_in_process(records: list[dict[str, Any]], workdir: Path) -> dict[str, Any]:
    path = workdir / "all.jsonl"
    path.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in records),
                    encoding="utf-8")
    articles = read_file(path).articles
    ctx = StageContext(Settings())
    list(InProcessPipeline(ctx).run(articles[:1]))  # warm-up: models and caches load once
    pipeline = InProcessPipeline(ctx)
    t0 = time.perf_counter()
    ids = {a.id for a in pipeline.run(articles)}
    elapsed = time.perf_counter() - t0
    return {"articles": len(ids), "seconds": round(elapsed, 2),
            "articles_per_s": round(len(ids) / elapsed, 1),
            "peak_rss_mb": round(psutil.Process().memory_info().rss / 2**20, 1), "ids": ids}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--json", type=Path, help="also write the figures as JSON here")
    parser.add_argument("--rate", type=float, default=20.0, help="offered load, articles/s")
    parser.add_argument("--latency-articles", type=int, default=300)
    parser.add_argument("--file-size", type=int, default=100, help="articles per JSONL file")
    common.add_pipeline_options(parser)
    args = parser.parse_args()
    records = common.inbox_records(args.news)
    with tempfile.TemporaryDirectory() as tmp:
        inproc = run_in_process(records, Path(tmp))
        celery = run_pipeline(records, inproc.pop("ids"), args, Path(tmp))
    lat = celery["latency"]
    rows = [
        ("akhbar process (in-process)", f"{inproc['articles']}", f"{inproc['seconds']}",
         f"{inproc['articles_per_s']}", "-", "-", f"{inproc['peak_rss_mb']}"),
        ("Redis + Celery pipeline", f"{celery['articles']}", f"{celery['seconds']}",
         f"{celery['articles_per_s']}", f"{lat['p50_s']}", f"{lat['p95_s']}",
         " ".join(f"{k}={v}" for k, v in celery["peak_rss_mb"].items())),
    ]
    common.print_table(("run", "articles", "seconds", "articles/s", "p50 s", "p95 s",
                        "peak RSS MB"), rows)
    print(f"\nlatency at {lat['rate_per_s']:g} articles/s offered over {lat['articles']} "
          f"articles (inbox quiet time {args.stable_seconds}s, bulk flush {args.flush_seconds}s, "
          f"concurrency {args.concurrency or 'all 1'}); "
          f"{celery['bulk_requests']} bulk requests; dead-lettered: {celery['dead_lettered']}")
    print(f"throughput run: CPU seconds per process tree {celery['cpu_s']}; "
          f"mean stage function time (ms) {celery['stage_ms_mean']}")
    if args.json:
        args.json.write_text(json.dumps({"in_process": inproc, "pipeline": celery,
                                         "settings": vars(args) | {"news": str(args.news),
                                                                   "json": str(args.json)}},
                                        indent=2, default=str))


if __name__ == "__main__":
    main()
