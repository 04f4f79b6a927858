"""Republished copies and same-story articles: features, banded MinHash LSH, match rules.

Each article keeps four exact feature sets (sorted 64-bit hashes):
  dup      word 3-shingles of the search-normalised body: the wording itself
  story    light-stemmed content words of title + body: what the text is about
  subject  the places its headline names (gazetteer ids): whose market, which president
  scope    the places of headline and first paragraph, with the countries they lie in
Candidates come from one LSH index over the story features (a copy's story features are as
close as its shingles, and a cut copy or a roundup is much closer there than in shingles); each
candidate is then confirmed on the exact sets, so a 128-permutation MinHash (±0.04) never
decides alone. Reports written on one template (the close of an exchange, a cable to a
president, an emir's condolences) share most of their content words whatever their subject:
two of them are one story only if the places one headline names are among the other's places.
Agency furniture that every dispatch shares is dropped before features are taken: section
tags in titles («عام /», «اقتصادي /») and part markers («إضافة ثانية»); normalize has taken the
dateline («جدة 25 شوال 1436 هـ الموافق 10 أغسطس 2015 م واس») out of the body.

Thresholds were set on the calibration half of bench/story_pairs.tsv (hand-labelled pairs of
SaudiNewsNet articles) and are reported on the other half by bench/dedup.py.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from functools import lru_cache
from urllib.parse import parse_qsl, unquote, urlencode, urlsplit

import numpy as np

from akhbar.contract import PARAGRAPH_SEP
from akhbar.urls import is_tracking
from akhbar_enrich.places import Entry, lookup_words

NUM_PERM = 128
# 64 bands of 2 rows: a pair with story Jaccard 0.15 shares a band with probability 0.77, one at
# 0.3 with 0.997; cut copies and roundups sit at 0.15-0.5 there.
LSH_BANDS, LSH_ROWS = 64, 2
assert LSH_BANDS * LSH_ROWS == NUM_PERM

# A duplicate is the same text: at least half of the shorter one's shingles (light edits break
# a few shingles each) are in the longer one, and the shorter keeps at least ~half of the longer
# (below that it is a roundup or a brief carrying the dispatch, or one part of a multi-part
# dispatch: the same story, not a copy).
DUP_CONTAINMENT = 0.5
DUP_MIN_LENGTH_RATIO = 0.45
# The same story: many shared content words overall, or nearly all of the shorter text's content
# words (a brief, a headline-only page, a wire item inside a roundup) with a floor on how many,
# so that a few common words in a very short text are not enough. F1 on the calibration pairs is
# flat for a Jaccard between 0.22 and 0.3; 0.22 is the value that still links every pair of the
# three seed reports of one story (lowest 0.24) in whatever order they arrive, the other seed
# pairs being at most 0.16.
STORY_JACCARD = 0.22
STORY_CONTAINMENT = 0.7
STORY_MIN_SHARED = 8

# The lead's first words name what the report is about (whose market, which region's emir);
# further words cost time (a lookup each) and name background.
LEAD_WORDS = 40

_WORD = re.compile(r"\w+")
# Proclitic conjunctions/prepositions with the article, and the article alone.
_PREFIX = re.compile(r"^(?:[وف]?(?:[بكل]?ال|لل)|[وف])(?=\w{3,})")
_SUFFIX = re.compile(r"(?:ها|هم|هما|هن|كم|نا|ات|ون|ين|ان|يه|ه|ي)$")
# On search-normalised text (hamza seats, ta marbuta and alef maqsura folded).
_SECTION_TAG = re.compile(r"^\s*[^\W\d_]+(?:\s+[^\W\d_]+)?\s*/\s*")  # «عام /», «اقتصادي /»
_PART = r"اضافه\s+\w+(?:\s+و\s*اخيره)?"  # «إضافة ثانية», «إضافة أولى وأخيرة»
_PART_SUFFIX = re.compile(rf"(?:\s*/)?\s*{_PART}\s*$")
_PART_LINE = re.compile(rf"^\s*{_PART}\s*$")
# Before a place name: و، ف then ب، ل، ك (وبجدة، لمصر), and لل for ل + ال (لليمن).
_PLACE_PROCLITIC = re.compile(r"^(?:[وف]?[بلك]|[وف])(?=\w{3,})")
# A country's adjective (nisba): المصرية، اليمني، الكويتية; its name is the stem, or the stem
# with «ا» (الأمريكية: أمريكا).
_NISBA = re.compile(r"(?:يه|ي)$")

# The AMP rendition of a page, as its «/amp» path: the same article (not tracking: ingest
# fetches the URL it is given, the AMP page when so linked).
_AMP = "amp"


@dataclass(frozen=True)
class Features:
    dup: np.ndarray  # `hashed` word 3-shingles of the body
    story: np.ndarray  # `hashed` light-stemmed content words of title + body
    subject: np.ndarray  # `hashed` ids of the places the title names
    scope: np.ndarray  # `hashed` ids of the places of title and lead and of their countries


def words(normalized_text: str) -> list[str]:
    return _WORD.findall(normalized_text)


def title_words(normalized_title: str) -> list[str]:
    """Words of the headline without the agency's section tag and part marker."""
    return words(_PART_SUFFIX.sub("", _SECTION_TAG.sub("", normalized_title)))


