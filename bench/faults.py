"""Fault suite: the 1,700 SaudiNewsNet articles through the real Redis + Celery pipeline (the four
stage workers and the inbox watcher, akhbar_testkit.harness) while something breaks. Elasticsearch
is replaced at its HTTP boundary by the test double ElasticsearchDouble (akhbar_testkit.es_double):
what reaches the double is evidence of what the pipeline sends, never that Elasticsearch accepted
it. Prints a table; asserts nothing.

    .venv/bin/python bench/faults.py [--runs 3] [--articles N] [--scenario NAME] [--json FILE]

Each run starts a fresh redis-server, workers, inbox and double, warms the workers up on one
article outside the set, then drops the articles as JSONL files and breaks something mid-run:

  kill-workers   every 2-4 s while work is queued, SIGKILL for a stage worker or the watcher (each
                 in turn, in random order): either its whole process group (Celery parent and
                 pool), which the bench restarts as a supervisor would, or one pool process
  redis-restart  redis-server stopped with SIGTERM mid-run, started again --redis-down s later on
                 the same port and directory (AOF on, fsync every second); --restarts times per
                 run, 3-5 s apart
  redis-kill     the same with SIGKILL
  index-down     the index target unavailable for --outage s (a third each: connection refused,
                 every _bulk answered 503, every _bulk 429), then recovering over --outage/3 s
                 (half, then a fifth of the _bulk requests still 429)
  es-absent      the index target refusing connections from before the first article (no index
                 exists yet, so the index worker's first setup fails too) for --outage s from
                 the last drop, then answering; no warm-up article
  poison         a poison job (valid JSON, not an article) sent straight onto the normalize queue,
                 and a stage with a bug on one article (tests/plugins/akhbar_tripwire, inserted
                 in AKHBAR_ROUTE); once drained, its worker is restarted without the bug and
                 `akhbar dlq replay tripwire` (the real command) sends the job back
  backpressure   the index target slowed to --index-rate documents/s (10x below the ~100
                 articles/s the pipeline sustains) with AKHBAR_QUEUE_MAX_MESSAGES=--bound; notes
                 the peak of each queue and how often the watcher and each worker paused

Columns (ids are those ingest gives the dropped records, computed with its own reader):
  sent           distinct article ids dropped into the inbox
  indexed        distinct sent ids present in the double
  lost           sent ids neither indexed nor in a dead-letter list
  duplicate ids  ids stored in more than one index of the double, plus indexed ids never sent
  redelivered    ids that reached _bulk more than once (failed requests included)
  dead-lettered  jobs in the akhbar:dlq:* lists at the end
  replayed       dead-lettered ids indexed after `akhbar dlq replay` (poison only)
  drain s        from the first drop until every sent id is indexed or dead-lettered and every
                 stage queue is empty

A count that is not 0 (lost, duplicate ids, dead-lettered where the scenario does not make dead
letters) is followed by a note naming each id: where a duplicate is stored (the indices of the
double) and whether it was ever sent, and each dead letter's stage and error.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import common
import psutil
from redis.exceptions import RedisError

from akhbar.queues import make_app, send_jobs, stage_queues
from akhbar.settings import Settings
from akhbar_ingest.formats import read_file
from akhbar_testkit.es_double import ElasticsearchDouble
from akhbar_testkit.fault_count import (
    Trial,
    count,
    dead_ids,
    dead_letters,
    drained,
    findings,
    forget_when_quiet,
    indexed_ids,
    unacked_left,
)
from akhbar_testkit.harness import BIN, wait_until

TRIPWIRE = common.REPO / "tests" / "plugins" / "akhbar_tripwire"


@dataclass(frozen=True)
class Scenario:
    fault: Callable[[Trial], None] | None = None  # in a thread from the last drop on
    env: dict[str, str] = field(default_factory=dict)  # settings of every worker
    file_size: int = 100  # articles per dropped JSONL file
    setup: Callable[[Trial], None] | None = None  # before the warm-up and the first drop
    after: Callable[[Trial], None] | None = None  # once drained and counted
    warm_up: bool = True  # one article through every stage first (needs Elasticsearch)
    dead_letters: bool = False  # the scenario dead-letters jobs on purpose


# ------------------------------------------------------------------------ measuring a run
# (what a run counts: akhbar_testkit.fault_count)

class Sampler(threading.Thread):
    """Peak length of each stage queue, of the unacknowledged hash and of Redis's used memory."""

    def __init__(self, t: Trial, every: float = 0.1) -> None:
        super().__init__(daemon=True)
        self.t, self.every = t, every
        self.peak: Counter[str] = Counter()

    def run(self) -> None:
        while not self.t.done.wait(self.every):
            try:
                with self.t.redis.pipeline(transaction=False) as pipe:
                    for q in self.t.queues:
                        pipe.llen(q)
                    pipe.hlen("unacked").info("memory")
                    *lengths, unacked, memory = pipe.execute()
            except RedisError:
                continue
            for name, n in [*zip(self.t.queues, lengths, strict=True), ("unacked", unacked),
                            ("used_memory", memory["used_memory"])]:
                self.peak[name] = max(self.peak[name], int(n))


