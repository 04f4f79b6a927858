"""Per-stage dead-letter lists in Redis: the payload, stage, error class and message of every
job that cannot succeed, kept until replayed."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from redis import Redis

from akhbar.contract import utcnow
from akhbar.queues import dlq_key


@dataclass(frozen=True)
class DeadLetter:
    stage: str
    error_class: str
    message: str
    payload: Any
    at: str
    worker: str

    def to_json(self) -> str:
        return json.dumps(self.__dict__, ensure_ascii=False)


def dead_letter(redis: Redis, stage: str, payload: Any, exc: BaseException, worker: str) -> None:
    entry = DeadLetter(stage=stage, error_class=type(exc).__name__, message=str(exc)[:2000],
                       payload=payload, at=utcnow().isoformat(), worker=worker)
    redis.rpush(dlq_key(stage), entry.to_json())


def list_dead(redis: Redis, stage: str, limit: int = 100) -> list[DeadLetter]:
    raw = redis.lrange(dlq_key(stage), 0, limit - 1)
    return [DeadLetter(**json.loads(r)) for r in raw]


def count_dead(redis: Redis, stage: str) -> int:
    return int(redis.llen(dlq_key(stage)))


def replay(redis: Redis, stage: str, send: Any, limit: int | None = None) -> int:
    """Send dead-lettered payloads back to their stage's queue, oldest first.

    An entry leaves the list only after it was sent; `send(stage, payload)` publishes one
    job (or, for a message that was unusable as a whole, that message again).
    """
    key, done = dlq_key(stage), 0
    while limit is None or done < limit:
        raw = redis.lindex(key, 0)
        if raw is None:
            break
        entry = json.loads(raw)
        payload = entry["payload"]
        if isinstance(payload, dict):
            payload.pop("attempts", None)  # a replay starts with a fresh retry budget
        send(stage, payload)
        redis.lrem(key, 1, raw)
        done += 1
    return done