def body_words(normalized_body: str) -> list[str]:
    """Words of the body without part-marker lines."""
    return words("\n".join(line for line in normalized_body.splitlines()
                           if not _PART_LINE.match(line)))


@lru_cache(maxsize=1 << 15)  # news repeats its words: most stems are a dictionary hit
def light_stem(word: str) -> str:
    """Strip one proclitic group and one suffix, keeping at least three letters."""
    word = _PREFIX.sub("", word)
    stripped = _SUFFIX.sub("", word)
    return stripped if len(stripped) >= 3 else word


def dup_features(body: list[str]) -> set[str]:
    return {f"{a} {b} {c}" for a, b, c in zip(body, body[1:], body[2:], strict=False)}


def story_features(all_words: list[str]) -> set[str]:
    """Content words (function words are short; long ones carry the story)."""
    return {light_stem(w) for w in all_words if len(w) > 3 and not w.isdigit()}


@lru_cache(maxsize=1 << 16)  # the words of headlines and leads recur from article to article
def place_lookup(words: tuple[str, ...]) -> tuple[Entry, ...]:
    """The places a run of search-form words names: as written, without a proclitic on its
    first word, or (one word) as a country's adjective."""
    first, *rest = words
    bare = _PLACE_PROCLITIC.sub("", "ال" + first[2:] if first.startswith("لل") else first)
    found = lookup_words(list(words)) or (lookup_words([bare, *rest]) if bare != first else ())
    stem = _NISBA.sub("", bare)
    if found or rest or stem == bare or len(stem) < 3:
        return found
    return tuple(e for name in (stem, stem + "ا") for e in lookup_words([name])
                 if e.kind == "country")


def places_named(words: list[str]) -> list[tuple[Entry, ...]]:
    """The places of each place name in `words`, two-word names (مكه المكرمه) first."""
    words = [w for w in words if w.isalpha()]
    found, i = [], 0
    while i < len(words):
        n, entries = next(((n, e) for n in (2, 1) if i + n <= len(words)
                           if (e := place_lookup(tuple(words[i:i + n])))), (1, ()))
        if entries:
            found.append(entries)
        i += n
    return found


def features(normalized_title: str, normalized_body: str) -> Features:
    body = body_words(normalized_body)
    title = title_words(normalized_title)
    lead = words(next((p for p in normalized_body.split(PARAGRAPH_SEP) if p.strip()), ""))[
        :LEAD_WORDS]
    titled = places_named(title)
    return Features(dup=hashed(dup_features(body)),
                    story=hashed(story_features(title + body)),
                    subject=hashed({e.id for entries in titled for e in entries}),
                    scope=hashed({x for entries in titled + places_named(lead) for e in entries
                                  for x in (e.id, e.country) if x}))


def hashed(features: set[str]) -> np.ndarray:
    """Features as a sorted array of distinct 64-bit hashes (compact, exact for set measures)."""
    blake2b = hashlib.blake2b
    digests = b"".join([blake2b(f.encode("utf-8"), digest_size=8).digest() for f in features])
    return np.unique(np.frombuffer(digests, dtype="<u8").astype(np.uint64))


