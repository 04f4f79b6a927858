"""Where similarity state lives: Redis for workers (so every enrich worker sees the same
articles), plain Python structures for in-process runs. Both keep the same rules:

- LSH bands hold (time, article) and only their BAND_CAP most recent members, so the cost of a
  lookup stays flat however long the store has been filled (a band shared by a boilerplate
  phrase would otherwise collect every article ever seen);
- a lookup only counts members whose time is within MATCH_WINDOW_S of the article's;
- a commit is refused when an article sharing a band was committed since the lookup (it returns
  those "arrivals" instead): two workers that see two copies of a new story at the same instant
  cannot both open a story, the second one re-decides against the first. On Redis the check and
  the write are one Lua script, so commits are serialised.

On Redis each call is one round trip (about a hundred band keys per article travel as one
space-separated argument rather than a hundred arguments: cheaper to encode client-side;
standalone Redis, not Redis Cluster). Candidates are counted and ranked inside Redis, so only
the best few travel, with their stored state: a lookup and a commit are an article's two round
trips.
"""

from __future__ import annotations

import bisect
import hashlib
from collections import Counter, deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

import numpy as np
from redis import Redis

from akhbar_enrich.similarity import Features

FEATURE_DTYPE = np.uint64
FEATURE_FIELDS = ("feat:dup", "feat:story", "feat:subject", "feat:scope")
DOC_FIELDS = ("story_id", "duplicate_of", "at", "story_at", *FEATURE_FIELDS)  # as _LOOKUP returns
# Copies of a dispatch arrive within hours; three days also covers next-day republication and
# papers that print yesterday's agency copy, while unrelated years-apart texts (anniversaries,
# recurring formats) are never matched.
MATCH_WINDOW_S = 3 * 24 * 3600
# Most recent members kept per band. A band of two MinHash rows is shared by articles with a
# common content-word pair; 64 recent members keeps every copy of a live story (at most a few
# dozen papers carry one dispatch) while bounding the work of a lookup.
BAND_CAP = 64
# Commits remembered for the arrival check: far more than can happen during one assignment.
RECENT_CAP = 1024

# ARGV: doc key; band keys; how many ids to return; lowest and highest time; page key ('' if
# none); sequence key; doc key prefix. Returns {'known', story id, duplicate of} for an article
# already stored, else {sequence, page owner or '', then per id (most shared bands first, ties by
# id, the page owner last if not among them): id and its DOC_FIELDS (nil when expired)}.
_LOOKUP = """
local seen = redis.call('HMGET', ARGV[1], 'story_id', 'duplicate_of')
if seen[1] then return {'known', seen[1], seen[2]} end
local count, ids = {}, {}
for key in string.gmatch(ARGV[2], '%S+') do
  for _, id in ipairs(redis.call('ZRANGEBYSCORE', key, ARGV[4], ARGV[5])) do
    if count[id] == nil then count[id] = 0; ids[#ids + 1] = id end
    count[id] = count[id] + 1
  end
end
table.sort(ids, function(a, b)
  if count[a] ~= count[b] then return count[a] > count[b] end
  return a < b
end)
local owner = ARGV[6] ~= '' and redis.call('GET', ARGV[6]) or ''
local out = {redis.call('GET', ARGV[7]) or '0', owner}
local top, owned = {}, owner == ''
for i = 1, math.min(tonumber(ARGV[3]), #ids) do
  top[#top + 1] = ids[i]
  owned = owned or ids[i] == owner
end
if not owned then top[#top + 1] = owner end
for _, id in ipairs(top) do
  out[#out + 1] = id
  for _, v in ipairs(redis.call('HMGET', ARGV[8] .. id, FIELDS)) do out[#out + 1] = v end
end
return out
""".replace("FIELDS", ", ".join(f"'{f}'" for f in DOC_FIELDS))
# ARGV: doc key; article id; sequence seen at lookup ('' = store regardless); band keys; time;
# lowest and highest time; page key ('' if none); ttl; band cap; sequence key; recent key;
# recent cap; story id; duplicate of ('' if none); story start; dup, story, subject and scope
# features.
# Returns {'known', story id, duplicate of} | {'moved', sequence, arrival ids…} |
# {'stored', sequence}.
_COMMIT = """
local seen = redis.call('HMGET', ARGV[1], 'story_id', 'duplicate_of')
if seen[1] then return {'known', seen[1], seen[2]} end
local seq = tonumber(redis.call('GET', ARGV[11]) or '0')
if ARGV[3] ~= '' and seq > tonumber(ARGV[3]) then
  local out = {'moved', tostring(seq)}
  local lo, hi = tonumber(ARGV[6]), tonumber(ARGV[7])
  for _, id in ipairs(redis.call('ZRANGEBYSCORE', ARGV[12], '(' .. ARGV[3], '+inf')) do
    for key in string.gmatch(ARGV[4], '%S+') do
      local at = tonumber(redis.call('ZSCORE', key, id))
      if at and at >= lo and at <= hi then out[#out + 1] = id; break end
    end
  end
  if #out > 2 then return out end
end
redis.call('HSET', ARGV[1], 'story_id', ARGV[14], 'duplicate_of', ARGV[15], 'at', ARGV[5],
           'story_at', ARGV[16], 'feat:dup', ARGV[17], 'feat:story', ARGV[18],
           'feat:subject', ARGV[19], 'feat:scope', ARGV[20])
redis.call('EXPIRE', ARGV[1], ARGV[9])
for key in string.gmatch(ARGV[4], '%S+') do
  redis.call('ZADD', key, ARGV[5], ARGV[2])
  redis.call('ZREMRANGEBYRANK', key, 0, -tonumber(ARGV[10]) - 1)
  redis.call('EXPIRE', key, ARGV[9])
end
if ARGV[8] ~= '' then redis.call('SET', ARGV[8], ARGV[2], 'NX', 'EX', ARGV[9]) end
seq = redis.call('INCR', ARGV[11])
redis.call('ZADD', ARGV[12], seq, ARGV[2])
redis.call('ZREMRANGEBYRANK', ARGV[12], 0, -tonumber(ARGV[13]) - 1)
return {'stored', tostring(seq)}
"""


