"""At least once on real parts: a normalize worker whose pool process is killed with SIGKILL
while it works loses no job (task_reject_on_worker_lost requeues the message at once), nor does
one killed as a whole (its successor puts back what it held), nor a message whose handling
fails outside its jobs (it goes back on its queue, for a stage task and an index batch)."""

from __future__ import annotations

import json
import os
import signal
import time
from pathlib import Path

import psutil
from redis import Redis

from akhbar.contract import Envelope
from akhbar.queues import make_app, send_jobs, send_message
from akhbar.settings import Settings
from akhbar.upstream.kombu_redis import fetch_key
from akhbar_ingest.formats import read_file
from akhbar_testkit.es_double import ElasticsearchDouble
from akhbar_testkit.harness import RedisServer, Workers, wait_until
from akhbar_testkit.index_stage import index_job, index_workers


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


def break_delivery_count(redis: Redis, stage: str) -> None:
    """Flag the message waiting in `stage`'s queue as a redelivery (as kombu does when it
    restores one), whose count then cannot be kept: the key holds the wrong type, as good as
    Redis failing the command. The task handling it raises outside its jobs."""
    payload = json.loads(redis.rpop(stage))
    payload["headers"]["redelivered"] = True
    payload["properties"]["delivery_info"]["redelivered"] = True
    redis.rpush(stage, json.dumps(payload))
    redis.set(f"akhbar:deliveries:{stage}", "not a hash")


def kept_while_failing(redis_server: RedisServer, stage: str, log: Path) -> str:
    """Wait for the first failure, then check the message is still there a second later (tried
    again meanwhile, neither dropped nor acknowledged); returns the worker's log. It is waiting,
    being fetched (akhbar.upstream.kombu_redis's fetch list) or held: for an instant of each
    fetch, two."""
    r = redis_server.client
    text = lambda: log.read_text(errors="replace")  # noqa: E731
    wait_until(lambda: "WRONGTYPE" in text(), 60, f"the task to fail\n{text()[-3000:]}")
    time.sleep(1)
    with r.pipeline(transaction=True) as pipe:  # one snapshot: it moves between them quickly
        pipe.llen(stage).llen(fetch_key(f"{stage}@test", stage)).hvals("unacked")
        waiting, fetching, unacked = pipe.execute()
    held = sum(1 for raw in unacked if json.loads(raw)[2] == stage)
    assert waiting + fetching + held >= 1, "the message is gone"
    redis_server.client.delete(f"akhbar:deliveries:{stage}")  # the count works again
    return text()


def test_a_message_whose_handling_fails_outside_its_jobs_goes_back(
        redis_server: RedisServer, seeds: list[Path], tmp_path: Path) -> None:
    """A redelivered message whose delivery count cannot be kept (its Redis key holds the wrong
    type, as good as Redis failing a command): the task raises outside the jobs. Celery would
    reject it without requeueing, deleting it; it keeps going back to its queue instead, and
    is forwarded once the count can be kept."""
    r = redis_server.client
    r.flushall()
    settings = Settings(redis_url=redis_server.url, route=["normalize", "enrich"])
    article = read_file(seeds[0]).articles[0]
    job = Envelope(route=settings.route, article=article).to_message()
    send_jobs(make_app("akhbar_test", settings), "normalize", [job], 1)
    break_delivery_count(r, "normalize")
    workers = Workers({**os.environ, "AKHBAR_REDIS_URL": redis_server.url,
                       "AKHBAR_ROUTE": "normalize,enrich"}, tmp_path)
    try:
        workers.start_stage("normalize")
        log = kept_while_failing(redis_server, "normalize", tmp_path / "normalize.log")
        assert log.count("putting a message back on its queue") >= 2
        wait_until(lambda: job_ids(redis_server, "enrich") == [job["job_id"]], 60,
                   f"the job forwarded once the count works\n{workers.logs()}")
        wait_until(lambda: held_by_workers(redis_server, "normalize") == 0, 30, "the ack")
    finally:
        workers.stop()
        r.flushall()


def test_an_index_batch_that_raises_goes_back(redis_server: RedisServer,
                                              tmp_path: Path) -> None:
    """The same failure inside an index batch: celery-batches acknowledged a batch whose
    function raised; ReliableBatches puts it back, and it is indexed once the count works."""
    r = redis_server.client
    r.flushall()
    settings = Settings(redis_url=redis_server.url, route=["index"])
    job = index_job("https://example.com/batch")
    send_jobs(make_app("akhbar_test", settings), "index", [job], 1)
    break_delivery_count(r, "index")
    with ElasticsearchDouble() as es:
        workers = index_workers(redis_server, es.url, tmp_path)
        try:
            workers.start_stage("index")
            log = kept_while_failing(redis_server, "index", tmp_path / "index.log")
            assert log.count("putting a batch of 1 message(s) back") >= 2
            wait_until(lambda: job["article"]["id"] in es.docs, 60,
                       f"the job indexed once the count works\n{workers.logs()}")
            wait_until(lambda: held_by_workers(redis_server, "index") == 0, 30, "the ack")
        finally:
            workers.stop()
            r.flushall()


def test_an_ingest_job_that_fails_outside_its_file_goes_back(redis_server: RedisServer,
                                                            seeds: list[Path],
                                                            tmp_path: Path) -> None:
    """The same failure for a claimed inbox file: its job goes back on the ingest queue (the
    file would otherwise wait in .work/ for the watcher's next start), and once the count works
    its articles are sent on and the file is filed as processed."""
    r = redis_server.client
    r.flushall()
    inbox = tmp_path / "inbox"
    (inbox / ".work").mkdir(parents=True)
    claimed = inbox / ".work" / f"0123456789ab__{seeds[0].name}"
    claimed.write_bytes(seeds[0].read_bytes())
    settings = Settings(redis_url=redis_server.url, route=["normalize"])
    send_message(make_app("akhbar_test", settings), "ingest", {"file": claimed.name}, "test")
    break_delivery_count(r, "ingest")
    workers = Workers({**os.environ, "AKHBAR_REDIS_URL": redis_server.url,
                       "AKHBAR_ROUTE": "normalize", "AKHBAR_INBOX": str(inbox)}, tmp_path)
    try:
        workers.start_stage("ingest")
        kept_while_failing(redis_server, "ingest", tmp_path / "ingest.log")
        assert claimed.exists()
        wait_until(lambda: (inbox / "processed").is_dir() and not claimed.exists(), 60,
                   f"the file processed once the count works\n{workers.logs()}")
        assert len(job_ids(redis_server, "normalize")) == len(read_file(seeds[0]).articles)
    finally:
        workers.stop()
        r.flushall()
