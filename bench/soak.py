"""Soak benchmark: the real Redis + Celery pipeline (a `celery worker` per stage and the inbox
watcher, as in bench/pipeline.py) under a steady offered load for `--minutes`, sampled every
`--every` seconds, to show whether memory, queues or latency creep over time. Elasticsearch is
replaced at the HTTP boundary by akhbar_testkit.es_double.ElasticsearchDouble, a stand-in that
records when each document arrives: the figures cover everything up to the `_bulk` request.

    .venv/bin/python bench/soak.py [--minutes 10] [--rate 20] [--every 5] [--json FILE]
                                   [--png FILE] [--concurrency enrich=2]

One-article JSON files are dropped at `--rate` per second (write-then-rename), cycling through
the SaudiNewsNet day; each later cycle is the day republished later (see `republished`), so
every drop is a new document. Prints a table per minute and a summary, writes a plot; exits
non-zero when an article dropped was neither indexed nor rejected by ingest with a reason.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from itertools import groupby, islice
from pathlib import Path
from typing import Any

import common
import numpy as np
import psutil
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from akhbar.contract import article_id
from akhbar.queues import dlq_key
from akhbar_enrich.store import MATCH_WINDOW_S
from akhbar_testkit.es_double import ElasticsearchDouble
from akhbar_testkit.harness import Pipeline

WORKERS = ["watcher", *common.STAGES]
# The inbox (files waiting for the watcher), then the stage queues.
QUEUES = ["inbox", *common.STAGES]
PERCENTILES = (50, 95, 99)
# A cycle is dated this much after the previous one: beyond the similarity window even between
# the day's last article and the next cycle's first, so enrich compares each article with its
# own cycle only and finds the same duplicates and stories in every cycle.
CYCLE_SHIFT = timedelta(seconds=2 * MATCH_WINDOW_S)
MB = 2**20


def republished(record: dict[str, Any], cycle: int) -> dict[str, Any]:
    """The record as cycle `cycle` drops it. Ids come from the URL (akhbar.contract.article_id),
    so a `soak` parameter makes a new document (and a new page for enrich: parameters with a
    value are kept in its page key); title and body stay as written."""
    if not cycle:
        return record
    url = record["url"]
    published = datetime.fromisoformat(record["published_at"]) + cycle * CYCLE_SHIFT
    return record | {"url": f"{url}{'&' if '?' in url else '?'}soak={cycle}",
                     "published_at": published.isoformat(sep=" ")}


class Producer(threading.Thread):
    """Drops one article file every 1/rate seconds from `t0` for `seconds`."""

    def __init__(self, inbox: Path, records: list[dict[str, Any]], rate: float,
                 seconds: float, t0: float) -> None:
        super().__init__(daemon=True)
        self.inbox, self.records, self.rate = inbox, records, rate
        self.t0, self.end = t0, t0 + seconds
        self.sent: dict[str, float] = {}  # article id → drop time (time.time(), as the double)
        self.cycle: dict[str, int] = {}  # article id → cycle
        self.names: dict[str, str] = {}  # file name → article id

    def run(self) -> None:
        n = 0
        while (due := self.t0 + n / self.rate) < self.end:
            time.sleep(max(0.0, due - time.time()))
            cycle, i = divmod(n, len(self.records))
            rec = republished(self.records[i], cycle)
            doc_id = article_id(url=rec["url"], title=rec["title"], body=rec["body"])
            name = f"soak-{n:06d}.json"
            self.cycle[doc_id], self.names[name] = cycle, doc_id
            self.sent[doc_id] = time.time()
            common.drop(self.inbox, name, json.dumps(rec, ensure_ascii=False).encode())
            n += 1


@dataclass(frozen=True)
class Sample:
    t: float  # end of the interval, seconds since the first drop
    seconds: float  # length of the interval
    offered: int  # articles dropped in the interval
    indexed: int  # documents that reached the double in the interval
    duplicates: int  # of those, marked duplicate_of
    rejected: int  # files filed in inbox/failed/ with a reason, in total so far
    latencies: list[float]  # drop → arrival at the double, s, of each of them
    queues: dict[str, int]  # files waiting in the inbox, messages waiting per stage queue
    dead_letters: dict[str, int]  # per stage, in total so far
    redis_bytes: int  # used_memory
    rss: dict[str, common.TreeUsage]  # per worker (missing: its process tree could not be read)


class Probe:
    """Takes samples: what reached the double since the previous one, and the state of the
    inbox, Redis and the workers now."""

    def __init__(self, pipeline: Pipeline, es: ElasticsearchDouble, producer: Producer) -> None:
        self.pipeline, self.es, self.producer = pipeline, es, producer
        self.arrivals = 0  # of the double's arrivals, how many earlier samples took
        self.sent = 0
        self.last = producer.t0

    def sample(self) -> Sample:
        now = time.time()
        with self.es.lock:  # the double's server thread adds arrivals under this lock
            new = list(islice(self.es.arrivals.items(), self.arrivals, None))
            duplicates = sum(1 for i, _ in new if self.es.docs[i]["duplicate_of"])
        self.arrivals += len(new)
        sent = len(self.producer.sent)
        inbox, redis = self.pipeline.inbox, self.pipeline.redis.client
        rss = {}
        for name, proc in self.pipeline.workers.procs.items():
            try:
                rss[name] = common.tree_usage(proc.pid)
            except psutil.Error:
                continue
        s = Sample(
            t=round(now - self.producer.t0, 3), seconds=round(now - self.last, 3),
            offered=sent - self.sent, indexed=len(new), duplicates=duplicates,
            rejected=sum(1 for _ in (inbox / "failed").glob("*.error.json")),
            latencies=[round(t - self.producer.sent[i], 4) for i, t in new
                       if i in self.producer.sent],
            queues={"inbox": sum(1 for p in inbox.iterdir()
                                 if p.is_file() and not p.name.startswith(".")),
                    # Celery's Redis transport keeps each queue as a list named after it.
                    **{q: redis.llen(q) for q in common.STAGES}},
            dead_letters={q: redis.llen(dlq_key(q)) for q in common.STAGES},
            redis_bytes=int(redis.info("memory")["used_memory"]), rss=rss)
        self.sent, self.last = sent, now
        return s


def percentiles(values: list[float]) -> dict[str, float] | None:
    if not values:
        return None
    return {f"p{p}": round(float(v), 3)
            for p, v in zip(PERCENTILES, np.percentile(values, PERCENTILES), strict=True)}


def by_minute(samples: list[Sample]) -> list[dict[str, Any]]:
    """One row per minute of the run, by the start of each sample's interval."""
    rows = []
    for minute, group in groupby(samples, key=lambda s: int((s.t - s.seconds) // 60)):
        g = list(group)
        seconds = sum(s.seconds for s in g)
        rows.append({
            "minute": minute,
            "offered_per_s": round(sum(s.offered for s in g) / seconds, 1),
            "indexed_per_s": round(sum(s.indexed for s in g) / seconds, 1),
            "latency_s": percentiles([x for s in g for x in s.latencies]),
            "max_queue": {q: max(s.queues[q] for s in g) for q in QUEUES},
            "dead_letters": sum(g[-1].dead_letters.values()),
            "rss_mb": {w: round(u.rss_max / MB, 1) for w, u in g[-1].rss.items()},
            "rss_sum_mb": {w: round(u.rss_sum / MB, 1) for w, u in g[-1].rss.items()},
            "redis_mb": round(g[-1].redis_bytes / MB, 1),
        })
    return rows


def slope_per_minute(samples: list[Sample], value: Callable[[Sample], float]) -> float:
    """Least-squares trend of `value` over the samples, per minute."""
    if len(samples) < 2:
        return 0.0
    return statistics.linear_regression([s.t / 60 for s in samples],
                                        [value(s) for s in samples]).slope


def soak(records: list[dict[str, Any]], args: argparse.Namespace,
         workdir: Path) -> dict[str, Any]:
    samples: list[Sample] = []
    with ElasticsearchDouble() as es:
        with common.running_pipeline(workdir, es, args) as pipeline:
            common.warm_up(pipeline, es, records[0])
            producer = Producer(pipeline.inbox, records, args.rate, args.minutes * 60,
                                time.time())
            probe = Probe(pipeline, es, producer)
            producer.start()
            # Samples go on after the last drop until every article sent has arrived or been
            # rejected (or the drain time is over), so a backlog shows as such, not as losses.
            due = producer.t0
            while True:
                due += args.every
                time.sleep(max(0.0, due - time.time()))
                samples.append(probe.sample())
                if not producer.is_alive() and (
                        probe.arrivals + samples[-1].rejected >= len(producer.sent)
                        or time.time() > producer.end + args.drain):
                    break
        rejected = {}  # article id → ingest's reason (inbox/failed/<name>.error.json)
        for path in (pipeline.inbox / "failed").glob("*.error.json"):
            error = json.loads(path.read_text(encoding="utf-8"))
            rejected[producer.names.get(error["file"], error["file"])] = error["error"]
        with es.lock:
            indexed = set(es.arrivals)
            duplicate_cycles = Counter(producer.cycle[i] for i, d in es.docs.items()
                                       if i in producer.cycle and d["duplicate_of"])
    sent = set(producer.sent)
    cycles = max(producer.cycle.values()) + 1
    load = [s for s in samples if s.t - s.seconds < args.minutes * 60]
    return {
        "stand_in": "Elasticsearch is akhbar_testkit.es_double.ElasticsearchDouble "
                    "(HTTP test double)",
        "settings": {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()},
        "sent": len(sent), "cycles": cycles, "indexed": len(sent & indexed),
        "rejected": rejected, "lost": sorted(sent - indexed - set(rejected)),
        "not_sent_but_indexed": sorted(indexed - sent),
        "dead_letters": samples[-1].dead_letters,
        "duplicates": sum(duplicate_cycles.values()),
        "duplicates_per_cycle": [duplicate_cycles[c] for c in range(cycles)],
        "latency_s": percentiles([x for s in samples for x in s.latencies]),
        "queue_slope_per_min": {q: round(slope_per_minute(load, lambda s, q=q: s.queues[q]), 2)
                                for q in QUEUES},
        "rss_slope_mb_per_min": {
            w: round(slope_per_minute([s for s in load if w in s.rss],
                                      lambda s, w=w: s.rss[w].rss_max / MB), 3)
            for w in WORKERS},
        "minutes": by_minute(samples),
        "samples": [asdict(s) | {"latency_s": percentiles(s.latencies)} for s in samples],
    }


def fmt(value: float | None) -> str:
    return "-" if value is None else f"{value:g}"


def report(result: dict[str, Any], minutes: int) -> None:
    rows = result["minutes"]
    print("per minute (q: most waiting in any sample, inbox in files, stages in messages; "
          "MB: largest process of each worker and Redis used_memory, at the end of the minute)")
    common.print_table(
        ("min", "offered/s", "indexed/s", "p50 s", "p95 s", "p99 s",
         *(f"q:{q}" for q in QUEUES), "dlq", *(f"MB:{w}" for w in WORKERS), "MB:redis"),
        [(str(r["minute"]), fmt(r["offered_per_s"]), fmt(r["indexed_per_s"]),
          *(fmt((r["latency_s"] or {}).get(f"p{p}")) for p in PERCENTILES),
          *(str(r["max_queue"][q]) for q in QUEUES), str(r["dead_letters"]),
          *(fmt(r["rss_mb"].get(w)) for w in WORKERS), fmt(r["redis_mb"])) for r in rows])
    load = [r for r in rows if r["minute"] < minutes]
    first, last = load[0], load[-1]
    lat = result["latency_s"] or {}
    print(f"\nsent {result['sent']} articles in {minutes} min (passes over the day: "
          f"{result['cycles']}), indexed {result['indexed']}, rejected by ingest with a reason "
          f"{len(result['rejected'])} {dict(Counter(result['rejected'].values()))}, lost "
          f"{len(result['lost'])}, indexed but never sent {len(result['not_sent_but_indexed'])}, "
          f"dead-lettered {sum(result['dead_letters'].values())} {result['dead_letters']}")
    print(f"duplicate_of set on {result['duplicates']} indexed documents (per pass: "
          f"{result['duplicates_per_cycle']})")
    print("latency over the run: " + " / ".join(f"{k} {v:g} s" for k, v in lat.items()))
    print(f"RSS, minute {first['minute']} → {last['minute']} (largest process; all processes "
          "of the worker; trend of the largest over the run):")
    for w in WORKERS:
        a, b = first["rss_mb"].get(w), last["rss_mb"].get(w)
        sa, sb = first["rss_sum_mb"].get(w), last["rss_sum_mb"].get(w)
        growth = "-" if a is None or b is None else f"{b - a:+.1f}"
        print(f"  {w:<9} {fmt(a)} → {fmt(b)} MB ({growth}); all {fmt(sa)} → {fmt(sb)} MB; "
              f"{result['rss_slope_mb_per_min'][w]:+g} MB/min")
    print(f"Redis used_memory {first['redis_mb']:g} → {last['redis_mb']:g} MB")
    print("queue depth trend over the run (waiting, per minute, least squares): "
          + ", ".join(f"{q} {v:+g}" for q, v in result["queue_slope_per_min"].items())
          + "; most waiting, first → last minute: "
          + ", ".join(f"{q} {first['max_queue'][q]} → {last['max_queue'][q]}" for q in QUEUES))
    print(f"Elasticsearch was a stand-in: {result['stand_in']}; the figures stop at the "
          "_bulk request.")


def plot(result: dict[str, Any], path: Path) -> None:
    samples = result["samples"]
    t = [s["t"] / 60 for s in samples]
    fig = Figure(figsize=(10, 11), layout="constrained")
    FigureCanvasAgg(fig)  # rendered with Agg: no display, no pyplot state
    thr, lat, queues, mem = fig.subplots(4, 1, sharex=True)
    thr.plot(t, [s["offered"] / s["seconds"] for s in samples], label="offered")
    thr.plot(t, [s["indexed"] / s["seconds"] for s in samples], label="indexed")
    thr.set_ylabel("articles/s")
    for p in PERCENTILES:
        lat.plot(t, [(s["latency_s"] or {}).get(f"p{p}", np.nan) for s in samples],
                 label=f"p{p}")
    lat.set_ylabel("drop → index, s")
    for q in QUEUES:
        queues.plot(t, [s["queues"][q] for s in samples], label=q)
    queues.plot(t, [sum(s["dead_letters"].values()) for s in samples], "k--",
                label="dead letters")
    queues.set_ylabel("waiting")
    for w in WORKERS:
        mem.plot(t, [s["rss"][w]["rss_max"] / MB if w in s["rss"] else np.nan
                     for s in samples], label=w)
    mem.plot(t, [s["redis_bytes"] / MB for s in samples], "k--", label="redis used_memory")
    mem.set_ylabel("RSS, MB (largest process)")
    mem.set_xlabel("minutes since the first drop")
    for ax in (thr, lat, queues, mem):
        ax.grid(alpha=0.3)
        ax.legend(loc="best", fontsize="small", ncols=3)
    settings = result["settings"]
    fig.suptitle(f"Akhbar soak: {settings['rate']:g} articles/s offered for "
                 f"{settings['minutes']} min; Elasticsearch is a stand-in (HTTP test double)")
    fig.savefig(path, dpi=100)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--minutes", type=int, default=10, help="how long the load is offered")
    parser.add_argument("--rate", type=float, default=20.0, help="offered load, articles/s")
    parser.add_argument("--every", type=float, default=5.0, help="seconds between samples")
    parser.add_argument("--drain", type=float, default=120.0,
                        help="seconds to wait after the last drop for the rest to arrive")
    parser.add_argument("--json", type=Path, help="also write every sample as JSON here")
    parser.add_argument("--png", type=Path,
                        default=Path(tempfile.gettempdir()) / "akhbar-soak.png",
                        help="the plot (default: %(default)s)")
    common.add_pipeline_options(parser)
    args = parser.parse_args()
    records = common.inbox_records(args.news)
    with tempfile.TemporaryDirectory() as tmp:
        result = soak(records, args, Path(tmp))
    report(result, args.minutes)
    if args.json:
        args.json.write_text(json.dumps(result, indent=1))
        print(f"samples: {args.json}")
    plot(result, args.png)
    print(f"plot: {args.png}")
    if result["lost"]:
        raise SystemExit(f"{len(result['lost'])} articles sent were neither indexed nor "
                         "rejected with a reason")


if __name__ == "__main__":
    main()
