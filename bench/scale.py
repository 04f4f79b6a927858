"""Scale benchmark: the 16 SaudiNewsNet crawl days (../shared/data/news/more/*.zip, 27,644
articles) through the real Redis + Celery pipeline (a `celery worker` per stage and the inbox
watcher, as bench/pipeline.py; Elasticsearch replaced at the HTTP boundary by
akhbar_testkit.es_double), then the labelled day (saudinewsnet-2015-08-10.jsonl) after them.
Prints tables; asserts nothing.

    .venv/bin/python bench/scale.py [--json FILE] [--block 1000] [--limit N]

Two runs, each on a new Redis: the labelled day alone, then the crawl days followed by the day.
Articles go in time order (date_extracted, then URL or id) as JSONL files of `--file-size`,
the next file dropped only while fewer than `--waiting` wait in the inbox, so the pipeline is
never idle and nothing arrives far out of order; the day follows once every crawl article is
indexed.

Shown per block of `--block` articles, in the order enrich committed them: the enrich stage's
own time per article (wall, `duration_ms` of its pipeline step), the CPU of the enrich worker
(Celery parent and pool processes) and of redis-server per article (both sampled against
enrich's commit counter, `akhbar:similarity:seq`), the enrich worker's largest process and Redis
`used_memory` at the block's end. Then Redis memory per article and per kind of key (counted by
SCAN, sized by MEMORY USAGE on a sample), and the duplicate and story figures of
bench/story_pairs.tsv (bench/dedup.py's scoring) alone and after the crawl.
"""

from __future__ import annotations

import argparse
import bisect
import json
import random
import statistics
import tempfile
import threading
import time
from collections import Counter
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import common
import dedup
import psutil

from akhbar.contract import Source
from akhbar.deadletter import list_dead
from akhbar_ingest.formats import FileRejected, record_article
from akhbar_testkit.es_double import ElasticsearchDouble
from akhbar_testkit.harness import Pipeline

SEQ = "akhbar:similarity:seq"  # enrich's commit counter (akhbar_enrich.store.RedisStore)
SIMILARITY_KEYS = "akhbar:similarity:"
MB = 2**20


def day_records(path: Path) -> tuple[list[dict[str, Any]], dict[int, str]]:
    """The labelled day as inbox records in bench/dedup.py's order, and SaudiNewsNet id →
    article id for the rows ingest accepts."""
    rows = sorted((json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()),
                  key=lambda r: (r["date_extracted"], r["id"]))
    records = [dedup.record(r) for r in rows]
    ids = {r["id"]: i for r, rec in zip(rows, records, strict=True)
           if (i := article_id(rec)) is not None}
    return records, ids


def article_id(record: dict[str, Any]) -> str | None:
    """The id ingest gives the record, None if it refuses it."""
    try:
        return record_article(record, Source(name="inbox", kind="inbox")).id
    except FileRejected:
        return None


@dataclass(frozen=True)
class Sample:
    t: float
    seq: int  # articles enrich has committed
    enrich_cpu_s: float
    redis_cpu_s: float
    enrich_rss: int  # bytes, its largest process
    redis_bytes: int  # used_memory


class Sampler(threading.Thread):
    def __init__(self, pipeline: Pipeline, every: float) -> None:
        super().__init__(daemon=True)
        self.pipeline, self.every = pipeline, every
        self.samples: list[Sample] = []
        self.done = threading.Event()

    def sample(self) -> Sample:
        r = self.pipeline.redis
        use = common.tree_usage(self.pipeline.workers.procs["enrich"].pid)
        return Sample(time.time(), int(r.client.get(SEQ) or 0), use.cpu_s,
                      sum(psutil.Process(r.proc.pid).cpu_times()[:2]), use.rss_max,
                      int(r.client.info("memory")["used_memory"]))

    def run(self) -> None:
        while not self.done.wait(self.every):
            self.samples.append(self.sample())


