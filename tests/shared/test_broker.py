"""The transport's fetch on a real Redis (akhbar.upstream.kombu_redis): a message whose fetch
reply never reaches the worker (Redis shut down or the connection dropped right after serving
it) waits in the worker's fetch list and comes back, where kombu's BRPOP loses it (found by
bench/faults.py redis-restart); and a real worker puts back at start what a dead worker was
fetching."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from kombu import Connection, Consumer, Queue
from redis import Redis

from akhbar.queues import make_app, send_jobs
from akhbar.settings import Settings
from akhbar.upstream.kombu_redis import TRANSPORT, fetch_key
from akhbar_testkit.es_double import ElasticsearchDouble
from akhbar_testkit.harness import RedisServer, Workers, wait_until
from akhbar_testkit.index_stage import index_job, index_workers

QUEUE = "fetchtest"


def fetch_and_drop_reply(url: str, owner: str | None) -> None:
    """Publish one message, start one fetch as a consumer does, and drop the connection once
    Redis has served the fetch, before reading its reply."""
    options = {} if owner is None else {"fetch_owner": owner}
    with Connection(url, transport=TRANSPORT, transport_options=options) as conn:
        queue = Queue(QUEUE, channel=conn.default_channel)
        queue.declare()
        conn.default_channel.basic_publish(conn.default_channel.prepare_message("one"),
                                           exchange="", routing_key=QUEUE)
        got: list[Any] = []
        Consumer(conn.default_channel, [queue], on_message=got.append).consume()
        conn.default_channel.connection.cycle.on_poll_start()  # sends the fetch
        redis = Redis.from_url(url)
        wait_until(lambda: redis.llen(QUEUE) == 0, 10, "Redis to serve the fetch")
        conn.default_channel.client.connection.disconnect()  # the reply is never read
        assert got == []


def test_a_lost_fetch_reply_leaves_the_message_in_the_fetch_list(redis_db: Redis,
                                                                 redis_server: RedisServer
                                                                 ) -> None:
    fetch_and_drop_reply(redis_server.url, "enrich@host")
    assert redis_db.llen(QUEUE) == 0
    assert redis_db.llen(fetch_key("enrich@host", QUEUE)) == 1

    with Connection(redis_server.url, transport=TRANSPORT) as conn:
        channel = conn.default_channel
        assert channel.restore_fetched(skip_owners={"enrich@host"}) == 0  # a live worker's
        assert channel.restore_fetched(skip_owners=set()) == 1
        assert redis_db.llen(QUEUE) == 1
        assert not redis_db.exists(fetch_key("enrich@host", QUEUE))
        message = channel.basic_get(QUEUE, no_ack=True)
        assert message is not None and message.body == b"one"


def test_with_kombus_own_fetch_a_lost_reply_loses_the_message(redis_db: Redis,
                                                              redis_server: RedisServer) -> None:
    """Why the transport exists: the same drop with kombu's own fetch leaves the message
    nowhere in Redis (not queued, not unacknowledged, no fetch list)."""
    fetch_and_drop_reply(redis_server.url, owner=None)
    keys = {k.decode() for k in redis_db.keys("*")}
    assert redis_db.llen(QUEUE) == 0 and redis_db.hlen("unacked") == 0
    assert not [k for k in keys if k.startswith("akhbar:fetching:")]


def test_a_fetched_message_leaves_the_fetch_list_once_unacknowledged(redis_db: Redis,
                                                                     redis_server: RedisServer
                                                                     ) -> None:
    with Connection(redis_server.url, transport=TRANSPORT,
                    transport_options={"fetch_owner": "normalize@host"}) as conn:
        channel = conn.default_channel
        Queue(QUEUE, channel=channel).declare()
        channel.basic_publish(channel.prepare_message("one"), exchange="", routing_key=QUEUE)
        got: list[Any] = []
        Consumer(channel, [Queue(QUEUE)], on_message=got.append).consume()
        conn.drain_events(timeout=5)
        assert [m.body for m in got] == [b"one"]
        assert redis_db.hlen("unacked") == 1
        assert not redis_db.exists(fetch_key("normalize@host", QUEUE))
        got[0].ack()
        assert redis_db.hlen("unacked") == 0


def test_an_owner_name_with_a_colon_is_refused(redis_server: RedisServer) -> None:
    with Connection(redis_server.url, transport=TRANSPORT,
                    transport_options={"fetch_owner": "a:b"}) as conn:
        with pytest.raises(ValueError, match="must not contain ':'"):
            conn.default_channel  # noqa: B018 (the channel is created on first use)


def test_a_worker_puts_back_what_dead_workers_were_fetching(redis_server: RedisServer,
                                                            tmp_path: Path) -> None:
    """Two index jobs stranded in fetch lists, as after a reply lost in a Redis shutdown: one
    of this worker's own node name (it died, or its connection dropped), one of a worker that
    is gone. The index worker, started, indexes both."""
    r = redis_server.client
    r.flushall()
    settings = Settings(redis_url=redis_server.url, route=["index"])
    jobs = [index_job("https://example.com/own"), index_job("https://example.com/gone")]
    send_jobs(make_app("akhbar_test", settings), "index", jobs, 1)
    for owner in ("index@test", "index@gone"):
        r.lmove("index", fetch_key(owner, "index"), "RIGHT", "LEFT")
    assert r.llen("index") == 0
    with ElasticsearchDouble() as es:
        workers = index_workers(redis_server, es.url, tmp_path)
        try:
            workers.start_stage("index")
            ids = {j["article"]["id"] for j in jobs}
            wait_until(lambda: ids <= set(es.docs), 60, f"both jobs indexed\n{workers.logs()}")
            assert not r.keys("akhbar:fetching:*")
            assert "and 2 being fetched" in (tmp_path / "index.log").read_text(errors="replace")
        finally:
            workers.stop()
            r.flushall()


def test_a_waiting_worker_fetches_with_blmove(redis_server: RedisServer,
                                              tmp_path: Path) -> None:
    """A real worker is wired to the transport: while it waits for work, its connection is
    blocked in BLMOVE (kombu's own fetch would be BRPOP)."""
    r = redis_server.client
    r.flushall()
    workers = Workers({**os.environ, "AKHBAR_REDIS_URL": redis_server.url,
                       "AKHBAR_ROUTE": "normalize"}, tmp_path)
    try:
        workers.start_stage("normalize")
        wait_until(lambda: any(c.get("cmd") == "blmove" for c in r.client_list()), 60,
                   f"the worker to wait on BLMOVE\n{workers.logs()}")
    finally:
        workers.stop()
        r.flushall()
