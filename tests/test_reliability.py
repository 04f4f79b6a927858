"""At least once on real parts: a normalize worker whose pool process is killed with SIGKILL
while it works loses no job (task_reject_on_worker_lost requeues the message at once), nor does
one killed as a whole (its successor puts back what it held)."""

from __future__ import annotations

import json
import os
import signal
import time
from pathlib import Path

import psutil

from akhbar.contract import Envelope
from akhbar.queues import make_app, send_jobs
from akhbar.settings import Settings
from akhbar_ingest.formats import read_file

from conftest import RedisServer, Workers, wait_until


def job_ids(redis_server: RedisServer, queue: str) -> list[str]:
    return [job["job_id"] for message in redis_server.queued(queue) for job in message["jobs"]]


def test_killed_pool_process_loses_no_job(redis_server: RedisServer, seeds: list[Path],
                                          tmp_path: Path) -> None:
    redis_server.client.flushall()
    settings = Settings(redis_url=redis_server.url, route=["normalize", "enrich"])
    app = make_app("akhbar_test", settings)
    articles = [a for p in seeds for a in read_file(p).articles]
    jobs = [Envelope(route=settings.route, article=articles[i % len(articles)]).to_message()
            for i in range(600)]
    send_jobs(app, "normalize", jobs, 5)  # 120 messages
    workers = Workers({**os.environ, "AKHBAR_REDIS_URL": redis_server.url,
                       "AKHBAR_ROUTE": "normalize,enrich"}, tmp_path)
    try:
        workers.start_stage("normalize")
        parent = psutil.Process(workers.procs["normalize"].pid)
        killed = 0
        deadline = time.monotonic() + 60
        while killed < 3 and time.monotonic() < deadline:
            # Kill only while work is under way (queue not yet drained).
            children = parent.children()
            if children and redis_server.client.llen("enrich") > 0 and \
                    redis_server.client.llen("normalize") > 0:
                os.kill(children[0].pid, signal.SIGKILL)
                killed += 1
                time.sleep(0.5)
            time.sleep(0.02)
        assert killed == 3, "the queue drained before three kills: send more work"
        sent = {j["job_id"] for j in jobs}
        wait_until(lambda: set(job_ids(redis_server, "enrich")) >= sent, 120,
                   f"every job to reach enrich\n{workers.logs()}")
        assert redis_server.client.llen("akhbar:dlq:normalize") == 0
    finally:
        workers.stop()
        redis_server.client.flushall()


def held_by_workers(redis_server: RedisServer, queue: str) -> int:
    """Messages of `queue` delivered but not acknowledged (kombu's unacked hash)."""
    return sum(1 for raw in redis_server.client.hvals("unacked") if json.loads(raw)[2] == queue)


def test_messages_held_by_a_killed_worker_come_back_when_it_restarts(
        redis_server: RedisServer, seeds: list[Path], tmp_path: Path) -> None:
    """SIGKILL of the whole worker (parent and pool, as when a container is killed) leaves the
    message it was running unacknowledged in Redis, where the visibility timeout (an hour here)
    would hold it; the restarted worker, alone on its queue, puts it back at once."""
    redis_server.client.flushall()
    settings = Settings(redis_url=redis_server.url, route=["normalize", "enrich"])
    articles = [a for p in seeds for a in read_file(p).articles]
    jobs = [Envelope(route=settings.route, article=articles[i % len(articles)]).to_message()
            for i in range(300)]
    send_jobs(make_app("akhbar_test", settings), "normalize", jobs, 5)
    workers = Workers({**os.environ, "AKHBAR_REDIS_URL": redis_server.url,
                       "AKHBAR_ROUTE": "normalize,enrich"}, tmp_path)
    try:
        workers.start_stage("normalize")
        for _ in range(5):  # kill while a message is held (not between an ack and the next)
            wait_until(lambda: held_by_workers(redis_server, "normalize"), 60,
                       f"the worker to take a message\n{workers.logs()}")
            workers.kill("normalize")
            if held_by_workers(redis_server, "normalize"):
                break
            workers.restart("normalize")
        assert held_by_workers(redis_server, "normalize") >= 1
        workers.restart("normalize")
        sent = {j["job_id"] for j in jobs}
        wait_until(lambda: set(job_ids(redis_server, "enrich")) >= sent, 120,
                   f"every job to reach enrich\n{workers.logs()}")
        log = (tmp_path / "normalize.log").read_text(errors="replace")
        assert "unacknowledged message(s) (queues normalize)" in log
        assert held_by_workers(redis_server, "normalize") == 0
    finally:
        workers.stop()
        redis_server.client.flushall()