def feed(pipeline: Pipeline, records: list[dict[str, Any]], name: str, file_size: int,
         waiting: int) -> None:
    """Drop `records` in order as JSONL files, the next one only while fewer than `waiting`
    files wait unclaimed in the inbox (the watcher claims in no particular order)."""
    for n in range(0, len(records), file_size):
        while sum(1 for p in pipeline.inbox.iterdir()
                  if p.is_file() and not p.name.startswith(".")) >= waiting:
            time.sleep(0.05)
        chunk = records[n:n + file_size]
        common.drop(pipeline.inbox, f"{name}-{n:06d}.jsonl",
                    "\n".join(json.dumps(r, ensure_ascii=False) for r in chunk).encode())


def wait_indexed(pipeline: Pipeline, es: ElasticsearchDouble, ids: set[str],
                 timeout: float) -> list[dict[str, Any]]:
    """Wait until every id is indexed or dead-lettered; returns every dead letter so far
    (stage, error, message, input)."""
    deadline = time.monotonic() + timeout
    while True:
        dead = [{k: getattr(d, k) for k in ("stage", "error_class", "message", "input")}
                for s in common.STAGES
                for d in list_dead(pipeline.redis.client, s, limit=10_000)]
        with es.lock:
            missing = len(ids - es.docs.keys())
        if missing <= len(dead):
            return dead
        if time.monotonic() > deadline:
            raise SystemExit(f"{missing} articles neither indexed nor dead-lettered after "
                             f"{timeout} s\n{pipeline.workers.logs()}")
        time.sleep(0.5)


def at_seq(samples: list[Sample], seq: float, field: str) -> float:
    """A sampled quantity at the moment enrich had committed `seq` articles (linear
    interpolation between the samples around it)."""
    seqs = [s.seq for s in samples]
    k = min(max(bisect.bisect_left(seqs, seq), 1), len(samples) - 1)
    a, b = samples[k - 1], samples[k]
    va, vb = getattr(a, field), getattr(b, field)
    return float(va if b.seq == a.seq else va + (vb - va) * (seq - a.seq) / (b.seq - a.seq))


def blocks(docs: dict[str, dict[str, Any]], samples: list[Sample], seq0: int,
           size: int) -> list[dict[str, Any]]:
    """Per block of `size` articles in the order enrich started them."""
    steps = sorted((datetime.fromisoformat(st["at"]), st["duration_ms"])
                   for d in docs.values() for st in d["pipeline"] if st["stage"] == "enrich")
    out = []
    for k in range(0, len(steps), size):
        ms = [d for _, d in steps[k:k + size]]
        lo, hi = seq0 + k, seq0 + k + len(ms)
        cpu = {f: 1000 * (at_seq(samples, hi, f) - at_seq(samples, lo, f)) / len(ms)
               for f in ("enrich_cpu_s", "redis_cpu_s")}
        out.append({"first": k + 1, "articles": len(ms),
                    "stage_ms_mean": round(statistics.fmean(ms), 2),
                    "stage_ms_median": round(statistics.median(ms), 2),
                    "enrich_cpu_ms": round(cpu["enrich_cpu_s"], 2),
                    "redis_cpu_ms": round(cpu["redis_cpu_s"], 2),
                    "enrich_rss_mb": round(at_seq(samples, hi, "enrich_rss") / MB, 1),
                    "redis_mb": round(at_seq(samples, hi, "redis_bytes") / MB, 1)})
    return out


def key_memory(pipeline: Pipeline, sample_size: int = 2000) -> dict[str, dict[str, float]]:
    """Keys of enrich's similarity state by kind (doc, band, page, …): count, and bytes
    estimated from MEMORY USAGE of a random sample of each kind."""
    client = pipeline.redis.client
    keys: dict[str, list[bytes]] = {}
    for key in client.scan_iter(match=f"{SIMILARITY_KEYS}*", count=10_000):
        kind = key.decode()[len(SIMILARITY_KEYS):].split(":")[0]
        keys.setdefault(kind, []).append(key)
    out = {}
    rng = random.Random(0)
    for kind, found in sorted(keys.items()):
        sample = rng.sample(found, min(sample_size, len(found)))
        pipe = client.pipeline(transaction=False)
        for key in sample:
            pipe.memory_usage(key, samples=0)
        mean = statistics.fmean(int(b or 0) for b in pipe.execute())
        out[kind] = {"keys": len(found), "mean_bytes": round(mean, 1),
                     "total_mb": round(mean * len(found) / MB, 1)}
    return out


