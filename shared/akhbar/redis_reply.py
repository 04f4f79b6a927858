"""Typed replies of the synchronous Redis client.

redis-py types each command as returning `Awaitable[T] | T`, because one set of methods serves
both its clients; the project uses only the synchronous one, whose replies are never awaitable.
"""

from __future__ import annotations

from collections.abc import Awaitable
from typing import TypeVar

T = TypeVar("T")


def sync(reply: Awaitable[T] | T) -> T:
    """The reply of a synchronous client's command, typed as that (an asyncio client is a bug)."""
    if isinstance(reply, Awaitable):
        raise TypeError("an asyncio Redis client where a synchronous one is expected")
    return reply
