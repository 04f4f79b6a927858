"""Outlet furniture learned from the data, and the «قسم / …» section prefix of titles.

One mechanism removes furniture from bodies (and tells a title's section prefix, at the end): a
short line at an edge of a body whose shape (`line_shape`: whitespace, digits and the article's
own title folded) the outlet (Article.source.name) has printed at the edge of many of its
articles — link lines «رابط الخبر بصحيفة الوئام: [title]», agency end marks «// انتهى //»
and time stamps «#:# ت م», the SMS subscription block, repeated bylines. What the data cannot
show, the widget words any page may carry whatever its outlet («شارك», «طباعة», «التعليقات»),
is the one hand list, cleaning.BOILERPLATE_LINES, which `clean` applies before this.

The same counts take a run-on tail off the last paragraph: words after its last sentence end
that end no sentence, at most MAX_TAIL_WORDS of them, such as 3alyoum's tags («… غريب". سمات إنقاذ
دبي شرف غرق») or alweeam's link line run on («… نقطة. رابط الخبر بصحيفة الوئام: [title]»). Its
shape is its first word («[tail] سمات»): the rest varies, the marker recurs.

It cannot eat the story:
- only the first HEAD_LINES and last TAIL_LINES paragraphs of a body, of at most MAX_WORDS words
  (the article's own title counted as one), are candidates (counted and removable): a paragraph
  of the story is never one, nor an opening line that states a date (the dateline reader's);
- a shape is furniture for an outlet once MIN_COUNT of the outlet's articles carried it at an
  edge and, once the outlet has MIN_COUNT / MIN_SHARE articles, MIN_SHARE of them. Only an
  article new to the outlet teaches: one whose title and story lines (the other paragraphs)
  are not among the outlet's SEEN_CAP most recent fingerprints, two an article (copies of one
  story count once).

State per outlet: the number of articles that taught, the count of each shape (at most
SHAPE_CAP; when full, a new shape replaces the least counted one and starts from its count + 1,
the "space-saving" heavy-hitter count, which never misses a frequent shape and can only
overcount a new one by at most candidates-per-article × articles / SHAPE_CAP, 0.9% of the
articles, well below MIN_SHARE) and the fingerprints of its recent articles. In Redis
(`RedisFurniture`, keys akhbar:furniture:{outlet}:*, one Lua call per article, expiring STATE_TTL_S
after the outlet's last article) when the stage has a client, in memory (`MemoryFurniture`)
otherwise (`akhbar process`).

Cold start: the first articles of an outlet would keep their furniture, so the learner starts
from SEED, the shapes this same learner ends with on the SaudiNewsNet crawl (`make
learn-furniture`, akhbar_normalize.furniture_seed; the file records the command and data).
A seeded shape is furniture for its outlet from the first article.

Titles: a «word /» prefix («عام / …») is counted as one more candidate, SECTION; it moves to
Article.section unless the outlet, once it has enough articles to tell, prints one on fewer than
MIN_SHARE of its titles (`is_furniture`): then it is a word of the headline («بالصور / …»).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections import Counter, OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from redis import Redis

from akhbar.orthography import search_form

_SPACES = re.compile(r"\s+")
_DIGITS = re.compile(r"\d+")  # any Unicode decimal digits: 0-9, ٠-٩, ۰-۹
DIGITS = "#"
TITLE = "[title]"
MIN_SHARE = 0.05
# A shape is furniture only once this many different articles of the outlet carried it, however
# few articles the outlet has: a line seen once or twice is never furniture.
MIN_COUNT = 3
# The edges of a body: furniture sits above or below the story. The longest block seen, the SMS
# subscription block of almadina, is five lines.
HEAD_LINES = 2
TAIL_LINES = 6
MAX_WORDS = 12  # «تبدأ بالرمز (47) ثم مسافة ثم نص الرسالة إلى» has 9
# A run-on tail: 3alyoum's tags run to 15 words. Over the 29,289 articles of the crawl, no
# outlet ends 1.5% of its articles with an unterminated sentence of at most 20 words that
# starts with one word, but for these tags (80%) and alweeam's link line (97%).
MAX_TAIL_WORDS = 20
SHAPE_CAP = 1000  # shapes kept per outlet (see the module docstring for the bound it gives)
SEEN_CAP = 1000  # fingerprints of an outlet's 500 recent articles: copies come close in time
STATE_TTL_S = 30 * 24 * 3600  # an outlet's state expires a month after its last article
SEED = Path(__file__).parent / "data" / "furniture.json"
# «عام / …», «اقتصادي / …»: one word of letters, a slash, then the headline.
SECTION_PREFIX = re.compile(r"^\s*(?P<section>[^\W\d_]+)\s*/\s*(?=\S)")

LineKey = Callable[[str, str], str]  # (line, the article's title) -> key


def line_text(line: str, title: str = "") -> str:
    """The line with its whitespace folded: the exact variant (the title plays no part)."""
    return _SPACES.sub(" ", line).strip()


def line_shape(line: str, title: str = "") -> str:
    """The line with its whitespace folded, the article's own title as TITLE and every run of
    digits as DIGITS, so that «20:26 ت م» and «9:03 ت م» are one shape, and so are the link
    lines that repeat the headline («رابط الخبر بصحيفة الوئام: <title>»)."""
    text, title = line_text(line), line_text(title)
    if title and title != text:
        text = text.replace(title, TITLE)
    return _DIGITS.sub(DIGITS, text)


def recurring_lines(articles: Sequence[tuple[str, Sequence[str]]], key: LineKey = line_shape,
                    min_share: float = MIN_SHARE) -> Counter[str]:
    """The line keys found in at least `min_share` of one outlet's `articles` (each its title
    and its body's paragraphs) and in at least MIN_COUNT of them, with the number of articles
    holding each (a line repeated within one body counts once)."""
    counts = Counter(k for title, lines in articles
                     for k in {key(line, title) for line in lines} if k)
    need = max(MIN_COUNT, min_share * len(articles))
    return Counter({k: n for k, n in counts.items() if n >= need})


def split_section(title: str) -> tuple[str | None, str]:
    """(section, headline): «عام / خادم الحرمين يستقبل» → («عام», «خادم الحرمين يستقبل»)."""
    m = SECTION_PREFIX.match(title)
    return (m["section"], title[m.end():]) if m else (None, title)


def is_furniture(shape: str, count: int, articles: int) -> bool:
    """A shape carried by `count` of an outlet's `articles` (those that taught) is furniture.
    A title's «word /» prefix is the outlet's section unless the outlet, once it has enough
    articles to tell, prints one on fewer than MIN_SHARE of its titles («بالصور / …» of an
    outlet without sections is a headline's word). A run-on tail's first word is a weaker
    mark than a whole line: it counts only once the outlet has enough articles to tell."""
    if shape == SECTION:
        return articles < MIN_COUNT / MIN_SHARE or count >= MIN_SHARE * articles
    if shape.startswith(TAIL):
        return articles >= MIN_COUNT / MIN_SHARE and count >= MIN_SHARE * articles
    return count >= max(MIN_COUNT, MIN_SHARE * articles)


# The shape of a title's section prefix, counted with the body's lines under the key TITLE_KEY.
SECTION = "[section] /"
TITLE_KEY = -1
# The shape of a run-on tail of the last paragraph (`_tail`), by its first word («[tail] سمات»),
# counted under the key TAIL_KEY.
TAIL = "[tail] "
TAIL_KEY = -2
# Where a sentence ends: its mark, closing quotes or brackets, then a space.
_SENTENCE_END = re.compile(r"[.!?؟][\"”»’)]*\s+")
_SENTENCE_MARK = re.compile(r"[.!?؟]")
_LETTERS = re.compile(r"[^\W\d_]{2}")


@dataclass(frozen=True)
class Candidates:
    """The removable lines of one body: paragraph index -> shape (TITLE_KEY: the title's
    section prefix, TAIL_KEY: the run-on tail of the last paragraph, which starts at `tail_at`
    of its whitespace-folded text)."""

    shapes: dict[int, str]
    fingerprints: tuple[str, ...]  # of the title and of the story lines (the other paragraphs)
    tail_at: int | None = None


def candidates(title: str, paragraphs: Sequence[str],
               is_dateline: Callable[[str], bool]) -> Candidates:
    """The short paragraphs at the edges of a body, by their shape; an opening line that
    `is_dateline` is left to the dateline reader."""
    n = len(paragraphs)
    edges = [i for i in range(n) if i < HEAD_LINES or i >= n - TAIL_LINES]
    # Words counted on the shape: a link line is short whatever the length of the title it repeats.
    shapes = {i: shape for i in edges
              if len((shape := line_shape(paragraphs[i], title)).split()) <= MAX_WORDS
              and not (i < HEAD_LINES and is_dateline(paragraphs[i]))}
    if SECTION_PREFIX.match(title):
        shapes[TITLE_KEY] = SECTION
    story = "\n".join(p for i, p in enumerate(paragraphs) if i not in shapes)
    tail_at = None
    if n and (tail := _tail(title, paragraphs[-1])) is not None:
        tail_at, shapes[TAIL_KEY] = tail
    # Search form: a copy with other spacing, hamza or diacritics is the same article.
    return Candidates(shapes, tuple(
        kind + hashlib.blake2b(key.encode(), digest_size=8).hexdigest()
        for kind, text in (("t", title), ("b", story)) if (key := search_form(text))), tail_at)


def _tail(title: str, last: str) -> tuple[int, str] | None:
    """(where it starts, its shape) of the run-on tail of the last paragraph: the words after
    its last sentence end (the whole paragraph when there is none) when they end no sentence,
    are at most MAX_TAIL_WORDS (the article's title counted as one) and begin with a word of
    letters. Outlets append tags («… غريب". سمات إنقاذ دبي شرف غرق») or a link line repeating
    the title («… نقطة. رابط الخبر بصحيفة الوئام: <title>») so; its shape is its first word,
    which recurs where the rest does not."""
    text, head = line_text(last), line_text(title)
    # A sentence end inside the repeated title is no end of the story.
    story = text[:-len(head)] if head and text.endswith(head) and text != head else text
    start = ends[-1].end() if (ends := list(_SENTENCE_END.finditer(story))) else 0
    shape = line_shape(text[start:], title)
    words = shape.split()
    if (not words or len(words) > MAX_TAIL_WORDS or _SENTENCE_MARK.search(shape.replace(TITLE, ""))
            or not _LETTERS.match(words[0])):
        return None
    return start, TAIL + words[0]


class Furniture(Protocol):
    def furniture(self, outlet: str, found: Candidates) -> set[str]:
        """Learn from one article's candidates (when it is new to the outlet) and return the
        shapes among them that are furniture for the outlet."""
        ...


def strip(title: str, paragraphs: list[str], outlet: str, furniture: Furniture,
          is_dateline: Callable[[str], bool]) -> tuple[str | None, str, list[str]]:
    """(section, headline, paragraphs): the title's section prefix split off when it is the
    outlet's section, and the paragraphs without the outlet's furniture."""
    found = candidates(title, paragraphs, is_dateline)
    drop = furniture.furniture(outlet, found)  # even without candidates: the article counts
    section, headline = split_section(title) if SECTION in drop else (None, title)
    kept = [p for i, p in enumerate(paragraphs) if found.shapes.get(i) not in drop]
    last_kept = bool(paragraphs) and found.shapes.get(len(paragraphs) - 1) not in drop
    if last_kept and found.tail_at is not None and found.shapes[TAIL_KEY] in drop:
        kept[-1] = line_text(kept[-1])[:found.tail_at].rstrip()
    return section, headline, [p for p in kept if p]


def load_seed(path: Path = SEED) -> dict[str, frozenset[str]]:
    """Outlet -> shapes that are furniture from the first article."""
    data = json.loads(path.read_text(encoding="utf-8"))
    return {outlet: frozenset(o["shapes"]) for outlet, o in data["outlets"].items()}


@dataclass
class _Outlet:
    articles: int = 0
    counts: dict[str, int] = field(default_factory=dict)
    seen: OrderedDict[str, None] = field(default_factory=OrderedDict)


class MemoryFurniture:
    """One process, one thread: the in-process pipeline. The same rules as the Lua script."""

    def __init__(self, seed: dict[str, frozenset[str]] | None = None,
                 shape_cap: int = SHAPE_CAP) -> None:
        self.seed = seed or {}
        self.cap = shape_cap
        self.outlets: dict[str, _Outlet] = {}

    def furniture(self, outlet: str, found: Candidates) -> set[str]:
        o = self.outlets.setdefault(outlet, _Outlet())
        shapes = set(found.shapes.values())
        if not any(f in o.seen for f in found.fingerprints):
            o.articles += 1
            for f in found.fingerprints:
                o.seen[f] = None
            while len(o.seen) > SEEN_CAP:
                o.seen.popitem(last=False)
            for s in shapes:
                if s in o.counts:
                    o.counts[s] += 1
                elif len(o.counts) < self.cap:
                    o.counts[s] = 1
                else:  # space-saving: the least counted shape makes room
                    low = min(o.counts, key=o.counts.__getitem__)
                    o.counts[s] = o.counts.pop(low) + 1
        seeded = self.seed.get(outlet, frozenset())
        return {s for s in shapes
                if s in seeded or is_furniture(s, o.counts.get(s, 0), o.articles)}


# KEYS: shape counts (zset), recent fingerprints (zset), articles that taught (string).
# ARGV: shape cap, fingerprint cap, ttl, fingerprints (space-separated), candidate shapes
# (newline-separated; a paragraph holds no newline). Returns the articles count, then the count
# of each candidate shape in ARGV order.
_LEARN = """
local new = true
for f in string.gmatch(ARGV[4], '%S+') do
  if redis.call('ZSCORE', KEYS[2], f) then new = false end
end
local shapes = {}
for s in string.gmatch(ARGV[5], '[^\\n]+') do shapes[#shapes + 1] = s end
local n = tonumber(redis.call('GET', KEYS[3]) or '0')
if new then
  n = redis.call('INCR', KEYS[3])
  for f in string.gmatch(ARGV[4], '%S+') do redis.call('ZADD', KEYS[2], n, f) end
  redis.call('ZREMRANGEBYRANK', KEYS[2], 0, -tonumber(ARGV[2]) - 1)
  local done = {}
  for _, s in ipairs(shapes) do
    if not done[s] then
      done[s] = true
      if redis.call('ZSCORE', KEYS[1], s) then
        redis.call('ZINCRBY', KEYS[1], 1, s)
      elseif redis.call('ZCARD', KEYS[1]) < tonumber(ARGV[1]) then
        redis.call('ZADD', KEYS[1], 1, s)
      else
        local low = redis.call('ZPOPMIN', KEYS[1])
        redis.call('ZADD', KEYS[1], tonumber(low[2]) + 1, s)
      end
    end
  end
  for i = 1, 3 do redis.call('EXPIRE', KEYS[i], ARGV[3]) end
end
local out = {n}
for _, s in ipairs(shapes) do out[#out + 1] = redis.call('ZSCORE', KEYS[1], s) or '0' end
return out
"""


class RedisFurniture:
    """Shared by every normalize worker: all of them learn from all articles."""

    def __init__(self, redis: Redis, seed: dict[str, frozenset[str]] | None = None,
                 prefix: str = "akhbar:furniture", shape_cap: int = SHAPE_CAP,
                 ttl_s: int = STATE_TTL_S) -> None:
        self.seed = seed or {}
        self.prefix, self.cap, self.ttl = prefix, shape_cap, ttl_s
        self._learn = redis.register_script(_LEARN)

    def furniture(self, outlet: str, found: Candidates) -> set[str]:
        shapes = sorted(set(found.shapes.values()))
        key = f"{self.prefix}:{{{outlet}}}"  # one hash slot per outlet
        n, *counts = self._learn(
            keys=[f"{key}:shapes", f"{key}:seen", f"{key}:articles"],
            args=[self.cap, SEEN_CAP, self.ttl, " ".join(found.fingerprints),
                  "\n".join(shapes)])
        seeded = self.seed.get(outlet, frozenset())
        return {s for s, c in zip(shapes, counts, strict=True)
                if s in seeded or is_furniture(s, int(float(c)), int(n))}
