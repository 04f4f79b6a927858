"""Per-stage dead-letter lists in Redis: the payload, stage, error class and message of every
job that cannot succeed, with the input it came from and its title, kept until replayed."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from redis import Redis

from akhbar.contract import utcnow
from akhbar.queues import dlq_key
from akhbar.redis_reply import sync


@dataclass(frozen=True)
class DeadLetter:
    stage: str
    error_class: str
    message: str
    payload: Any
    at: str
    worker: str
    # Where a person finds the input: the inbox file name or the URL, and the title (when the
    # payload is a job envelope; entries written before these fields were added have neither).
    input: str | None = None
    title: str | None = None

    def to_json(self) -> str:
        return json.dumps(self.__dict__, ensure_ascii=False)


def dead_letter(redis: Redis, stage: str, payload: Any, exc: BaseException, worker: str) -> None:
    entry = DeadLetter(stage=stage, error_class=type(exc).__name__, message=str(exc)[:2000],
                       payload=payload, at=utcnow().isoformat(), worker=worker,
                       **found_by(payload))
    redis.rpush(dlq_key(stage), entry.to_json())


def found_by(payload: Any) -> dict[str, str | None]:
    """`input` (inbox file name, else URL) and `title` of a payload that looks like a job
    envelope; it may be malformed (that can be why it is dead-lettered), so nothing is assumed."""
    article = payload.get("article") if isinstance(payload, dict) else None
    if not isinstance(article, dict):
        return {"input": None, "title": None}
    raw = article.get("raw")
    filename = raw.get("filename") if isinstance(raw, dict) else None
    return {"input": _text(filename) or _text(article.get("url")),
            "title": _text(article.get("title"))}


def _text(value: Any) -> str | None:
    return value[:2048] if isinstance(value, str) and value.strip() else None


def list_dead(redis: Redis, stage: str, limit: int = 100) -> list[DeadLetter]:
    raw = sync(redis.lrange(dlq_key(stage), 0, limit - 1))
    return [DeadLetter(**json.loads(r)) for r in raw]


def count_dead(redis: Redis, stage: str) -> int:
    return sync(redis.llen(dlq_key(stage)))


def replay(redis: Redis, stage: str, send: Callable[[str, Any], object], limit: int | None = None
           ) -> int:
    """Send dead-lettered payloads back to their stage's queue, oldest first.

    An entry leaves the list only after it was sent; `send(stage, payload)` publishes one
    job (or, for a message that was unusable as a whole, that message again).
    """
    key, done = dlq_key(stage), 0
    while limit is None or done < limit:
        raw = sync(redis.lindex(key, 0))
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