@dataclass(frozen=True)
class Known:
    """What the store remembers of one article."""

    story_id: str
    duplicate_of: str | None
    at: float  # reference time, epoch seconds (Article.timestamp())
    story_at: float  # reference time of the story's first article
    features: Features


Decision = tuple[str, str | None]  # (story_id, duplicate_of)


@dataclass(frozen=True)
class Lookup:
    seq: int = 0  # commits so far: one made after this is an arrival for `commit`
    # The candidates (most shared bands first, in window) and the page owner, as stored.
    candidates: dict[str, Known] = field(default_factory=dict)
    page_owner: str | None = None  # the article first stored under the same page key
    seen: Decision | None = None  # the article is stored already (a redelivery)


@dataclass(frozen=True)
class Commit:
    status: Literal["stored", "moved", "known"]  # moved: nothing written, see arrivals
    seq: int = 0
    arrivals: tuple[str, ...] = ()  # committed since `since`, sharing a band, in the window
    seen: Decision | None = None  # known: what the first delivery of the article was given


class SimilarityStore(Protocol):
    def get(self, ids: list[str]) -> dict[str, Known]: ...
    def lookup(self, article_id: str, bands: list[str], at: float, page: str | None,
               limit: int) -> Lookup: ...
    def commit(self, article_id: str, known: Known, bands: list[str], page: str | None,
               since: int | None) -> Commit: ...


def _top(counts: Counter[str], limit: int) -> list[str]:
    # More shared bands = more similar: the best candidates first, a bounded number of them.
    return sorted(counts, key=lambda k: (-counts[k], k))[:limit]


class MemoryStore:
    """One process, one thread: the in-process pipeline."""

    def __init__(self, window_s: float = MATCH_WINDOW_S, band_cap: int = BAND_CAP) -> None:
        self.window, self.cap = window_s, band_cap
        self.known: dict[str, Known] = {}
        self.bands: dict[str, list[tuple[float, str]]] = {}  # sorted by time, newest last
        self.pages: dict[str, str] = {}
        self.seq = 0
        self.recent: deque[tuple[int, str]] = deque(maxlen=RECENT_CAP)

    def get(self, ids: list[str]) -> dict[str, Known]:
        return {i: self.known[i] for i in ids if i in self.known}

    def _in_window(self, band: str, at: float) -> list[str]:
        members = self.bands.get(band, [])
        lo = bisect.bisect_left(members, (at - self.window, ""))
        return [i for t, i in members[lo:] if t <= at + self.window]

    def _seen(self, article_id: str) -> Decision | None:
        k = self.known.get(article_id)
        return (k.story_id, k.duplicate_of) if k else None

    def lookup(self, article_id: str, bands: list[str], at: float, page: str | None,
               limit: int) -> Lookup:
        if seen := self._seen(article_id):
            return Lookup(seen=seen)
        counts = Counter(i for b in bands for i in self._in_window(b, at))
        owner = self.pages.get(page) if page else None
        return Lookup(self.seq, self.get([*_top(counts, limit), *filter(None, [owner])]), owner)

    def commit(self, article_id: str, known: Known, bands: list[str], page: str | None,
               since: int | None) -> Commit:
        if seen := self._seen(article_id):
            return Commit("known", seen=seen)
        if since is not None and self.seq > since:
            near = {i for b in bands for i in self._in_window(b, known.at)}
            arrivals = tuple(i for s, i in self.recent if s > since and i in near)
            if arrivals:
                return Commit("moved", self.seq, arrivals)
        self.known[article_id] = known
        for b in bands:
            members = self.bands.setdefault(b, [])
            bisect.insort(members, (known.at, article_id))
            del members[:-self.cap]
        if page:
            self.pages.setdefault(page, article_id)
        self.seq += 1
        self.recent.append((self.seq, article_id))
        return Commit("stored", self.seq)


