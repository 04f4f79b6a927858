"""Tokens and CRF features for Arabic named entities, shared by training and tagging.

Features look at the search form of each word (akhbar.orthography), its clitic-free stem,
affixes, shape, the words around it, name-list and gazetteer membership and distributional
word clusters, so that «وبوتين», «لبوتين» and «بوتين» share most of their evidence and a name
never seen in training still resembles the names it is used like.
"""

from __future__ import annotations

import gzip
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from akhbar.orthography import search_form
from akhbar_enrich.places import lookup as place_lookup

# Words (letters, digits, harakat, tatweel) or single punctuation marks.
_TOKEN = re.compile(r"[\w\u0610-\u061a\u064b-\u065f\u0670\u0640]+|[^\w\s]")
_ARABIC = re.compile(r"[\u0621-\u064a]")
# Conjunction, then preposition, then article: the longest sequence is tried first.
PROCLITICS = ("وبال", "فبال", "وكال", "ولل", "فلل", "وال", "فال", "بال", "كال", "لل", "ال",
              "وب", "ول", "وك", "فب", "فل", "و", "ف", "ب", "ل", "ك")
MIN_STEM = 2
WINDOW = (-2, -1, 1, 2)
CACHE_WORDS = 200_000

Features = dict[str, float | str]


Span = tuple[int, int, str]  # start, end (exclusive), type


def bio_spans(tags: Sequence[str]) -> list[Span]:
    """Entities of a BIO tag sequence by the CoNLL rules: an I- after O or after another type
    opens an entity, as B- does."""
    spans: list[Span] = []
    start, kind = -1, ""
    for i, tag in enumerate([*tags, "O"]):
        prefix, _, t = tag.partition("-")
        if start >= 0 and (prefix in ("O", "B") or t != kind):
            spans.append((start, i, kind))
            start = -1
        if prefix != "O" and start < 0:
            start, kind = i, t
    return spans


@dataclass(frozen=True)
class Lexicon:
    """What the model was trained with besides the words themselves (ner_training builds it)."""

    lists: Mapping[str, frozenset[str]] = field(default_factory=dict)  # kind -> folded stems
    clusters: Mapping[str, Sequence[int]] = field(default_factory=dict)  # folded word -> ids
    names: Mapping[str, int] = field(default_factory=dict)  # folded word -> times in a name
    # Word -> its features, own and as a neighbour, for sentence_features (training: most
    # tokens are frequent words); tagging keeps scores per word instead (ner_crf.Tagger).
    cache: dict[str, WordFeatures] = field(default_factory=dict, compare=False, repr=False)


def tokenize(text: str) -> list[str]:
    return _TOKEN.findall(text)


def stem(word: str) -> str:
    """The folded word without its proclitics (kept when too little would remain)."""
    for p in PROCLITICS:
        if word.startswith(p) and len(word) - len(p) >= MIN_STEM:
            return word[len(p):]
    return word


@lru_cache(maxsize=65536)
def _is_place(stemmed: str) -> bool:
    return bool(place_lookup(stemmed))


def _shape(token: str) -> str:
    if token.isdigit():
        return "digit"
    if _ARABIC.search(token):
        return "arabic"
    if token.isalpha():
        return "upper" if token[:1].isupper() else "latin"
    return "punct"


def _word_features(folded: str, token: str, lex: Lexicon) -> Features:
    s = stem(folded)
    f: Features = {
        "w": folded, "stem": s, "shape": _shape(token), "len": str(min(len(s), 8)),
        "p1": s[:1], "p2": s[:2], "p3": s[:3], "p4": s[:4],
        "s1": s[-1:], "s2": s[-2:], "s3": s[-3:], "s4": s[-4:],
        "clitic": folded[:len(folded) - len(s)],
    }
    for kind, entries in lex.lists.items():
        if s in entries or folded in entries:
            f["list:" + kind] = 1.0
    if len(s) > 2 and _is_place(s):
        f["list:place"] = 1.0
    for level, cluster in enumerate(lex.clusters.get(folded, ())):
        f[f"c{level}"] = str(cluster)
    return f


@dataclass(frozen=True)
class WordFeatures:
    own: Features
    stem: str
    as_neighbour: dict[int, Features]  # offset -> features it gives the word at that offset


def word_features(token: str, lex: Lexicon) -> WordFeatures:
    folded = search_form(token) or token
    own = _word_features(folded, token, lex)
    context = {k: v for k, v in own.items() if k in ("w", "stem", "shape")
               or k.startswith("list:")}
    clusters = {k: v for k, v in own.items() if k[0] == "c" and k[1:].isdigit()}
    as_neighbour = {d: {f"{d}:{k}": v for k, v in
                        (context | clusters if abs(d) == 1 else context).items()}
                    for d in WINDOW}
    as_neighbour[-1]["-1:clitic"] = own["clitic"]
    return WordFeatures(own, str(own["stem"]), as_neighbour)


def _word(token: str, lex: Lexicon) -> WordFeatures:
    if (hit := lex.cache.get(token)) is None:
        if len(lex.cache) >= CACHE_WORDS:
            lex.cache.clear()
        hit = lex.cache[token] = word_features(token, lex)
    return hit


# Stem bigrams: with the word before, with the word after.
PAIR_BEFORE, PAIR_AFTER = "-1|0", "0|+1"


def edge_features(i: int, n: int) -> Features:
    """The bias, and where token `i` of `n` stands against the sentence's edges (all that
    depends on its place only: up to the window's reach on either side)."""
    f: Features = {"bias": 1.0}
    if i == 0:
        f["first"] = 1.0
    for d in WINDOW:
        if not 0 <= i + d < n:
            f[f"{d}:edge"] = 1.0
    return f


def pair(left: str, right: str) -> str:
    return f"{left}|{right}"


def position_features(i: int, stems: Sequence[str]) -> Features:
    """What the place of token `i` in its sentence adds: its edges and the stem bigrams."""
    f = edge_features(i, len(stems))
    if i > 0:
        f[PAIR_BEFORE] = pair(stems[i - 1], stems[i])
    if i < len(stems) - 1:
        f[PAIR_AFTER] = pair(stems[i], stems[i + 1])
    return f


def sentence_features(tokens: Sequence[str], lex: Lexicon) -> list[Features]:
    """One feature dict per token: the word's own features, its neighbours' and its place."""
    words = [_word(t, lex) for t in tokens]
    stems = [w.stem for w in words]
    out: list[Features] = []
    n = len(tokens)
    for i, w in enumerate(words):
        f: Features = {**w.own, **position_features(i, stems)}
        for d in WINDOW:
            if 0 <= i + d < n:
                f.update(words[i + d].as_neighbour[d])
        out.append(f)
    return out


def write_lexicon(lexicon: Lexicon, path: Path) -> None:
    data = json.dumps({"lists": {k: sorted(v) for k, v in lexicon.lists.items()},
                       "clusters": dict(sorted(lexicon.clusters.items())),
                       "names": dict(lexicon.names)},
                      ensure_ascii=False, separators=(",", ":"))
    with open(path, "wb") as f, gzip.GzipFile(fileobj=f, mode="wb", mtime=0) as gz:
        gz.write(data.encode("utf-8"))


def read_lexicon(path: Path) -> Lexicon:
    with gzip.open(path, "rt", encoding="utf-8") as f:
        data = json.load(f)
    return Lexicon(lists={k: frozenset(v) for k, v in data["lists"].items()},
                   clusters={w: tuple(c) for w, c in data["clusters"].items()},
                   names=data["names"])
