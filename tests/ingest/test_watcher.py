"""The inbox watcher as a real process on a real Redis: files already there at start, files
dropped later, and partial files left alone."""

from __future__ import annotations

import os
from pathlib import Path

from akhbar_testkit.harness import RedisServer, Workers, wait_until


def queued_files(redis_server: RedisServer) -> list[str]:
    """Original names of the files whose ingest jobs wait in the queue."""
    return sorted(m["file"].split("__", 1)[1] for m in redis_server.queued("ingest"))


def test_watcher_takes_present_and_new_files(redis_server: RedisServer, tmp_path: Path) -> None:
    redis_server.client.flushall()
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    (inbox / "before.txt").write_text("عنوان\nنص", encoding="utf-8")
    os.utime(inbox / "before.txt", (1, 1))  # long quiet
    workers = Workers({**os.environ, "AKHBAR_REDIS_URL": redis_server.url,
                       "AKHBAR_INBOX": str(inbox), "AKHBAR_INBOX_STABLE_SECONDS": "0.3"},
                      tmp_path)
    try:
        workers.start_watcher()
        wait_until(lambda: queued_files(redis_server) == ["before.txt"], 30,
                   f"the file present at start\n{workers.logs()}")
        (inbox / "later.txt.part").write_text("still being written", encoding="utf-8")
        (inbox / ".hidden.txt").write_text("temporary", encoding="utf-8")
        (inbox / "later.txt").write_text("عنوان\nنص", encoding="utf-8")
        wait_until(lambda: queued_files(redis_server) == ["before.txt", "later.txt"], 30,
                   "the file dropped later")
        assert sorted(p.name for p in inbox.iterdir() if p.is_file()) == [
            ".hidden.txt", "later.txt.part"]
        assert len(list((inbox / ".work").iterdir())) == 2
    finally:
        workers.stop()
        redis_server.client.flushall()
