"""Shared fixtures: real data from ../shared, a real redis-server. The helpers they use are in
tests/support (the akhbar_testkit package)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from redis import Redis

from akhbar_testkit.compose import find_executable
from akhbar_testkit.data import SEEDS, need
from akhbar_testkit.harness import RedisServer


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


@pytest.fixture(scope="session")
def check_jsonschema() -> str:
    exe = find_executable("check-jsonschema")
    if exe is None:
        pytest.skip("check-jsonschema is not installed (pip install check-jsonschema)")
    return exe