# datasketch's MinHash (seed 1, scheme "affine32") written out in numpy: the same values, so
# the band keys already in Redis stay valid, without importing datasketch, whose package loads
# scipy (about 45 MB more per worker process) for LSH classes not used here.
_SEED = 1
_U32 = np.uint32


@lru_cache(maxsize=1)
def _permutations() -> tuple[np.ndarray, np.ndarray]:
    """(a, b) of the permutations h -> a*h + b mod 2^32, a odd (bijective); a fixed seed: the
    same in every worker."""
    gen = np.random.RandomState(_SEED)
    a = gen.randint(0, 1 << 31, NUM_PERM, dtype=_U32) * _U32(2) + _U32(1)
    b = gen.randint(0, 1 << 32, NUM_PERM, dtype=_U32)
    return a, b


def _fmix32(h: np.ndarray) -> np.ndarray:
    """MurmurHash3's finaliser (datasketch's pre-mix of every input hash)."""
    h = h ^ (h >> _U32(16))
    h = h * _U32(0x85EBCA6B)
    h = h ^ (h >> _U32(13))
    h = h * _U32(0xC2B2AE35)
    mixed: np.ndarray = h ^ (h >> _U32(16))
    return mixed


def signature(features: np.ndarray) -> np.ndarray:
    """MinHash of a non-empty `hashed` set: the features are hashes already, so their low 32
    bits are the input hashes."""
    a, b = _permutations()
    h = _fmix32((features & np.uint64(0xFFFFFFFF)).astype(_U32))
    values: np.ndarray = (h[:, None] * a + b).min(axis=0)
    return values


def band_keys(sig: np.ndarray) -> list[str]:
    r = LSH_ROWS
    return [f"{i}:{hashlib.blake2b(sig[i * r:(i + 1) * r].tobytes(), digest_size=8).hexdigest()}"
            for i in range(LSH_BANDS)]


def overlap(a: np.ndarray, b: np.ndarray) -> int:
    return len(np.intersect1d(a, b, assume_unique=True))


def jaccard(a: np.ndarray, b: np.ndarray) -> float:
    """Exact Jaccard similarity of two `hashed` feature sets."""
    inter = overlap(a, b)
    union = len(a) + len(b) - inter
    return inter / union if union else 0.0


def is_duplicate(a: Features, b: Features) -> bool:
    shorter, longer = sorted((len(a.dup), len(b.dup)))
    if not shorter or shorter / longer < DUP_MIN_LENGTH_RATIO or not same_subject(a, b):
        return False  # a cable to another president is no copy, however alike its wording
    return overlap(a.dup, b.dup) / shorter >= DUP_CONTAINMENT


def same_subject(a: Features, b: Features) -> bool:
    """A headline names no place, or every place one headline names is among the other
    article's places. All of them: «القيادة السعودية تهنئ رئيس تشاد» and a cable to Ecuador
    whose lead names the kingdom share a place but not their subject."""
    return not (len(a.subject) and len(b.subject)) or (
        overlap(a.subject, b.scope) == len(a.subject)
        or overlap(b.subject, a.scope) == len(b.subject))


def same_story(a: Features, b: Features) -> bool:
    if not same_subject(a, b):
        return False
    shared = overlap(a.story, b.story)
    shorter = min(len(a.story), len(b.story))
    union = len(a.story) + len(b.story) - shared
    return bool(union) and (shared / union >= STORY_JACCARD or (
        shared >= STORY_MIN_SHARED and shared / shorter >= STORY_CONTAINMENT))


def page_key(url: str | None) -> str | None:
    """One spelling per page: scheme, «www.», fragment, trailing slash or «/amp», tracking and
    value-less flag parameters (?weekly, ?live, ?amp) dropped, the rest sorted. Parameters with
    a value stay: on many sites (?id=…, ?ArticleID=…) they are the page."""
    if not url:
        return None
    parts = urlsplit(url.strip())
    host = (parts.hostname or "").lower().removeprefix("www.")
    if not host:
        return None
    path = unquote(parts.path).rstrip("/").removesuffix("/amp")
    query = sorted((k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True)
                   if v and not is_tracking(k) and k.lower() != _AMP)
    return f"{host}{path or '/'}" + (f"?{urlencode(query)}" if query else "")
