"""Shared fixtures: real data from ../shared, a real redis-server, real Celery workers."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from redis import Redis

from harness import BIN, RedisServer, Workers, wait_until

__all__ = ["BIN", "SEEDS", "SHARED", "RedisServer", "Workers", "need", "wait_until"]

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
SEEDS = SHARED / "seeds"


def need(path: Path) -> Path:
    if not path.exists():
        pytest.skip(f"{path} is absent (the developer data folder ../shared is not beside "
                    "the repository)")
    return path


@pytest.fixture(scope="session")
def seeds() -> list[Path]:
    return sorted(need(SEEDS).glob("*.txt"))


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    server = RedisServer(tmp_path_factory.mktemp("redis"))
    yield server
    server.stop()


@pytest.fixture
def redis_db(redis_server: RedisServer) -> Iterator[Redis]:
    redis_server.client.flushall()
    yield redis_server.client
    redis_server.client.flushall()


