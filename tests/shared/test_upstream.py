"""The upstream behaviours akhbar.upstream works around, and the internals it uses, on the
pinned versions: each test fails when an upgrade changes what the seam relies on, so that the
workaround is checked (and dropped, if upstream fixed the behaviour) instead of silently
misbehaving. Kombu's own fetch losing a message on a dropped reply is shown in test_broker.py
(test_with_kombus_own_fetch_a_lost_reply_loses_the_message)."""

from __future__ import annotations

import inspect
import os
import re
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from celery import Celery
from celery_batches import Batches, SimpleRequest
from celery_batches.trace import apply_batches_task
from kombu import Connection
from kombu.transport import redis as kombu_redis

from akhbar import upstream
from akhbar.upstream.celery_worker import channel_of
from akhbar.upstream.kombu_redis import TRANSPORT, Channel
from akhbar_testkit.data import REPO
from akhbar_testkit.harness import BIN, RedisServer, wait_until

# A worker of plain upstream parts: kombu's own Redis transport, celery-batches' own Batches.
PROBE_APP = '''
import os
from celery import Celery, bootsteps
from celery_batches import Batches

app = Celery("upstream_probe", broker=os.environ["PROBE_BROKER"])
app.conf.update(task_acks_late=True, task_serializer="json", accept_content=["json"],
                broker_connection_retry_on_startup=True, broker_connection_max_retries=None,
                worker_prefetch_multiplier=200)


@app.task(base=Batches, name="probe.fail", flush_every=1, flush_interval=0.1)
def fail(requests):
    with open(os.environ["PROBE_RUNS"], "a") as runs:
        runs.write("ran\\n")
    raise RuntimeError("the batch function raised")


@app.task(base=Batches, name="probe.hold", flush_every=100, flush_interval=3600)
def hold(requests):
    pass


class TimerCheck(bootsteps.StartStopStep):
    """At each (re)connection: is the flush timer Batches holds still in the worker's timer?"""

    requires = ("celery.worker.consumer.tasks:Tasks",)

    def start(self, c):
        tref = app.tasks["probe.hold"]._tref
        if tref is not None:
            kept = any(s.entry is tref for s in c.timer.queue)
            print(f"BATCHES TIMER {'KEPT' if kept else 'DROPPED'}", flush=True)


app.steps["consumer"].add(TimerCheck)
'''


@pytest.fixture
def probe(tmp_path: Path) -> Iterator[tuple[RedisServer, Celery, Path]]:
    """A Redis of its own (restarted by a test), and a worker of PROBE_APP logging to a file."""
    redis = RedisServer(tmp_path / "redis")
    (tmp_path / "upstream_probe.py").write_text(PROBE_APP, encoding="utf-8")
    log = tmp_path / "worker.log"
    env = {**os.environ, "PYTHONPATH": str(tmp_path), "PROBE_BROKER": redis.url,
           "PROBE_RUNS": str(tmp_path / "runs")}
    with log.open("ab") as out:
        worker = subprocess.Popen(
            [str(BIN / "celery"), "-A", "upstream_probe", "worker", "--pool", "prefork",
             "--concurrency", "1", "--without-gossip", "--without-mingle", "--loglevel", "INFO"],
            env=env, cwd=tmp_path, stdout=out, stderr=out, start_new_session=True)
    try:
        wait_until(lambda: "ready." in log.read_text(errors="replace"), 60,
                   "the probe worker to start")
        yield redis, Celery("upstream_probe", broker=redis.url), log
    finally:
        worker.terminate()
        worker.wait(30)
        redis.stop()


def test_the_seam_refuses_other_versions(monkeypatch: pytest.MonkeyPatch) -> None:
    constraints = (REPO / "constraints.txt").read_text(encoding="utf-8")
    for name, version in upstream.PINNED.items():
        assert f"\n{name}=={version}\n" in f"\n{constraints}"
        upstream.require(name)  # the installed version is the pinned one
    monkeypatch.setitem(upstream.PINNED, "kombu", "5.6.0")
    with pytest.raises(ImportError, match=r"kombu==5\.6\.0 but kombu 5\.7\.0 is installed"):
        upstream.require("kombu")


def signature(fn: Callable[..., object]) -> str:
    return str(inspect.signature(fn))


