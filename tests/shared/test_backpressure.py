"""Backpressure on a real Redis: the one check (`full_queues`), the inbox watcher as a real
process claiming files only while every stage queue is below AKHBAR_QUEUE_MAX_MESSAGES, and a
real stage worker fetching only while the queues after its own are below it; each logs once
when it pauses and once when it resumes."""

from __future__ import annotations

import os
import time
from pathlib import Path

from redis import Redis

from akhbar.contract import Article, Envelope, Source, article_id, utcnow
from akhbar.queues import downstream_queues, full_queues, make_app, send_jobs
from akhbar.settings import Settings
from akhbar_testkit.harness import RedisServer, Workers, wait_until


def test_full_queues_names_the_queues_at_or_above_the_bound(redis_db: Redis) -> None:
    s = Settings(queue_max_messages=3)
    assert full_queues(redis_db, s) == {}
    redis_db.rpush("normalize", *[b"m"] * 2)
    redis_db.rpush("index", *[b"m"] * 3)
    redis_db.rpush("enrich", *[b"m"] * 5)
    assert full_queues(redis_db, s) == {"enrich": 5, "index": 3}
    assert full_queues(redis_db, Settings(queue_max_messages=3, route=["normalize"])) == {}
    assert full_queues(redis_db, s, ["ingest", "normalize", "index"]) == {"index": 3}


def test_the_queues_downstream_of_a_stage_follow_the_route() -> None:
    s = Settings(route=["normalize", "enrich", "index"])
    assert downstream_queues(s, ["normalize"]) == ["enrich", "index"]
    assert downstream_queues(s, ["ingest"]) == ["normalize", "enrich", "index"]
    assert downstream_queues(s, ["index"]) == []
    assert downstream_queues(s, ["x.reply.celery.pidbox"]) == []


def log_count(workers: Workers, text: str) -> int:
    return (workers.logdir / "watcher.log").read_text(errors="replace").count(text)


def test_watcher_claims_files_only_while_the_queues_have_room(redis_server: RedisServer,
                                                               tmp_path: Path) -> None:
    """No ingest worker runs, so the ingest queue holds one message per claimed file: with a
    bound of 2 the watcher claims two of five files, pauses, and claims more only as the queue
    is emptied."""
    r = redis_server.client
    r.flushall()
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    for n in range(5):
        (inbox / f"{n}.txt").write_text(f"عنوان {n}\nنص", encoding="utf-8")
        os.utime(inbox / f"{n}.txt", (1, 1))  # long quiet
    workers = Workers({**os.environ, "AKHBAR_REDIS_URL": redis_server.url,
                       "AKHBAR_INBOX": str(inbox), "AKHBAR_INBOX_STABLE_SECONDS": "0.2",
                       "AKHBAR_QUEUE_MAX_MESSAGES": "2"}, tmp_path)
    waiting = lambda: sorted(p.name for p in inbox.glob("*.txt"))  # noqa: E731
    try:
        workers.start_watcher()
        wait_until(lambda: log_count(workers, "pausing") == 1, 30,
                   f"the watcher to pause\n{workers.logs()}")
        assert r.llen("ingest") == 2 and len(waiting()) == 3
        assert "ingest holds 2 messages (AKHBAR_QUEUE_MAX_MESSAGES=2)" in workers.logs()

        r.delete("ingest")  # the ingest worker caught up
        wait_until(lambda: log_count(workers, "pausing") == 2, 30, "the second pause")
        assert log_count(workers, "resuming") == 1
        assert r.llen("ingest") == 2 and len(waiting()) == 1

        r.ltrim("ingest", 0, 0)  # one below the bound: the last file is taken
        wait_until(lambda: not waiting(), 30, "the last file")
        assert r.llen("ingest") == 2
        assert len(list((inbox / ".work").iterdir())) == 5
    finally:
        workers.stop()
        r.flushall()


def test_watcher_claims_nothing_while_another_stage_queue_is_full(
        redis_server: RedisServer, tmp_path: Path) -> None:
    """A full downstream queue (here enrich) pauses the watcher before its first claim."""
    r = redis_server.client
    r.flushall()
    r.rpush("enrich", *[b"m"] * 3)
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    (inbox / "a.txt").write_text("عنوان\nنص", encoding="utf-8")
    os.utime(inbox / "a.txt", (1, 1))
    workers = Workers({**os.environ, "AKHBAR_REDIS_URL": redis_server.url,
                       "AKHBAR_INBOX": str(inbox), "AKHBAR_INBOX_STABLE_SECONDS": "0.2",
                       "AKHBAR_QUEUE_MAX_MESSAGES": "3"}, tmp_path)
    try:
        workers.start_watcher()
        wait_until(lambda: log_count(workers, "pausing") == 1, 30,
                   f"the watcher to pause\n{workers.logs()}")
        assert (inbox / "a.txt").exists() and r.llen("ingest") == 0
        r.lpop("enrich")
        wait_until(lambda: r.llen("ingest") == 1, 30, "the file to be claimed after resuming")
        assert log_count(workers, "resuming") == 1 and log_count(workers, "pausing") == 1
    finally:
        workers.stop()
        r.flushall()


def normalize_job(n: int) -> dict[str, object]:
    url = f"https://example.com/{n}"
    article = Article(id=article_id(url=url, title=f"عنوان {n}", body="نص الخبر"), url=url,
                      source=Source(name="test", kind="inbox"), title=f"عنوان {n}",
                      body="نص الخبر", ingested_at=utcnow())
    return Envelope(route=["normalize", "enrich"], article=article).to_message()


def test_a_stage_worker_fetches_nothing_while_the_queue_after_it_is_full(
        redis_server: RedisServer, tmp_path: Path) -> None:
    """No enrich worker runs: the normalize worker forwards until enrich holds the bound, then
    takes no more from its own queue (which keeps the rest) until enrich has room again."""
    r = redis_server.client
    r.flushall()
    bound, sent = 4, 60
    settings = Settings(redis_url=redis_server.url, route=["normalize", "enrich"])
    send_jobs(make_app("akhbar_test", settings), "normalize",
              [normalize_job(n) for n in range(sent)], 1)
    workers = Workers({**os.environ, "AKHBAR_REDIS_URL": redis_server.url,
                       "AKHBAR_ROUTE": "normalize,enrich",
                       "AKHBAR_QUEUE_MAX_MESSAGES": str(bound)}, tmp_path)
    log = lambda text: (tmp_path / "normalize.log").read_text(errors="replace").count(text)  # noqa: E731
    try:
        workers.start_stage("normalize")
        wait_until(lambda: log("pausing") == 1, 60, f"the worker to pause\n{workers.logs()}")
        peak = 0
        for _ in range(20):  # two seconds paused
            peak = max(peak, r.llen("enrich"))
            time.sleep(0.1)
        # The gate is asked before each fetch, and a worker of concurrency 1 holds one
        # message at a time (prefetch 1, acknowledged after it has been forwarded).
        assert peak == bound
        assert r.llen("normalize") == sent - bound
        r.delete("enrich")  # the enrich stage caught up
        wait_until(lambda: log("pausing") == 2, 60, f"the second pause\n{workers.logs()}")
        assert log("resuming") == 1
        assert r.llen("enrich") == bound and r.llen("normalize") == sent - 2 * bound
    finally:
        workers.stop()
        r.flushall()
