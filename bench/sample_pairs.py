"""Candidate article pairs for labelling `bench/story_pairs.tsv`, sampled from the SaudiNewsNet
day in strata so that copies, stories and different articles (and their hard cases) all appear.

    .venv/bin/python bench/sample_pairs.py [--seed 7] [--scale 1.0] > candidates.tsv

The measures are deliberately plain and independent of the enrich code (which the labels
judge): word 3-shingles and words of four letters or more of the search form (orthography
folded), nothing stemmed. Each pair lands in the first stratum it matches, in this order:

  url_variant  same host and path, the query differs only by value-less flags (?weekly, ?live)
  section_tag  exactly one title carries a «قسم /» prefix and the bodies share phrases
  copy         shingle Jaccard >= 0.6: near-identical texts
  contained    shingle containment >= 0.6: one text holds most of the other (cuts, roundups,
               parts of a long dispatch)
  partial      shingle containment 0.15-0.6: some passages shared
  rewrite      few shared phrases but word Jaccard >= 0.15: possibly the same event retold
  lookalike    same outlet, word Jaccard 0.08-0.15: recurring formats (market, weather reports)
  title        title word Jaccard >= 0.3, bodies apart
  retold       different outlets, word Jaccard 0.08-0.15 and title word Jaccard >= 0.15: more
               candidates for the same event written up independently
  random       any two articles (the easy negatives)
  hand         hard cases noticed while reading (HAND_PICKED), listed whatever their measures

The output (TSV: stratum, id_a, id_b, measures, sources, titles) is a reading list: the labels
are written by reading both texts, never copied from these numbers.
"""

from __future__ import annotations

import argparse
import itertools
import json
import random
import re
import sys
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

from akhbar.orthography import search_form

NEWS = Path(__file__).resolve().parents[2] / "shared" / "data" / "news" / \
    "saudinewsnet-2015-08-10.jsonl"
WORD = re.compile(r"\w+")
SECTION_TAG = re.compile(r"^\s*\w+\s*/")
# Pairs met while reading that no stratum drew: cuts, merges and parts of one dispatch.
HAND_PICKED = [(545, 889), (401, 1432), (1361, 1510), (988, 1509), (568, 1527), (1022, 1382),
               (220, 837), (220, 1179)]
# Per-stratum sample sizes at --scale 1 (about 310 pairs in all).
SIZES = {"url_variant": 15, "section_tag": 15, "copy": 50, "contained": 45, "partial": 35,
         "rewrite": 45, "lookalike": 20, "title": 25, "random": 20,
         "retold": 40, "hand": len(HAND_PICKED)}
COMMON = 60  # words in more articles than this do not generate candidate pairs


@dataclass(frozen=True)
class Doc:
    id: int
    source: str
    url: str
    title: str
    shingles: frozenset[str]
    words: frozenset[str]
    title_words: frozenset[str]


def doc(row: dict) -> Doc:
    body = WORD.findall(search_form(row["content"]))
    title = WORD.findall(search_form(row["title"]))
    return Doc(row["id"], row["source"], row["url"], row["title"],
               frozenset(" ".join(body[i:i + 3]) for i in range(len(body) - 2)),
               frozenset(w for w in body + title if len(w) >= 4 and not w.isdigit()),
               frozenset(w for w in title if len(w) >= 3))


def jaccard(a: frozenset[str], b: frozenset[str]) -> float:
    return len(a & b) / len(a | b) if a or b else 0.0


def containment(a: frozenset[str], b: frozenset[str]) -> float:
    return len(a & b) / min(len(a), len(b)) if a and b else 0.0


def page(url: str) -> tuple[str, str, frozenset[tuple[str, str]]]:
    p = urlsplit(url)
    return p.netloc.lower(), p.path, frozenset((k, v) for k, v in
                                               parse_qsl(p.query, keep_blank_values=True) if v)


def measures(a: Doc, b: Doc) -> dict[str, float]:
    return {"sh_j": jaccard(a.shingles, b.shingles), "sh_c": containment(a.shingles, b.shingles),
            "w_j": jaccard(a.words, b.words), "t_j": jaccard(a.title_words, b.title_words)}


def stratum(a: Doc, b: Doc, m: dict[str, float]) -> str | None:
    if page(a.url) == page(b.url):
        return "url_variant"
    tagged = bool(SECTION_TAG.match(a.title)) != bool(SECTION_TAG.match(b.title))
    if tagged and m["sh_c"] >= 0.3:
        return "section_tag"
    if m["sh_j"] >= 0.6:
        return "copy"
    if m["sh_c"] >= 0.6:
        return "contained"
    if m["sh_c"] >= 0.15:
        return "partial"
    if m["w_j"] >= 0.15:
        return "rewrite"
    if a.source == b.source and m["w_j"] >= 0.08:
        return "lookalike"
    if m["t_j"] >= 0.3:
        return "title"
    if a.source != b.source and m["w_j"] >= 0.08 and m["t_j"] >= 0.15:
        return "retold"
    return None


def sharing_pairs(docs: list[Doc]) -> Iterator[tuple[Doc, Doc]]:
    """Pairs sharing at least one rarer word (in at most COMMON articles), or a title word."""
    postings: dict[str, set[int]] = defaultdict(set)
    for i, d in enumerate(docs):
        for w in d.words | {f"t:{t}" for t in d.title_words}:
            postings[w].add(i)
    seen: set[tuple[int, int]] = set()
    for members in postings.values():
        if len(members) <= COMMON:
            seen.update(itertools.combinations(sorted(members), 2))
    for i, j in sorted(seen):
        yield docs[i], docs[j]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--scale", type=float, default=1.0)
    args = ap.parse_args()
    rows = [json.loads(line) for line in NEWS.read_text(encoding="utf-8").splitlines()]
    docs = [doc(r) for r in sorted(rows, key=lambda r: r["id"]) if r["content"].strip()]
    by_stratum: dict[str, list[tuple[Doc, Doc, dict[str, float]]]] = defaultdict(list)
    for a, b in sharing_pairs(docs):
        m = measures(a, b)
        s = stratum(a, b, m)
        if s is not None:
            by_stratum[s].append((a, b, m))
    rng = random.Random(args.seed)
    by_stratum["random"] = [(a, b, measures(a, b))
                            for a, b in (rng.sample(docs, 2) for _ in range(SIZES["random"]))]
    by_id = {d.id: d for d in docs}
    by_stratum["hand"] = [(by_id[i], by_id[j], measures(by_id[i], by_id[j]))
                          for i, j in HAND_PICKED]
    out = sys.stdout
    out.write("stratum\tid_a\tid_b\tsh_j\tsh_c\tw_j\tt_j\tsource_a\tsource_b\ttitle_a\ttitle_b\n")
    for name, size in SIZES.items():
        pool = by_stratum[name]
        print(f"{name}: {len(pool)} pairs, {min(len(pool), round(size * args.scale))} taken",
              file=sys.stderr)
        for a, b, m in sorted(rng.sample(pool, min(len(pool), round(size * args.scale))),
                              key=lambda t: (t[0].id, t[1].id)):
            a, b = sorted((a, b), key=lambda d: d.id)
            out.write("\t".join([name, str(a.id), str(b.id), *(f"{v:.2f}" for v in m.values()),
                                 a.source, b.source, a.title.strip(), b.title.strip()]) + "\n")


if __name__ == "__main__":
    main()
