"""`akhbar run` on real parts: a real redis-server, the real `akhbar run` starting real Celery
workers, the watcher and beat; Elasticsearch is ElasticsearchDouble at its HTTP boundary."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest
from redis import Redis

from akhbar.cli_errors import Exit
from akhbar.queues import stage_queues
from akhbar.settings import Settings
from akhbar.stages import InProcessPipeline, StageContext
from akhbar_ingest.formats import read_file
from akhbar_testkit.data import SHARED, need
from akhbar_testkit.es_double import ElasticsearchDouble
from akhbar_testkit.harness import BIN, RedisServer, wait_until

NEWS = SHARED / "data" / "news" / "saudinewsnet-2015-08-10.jsonl"
STAGES = stage_queues(Settings())  # ingest, then the route
PREFIX = re.compile(rf"^({'|'.join([*STAGES, 'watcher', 'beat'])}) *\| ")


class Run:
    """One `akhbar run` process, its output in files."""

    def __init__(self, env: dict[str, str], logdir: Path, *options: str) -> None:
        logdir.mkdir(parents=True, exist_ok=True)
        self.out, self.err = logdir / "stdout", logdir / "stderr"
        with self.out.open("wb") as out, self.err.open("wb") as err:
            self.proc = subprocess.Popen([str(BIN / "akhbar"), "run", *options], env=env,
                                         stdout=out, stderr=err)

    def children(self) -> list[psutil.Process]:
        """Every process it started, with their own children (pool processes)."""
        return psutil.Process(self.proc.pid).children(recursive=True)

    def child(self, module: str) -> psutil.Process:
        return next(p for p in psutil.Process(self.proc.pid).children()
                    if module in p.cmdline())

    def stop(self, sig: int = signal.SIGINT) -> int:
        self.proc.send_signal(sig)
        return self.proc.wait(120)

    def logs(self) -> str:
        return (f"--- stderr\n{self.err.read_text(errors='replace')}\n--- stdout (end)\n"
                f"{self.out.read_text(errors='replace')[-5000:]}")


@pytest.fixture
def env(redis_db: Redis, redis_server: RedisServer, tmp_path: Path
        ) -> Iterator[tuple[dict[str, str], ElasticsearchDouble]]:
    with ElasticsearchDouble() as es:
        yield {**os.environ, "AKHBAR_REDIS_URL": redis_server.url, "AKHBAR_ES_URL": es.url,
               "AKHBAR_INBOX": str(tmp_path / "inbox"), "AKHBAR_INBOX_STABLE_SECONDS": "0.3",
               "AKHBAR_BULK_FLUSH_S": "0.3", "AKHBAR_FEEDS_FILE": str(tmp_path / "none.yaml")
               }, es


def gone(procs: list[psutil.Process]) -> bool:
    return not any(p.is_running() and p.status() != psutil.STATUS_ZOMBIE for p in procs)


def test_stopped_with_work_in_flight_and_started_again_it_indexes_everything(
        env: tuple[dict[str, str], ElasticsearchDouble], redis_db: Redis, seeds: list[Path],
        tmp_path: Path) -> None:
    variables, es = env
    rows = [json.loads(line) for line in
            need(NEWS).read_text(encoding="utf-8").splitlines()[:400]]
    staging = tmp_path / "staging"
    staging.mkdir()
    for n in range(8):  # 8 files of 50 articles, in the inbox's JSONL format
        (staging / f"news-{n}.jsonl").write_text("".join(
            json.dumps({"title": r["title"], "body": r["content"], "url": r["url"],
                        "source": r["source"]}, ensure_ascii=False) + "\n"
            for r in rows[n * 50:(n + 1) * 50]), encoding="utf-8")
    for seed in seeds:
        (staging / seed.name).write_bytes(seed.read_bytes())
    files = sorted(staging.iterdir())
    # Ids as indexed (a text without URL is identified by its normalised text).
    pipeline = InProcessPipeline(StageContext(Settings()))
    expected = {a.id for a in pipeline.run(a for f in files for a in read_file(f).articles)}

    first = Run(variables, tmp_path / "first")
    inbox = Path(variables["AKHBAR_INBOX"])
    wait_until(inbox.exists, 120, "the watcher to create the inbox")
    for f in files:
        f.rename(inbox / f.name)
    try:
        wait_until(lambda: es.docs, 180, "the first indexed document")
    except AssertionError:
        first.stop()
        raise AssertionError(first.logs()) from None
    started = first.children()
    assert first.stop(signal.SIGINT) == Exit.OK, first.logs()
    assert gone(started), [p.cmdline() for p in started if p.is_running()]
    assert len(es.docs) < len(expected), "everything was indexed before the stop: nothing tested"
    assert "stopping: running tasks finish" in first.err.read_text()
    lines = [line for line in first.out.read_text().splitlines() if line]
    assert lines and all(PREFIX.match(line) for line in lines), lines[:5]
    assert {line.index("|") for line in lines} == {len("normalize") + 1}  # aligned
    assert {PREFIX.match(line).group(1) for line in lines} == {  # type: ignore[union-attr]
        *STAGES, "watcher", "beat"}

    second = Run(variables, tmp_path / "second")
    try:
        wait_until(lambda: set(es.docs) >= expected, 300, "every article indexed")
    except AssertionError:
        second.stop()
        raise AssertionError(f"{len(expected - set(es.docs))} not indexed\n"
                             + second.logs()) from None
    assert second.stop(signal.SIGTERM) == Exit.OK, second.logs()
    assert set(es.docs) == expected
    assert not any(redis_db.llen(f"akhbar:dlq:{s}") for s in STAGES)
    assert sorted(p.name for p in (inbox / "processed").iterdir()) == [f.name for f in files]


def test_a_child_that_dies_stops_the_pipeline(env: tuple[dict[str, str], ElasticsearchDouble],
                                              tmp_path: Path) -> None:
    variables, _ = env
    run = Run(variables, tmp_path / "run", "--no-beat", "--no-watch", "--concurrency",
              "enrich=2")
    try:
        wait_until(lambda: "enrich@" in run.out.read_text() and " ready." in
                   run.out.read_text(), 120, "the enrich worker")
        enrich = run.child("enrich@%h")
        assert len(enrich.children()) == 2  # --concurrency enrich=2: its pool
        started = run.children()
        os.kill(enrich.pid, signal.SIGKILL)
        assert run.proc.wait(120) == Exit.STOPPED
    except (AssertionError, subprocess.TimeoutExpired):
        run.stop()
        raise AssertionError(run.logs()) from None
    assert "akhbar: enrich was killed by SIGKILL; stopping the pipeline" in run.err.read_text()
    assert gone(started), [p.cmdline() for p in started if p.is_running()]


def test_refuses_to_start_on_an_unknown_stage_or_a_missing_worker(
        env: tuple[dict[str, str], ElasticsearchDouble]) -> None:
    variables, _ = env
    bad = subprocess.run([str(BIN / "akhbar"), "run", "--concurrency", "nosuch=2"],
                         env=variables, capture_output=True, text=True, timeout=60)
    assert bad.returncode == Exit.USAGE and "'nosuch'" in bad.stderr and bad.stdout == ""
    route = subprocess.run([str(BIN / "akhbar"), "run"], capture_output=True, text=True,
                           env={**variables, "AKHBAR_ROUTE": "normalize,nosuch,index"},
                           timeout=60)
    assert route.returncode == Exit.CONFIG and route.stdout == ""
    assert route.stderr.strip() == (
        "akhbar: no stage nosuch installed: install the package of each stage of the route "
        "(AKHBAR_ROUTE=normalize,nosuch,index)")
