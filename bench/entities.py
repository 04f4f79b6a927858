"""Canonical entities of a day of news: the top persons, organisations, places and misc names by
document frequency with the spellings they gathered, how many mentions became how many
entities, and how many mentions each junk rule dropped. Prints tables; asserts nothing
(tests/enrich/test_canonical.py asserts the named examples).

    .venv/bin/python bench/entities.py [--news FILE] [--top 30] [--aliases 6] [--json FILE]

Every article of the developers' day (../shared/data/news/saudinewsnet-2015-08-10.jsonl)
goes through ingest's record reader with the SaudiNewsNet field map (bench/furniture.py) and
the normalize stage, then enrich's language detection and entity recognition in process
(akhbar_enrich.entities.raw_mentions, then akhbar_enrich.canonical with a junk tally).

- mentions: the recogniser's mentions after proclitics are cut (one per occurrence);
  entries: the entities of the articles (one per id per article), so entries per article
  are what a document carries; ids: distinct ids over the day.
- merged: ids whose articles wrote them in more than one spelling (search forms), and how
  many distinct spellings (keys before canonicalisation) the day's ids absorbed.
- junk: mentions dropped (or moved: place as person, institution) by each rule.
"""

from __future__ import annotations

import argparse
import json
import time
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

import common
import furniture

from akhbar.contract import PARAGRAPH_SEP, Article
from akhbar.orthography import search_form
from akhbar.settings import Settings
from akhbar.stages import InProcessPipeline, StageContext
from akhbar.terminal import print_table, say
from akhbar_enrich.canonical import RULES, canonical
from akhbar_enrich.entities import raw_mentions
from akhbar_enrich.language import languages
from akhbar_enrich.stage import entity_texts

KINDS = ("persons", "organizations", "locations", "misc")


def normalized(path: Path) -> list[Article]:
    articles = furniture.inbox_articles(
        json.loads(line) for line in path.read_text(encoding="utf-8").splitlines())
    pipeline = InProcessPipeline(StageContext(Settings(route=["normalize"])))
    return [Article.from_document(d)
            for d in pipeline.documents(iter(articles), lambda a, e: None)]


def measure(articles: list[Article]) -> dict[str, Any]:
    junk: Counter[str] = Counter()
    mentions: Counter[str] = Counter()
    entries: Counter[str] = Counter()
    df: dict[str, Counter[str]] = {k: Counter() for k in KINDS}
    names: dict[str, Counter[str]] = defaultdict(Counter)
    aliases: dict[str, Counter[str]] = defaultdict(Counter)
    for a in articles:
        paragraphs = [p for p in a.body.split(PARAGRAPH_SEP) if p.strip()]
        _, a.paragraph_languages = languages(paragraphs)
        arabic, english = entity_texts(a)
        raw = raw_mentions(arabic, english)
        mentions.update(kind for kind, _ in raw)
        found = canonical(raw, [*arabic, *english], junk)
        for kind in KINDS:
            for m in getattr(found, kind):
                assert m.id is not None
                entries[kind] += 1
                df[kind][m.id] += 1
                names[m.id][m.name] += 1
                aliases[m.id].update(m.aliases)
    merged = {kind: [i for i in df[kind]
                     if len({search_form(s) for s in aliases[i]}) > 1] for kind in KINDS}
    return {
        "articles": len(articles),
        "counts": {kind: {"mentions": mentions[kind], "entries": entries[kind],
                          "ids": len(df[kind]), "merged ids": len(merged[kind]),
                          "spellings merged": sum(len({search_form(s) for s in aliases[i]})
                                                  for i in merged[kind])}
                   for kind in KINDS},
        "junk": dict(junk.most_common()),
        "top": {kind: [{"id": i, "articles": n, "name": names[i].most_common(1)[0][0],
                        "names": len(names[i]),
                        "aliases": [s for s, _ in aliases[i].most_common()]}
                       for i, n in df[kind].most_common()] for kind in KINDS},
    }


def print_report(r: dict[str, Any], top: int, shown: int) -> None:
    print(f"\n== {r['articles']} articles: mentions → entries (per article) → ids (the day); "
          "ids written in more than one spelling and the spellings they gathered")
    columns = ["mentions", "entries", "ids", "merged ids", "spellings merged"]
    print_table(["kind", *columns],
                [[k, *(str(c[col]) for col in columns)] for k, c in r["counts"].items()])
    print("\n== junk: mentions dropped or moved, by rule")
    print_table(["rule", "mentions"], [[rule, str(r["junk"].get(rule, 0))] for rule in RULES])
    for kind in KINDS:
        print(f"\n== top {top} {kind} by articles (name; other names shown; spellings)")
        print_table(["articles", "name", "names", "aliases"],
                    [[str(e["articles"]), e["name"], str(e["names"]),
                      "، ".join(e["aliases"][:shown])] for e in r["top"][kind][:top]])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--news", type=Path, default=common.NEWS)
    ap.add_argument("--top", type=int, default=30)
    ap.add_argument("--aliases", type=int, default=6, help="spellings shown per entity")
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    if not args.news.exists():
        raise SystemExit(f"{args.news} is absent: the benchmark needs ../shared/data/news")
    t0 = time.perf_counter()
    report = measure(normalized(args.news))
    say(f"measured in {time.perf_counter() - t0:.1f} s")
    print_report(report, args.top, args.aliases)
    if args.json:
        report["top"] = {k: v[:args.top] for k, v in report["top"].items()}
        args.json.write_text(json.dumps(report, ensure_ascii=False, indent=2), encoding="utf-8")


if __name__ == "__main__":
    main()
