"""Places of a news day: how many of the location mentions the recogniser finds the gazetteer
resolves, the forms it does not (to be read: real places it lacks, or tagger junk), the places
that several forms were merged into, how «المملكة» and «عمان» were read, and the top places.
Prints tables; asserts nothing (tests/enrich/test_places.py asserts figures).

    .venv/bin/python bench/places.py [--home SA] [--days DAY,…] [--list 40] [--json FILE]

Each day (the developers' day ../shared/data/news/saudinewsnet-2015-08-10.jsonl, then the
--days crawl days of ../shared/data/news/more, none by default) goes through ingest's record
reader with the SaudiNewsNet field map (bench/furniture.py), then the normalize and enrich
stages in process (enrich's story store in memory). A location mention (entities.locations,
counted once per article and form) is resolved when it is one of the forms (`aliases`) of the
article's places.
"""

from __future__ import annotations

import argparse
import re
from collections import Counter, defaultdict
from functools import partial
from pathlib import Path
from typing import Any

import common
import furniture

from akhbar.contract import Article, Mention, Place
from akhbar.orthography import search_form
from akhbar.settings import Settings
from akhbar.stages import InProcessPipeline, StageContext
from akhbar.terminal import print_table
from akhbar_enrich.places import geocode
from akhbar_testkit.data import SHARED

DAY = "2015-08-10"
# Forms whose reading depends on the article: how each was resolved is listed.
WATCHED = tuple(search_form(n) for n in ("المملكة", "عمان"))
# «المملكة» on its own in a text (clitics before it, no «العربية السعودية», «المتحدة»… after):
# read as a location mention of the article, whether the recogniser found it or not.
KINGDOM_WORD = "المملكة"
KINGDOM = re.compile(r"(?<!\w)[وف]?[بك]?(?:ال|لل)مملكه(?!\w)(?! (?:العربيه|المتحده|الاردنيه|"
                     r"المغربيه|الهاشميه|الهولنديه|الاسبانيه|البلجيكيه|السويديه|النرويجيه))")


def reading(place: Place | None) -> str:
    return "—" if place is None else f"{place.label} ({place.kind} {place.country_code})"


def measure(articles: list[Article], home: str | None) -> dict[str, Any]:
    pipeline = InProcessPipeline(StageContext(Settings(route=["normalize", "enrich"],
                                                       home_country=home)))
    mentions = resolved = occurrences = occurrences_resolved = n = 0
    missed: Counter[str] = Counter()
    missed_articles: Counter[str] = Counter()
    docs: Counter[tuple[str, str]] = Counter()  # (label, kind country) -> articles
    forms: dict[tuple[str, str], Counter[str]] = defaultdict(Counter)
    merged = 0  # places of an article named by two forms or more
    watched: dict[str, Counter[str]] = {w: Counter() for w in WATCHED}
    kingdom: Counter[str] = Counter()
    for doc in pipeline.documents(iter(articles), lambda a, e: None):
        a = Article.from_document(doc)
        n += 1
        by_form = {alias: p for p in a.places for alias in p.aliases}
        for m in a.entities.locations:
            mentions += 1
            occurrences += m.count
            place = by_form.get(m.name)
            if place is None:
                missed[m.name] += m.count
                missed_articles[m.name] += 1
            else:
                resolved += 1
                occurrences_resolved += m.count
            if search_form(m.name) in watched:
                watched[search_form(m.name)][reading(place)] += 1
        dateline = a.dateline.place if a.dateline else None
        for p in a.places:
            key = (p.label, f"{p.kind} {p.country_code}")
            docs[key] += 1
            forms[key].update(p.aliases)
            merged += len(p.aliases) > 1
            if p.dateline and dateline is not None and search_form(dateline) in watched:
                watched[search_form(dateline)][f"{reading(p)}, dateline"] += 1
        if KINGDOM.search(search_form(f"{a.normalized.title} {a.normalized.body}")):
            places = geocode([*a.entities.locations, Mention(name=KINGDOM_WORD, count=1)],
                             dateline, home=home)
            kingdom[reading(next((p for p in places if KINGDOM_WORD in p.aliases), None))] += 1
    return {
        "articles": n, "mentions": mentions, "resolved": resolved, "occurrences": occurrences,
        "occurrences_resolved": occurrences_resolved, "places_merged": merged,
        "unresolved": [[f, missed_articles[f], c] for f, c in missed.most_common()],
        "top_places": [[label, kind, d, dict(forms[label, kind].most_common())]
                       for (label, kind), d in docs.most_common()],
        "watched": {w: dict(c.most_common()) for w, c in watched.items()},
        "kingdom_in_text": dict(kingdom.most_common()),
    }


def share(part: int, whole: int) -> str:
    return f"{part:,} ({part / whole:.1%})" if whole else "0"


def print_report(day: str, r: dict[str, Any], shown: int) -> None:
    print(f"\n== {day}: location mentions (once per article and form; occurrences counted "
          "within articles) the gazetteer resolves")
    print_table(["articles", "mentions", "resolved", "occurrences", "resolved",
                 "places named by 2+ forms"],
                [[f"{r['articles']:,}", f"{r['mentions']:,}", share(r["resolved"], r["mentions"]),
                  f"{r['occurrences']:,}", share(r["occurrences_resolved"], r["occurrences"]),
                  f"{r['places_merged']:,}"]])
    missed = r["unresolved"]
    print(f"\n-- {day}: unresolved forms ({len(missed):,} distinct; {min(shown, len(missed))} "
          "most frequent)")
    print_table(["form", "articles", "occurrences"],
                [[f, f"{a:,}", f"{c:,}"] for f, a, c in missed[:shown]])
    print(f"\n-- {day}: top {shown} places by articles, with the forms they were named by")
    print_table(["place", "kind", "articles", "forms (articles)"],
                [[label, kind, f"{d:,}", "، ".join(f"{f} {c}" for f, c in forms.items())]
                 for label, kind, d, forms in r["top_places"][:shown]])
    for form, readings in r["watched"].items():
        print(f"\n-- {day}: the location mention «{form}» read as")
        print_table(["place", "articles"], [[p, f"{c:,}"] for p, c in readings.items()])
    print(f"\n-- {day}: «{KINGDOM_WORD}» on its own in the text, read as one more location mention")
    print_table(["place", "articles"],
                [[p, f"{c:,}"] for p, c in r["kingdom_in_text"].items()])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--days", default="",
                    help="crawl days of ../shared/data/news/more besides the developers' day")
    ap.add_argument("--list", type=int, default=40, help="forms and places listed per day")
    ap.add_argument("--home", help="AKHBAR_HOME_COUNTRY for the run (SaudiNewsNet's is SA)")
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    rows = list(furniture.raw_rows(args.days or None))
    developers_day = sum(1 for _ in furniture.raw_rows(None))
    days = [d.strip() for d in args.days.split(",") if d.strip()]
    # The crawl days come as one block after the developers' day: measured together.
    blocks = [(DAY, rows[:developers_day]), *([(",".join(days), rows[developers_day:])]
                                              if days else [])]
    common.report_blocks(
        ((day, partial(lambda b: measure(furniture.inbox_articles(b), args.home), block))
         for day, block in blocks),
        lambda day, r: print_report(day, r, args.list), args.json)


if __name__ == "__main__":
    if not SHARED.exists():
        raise SystemExit(f"{SHARED} is absent: the benchmark needs ../shared/data/news")
    main()
