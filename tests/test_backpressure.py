"""Backpressure on a real Redis: the one check producers use (`full_queues`), and the inbox
watcher as a real process claiming files only while every stage queue is below
AKHBAR_QUEUE_MAX_MESSAGES, logging once when it pauses and once when it resumes."""

from __future__ import annotations

import os
from pathlib import Path

from redis import Redis

from akhbar.queues import full_queues
from akhbar.settings import Settings

from conftest import RedisServer, Workers, wait_until


def test_full_queues_names_the_queues_at_or_above_the_bound(redis_db: Redis) -> None:
    s = Settings(queue_max_messages=3)
    assert full_queues(redis_db, s) == {}
    redis_db.rpush("normalize", *[b"m"] * 2)
    redis_db.rpush("index", *[b"m"] * 3)
    redis_db.rpush("enrich", *[b"m"] * 5)
    assert full_queues(redis_db, s) == {"enrich": 5, "index": 3}
    assert full_queues(redis_db, Settings(queue_max_messages=3, route=["normalize"])) == {}


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
