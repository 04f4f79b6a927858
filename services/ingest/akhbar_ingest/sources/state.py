"""What fetching remembers between polls: conditional-GET validators per URL and the set of
article URLs already fetched. In Redis for workers (shared by all of them), in memory for
in-process runs (`akhbar fetch`)."""

from __future__ import annotations

import hashlib
import json
import time

from redis import Redis

from akhbar.redis_reply import sync

VALIDATORS = "akhbar:fetch:validators:"
SEEN = "akhbar:fetch:seen:"


def _key(prefix: str, url: str) -> str:
    return prefix + hashlib.blake2b(url.encode("utf-8"), digest_size=16).hexdigest()


class MemoryState:
    def __init__(self, seen_ttl_s: float) -> None:
        self.ttl = seen_ttl_s
        self._validators: dict[str, dict[str, str]] = {}
        self._seen: dict[str, float] = {}

    def validators(self, url: str) -> dict[str, str]:
        return dict(self._validators.get(url, {}))

    def remember(self, url: str, validators: dict[str, str]) -> None:
        self._validators[url] = dict(validators)

    def seen(self, url: str) -> bool:
        return self._seen.get(url, 0.0) > time.monotonic()

    def mark_seen(self, url: str) -> None:
        self._seen[url] = time.monotonic() + self.ttl


class RedisState:
    def __init__(self, redis: Redis, seen_ttl_s: int) -> None:
        self.redis, self.ttl = redis, seen_ttl_s

    def validators(self, url: str) -> dict[str, str]:
        raw = sync(self.redis.get(_key(VALIDATORS, url)))
        return json.loads(raw) if raw else {}

    def remember(self, url: str, validators: dict[str, str]) -> None:
        self.redis.set(_key(VALIDATORS, url), json.dumps(validators), ex=self.ttl)

    def seen(self, url: str) -> bool:
        return bool(self.redis.exists(_key(SEEN, url)))

    def mark_seen(self, url: str) -> None:
        self.redis.set(_key(SEEN, url), b"1", ex=self.ttl)


FetchState = MemoryState | RedisState
