"""Consumer steps of every stage worker, reaching into Celery's consumer and kombu's channel.

Internals relied on (celery 5.6.3): a consumer step's `c.task_consumer.channel` (the channel
the worker fetches with: an `akhbar.upstream.kombu_redis.Channel`) and `c.app.amqp.queues.
consume_from`; steps added to `app.steps["consumer"]` before the worker builds its consumer
(at `celeryd_init`), and run again each time the consumer reconnects.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from functools import partial
from typing import Any

from celery import Celery, bootsteps, signals
from redis import Redis

from akhbar.queues import PauseLog, describe_full, downstream_queues, full_queues
from akhbar.settings import Settings, get_settings
from akhbar.upstream import require
from akhbar.upstream.kombu_redis import Channel

require("celery", "kombu")
log = logging.getLogger(__name__)


def channel_of(c: Any) -> Channel:
    """The channel a consumer fetches with."""
    channel: Channel = c.task_consumer.channel
    return channel


class Reclaim(bootsteps.StartStopStep):  # type: ignore[misc]  # Celery ships no types
    """A consumer step of every stage worker, run each time it connects to Redis, before its
    event loop fetches a message: at start (a killed predecessor's messages) and after a lost
    connection, e.g. Redis restarted. Celery then drops the messages it had prefetched or was
    holding for a retry delay, and neither acknowledging nor restoring them could reach Redis,
    so without this they too waited for the visibility timeout (found by bench/faults.py)."""

    requires = ("celery.worker.consumer.tasks:Tasks",)

    def start(self, c: Any) -> None:
        reclaim_orphans(c.app, c.hostname, list(c.app.amqp.queues.consume_from))


class Backpressure(bootsteps.StartStopStep):  # type: ignore[misc]  # Celery ships no types
    """A consumer step of every stage worker but the last: before each fetch, it looks at the
    queues after its own and fetches nothing while one holds `AKHBAR_QUEUE_MAX_MESSAGES`
    (akhbar.queues.full_queues, through the transport's fetch gate), so each queue stays near
    that bound however slow the stages after it are; the messages a worker already holds
    finish and are forwarded. Logs once when it pauses and once when it resumes."""

    requires = ("celery.worker.consumer.tasks:Tasks",)

    def __init__(self, c: Any, **kwargs: Any) -> None:
        super().__init__(c, **kwargs)
        self.log = PauseLog(log, "no message is fetched", "fetching again")

    def start(self, c: Any) -> None:
        s = get_settings()
        downstream = downstream_queues(s, list(c.app.amqp.queues.consume_from))
        if downstream:
            channel_of(c).fetch_gate = partial(self.room, s, downstream)

    def room(self, s: Settings, downstream: list[str], redis: Redis) -> bool:
        full = full_queues(redis, s, downstream)
        return self.log.update(describe_full(full, s) if full else None)


@signals.celeryd_init.connect  # type: ignore[untyped-decorator]  # Celery ships no types
def _add_stage_steps(sender: str, instance: Any, conf: Any, **_: Any) -> None:
    # celeryd_init: before the worker builds its consumer from app.steps (a step added later,
    # e.g. at celeryd_after_setup, is silently never run) and opens its connection: fetches
    # go through this node's own fetch list (akhbar.upstream.kombu_redis).
    conf.broker_transport_options = {**conf.broker_transport_options, "fetch_owner": sender}
    instance.app.steps["consumer"].update({Reclaim, Backpressure})


def gate_fetching(app: Celery, is_open: Callable[[], bool]) -> None:
    """Add a consumer step to `app`'s workers: no message is fetched while `is_open()` says no,
    on top of the backpressure gate (when the route has a stage after this worker's)."""

    class FetchGate(bootsteps.StartStopStep):  # type: ignore[misc]  # Celery ships no types
        requires = (Backpressure,)

        def start(self, c: Any) -> None:
            channel = channel_of(c)
            after = channel.fetch_gate

            def gate(redis: Redis) -> bool:
                return is_open() and (after is None or after(redis))

            channel.fetch_gate = gate

    app.steps["consumer"].add(FetchGate)


def reclaim_orphans(app: Celery, hostname: str, queues: list[str]) -> int:
    """Put back on their queues the messages that a worker killed outright (SIGKILL, out of
    memory, a container killed) or cut off from Redis held: those it was fetching (its fetch
    list, akhbar.upstream.kombu_redis), and those it held unacknowledged, instead of leaving
    the latter for the Redis visibility timeout (AKHBAR_VISIBILITY_TIMEOUT_S, an hour by
    default). Returns their number.

    The workers alive are asked over Celery's broadcast channel before this one consumes
    anything. Fetch lists name their worker: those of every worker but the live others come
    back. Kombu's unacknowledged hash does not say which worker holds a message, so it is
    restored only for the queues no other live worker consumes; a queue another worker serves
    keeps waiting for the timeout. A worker too busy to answer within a second counts as gone:
    its messages are delivered a second time, which at-least-once delivery and deterministic
    ids already allow."""
    try:
        # Connections of its own, closed before the pool forks; one for the broadcast, whose
        # reply consumer must not share a channel with the restore.
        with app.connection_for_write() as conn:
            replies = app.control.inspect(timeout=1.0, connection=conn).active_queues() or {}
        others = {host for host in replies if host != hostname}
        served = {q["name"] for host in others for q in replies[host]}
        mine = set(queues) - served
        with app.connection_for_write() as conn:
            channel = conn.default_channel
            fetched: int = channel.restore_fetched(skip_owners=others)
            unacked: int = channel.restore_unacked(mine)
    except Exception:  # Redis unreachable at start: the visibility timeout still applies
        log.exception("could not look for messages held by dead workers")
        return 0
    if unacked or fetched:
        log.warning("put back %d unacknowledged message(s) (queues %s) and %d being fetched, "
                    "left by a worker that died or lost its connection", unacked,
                    ", ".join(sorted(mine)), fetched)
    return unacked + fetched