# ------------------------------------------------------------------------------ scenarios

def kill_workers(t: Trial) -> None:
    rng, names, order = random.Random(), [*common.STAGES, "watcher"], []
    kills: list[str] = []
    while not t.sleep(rng.uniform(2, 4)):
        order = order or rng.sample(names, len(names))
        name = order.pop()
        if t.pipe.workers.procs[name].poll() is not None:  # a finding, not a kill
            t.note(f"{name} had exited by itself (status {t.pipe.workers.procs[name].returncode})")
            t.pipe.workers.restart(name)
            continue
        if name == "watcher" or rng.random() < 0.5:
            t.pipe.workers.kill(name)
            t.pipe.workers.restart(name)
            kills.append(f"{name}(group)")
            continue
        children = psutil.Process(t.pipe.workers.procs[name].pid).children()
        if children:
            os.kill(rng.choice(children).pid, signal.SIGKILL)
            kills.append(f"{name}(pool)")
    t.extra["kills"] = kills
    t.note(f"{len(kills)} kills: {' '.join(kills)}")


def mid_run(t: Trial) -> bool:
    """Wait until a tenth of the articles are indexed; False if the run drained first."""
    while len(indexed_ids(t.es)) < len(t.expected) / 10:
        if t.sleep(0.1):
            return False
    return True


def restart_redis(sig: signal.Signals) -> Callable[[Trial], None]:
    def fault(t: Trial) -> None:
        if not mid_run(t):
            return
        for n in range(t.args.restarts):
            if n and t.sleep(random.uniform(3, 5)):
                break
            before = len(indexed_ids(t.es))
            t.pipe.redis.restart(sig, t.args.redis_down)
            alive = [name for name, p in t.pipe.workers.procs.items() if p.poll() is None]
            t.note(f"redis-server {sig.name} with {before}/{len(t.expected)} indexed, down "
                   f"{t.args.redis_down:g} s, restarted on port {t.pipe.redis.port}; "
                   f"processes alive after it: {', '.join(alive)}")
    return fault


def index_down(t: Trial) -> None:
    if not mid_run(t):
        return
    third, es = t.args.outage / 3, t.es
    before, bulks0, t0 = index_log(t), len(es.bulk_bodies), time.monotonic()
    phases = [("refused", None), ("503", (503, 1.0)), ("429", (429, 1.0))]
    for name, fault in phases:
        if name == "refused":
            es.stop_listening()
        else:
            if es.bulk_fault is None:
                es.listen()
            es.bulk_fault = fault
        time.sleep(third)
    outage_s = time.monotonic() - t0
    during, reached = index_log(t) - before, len(es.bulk_bodies) - bulks0
    for share in (0.5, 0.2):
        es.bulk_fault = (429, share)
        time.sleep(third / 2)
    es.bulk_fault = None
    t.extra |= {"outage_s": round(outage_s, 1), "batches_sent_back": during["sent back"],
                "pauses": during["pausing"], "bulk_requests_reaching_double": reached}
    t.note(f"outage {outage_s:.0f} s: {during['sent back']} batch(es) met it and were sent back "
           f"({during['sent back'] / outage_s:.2f}/s), {reached} _bulk requests reached the "
           f"double (503/429 phases), the index worker paused {during['pausing']} time(s); "
           "then 429 for half, a fifth of the requests")


