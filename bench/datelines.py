"""Datelines and bylines per outlet of the SaudiNewsNet data: how many articles get a credit, a
dateline place, a dateline place the gazetteer resolves, and how many keep an author that is
not a person's name (listed, to be read). Prints tables; asserts nothing
(tests/normalize/test_datelines.py and tests/enrich/test_bylines.py assert figures).

    .venv/bin/python bench/datelines.py [--days DAY,…] [--list 40] [--json FILE]

Each day (the developers' day ../shared/data/news/saudinewsnet-2015-08-10.jsonl, then the
--days crawl days of ../shared/data/news/more, 2015-07-21 by default) goes through ingest's
record reader with the SaudiNewsNet field map (bench/furniture.py) and the normalize stage, then
the byline check and the dateline geocoding of the enrich stage (akhbar_enrich.bylines,
akhbar_enrich.places; enrich's recogniser over whole bodies is left out: it does not touch
the dateline). An author is counted as not a person when one of its names is an agency or
outlet of akhbar_normalize.datelines, a place the gazetteer knows, or still holds a byline's
separator (- : ( )).
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

from akhbar.contract import AUTHOR_SEP, Article
from akhbar.orthography import search_form
from akhbar.settings import Settings
from akhbar.stages import InProcessPipeline, StageContext
from akhbar.terminal import print_table
from akhbar_enrich.bylines import settle_byline
from akhbar_enrich.places import geocode, lookup
from akhbar_normalize.datelines import AGENCIES, BYLINE_OUTLETS, OUTLETS
from akhbar_testkit.data import SHARED

DAY = "2015-08-10"
CREDITS = {search_form(s) for table in (AGENCIES, OUTLETS, BYLINE_OUTLETS)
           for spellings in table.values() for s in spellings}
_SEPARATOR = re.compile(r"[-–—:()]")
COLUMNS = ["articles", "credit", "dateline", "place (normalize)", "place (enrich)",
           "place resolved", "author", "author not a person"]


def rows_of(day: str, developers_day: int) -> list[dict[str, Any]]:
    """The rows of one day (furniture.raw_rows yields the developers' day before a crawl day)."""
    if day == DAY:
        return list(furniture.raw_rows(None))
    return list(furniture.raw_rows(day))[developers_day:]


def not_a_person(author: str) -> bool:
    return any(_SEPARATOR.search(n) or search_form(n) in CREDITS or lookup(n)
               for n in author.split(AUTHOR_SEP))


def measure(rows: list[dict[str, Any]]) -> dict[str, Any]:
    articles = furniture.inbox_articles(rows)
    pipeline = InProcessPipeline(StageContext(Settings(route=["normalize"])))
    per: dict[str, Counter[str]] = defaultdict(Counter)
    odd: dict[str, Counter[str]] = defaultdict(Counter)
    missed: Counter[str] = Counter()
    for doc in pipeline.documents(iter(articles), lambda a, e: None):
        a = Article.from_document(doc)
        c = per[a.source.name]
        c["articles"] += 1
        c["credit"] += a.credit is not None
        c["dateline"] += a.dateline is not None
        c["place (normalize)"] += bool(a.dateline and a.dateline.place)
        dateline, author = settle_byline(a.dateline, a.author)
        place = dateline.place if dateline else None
        c["place (enrich)"] += place is not None
        resolved = any(p.dateline for p in geocode([], place))
        c["place resolved"] += resolved
        if place is not None and not resolved:
            missed[place] += 1
        c["author"] += author is not None
        if author is not None and not_a_person(author):
            c["author not a person"] += 1
            odd[a.source.name][author] += 1
    return {"outlets": {o: dict(c) for o, c in sorted(per.items())},
            "not_persons": {o: dict(c.most_common()) for o, c in sorted(odd.items())},
            "unresolved_places": dict(missed.most_common())}


def print_report(day: str, r: dict[str, Any], shown: int) -> None:
    print(f"\n== {day}: articles per outlet with a credit, a dateline, its place as normalize "
          "reads it and after enrich's byline check, that place resolved by the gazetteer, an "
          "author, an author that is not a person's name")
    total: Counter[str] = Counter()
    rows = []
    for outlet, c in r["outlets"].items():
        total.update(c)
        rows.append([outlet, *(str(c.get(k, 0)) for k in COLUMNS)])
    rows.append(["all", *(str(total[k]) for k in COLUMNS)])
    print_table(["outlet", *COLUMNS], rows)
    odd = [(n, outlet, author) for outlet, authors in r["not_persons"].items()
           for author, n in authors.items()]
    print(f"\n-- {day}: authors that are not a person's name ({len(odd)} distinct; "
          f"{min(shown, len(odd))} shown)")
    print_table(["n", "outlet", "author"],
                [[str(n), o, a] for n, o, a in sorted(odd, key=lambda x: -x[0])[:shown]])
    missed = r["unresolved_places"]
    print(f"\n-- {day}: dateline places the gazetteer does not resolve ({len(missed)} distinct, "
          f"{sum(missed.values())} articles): " + "، ".join(
              f"{p} {n}" for p, n in list(missed.items())[:shown]))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--days", default="2015-07-21",
                    help="crawl days of ../shared/data/news/more besides the developers' day")
    ap.add_argument("--list", type=int, default=40, help="authors listed per day")
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    developers_day = len(rows_of(DAY, 0))
    days = [DAY, *filter(None, (d.strip() for d in args.days.split(",")))]
    common.report_blocks(
        ((day, partial(lambda d: measure(rows_of(d, developers_day)), day)) for day in days),
        lambda day, r: print_report(day, r, args.list), args.json)


if __name__ == "__main__":
    if not SHARED.exists():
        raise SystemExit(f"{SHARED} is absent: the benchmark needs ../shared/data/news")
    main()
