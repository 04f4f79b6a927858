"""Kombu's Redis transport with a fetch that cannot lose a message, and a gate on fetching.

Internals relied on (kombu 5.7.0): `Channel._brpop_start`/`_brpop_read` (replaced), and what they
use: `_queue_cycle`, `_in_poll`, `_brpop_sent_at`, `_flush_brpop_reauth`, `connection._deliver`,
`client.parse_response`, `from_transport_options`; `qos.restore_by_tag` and the `unacked_key`
hash layout ([message, exchange, routing key]) in `restore_unacked`.

Kombu takes a message with `BRPOP`: once Redis has served it the message is out of its queue,
and until the worker has written it to the unacknowledged hash it lives only in the reply. When
Redis shuts down (or the connection drops) in between, the reply never arrives and the message
is gone — found by bench/faults.py, which lost one message in a dozen Redis restarts.

A stage worker (a channel given the `fetch_owner` transport option, its Celery node name)
instead moves the message atomically with `BLMOVE` into a fetch list of its own,
`akhbar:fetching:<owner>:<queue>`, and removes it from there once it is in the unacknowledged
hash. Whatever a fetch list still holds did not reach the worker (or, for one round trip, is
also unacknowledged: then it comes back twice, never zero times): `restore_fetched` puts it
back on its queue, which `akhbar.upstream.celery_worker.Reclaim` does each time a worker connects.
A channel without an owner (producers, `celery inspect`) fetches as kombu does.

An owner's channel may have a `fetch_gate`, asked before each fetch: while it says no, the
channel fetches nothing and asks again every `IDLE_S` (akhbar.upstream.celery_worker.Backpressure).

`BLMOVE` takes one source, so a worker consuming several queues blocks on one at a time in
turn (up to `brpop_timeout`, one second, on an empty one); every stage worker consumes one.
Message priorities are not used: every message goes to the queue's one list.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Collection, Container
from queue import Empty
from time import monotonic
from typing import Any

from kombu.transport import redis as kombu_redis
from kombu.utils.encoding import bytes_to_str
from kombu.utils.json import loads
from redis import Redis

from akhbar.upstream import require

require("kombu")

FETCHING = "akhbar:fetching:"
IDLE, IDLE_S = "akhbar:idle", 0.1  # a key never written, and how long a held fetch waits on it
TRANSPORT = f"{__name__}:Transport"  # Celery's broker_transport


def fetch_key(owner: str, queue: str) -> str:
    return f"{FETCHING}{owner}:{queue}"


class Channel(kombu_redis.Channel):
    fetch_owner: str | None = None
    # Asked before each fetch, with a Redis client: False holds the fetch (`IDLE`).
    fetch_gate: Callable[[Redis], bool] | None = None
    priority_steps = [0]  # one list per queue: BLMOVE has a single source
    from_transport_options = (  # type: ignore[assignment]  # kombu types its own names only
        *kombu_redis.Channel.from_transport_options, "fetch_owner")
    _fetching_from = ""  # the queue of the fetch under way

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[no-untyped-call]  # kombu's Channel is unannotated
        if self.fetch_owner is not None:
            if ":" in self.fetch_owner:
                raise ValueError(f"fetch_owner {self.fetch_owner!r} must not contain ':'")
            if self.global_keyprefix:
                raise ValueError("fetch_owner does not support global_keyprefix")

    def _brpop_start(self, timeout: float | None = None) -> None:
        if self.fetch_owner is None:
            super()._brpop_start(timeout)  # type: ignore[no-untyped-call]  # kombu's Channel is unannotated
            return None
        queues = self._queue_cycle.consume(1)
        if not queues:
            return None
        self._fetching_from = queue = queues[0]
        wait = self.brpop_timeout if timeout is None else timeout
        if self.fetch_gate is not None and not self.fetch_gate(self.client):
            # Wait on a list that stays empty: the event loop comes back in IDLE_S, asks again.
            queue, wait = IDLE, IDLE_S
        self._in_poll = self.client.connection
        self._brpop_sent_at = monotonic()  # type: ignore[assignment]  # kombu's None default
        self.client.connection.send_command(
            "BLMOVE", queue, fetch_key(self.fetch_owner, queue), "RIGHT", "LEFT", wait or 0)
        return None

    def _brpop_read(self, **options: Any) -> bool:
        if self.fetch_owner is None:
            return bool(super()._brpop_read(**options))  # type: ignore[no-untyped-call]  # kombu's Channel is unannotated
        queue = self._fetching_from
        try:
            try:
                item = self.client.parse_response(self.client.connection, "BLMOVE", **options)
            except self.connection_errors:
                self.client.connection.disconnect()
                raise
            self._queue_cycle.rotate(queue)
            if item is None:
                raise Empty()
            # Delivery writes the unacknowledged entry; only then leave the fetch list.
            message = loads(bytes_to_str(item))  # type: ignore[no-untyped-call]  # as kombu's
            self.connection._deliver(message, queue)
            self.client.lrem(fetch_key(self.fetch_owner, queue), 1, item)
            return True
        finally:
            self._in_poll = None  # type: ignore[assignment]  # kombu's False default, None too
            self._flush_brpop_reauth()  # type: ignore[no-untyped-call]  # kombu's Channel is unannotated

    def restore_fetched(self, skip_owners: Container[str]) -> int:
        """Move back onto their queues the messages in the fetch lists of every owner not in
        `skip_owners` (the live workers other than the caller). Returns their number."""
        moved = 0
        with self.conn_or_acquire() as client:
            for raw in client.scan_iter(match=f"{FETCHING}*", count=1000):
                key = bytes_to_str(raw)  # type: ignore[no-untyped-call]  # kombu's own helper
                owner, queue = key[len(FETCHING):].split(":", 1)
                if owner in skip_owners:
                    continue
                # To the right end, where consumers take from: these were next in line.
                while client.lmove(key, queue, "RIGHT", "RIGHT") is not None:
                    moved += 1
        return moved

    def restore_unacked(self, queues: Collection[str]) -> int:
        """Put back on their queues the unacknowledged messages of `queues`. Kombu's hash does
        not say which worker holds a message: only the caller knows no live worker holds these.
        Returns their number."""
        tags = [tag for tag, raw in self.client.hscan_iter(self.unacked_key)
                if json.loads(raw)[2] in queues]  # [message, exchange, routing key]
        for tag in tags:
            self.qos.restore_by_tag(tag)
        return len(tags)


class Transport(kombu_redis.Transport):
    Channel = Channel
