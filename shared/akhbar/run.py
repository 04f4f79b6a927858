"""`akhbar run`: the whole pipeline on one machine, without Docker.

Starts as child processes one `celery worker` per stage (ingest, then every stage of
AKHBAR_ROUTE, each with its Celery app: akhbar.stages.worker_module), the inbox watcher
(`akhbar watch`) and the feed scheduler (celery beat, its schedule file in a temporary
directory), against AKHBAR_REDIS_URL and AKHBAR_ES_URL, and prints their log lines prefixed
with their names. Redis unreachable at start is fatal (nothing could work); Elasticsearch
unreachable is a warning (only the index worker needs it, and its jobs wait in Redis).

Ctrl-C, SIGTERM or SIGHUP stop it: every child gets SIGTERM, for a Celery worker a warm
shutdown (running tasks finish; messages not acknowledged go back to their queue: late acks),
and is killed after the grace period (at once on a second Ctrl-C). A child that ends by itself
stops the whole pipeline with exit code 5 (Exit.STOPPED) rather than being restarted here: a
crash loop is not hidden, and a supervisor (systemd, compose) is the place for restarts.

`akhbar worker STAGE` runs one stage's worker in the foreground with the same command line (the
images' command).
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from contextlib import suppress
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import Any, TextIO

from akhbar.cli import check_stage, redis_client
from akhbar.cli_errors import CliError, Exit, explain
from akhbar.queues import INGEST, stage_queues
from akhbar.settings import Settings, redact_url, stage_concurrency
from akhbar.stages import CELERY, worker_argv, worker_module
from akhbar.terminal import say

GRACE_S = 60.0  # as the compose file's stop_grace_period
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


def register(sub: Any) -> None:
    p = sub.add_parser("run", help="run the whole pipeline here (stage workers, inbox watcher, "
                                   "feed scheduler) until Ctrl-C")
    p.add_argument("--concurrency", action="append", default=[], metavar="STAGE=N",
                   help="worker processes of a stage (default 1); repeatable")
    p.add_argument("--no-watch", action="store_true", help="no inbox watcher")
    p.add_argument("--no-beat", action="store_true",
                   help="no feed scheduler (feeds are not polled, the inbox is not swept)")
    p.add_argument("--grace", type=float, default=GRACE_S, metavar="SECONDS",
                   help=f"on stop, how long running tasks may take before their worker is "
                        f"killed (default {GRACE_S:g})")
    p.set_defaults(run=cmd_run)
    w = sub.add_parser("worker", help="run the Celery worker of one stage here (the images' "
                                      "command)")
    w.add_argument("stage", help="a stage of the route, or ingest")
    w.add_argument("--concurrency", type=int, metavar="N",
                   help="worker processes (default AKHBAR_<STAGE>_CONCURRENCY, else 1)")
    w.set_defaults(run=cmd_worker)


@dataclass
class Child:
    name: str
    argv: list[str]
    proc: subprocess.Popen[bytes] | None = field(default=None, repr=False)
    reader: threading.Thread | None = field(default=None, repr=False)

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None


def plan(s: Settings, concurrency: dict[str, int], state_dir: Path, watch: bool = True,
         beat: bool = True) -> list[Child]:
    """The processes of the pipeline, in start order."""
    level = s.log_level.upper()
    children = [Child(stage, [*worker_argv(stage, concurrency.get(stage, 1), level),
                              "--without-gossip", "--without-mingle"])
                for stage in stage_queues(s)]
    if watch:
        children.append(Child("watcher", [sys.executable, "-m", "akhbar", "watch"]))
    if beat:
        children.append(Child("beat", [*CELERY, "-A", str(worker_module(INGEST)), "beat",
                                       "--schedule", str(state_dir / "celerybeat-schedule"),
                                       "--loglevel", level]))
    return children


def parse_concurrency(items: list[str], s: Settings) -> dict[str, int]:
    """`["enrich=2"]` → {"enrich": 2}; an unknown stage or a bad number is a usage error."""
    out: dict[str, int] = {}
    for item in items:
        stage, _, n = item.partition("=")
        if not n.isdigit() or int(n) < 1:
            raise CliError(f"--concurrency {item!r}: expected STAGE=N with N a whole number "
                           "of at least 1", Exit.USAGE)
        out[check_stage(stage, s)] = int(n)
    return out


def describe_exit(code: int) -> str:
    if code < 0:
        return f"was killed by {signal.Signals(-code).name}"
    return f"exited with code {code}"


class Supervisor:
    """Starts the children, prefixes their output, notices one ending, stops them all."""

    def __init__(self, children: list[Child], grace_s: float, out: TextIO) -> None:
        self.children, self.grace_s, self.out = children, grace_s, out
        self.width = max(len(c.name) for c in children)
        self.lock = threading.Lock()
        self.stop_asked, self.kill_asked = threading.Event(), threading.Event()

    def on_signal(self, signum: int, frame: FrameType | None) -> None:
        if self.stop_asked.is_set():
            self.kill_asked.set()
        self.stop_asked.set()

    def start(self) -> None:
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        for c in self.children:
            # A session of its own: a Ctrl-C in the terminal reaches this process only, which
            # then stops the children in order (a Celery worker's second SIGINT is a cold stop).
            c.proc = subprocess.Popen(c.argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                      stderr=subprocess.STDOUT, env=env, start_new_session=True)
            c.reader = threading.Thread(target=self._pump, args=(c,), daemon=True)
            c.reader.start()

    def _pump(self, c: Child) -> None:
        assert c.proc is not None and c.proc.stdout is not None
        for raw in c.proc.stdout:
            line = raw.decode("utf-8", "replace").rstrip("\r\n")
            with self.lock, suppress(OSError, ValueError):  # our own output closed: drop
                self.out.write(f"{c.name:<{self.width}} | {line}\n")
                self.out.flush()

    def wait(self) -> Child | None:
        """Until a stop is asked (None) or a child ends by itself (that child)."""
        while not self.stop_asked.wait(0.2):
            for c in self.children:
                if not c.running:
                    return c
        return None

    def stop(self) -> list[str]:
        """SIGTERM to every child still running, SIGKILL to the process group of those left
        after the grace period; the names of those killed."""
        for c in self.children:
            if c.running:
                assert c.proc is not None
                c.proc.terminate()  # the Celery parent only: it winds its pool down itself
        deadline = time.monotonic() + self.grace_s
        while (any(c.running for c in self.children) and time.monotonic() < deadline
               and not self.kill_asked.is_set()):
            time.sleep(0.1)
        killed = [c for c in self.children if c.running]
        for c in killed:
            self.kill_group(c)
        for c in self.children:
            if c.reader is not None:
                c.reader.join(5)
        return [c.name for c in killed]

    @staticmethod
    def kill_group(c: Child) -> None:
        """SIGKILL a child and what it started (a Celery worker's pool processes)."""
        assert c.proc is not None
        with suppress(ProcessLookupError):
            os.killpg(c.proc.pid, signal.SIGKILL)
        c.proc.wait()


def missing_stages(s: Settings) -> list[str]:
    return [stage for stage in stage_queues(s) if worker_module(stage) is None]


def warn_if_elasticsearch_down(s: Settings) -> None:
    from elasticsearch import ApiError, TransportError

    from akhbar.es import make_client
    try:
        make_client(s).options(request_timeout=5).info()
    except (TransportError, ApiError) as exc:
        say(f"akhbar: warning: {explain(exc, s).message}; starting anyway: the index worker "
            "waits for it, and jobs wait in Redis")


def cmd_run(args: argparse.Namespace, s: Settings) -> int:
    concurrency = parse_concurrency(args.concurrency, s)
    if missing := missing_stages(s):
        raise CliError(f"no stage {', '.join(missing)} installed: install the package of each "
                       f"stage of the route (AKHBAR_ROUTE={','.join(s.route)})", Exit.CONFIG)
    redis_client(s).ping()  # unreachable: one line and exit 3 (cli_errors), nothing started
    if "index" in s.route:
        warn_if_elasticsearch_down(s)
    with tempfile.TemporaryDirectory(prefix="akhbar-run-") as state:
        sup = Supervisor(plan(s, concurrency, Path(state), watch=not args.no_watch,
                              beat=not args.no_beat), args.grace, sys.stdout)
        for sig in STOP_SIGNALS:
            signal.signal(sig, sup.on_signal)
        say(f"akhbar: starting {', '.join(c.name for c in sup.children)} with Redis at "
            f"{redact_url(s.redis_url)} and Elasticsearch at {redact_url(s.es_url)}; "
            "Ctrl-C stops")
        sup.start()
        ended = sup.wait()
        if ended is not None:
            assert ended.proc is not None
            say(f"akhbar: {ended.name} {describe_exit(ended.proc.returncode)}; stopping the "
                "pipeline (its last lines are above)")
            sup.kill_group(ended)  # pool processes it may have left behind
        else:
            say("akhbar: stopping: running tasks finish and messages not acknowledged go "
                f"back to their queues (at most {args.grace:g} s; Ctrl-C again kills now)")
        killed = sup.stop()
    if killed:
        say(f"akhbar: killed {', '.join(killed)} (still running after the grace period or a "
            "second Ctrl-C); their unacknowledged messages go back to the queues when the "
            "workers start again")
    if ended is not None:
        return Exit.STOPPED
    return Exit.FAILED if killed else Exit.OK


def cmd_worker(args: argparse.Namespace, s: Settings) -> int:
    """Replace this process with the stage's Celery worker (signals reach Celery directly)."""
    stage = check_stage(args.stage, s)
    try:
        argv = worker_argv(stage, args.concurrency or stage_concurrency(stage), s.log_level)
    except LookupError as exc:
        raise CliError(f"{exc}: install its package", Exit.CONFIG) from exc
    os.execv(argv[0], argv)