def stories(docs: dict[str, dict[str, Any]], ids: dict[int, str]
            ) -> tuple[dict[str, tuple[str, str | None]], dict[str, Any]]:
    """The day's assignments by article id and bench/dedup.py's figures on the labelled pairs."""
    assigned = {i: (docs[i]["story_id"], docs[i].get("duplicate_of"))
                for i in ids.values() if i in docs}
    figures = dedup.evaluate(dedup.load_pairs(), ids, assigned)
    story_ids = Counter(s for s, _ in assigned.values())
    return assigned, {"articles": len(assigned), "stories": len(story_ids),
                      "duplicates": sum(d is not None for _, d in assigned.values()),
                      "largest_story": max(story_ids.values()), "quality": figures}


def run(parts: list[tuple[str, list[dict[str, Any]]]], args: argparse.Namespace,
        workdir: Path) -> dict[str, Any]:
    """The parts through one new pipeline, one after the other; figures per part."""
    result: dict[str, Any] = {}
    with ElasticsearchDouble() as es, common.running_pipeline(workdir, es, args) as pipeline:
        warm = parts[0][1][0] | {"url": parts[0][1][0]["url"] + "#warm-up",
                                 "published_at": "2000-01-01 00:00:00"}  # outside every window
        common.warm_up(pipeline, es, warm)
        sampler = Sampler(pipeline, args.every)
        sampler.samples.append(sampler.sample())
        sampler.start()
        try:
            for name, records in parts:
                ids = {i for r in records if (i := article_id(r)) is not None}
                seq0, t0 = int(pipeline.redis.client.get(SEQ) or 0), time.time()
                feed(pipeline, records, name, args.file_size, args.waiting)
                dead = wait_indexed(pipeline, es, ids, args.timeout)
                time.sleep(2 * args.every)  # a sample after the last commit
                with es.lock:
                    docs = {i: es.docs[i] for i in ids if i in es.docs}
                result[name] = {"records": len(records), "ids": len(ids), "indexed": len(docs),
                                "dead_lettered": dead, "seconds": round(time.time() - t0, 1),
                                "blocks": blocks(docs, list(sampler.samples), seq0, args.block),
                                "docs": docs}
            result["keys"] = key_memory(pipeline)
        finally:
            sampler.done.set()
            sampler.join()
        result["samples"] = [asdict(s) for s in sampler.samples]
    return result


