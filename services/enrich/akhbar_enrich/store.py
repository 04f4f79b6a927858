"""Where similarity state lives: Redis for workers (so every enrich worker sees the same
articles), a dict for in-process runs.

On Redis each call is one round trip: the band sets are read and written by two small Lua
scripts rather than one command per band (about a hundred bands per article; datasketch's own
Redis storage, one request per band, measured ~9 ms per query+insert here). Candidates are
counted and ranked inside Redis, so only the best few ids travel.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Protocol

import numpy as np
from redis import Redis

FEATURE_DTYPE = np.uint64
# Band keys travel as one space-separated argument: a hundred separate arguments cost more to
# encode client-side than the script costs to run (standalone Redis; not for Redis Cluster).
# ARGV[1]: band keys; ARGV[2]: how many ids to return, most shared bands first (ties by id).
_TOP = """
local count, ids = {}, {}
for key in string.gmatch(ARGV[1], '%S+') do
  for _, id in ipairs(redis.call('SMEMBERS', key)) do
    if count[id] == nil then count[id] = 0; ids[#ids + 1] = id end
    count[id] = count[id] + 1
  end
end
table.sort(ids, function(a, b)
  if count[a] ~= count[b] then return count[a] > count[b] end
  return a < b
end)
local out = {}
for i = 1, math.min(tonumber(ARGV[2]), #ids) do out[i] = ids[i] end
return out
"""
# ARGV[1]: band keys; ARGV[2]: article id; ARGV[3]: time to live in seconds.
_ADD = """
local n = 0
for key in string.gmatch(ARGV[1], '%S+') do
  redis.call('SADD', key, ARGV[2])
  redis.call('EXPIRE', key, ARGV[3])
  n = n + 1
end
return n
"""


@dataclass(frozen=True)
class Known:
    """What the store remembers of one article."""

    story_id: str
    duplicate_of: str | None
    features: dict[str, np.ndarray]  # per space, `similarity.hashed` feature sets


class SimilarityStore(Protocol):
    def get(self, ids: list[str], spaces: tuple[str, ...] = ()) -> dict[str, Known]: ...
    def candidates(self, bands: dict[str, list[str]], limit: int) -> dict[str, list[str]]: ...
    def add(self, article_id: str, known: Known, bands: dict[str, list[str]]) -> None: ...


def _top(members: list[set[str]], limit: int) -> list[str]:
    # More shared bands = more similar: the best candidates first, a bounded number of them.
    hits: Counter[str] = Counter()
    for m in members:
        hits.update(m)
    return sorted(hits, key=lambda k: (-hits[k], k))[:limit]


class MemoryStore:
    def __init__(self) -> None:
        self.known: dict[str, Known] = {}
        self.buckets: dict[str, set[str]] = {}

    def get(self, ids: list[str], spaces: tuple[str, ...] = ()) -> dict[str, Known]:
        return {i: self.known[i] for i in ids if i in self.known}

    def candidates(self, bands: dict[str, list[str]], limit: int) -> dict[str, list[str]]:
        return {space: _top([self.buckets.get(f"{space}:{b}", set()) for b in keys], limit)
                for space, keys in bands.items()}

    def add(self, article_id: str, known: Known, bands: dict[str, list[str]]) -> None:
        self.known[article_id] = known
        for space, keys in bands.items():
            for b in keys:
                self.buckets.setdefault(f"{space}:{b}", set()).add(article_id)


class RedisStore:
    def __init__(self, redis: Redis, ttl_s: int, prefix: str = "akhbar:sim") -> None:
        self.r, self.ttl, self.prefix = redis, ttl_s, prefix
        self._top = redis.register_script(_TOP)
        self._add = redis.register_script(_ADD)

    def _doc(self, i: str) -> str:
        return f"{self.prefix}:doc:{i}"

    def _band(self, space: str, band: str) -> str:
        return f"{self.prefix}:{space}:{band}"

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

    def candidates(self, bands: dict[str, list[str]], limit: int) -> dict[str, list[str]]:
        pipe = self.r.pipeline(transaction=False)
        for space, keys in bands.items():
            self._top(args=[" ".join(self._band(space, b) for b in keys), limit], client=pipe)
        return {space: [i.decode() for i in ids]
                for space, ids in zip(bands, pipe.execute(), strict=True)}

    def add(self, article_id: str, known: Known, bands: dict[str, list[str]]) -> None:
        pipe = self.r.pipeline(transaction=True)
        doc = self._doc(article_id)
        pipe.hset(doc, mapping={"story_id": known.story_id,
                                "duplicate_of": known.duplicate_of or "",
                                **{f"feat:{s}": v.astype(FEATURE_DTYPE).tobytes()
                                   for s, v in known.features.items()}})
        pipe.expire(doc, self.ttl)
        keys = " ".join(self._band(s, b) for s, bs in bands.items() for b in bs)
        if keys:
            self._add(args=[keys, article_id, self.ttl], client=pipe)
        pipe.execute()
