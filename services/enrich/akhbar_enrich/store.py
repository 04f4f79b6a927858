"""Where similarity state lives: Redis for workers (so every enrich worker sees the same
articles), a dict for in-process runs. One round trip per call on Redis: datasketch's own
Redis storage issues one request per band, which measured ~9 ms per query+insert here.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Protocol

import numpy as np
from redis import Redis

FEATURE_DTYPE = np.uint64


@dataclass(frozen=True)
class Known:
    """What the store remembers of one article."""

    story_id: str
    duplicate_of: str | None
    features: dict[str, np.ndarray]  # per space, `similarity.hashed` feature sets


class SimilarityStore(Protocol):
    def get(self, ids: list[str], spaces: tuple[str, ...] = ()) -> dict[str, Known]: ...
    def candidates(self, space: str, bands: list[str], limit: int) -> list[str]: ...
    def add(self, article_id: str, known: Known, bands: dict[str, list[str]]) -> None: ...


def _top(hits: Counter[str], limit: int) -> list[str]:
    # More shared bands = more similar: the best candidates first, a bounded number of them.
    return [k for k, _ in hits.most_common(limit)]


class MemoryStore:
    def __init__(self) -> None:
        self.known: dict[str, Known] = {}
        self.buckets: dict[str, set[str]] = {}

    def get(self, ids: list[str], spaces: tuple[str, ...] = ()) -> dict[str, Known]:
        return {i: self.known[i] for i in ids if i in self.known}

    def candidates(self, space: str, bands: list[str], limit: int) -> list[str]:
        hits: Counter[str] = Counter()
        for b in bands:
            hits.update(self.buckets.get(f"{space}:{b}", ()))
        return _top(hits, limit)

    def add(self, article_id: str, known: Known, bands: dict[str, list[str]]) -> None:
        self.known[article_id] = known
        for space, keys in bands.items():
            for b in keys:
                self.buckets.setdefault(f"{space}:{b}", set()).add(article_id)


class RedisStore:
    def __init__(self, redis: Redis, ttl_s: int, prefix: str = "akhbar:sim") -> None:
        self.r, self.ttl, self.prefix = redis, ttl_s, prefix

    def _doc(self, i: str) -> str:
        return f"{self.prefix}:doc:{i}"

    def get(self, ids: list[str], spaces: tuple[str, ...] = ()) -> dict[str, Known]:
        """Known articles among `ids`, with the feature sets of `spaces` only (they are the
        bulk of the data)."""
        fields = ["story_id", "duplicate_of", *(f"feat:{s}" for s in spaces)]
        pipe = self.r.pipeline(transaction=False)
        for i in ids:
            pipe.hmget(self._doc(i), fields)
        out = {}
        for i, (story, dup, *feats) in zip(ids, pipe.execute(), strict=True):
            if story is not None:
                out[i] = Known(story_id=story.decode(), duplicate_of=(dup or b"").decode() or None,
                               features={s: np.frombuffer(f, dtype=FEATURE_DTYPE)
                                         for s, f in zip(spaces, feats, strict=True) if f})
        return out

    def candidates(self, space: str, bands: list[str], limit: int) -> list[str]:
        pipe = self.r.pipeline(transaction=False)
        for b in bands:
            pipe.smembers(f"{self.prefix}:{space}:{b}")
        hits: Counter[str] = Counter()
        for members in pipe.execute():
            hits.update(m.decode() for m in members)
        return _top(hits, limit)

    def add(self, article_id: str, known: Known, bands: dict[str, list[str]]) -> None:
        pipe = self.r.pipeline(transaction=True)
        doc = self._doc(article_id)
        pipe.hset(doc, mapping={"story_id": known.story_id,
                                "duplicate_of": known.duplicate_of or "",
                                **{f"feat:{s}": v.astype(FEATURE_DTYPE).tobytes()
                                   for s, v in known.features.items()}})
        pipe.expire(doc, self.ttl)
        for space, keys in bands.items():
            for b in keys:
                key = f"{self.prefix}:{space}:{b}"
                pipe.sadd(key, article_id)
                pipe.expire(key, self.ttl)
        pipe.execute()