class RedisStore:
    """Shared by every enrich worker. Keys live under `prefix`; not "akhbar:sim", the layout
    before time windows (band sets, docs without a time), so both can live side by side until
    the old keys expire."""

    def __init__(self, redis: Redis, ttl_s: int, prefix: str = "akhbar:similarity",
                 window_s: float = MATCH_WINDOW_S, band_cap: int = BAND_CAP) -> None:
        self.r, self.ttl, self.prefix = redis, ttl_s, prefix
        self.window, self.cap = window_s, band_cap
        self._lookup = redis.register_script(_LOOKUP)
        self._commit = redis.register_script(_COMMIT)

    def _doc(self, i: str) -> str:
        return f"{self.prefix}:doc:{i}"

    def _bands(self, bands: list[str]) -> str:
        return " ".join(f"{self.prefix}:band:{b}" for b in bands)

    def _page(self, page: str | None) -> str:
        # Hashed: page keys are long and may hold any character.
        return (f"{self.prefix}:page:{hashlib.blake2b(page.encode(), digest_size=16).hexdigest()}"
                if page else "")

    def get(self, ids: list[str]) -> dict[str, Known]:
        pipe = self.r.pipeline(transaction=False)
        for i in ids:
            pipe.hmget(self._doc(i), list(DOC_FIELDS))
        return _known(zip(ids, pipe.execute(), strict=True))

    def lookup(self, article_id: str, bands: list[str], at: float, page: str | None,
               limit: int) -> Lookup:
        head, *rest = self._lookup(args=[
            self._doc(article_id), self._bands(bands), limit, at - self.window,
            at + self.window, self._page(page), f"{self.prefix}:seq", self._doc("")])
        if head == b"known":
            return Lookup(seen=_decision(*rest))
        owner, *docs = rest
        n = 1 + len(DOC_FIELDS)
        return Lookup(int(head), _known((docs[k].decode(), docs[k + 1:k + n])
                                        for k in range(0, len(docs), n)),
                      owner.decode() or None)

    def commit(self, article_id: str, known: Known, bands: list[str], page: str | None,
               since: int | None) -> Commit:
        status, *rest = self._commit(args=[
            self._doc(article_id), article_id, "" if since is None else since,
            self._bands(bands), known.at, known.at - self.window, known.at + self.window,
            self._page(page), self.ttl, self.cap, f"{self.prefix}:seq",
            f"{self.prefix}:recent", RECENT_CAP, known.story_id, known.duplicate_of or "",
            known.story_at, *(f.astype(FEATURE_DTYPE).tobytes() for f in (
                known.features.dup, known.features.story, known.features.subject,
                known.features.scope))])
        if status == b"known":
            return Commit("known", seen=_decision(*rest))
        seq, *arrivals = rest
        return Commit(status.decode(), int(seq), tuple(i.decode() for i in arrivals))


def _known(docs: Iterable[tuple[str, Sequence[Any]]]) -> dict[str, Known]:
    """The stored state of each id from its DOC_FIELDS (all nil once expired: left out)."""
    out = {}
    for i, (story, dup, at, story_at, *feats) in docs:
        if story is not None:
            # A field missing (stored before it existed) reads as empty: no constraint; a
            # missing story start as the article's own time.
            out[i] = Known(*_decision(story, dup), float(at), float(story_at or at),
                           Features(*(np.frombuffer(f or b"", dtype=FEATURE_DTYPE) for f in feats)))
    return out


def _decision(story: bytes, duplicate_of: bytes | None) -> Decision:
    return story.decode(), (duplicate_of or b"").decode() or None