def es_absent(t: Trial) -> None:
    """Elasticsearch refuses connections from before the first article (so the index
    worker's first setup fails too: no index exists) for --outage s, then answers."""
    t0 = time.monotonic()
    if t.sleep(t.args.outage):
        return
    t.es.listen()
    counts = index_log(t)
    t.extra |= {"outage_s": round(time.monotonic() - t0, 1),
                "batches_sent_back": counts["sent back"], "pauses": counts["pausing"]}
    t.note(f"Elasticsearch absent for {t.extra['outage_s']:g} s from the start: "
           f"{counts['sent back']} batch(es) met it and were sent back, the index worker paused "
           f"{counts['pausing']} time(s)")


def index_created(t: Trial) -> None:
    t.note("set up once Elasticsearch answered: indices "
           f"{sorted(t.es.indices)}, aliases {t.es.aliases}")


def index_log(t: Trial) -> Counter[str]:
    """Batches the index worker sent back for an outage, and its pauses, so far."""
    log = t.pipe.workers.logdir / "index.log"
    text = log.read_text(errors="replace") if log.exists() else ""
    return Counter({"sent back": text.count("back on the index queue"),
                    "pausing": text.count("pausing:")})


def install_tripwire(t: Trial) -> None:
    """The bug: a stage plugin installed for its worker only, raising on one article."""
    site = t.workdir / "plugin-site"
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps",
                    "--no-build-isolation", "--no-index", "--target", str(site),
                    str(copy_of(TRIPWIRE, t.workdir))], check=True, timeout=300)
    t.extra["bug_id"] = bug = sorted(t.expected)[len(t.expected) // 2]
    t.extra["site"] = str(site)
    sys.path.append(str(site))  # so that the harness finds the stage too (its worker module)
    t.pipe.workers.start_stage("tripwire", env={"PYTHONPATH": str(site), "TRIPWIRE_IDS": bug})


def copy_of(src: Path, workdir: Path) -> Path:
    """Build from a copy, so that no build/ directory is left in the repository."""
    return Path(shutil.copytree(src, workdir / src.name))


POISON = {"schema_version": 1, "route": ["normalize", "enrich", "tripwire", "index"],
          "article": {"id": "not-an-article", "title": 42}}


def send_poison(t: Trial) -> None:
    app = make_app("akhbar_faults", Settings(redis_url=t.pipe.redis.url))
    send_jobs(app, "normalize", [POISON], 1)


def replay_fixed(t: Trial) -> None:
    bug, before = t.extra["bug_id"], dead_ids(t)
    reasons = {s: [f"{e['error_class']}: {e['message'][:80]}" for e in entries]
               for s, entries in dead_letters(t).items()}
    t.note(f"dead letters before the fix: {reasons}")
    t.pipe.workers.procs["tripwire"].terminate()
    t.pipe.workers.restart("tripwire", env={"PYTHONPATH": t.extra["site"]})  # without the bug
    cli = subprocess.run([str(BIN / "akhbar"), "dlq", "replay", "tripwire"], capture_output=True,
                         text=True, timeout=60, env={**os.environ, **t.pipe.workers.env})
    wait_until(lambda: bug in indexed_ids(t.es), 120, "the replayed article")
    t.extra["replayed"] = len(before & indexed_ids(t.es))
    t.note(f"`akhbar dlq replay tripwire`: {cli.stdout.strip()} (exit {cli.returncode}); "
           f"article {bug} indexed after the replay; the poison job stays dead-lettered")


def slow_index(t: Trial) -> None:
    t.es.bulk_delay_per_doc_s = 1 / t.args.index_rate


def backpressure_report(t: Trial) -> None:
    peaks = t.extra["peaks"]
    logs = {name: (t.pipe.workers.logdir / f"{name}.log").read_text(errors="replace")
            for name in ("watcher", *common.STAGES)}
    pauses = ", ".join(f"{name} {log.count('pausing')}" for name, log in logs.items())
    queues = ", ".join(f"{q} {peaks.get(q, 0)}" for q in t.queues)
    t.note(f"peak queue length (messages of up to 25 jobs) against the bound "
           f"{t.args.bound}: {queues}; unacknowledged {peaks.get('unacked', 0)}; "
           f"Redis used_memory peak {peaks.get('used_memory', 0) / 2**20:.1f} MiB; "
           f"pauses: {pauses}")


def scenarios(args: argparse.Namespace) -> dict[str, Scenario]:
    return {
        "kill-workers": Scenario(kill_workers),
        "redis-restart": Scenario(restart_redis(signal.SIGTERM)),
        "redis-kill": Scenario(restart_redis(signal.SIGKILL)),
        "index-down": Scenario(index_down),
        "es-absent": Scenario(es_absent, setup=lambda t: t.es.stop_listening(),
                              after=index_created, warm_up=False),
        "poison": Scenario(send_poison, env={"AKHBAR_ROUTE": "normalize,enrich,tripwire,index"},
                           setup=install_tripwire, after=replay_fixed, dead_letters=True),
        # A small bulk size keeps the index worker's prefetch (twice one batch's messages) small.
        "backpressure": Scenario(env={"AKHBAR_QUEUE_MAX_MESSAGES": str(args.bound),
                                      "AKHBAR_BULK_SIZE": str(max(1, args.bound // 2))},
                                 file_size=25, setup=slow_index, after=backpressure_report),
    }


# ------------------------------------------------------------------------------ a run

def expected_ids(records: list[dict[str, Any]], workdir: Path) -> set[str]:
    """The ids ingest gives the records (its own reader, on the same JSONL)."""
    path = workdir / "all.jsonl"
    path.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in records),
                    encoding="utf-8")
    return {a.id for a in read_file(path).articles}


def warm_up(t: Trial, record: dict[str, Any]) -> None:
    """Every worker loads its models and connections on one article outside the set; the
    double then forgets everything, so that only the run is counted."""
    common.drop(t.pipe.inbox, "warm-up.json",
         json.dumps(record | {"url": "https://akhbar.invalid/warm-up"}).encode())
    wait_until(lambda: t.es.docs, 180, "the warm-up article")
    forget_when_quiet(t)


def run(name: str, scenario: Scenario, n: int, records: list[dict[str, Any]],
        expected: set[str], args: argparse.Namespace) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix=f"faults-{name}-") as tmp, \
            ElasticsearchDouble() as es, \
            common.running_pipeline(Path(tmp), es, args, scenario.env) as pipe:
        settings = Settings(route=scenario.env.get("AKHBAR_ROUTE", Settings().route))
        t = Trial(pipe, es, expected, args, Path(tmp), stage_queues(settings))
        if scenario.setup:  # first: the warm-up article travels the scenario's route
            scenario.setup(t)
        if scenario.warm_up:
            warm_up(t, records[0])
        sampler = Sampler(t)
        fault = threading.Thread(target=scenario.fault or (lambda _t: None), args=(t,))
        sampler.start()
        t0 = time.monotonic()
        for i in range(0, len(records), scenario.file_size):
            chunk = records[i:i + scenario.file_size]
            common.drop(pipe.inbox, f"faults-{i:05d}.jsonl",
                 "\n".join(json.dumps(r, ensure_ascii=False) for r in chunk).encode())
        fault.start()
        try:
            wait_until(lambda: drained(t), args.timeout, "the run to drain")
            drain_s: float | None = time.monotonic() - t0
        except AssertionError:
            drain_s = None
            t.note(f"not drained after {args.timeout:g} s")
        t.done.set()
        fault.join()
        sampler.join()
        t.extra["peaks"] = dict(sampler.peak)
        row = count(t, drain_s)
        if scenario.after and drain_s is not None:
            scenario.after(t)
            row |= {k: v for k, v in count(t, drain_s).items() if k != "drain_s"}
        t.notes += findings(row, scenario.dead_letters)
        if row["unacked_left"]:
            t.note(f"{row['unacked_left']} message(s) still unacknowledged in Redis at the end: "
                   f"{', '.join(unacked_left(t))}")
        return {"scenario": name, "run": n, **row, "replayed": t.extra.get("replayed"),
                "notes": t.notes, "extra": t.extra}


def table_row(r: dict[str, Any]) -> tuple[str, ...]:
    drain = "-" if r["drain_s"] is None else f"{r['drain_s']:.1f}"
    replayed = "-" if r["replayed"] is None else str(r["replayed"])
    return (r["scenario"], str(r["run"]), str(r["sent"]), str(r["indexed"]), str(r["lost"]),
            str(r["duplicate_ids"]), str(r["redelivered"]), str(r["dead_lettered"]), replayed,
            drain)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=3, help="runs of each scenario")
    parser.add_argument("--articles", type=int, default=None, help="use only the first N")
    parser.add_argument("--scenario", action="append", help="run only this one (repeatable)")
    parser.add_argument("--json", type=Path, help="also write the rows as JSON here")
    parser.add_argument("--outage", type=float, default=60.0, help="index-down outage, s")
    parser.add_argument("--redis-down", type=float, default=3.0, help="Redis stopped for, s")
    parser.add_argument("--restarts", type=int, default=1,
                        help="redis-restart/-kill: restarts per run, 3-5 s apart while work is "
                             "left")
    parser.add_argument("--index-rate", type=float, default=10.0,
                        help="backpressure: documents/s the slowed double accepts")
    parser.add_argument("--bound", type=int, default=8,
                        help="backpressure: AKHBAR_QUEUE_MAX_MESSAGES")
    parser.add_argument("--timeout", type=float, default=900.0, help="longest wait to drain, s")
    common.add_pipeline_options(parser)
    args = parser.parse_args()
    # SIGTERM (e.g. `timeout`) unwinds like Ctrl-C, so no worker or redis-server is left behind.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit("faults: terminated"))
    records = common.inbox_records(args.news)[:args.articles]
    chosen = scenarios(args)
    unknown = set(args.scenario or []) - set(chosen)
    if unknown:
        sys.exit(f"unknown scenario(s) {sorted(unknown)}; known: {', '.join(chosen)}")
    with tempfile.TemporaryDirectory() as tmp:
        expected = expected_ids(records, Path(tmp))
    rows = []
    for name, scenario in chosen.items():
        if args.scenario and name not in args.scenario:
            continue
        for n in range(1, args.runs + 1):
            rows.append(run(name, scenario, n, records, expected, args))
            print(f"{name} run {n}: {json.dumps(table_row(rows[-1]))}", file=sys.stderr)
    print("Elasticsearch is the test double ElasticsearchDouble (akhbar_testkit.es_double): "
          "'indexed' means the document reached the double's _bulk endpoint.\n")
    common.print_table(("scenario", "run", "sent", "indexed", "lost", "duplicate ids",
                        "redelivered", "dead-lettered", "replayed", "drain s"),
                       [table_row(r) for r in rows])
    print()
    for r in rows:
        for text in r["notes"]:
            print(f"{r['scenario']} run {r['run']}: {text}")
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2, ensure_ascii=False, default=str))


if __name__ == "__main__":
    main()