def print_blocks(name: str, part: dict[str, Any], size: int) -> None:
    print(f"\n== {name}: {part['indexed']} of {part['ids']} articles indexed "
          f"({part['records']} records) in {part['seconds']} s; dead letters so far: "
          f"{part['dead_lettered']}")
    common.print_table(
        ("articles", "enrich ms mean", "median", "enrich CPU ms", "redis CPU ms",
         "enrich RSS MB", "redis MB"),
        [(f"{b['first']}–{b['first'] + b['articles'] - 1}",
          *(str(b[k]) for k in ("stage_ms_mean", "stage_ms_median", "enrich_cpu_ms",
                                "redis_cpu_ms", "enrich_rss_mb", "redis_mb")))
         for b in part["blocks"]])
    full = [b for b in part["blocks"] if b["articles"] == size] or part["blocks"]
    first, last = full[0], full[-1]
    for key, label in (("stage_ms_mean", "stage time"), ("enrich_cpu_ms", "worker CPU")):
        print(f"{label}: first block {first[key]} ms, last full block {last[key]} ms per "
              f"article ({100 * (last[key] / first[key] - 1):+.0f}%)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--json", type=Path, help="also write the figures as JSON here")
    parser.add_argument("--block", type=int, default=1000, help="articles per block")
    parser.add_argument("--limit", type=int, help="only the first N crawl articles (a quick check)")
    parser.add_argument("--file-size", type=int, default=100, help="articles per JSONL file")
    parser.add_argument("--waiting", type=int, default=3,
                        help="files left waiting in the inbox at most")
    parser.add_argument("--every", type=float, default=0.5, help="sampling period, seconds")
    parser.add_argument("--timeout", type=float, default=7200.0,
                        help="seconds to wait for a part to be indexed")
    parser.add_argument("--report", type=Path, help="print the tables of a --json file, no run")
    common.add_pipeline_options(parser)
    args = parser.parse_args()
    if args.report:
        report(json.loads(args.report.read_text()))
        return
    crawl = dedup.crawl_records(limit=args.limit)
    day, ids = day_records(args.news)
    print(f"{len(crawl)} crawl articles, then the day's {len(day)}; blocks of {args.block}")
    with tempfile.TemporaryDirectory() as tmp:
        alone = run([("day", day)], args, Path(tmp) / "alone")
        after = run([("crawl", crawl), ("day", day)], args, Path(tmp) / "after")
    assigned, figures = {}, {}
    for name, r in (("alone", alone), ("after the crawl", after)):
        assigned[name], figures[name] = stories(r["day"]["docs"], ids)
    a, b = assigned.values()
    changed = [(p.a, p.b, p.label) for p in dedup.load_pairs() if p.a in ids and p.b in ids
               and (dedup.predicted(a[ids[p.a]], a[ids[p.b]], ids[p.a], ids[p.b])
                    != dedup.predicted(b[ids[p.a]], b[ids[p.b]], ids[p.a], ids[p.b]))]
    for r in (alone, after):
        for part in r.values():
            if isinstance(part, dict):
                part.pop("docs", None)
    results = {"alone": alone, "after": after, "stories": figures, "changed_pairs": changed,
               "settings": vars(args) | {"news": str(args.news), "json": str(args.json)}}
    if args.json:  # first: the run is long, the figures are kept whatever happens next
        args.json.write_text(json.dumps(results, indent=2, default=str))
    report(results)


def report(results: dict[str, Any]) -> None:
    after, size = results["after"], results["settings"]["block"]
    print_blocks("the crawl days", after["crawl"], size)
    print_blocks("the day after them", after["day"], size)
    start_mb = after["samples"][0]["redis_bytes"] / MB
    crawl_mb = after["crawl"]["blocks"][-1]["redis_mb"]
    print(f"\nRedis used_memory: {start_mb:.1f} MB after the warm-up, {crawl_mb} MB after the "
          f"crawl: {(crawl_mb - start_mb) * 1024 / after['crawl']['indexed']:.1f} KB per "
          "article")
    articles = after["crawl"]["indexed"] + after["day"]["indexed"]
    common.print_table(("similarity keys", "count", "mean bytes", "MB", "per article KB"),
                       [(kind, f"{k['keys']:,}", str(k["mean_bytes"]), str(k["total_mb"]),
                         f"{k['total_mb'] * 1024 / articles:.2f}")
                        for kind, k in after["keys"].items()])
    rows = []
    for name, f in results["stories"].items():
        q = f["quality"]["all"]
        d, s = q["duplicate"], q["story"]
        rows.append((name, *map(str, (q["pairs"], f["articles"], f["stories"], f["duplicates"],
                                      f["largest_story"])),
                     f"{d['precision']:.3f} / {d['recall']:.3f} / {d['f1']:.3f}",
                     f"{s['precision']:.3f} / {s['recall']:.3f} / {s['f1']:.3f}"))
    print()
    common.print_table(("the day", "pairs", "articles", "stories", "duplicates", "largest",
                        "duplicate P / R / F1", "same story P / R / F1"), rows)
    changed = results["changed_pairs"]
    print(f"labelled pairs predicted differently after the crawl: {len(changed)} {changed}")


if __name__ == "__main__":
    main()
