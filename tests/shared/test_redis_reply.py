"""Typed replies of the synchronous Redis client (akhbar.redis_reply), on a real Redis."""

from __future__ import annotations

import asyncio

import pytest
import redis.asyncio
from redis import Redis

from akhbar.redis_reply import sync
from akhbar_testkit.harness import RedisServer

KEY = "akhbar:test:list"


def test_a_synchronous_reply_is_passed_through(redis_db: Redis) -> None:
    redis_db.rpush(KEY, b"a", b"b")
    assert sync(redis_db.llen(KEY)) == 2
    assert sync(redis_db.lrange(KEY, 0, -1)) == [b"a", b"b"]
    assert sync(redis_db.lindex(KEY, 5)) is None


def test_an_asyncio_clients_reply_is_refused(redis_server: RedisServer, redis_db: Redis) -> None:
    redis_db.rpush(KEY, b"a")

    async def check() -> None:
        client = redis.asyncio.Redis.from_url(redis_server.url)
        pending = client.llen(KEY)
        with pytest.raises(TypeError, match="asyncio Redis client"):
            sync(pending)
        assert await pending == 1  # a real reply, only not a synchronous one
        await client.aclose()

    asyncio.run(check())
