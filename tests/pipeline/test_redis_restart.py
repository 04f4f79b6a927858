"""Redis restarted under a running index worker (found by bench/faults.py redis-restart): the
worker reconnects by itself and writes again. celery-batches kept its flush timer's entry after
Celery cleared the consumer's timer on the lost connection, so while a job waited for its retry
delay (the timer running) at that moment, later jobs were buffered and never written. And the
message the worker was fetching when Redis stopped is put back when it reconnects."""

from __future__ import annotations

from pathlib import Path

from akhbar.contract import SCHEMA_VERSION
from akhbar.queues import make_app, send_jobs, task_name
from akhbar.settings import Settings
from akhbar.upstream.kombu_redis import fetch_key
from akhbar_testkit.es_double import ElasticsearchDouble
from akhbar_testkit.harness import RedisServer, wait_until
from akhbar_testkit.index_stage import index_job, index_workers


def test_index_worker_writes_again_after_redis_restarts(redis_server: RedisServer,
                                                        tmp_path: Path) -> None:
    r = redis_server.client
    r.flushall()
    settings = Settings(redis_url=redis_server.url, route=["index"])
    before, after = index_job("https://example.com/before"), index_job("https://example.com/after")
    stranded = index_job("https://example.com/stranded")
    with ElasticsearchDouble() as es:
        workers = index_workers(redis_server, es.url, tmp_path)
        try:
            workers.start_stage("index")
            app = make_app("akhbar_test", settings)
            # A job waiting for a retry delay keeps the flush timer running.
            send_jobs(app, "index", [index_job("https://example.com/later")], 1, countdown=3000)
            send_jobs(app, "index", [before], 1)
            wait_until(lambda: before["article"]["id"] in es.docs, 60,
                       f"the first job\n{workers.logs()}")
            # A job the worker was fetching when Redis went down: served, reply never read.
            app.send_task(task_name("index"), queue="parking",
                          args=[{"schema_version": SCHEMA_VERSION, "jobs": [stranded]}])
            r.lmove("parking", fetch_key("index@test", "index"), "RIGHT", "LEFT")
            redis_server.restart()
            send_jobs(make_app("akhbar_test", settings), "index", [after], 1)
            for job, what in ((after, "the job sent after Redis restarted"),
                              (stranded, "the job being fetched when Redis stopped")):
                wait_until(lambda job=job: job["article"]["id"] in es.docs, 60,
                           f"{what}\n{workers.logs()}")
        finally:
            workers.stop()
            r.flushall()
