"""bench/faults.py counts (akhbar_testkit.fault_count) what reaches the double after a warm-up it
then forgets: a second copy of the warm-up still on its way (at-least-once delivery) must not be
counted as an id never sent. On a real Redis with a real index worker and ElasticsearchDouble: the
copy, held by the worker for a delay, is counted as a duplicate id (named, with its index) when the
double forgets at the first sight of the warm-up, and not when it forgets once no message is
left."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from akhbar.queues import make_app, send_jobs
from akhbar.settings import Settings
from akhbar_testkit import fault_count as faults
from akhbar_testkit.es_double import ElasticsearchDouble
from akhbar_testkit.harness import Pipeline, RedisServer, wait_until
from akhbar_testkit.index_stage import index_job, index_workers

WARM_UP = "https://akhbar.invalid/warm-up"


def run_warm_up(redis_server: RedisServer, tmp_path: Path, forget: Any) -> dict[str, Any]:
    """The warm-up job, indexed, then a second copy of it on its way when `forget(trial)` is
    called; the row faults.py counts once nothing is left."""
    r = redis_server.client
    r.flushall()
    app = make_app("akhbar_test", Settings(redis_url=redis_server.url, route=["index"]))
    job = index_job(WARM_UP)
    with ElasticsearchDouble() as es:
        workers = index_workers(redis_server, es.url, tmp_path)
        t = faults.Trial(Pipeline(redis_server, workers, tmp_path), es, expected=set(),
                         args=argparse.Namespace(), workdir=tmp_path, queues=["index"])
        try:
            workers.start_stage("index")
            send_jobs(app, "index", [job], 1)
            wait_until(lambda: es.docs, 60, f"the warm-up indexed\n{workers.logs()}")
            # The copy is on its way (in Redis, held for its countdown) when the double forgets.
            send_jobs(app, "index", [job], 1, countdown=2)
            forget(t)
            # Quiet as the bench means it: a message being fetched (moved from the queue to
            # the worker's fetch list, not yet unacknowledged) is not yet done.
            wait_until(lambda: faults.quiet(t), 60, f"no message left\n{workers.logs()}")
            row = faults.count(t, None)
            writes = (tmp_path / "index.log").read_text(errors="replace").count(": 1 indexed")
            return row | {"notes": faults.findings(row, dead_expected=False), "writes": writes}
        finally:
            workers.stop()
            r.flushall()


def test_forgetting_at_first_sight_counted_the_copy_as_never_sent(
        redis_server: RedisServer, tmp_path: Path) -> None:
    row = run_warm_up(redis_server, tmp_path, lambda t: t.es.forget())
    assert row["writes"] == 2 and row["duplicate_ids"] == 1
    [note] = row["notes"]
    assert f"({WARM_UP}): never sent, stored in akhbar-articles-000001" in note


def test_forgetting_once_no_message_is_left_counts_nothing(redis_server: RedisServer,
                                                          tmp_path: Path) -> None:
    row = run_warm_up(redis_server, tmp_path, faults.forget_when_quiet)
    assert row["writes"] == 2  # the copy too, before the double forgot
    assert row["duplicate_ids"] == 0 and row["notes"] == []