def test_the_kombu_internals_are_there() -> None:
    """What akhbar.upstream.kombu_redis.Channel replaces and calls."""
    base = kombu_redis.Channel
    assert signature(base._brpop_start) == "(self, timeout=None)"
    assert signature(base._brpop_read) == "(self, **options)"
    assert signature(base._flush_brpop_reauth) == "(self)"
    assert signature(kombu_redis.QoS.restore_by_tag) == "(self, tag, client=None, leftmost=False)"
    assert {"unacked_key", "global_keyprefix"} <= set(base.from_transport_options)
    assert base.priority_steps != [0]  # kombu's default: several lists per queue (BRPOP)
    assert issubclass(kombu_redis.Empty, Exception)
    # The BRPOP reply is still read by _brpop_read, dispatched to _brpop_read by its command.
    assert "'BRPOP': self._brpop_read" in inspect.getsource(base.__init__)
    # The fetch still goes through _brpop_start from the multi-channel poller, which drops a
    # fetch unanswered for long after _brpop_sent_at (the replacement sets it too).
    poller = inspect.getsource(kombu_redis.MultiChannelPoller)
    assert "_brpop_start" in poller and "_brpop_sent_at" in poller


def test_the_kombu_channel_state_is_there(redis_server: RedisServer) -> None:
    with Connection(redis_server.url, transport=TRANSPORT,
                    transport_options={"fetch_owner": "probe@host"}) as conn:
        channel = conn.default_channel
        assert isinstance(channel, Channel)
        assert channel.fetch_owner == "probe@host"
        for name in ("_queue_cycle", "_in_poll", "_brpop_sent_at"):
            assert hasattr(channel, name), name
        assert channel.brpop_timeout == 1  # how long a fetch blocks on an empty queue
        assert callable(channel.connection._deliver)
        assert signature(channel._queue_cycle.consume) == "(n)"
        assert signature(channel._queue_cycle.rotate) == "(last_used)"
        assert channel.unacked_key == "unacked"  # `akhbar status` counts this hash


def test_the_celery_consumer_internals_are_there() -> None:
    """What the consumer steps reach: the channel the consumer fetches with, the queues it
    consumes, and the Tasks step that builds both (and each Batches strategy)."""
    from celery.worker.consumer import tasks
    source = inspect.getsource(tasks.Tasks.start)
    assert "c.task_consumer = " in source and "c.update_strategies()" in source
    assert channel_of.__doc__
    assert hasattr(Celery("probe").amqp.queues, "consume_from")


def test_the_celery_batches_internals_are_there() -> None:
    task = Batches()
    assert task._tref is None and hasattr(task, "_pool")
    assert list(inspect.signature(Batches.Strategy).parameters) == [
        "self", "task", "app", "consumer"]
    assert list(inspect.signature(Batches.flush).parameters) == ["self", "requests"]
    assert list(inspect.signature(apply_batches_task).parameters) == [
        "task", "args", "loglevel", "logfile"]
    assert callable(SimpleRequest.from_request)
    # The batch function's exception is caught and the result is None (ReliableBatches reads
    # None as "raised").
    source = inspect.getsource(apply_batches_task)
    assert re.search(r"except Exception as exc:\s+result = None", source)


def test_celery_batches_acknowledges_a_batch_whose_function_raised(
        probe: tuple[RedisServer, Celery, Path], tmp_path: Path) -> None:
    """Why ReliableBatches.flush settles a batch itself: celery-batches acknowledges the
    messages of a late-acknowledged batch whatever the function did, so a batch that raised is
    gone from Redis (not queued, not unacknowledged) after one run."""
    redis, app, log = probe
    app.send_task("probe.fail", args=[1], queue="celery")
    wait_until(lambda: "the batch function raised" in log.read_text(errors="replace"), 60,
               "the batch function to raise")
    wait_until(lambda: redis.client.hlen("unacked") == 0, 30, "the batch to be settled")
    assert redis.client.llen("celery") == 0
    assert (tmp_path / "runs").read_text().splitlines() == ["ran"]


def test_celery_drops_the_batches_timer_on_reconnect(
        probe: tuple[RedisServer, Celery, Path]) -> None:
    """Why ReliableBatches.Strategy forgets its timer: when the connection drops, Celery clears
    the worker's timer, and Batches, which keeps the entry, never starts another one."""
    redis, app, log = probe
    app.send_task("probe.hold", args=[1], queue="celery")
    wait_until(lambda: redis.client.hlen("unacked") == 1, 30, "the message to be buffered")
    redis.restart()
    wait_until(lambda: "BATCHES TIMER" in log.read_text(errors="replace"), 120,
               "the worker to reconnect")
    assert "BATCHES TIMER DROPPED" in log.read_text(errors="replace")
