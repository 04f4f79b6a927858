"""Outlet furniture left in bodies and titles after the normalize stage, per outlet of the
SaudiNewsNet data. Prints tables; asserts nothing.

    .venv/bin/python bench/furniture.py [--min-share 0.05] [--min-articles 20] [--days [all|DAY,…]]
                                        [--top 40] [--json FILE]

Every article of the developers' day (../shared/data/news/saudinewsnet-2015-08-10.jsonl; with
--days also the crawl days of ../shared/data/news/more/*.zip, all of them or the DAYs named, e.g.
2015-07-21) goes through ingest's record reader, with the inbox field map the README gives for
these dumps, and the normalize stage as the in-process pipeline runs it (route ["normalize"]).
Then, per outlet (`source`) with at least --min-articles articles, the body lines that recur in at
least --min-share of its articles (akhbar_normalize.furniture.recurring_lines): exact lines
(whitespace folded) and line shapes (digits folded too, «20:26 ت م» = «21:03 ت م», and the
article's own title, as in the link lines that repeat it), and how many bodies still hold a
recurring shape. Then the recurring shapes over all outlets, the furniture list, and the share
of titles that begin with a «قسم /» section prefix.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import zipfile
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import common

from akhbar.contract import PARAGRAPH_SEP, Article, Source
from akhbar.settings import Settings
from akhbar.stages import InProcessPipeline, StageContext
from akhbar.terminal import say
from akhbar_ingest.formats import FileRejected, RecordOptions, mapped_fields, record_article
from akhbar_normalize.furniture import (
    MIN_SHARE,
    line_shape,
    line_text,
    recurring_lines,
    section_prefix,
)

MORE = common.NEWS.parent / "more"
# The SaudiNewsNet fields under the inbox's names (README, "Article objects").
FIELD_MAP = {"content": "body", "date_extracted": "retrieved_at"}
SHOWN_CHARS = 70


@dataclass(frozen=True)
class Doc:
    outlet: str
    title: str
    lines: list[str]


def raw_rows(days: str | None) -> Iterator[dict[str, Any]]:
    """The day's rows, then those of the --days zips."""
    if not common.NEWS.exists():
        sys.exit(f"{common.NEWS} is absent (the developer data folder ../shared is not beside "
                 "the repository)")
    with common.NEWS.open(encoding="utf-8") as f:
        yield from (json.loads(line) for line in f if line.strip())
    if days is None:
        return
    zips = sorted(MORE.glob("*.zip")) if days == "all" else [
        MORE / f"{d.strip()}.zip" for d in days.split(",") if d.strip()]
    for path in zips:
        if not path.exists():
            sys.exit(f"{path} not found")
        with zipfile.ZipFile(path) as z:
            for name in z.namelist():
                if name.endswith(".json"):
                    yield from json.loads(z.read(name))


def normalized(rows: Iterator[dict[str, Any]]
               ) -> tuple[list[Doc], Counter[str], Counter[str]]:
    """The documents the normalize stage writes, and the articles refused by ingest or by
    normalize, by outlet and by reason."""
    options = RecordOptions(field_map=FIELD_MAP)
    inbox = Source(name="inbox", kind="inbox")
    lost: Counter[str] = Counter()
    reasons: Counter[str] = Counter()

    def articles() -> Iterator[Article]:
        for row in rows:
            try:
                obj, _ignored = mapped_fields(row, options)  # `id` and `author` are not mapped
                yield record_article(obj, inbox)
            except FileRejected as exc:
                lost[row.get("source") or "?"] += 1
                reasons[f"ingest: {exc}"] += 1

    def failed(article: Article, exc: Exception) -> None:
        lost[article.source.name] += 1
        reasons[f"normalize: {exc}"] += 1

    pipeline = InProcessPipeline(StageContext(Settings(route=["normalize"])))
    docs = [Doc(d["source"]["name"], d["title"], [p for p in d["body"].split(PARAGRAPH_SEP) if p])
            for d in pipeline.documents(articles(), failed)]
    return docs, lost, reasons


def shown(line: str) -> str:
    return line if len(line) <= SHOWN_CHARS else line[:SHOWN_CHARS - 1] + "…"


def measure(docs: list[Doc], lost: Counter[str], min_share: float, min_articles: int
            ) -> dict[str, Any]:
    by_outlet: dict[str, list[Doc]] = defaultdict(list)
    for d in docs:
        by_outlet[d.outlet].append(d)
    outlets: dict[str, Any] = {}
    overall: dict[str, Counter[str]] = defaultdict(Counter)  # shape -> outlet -> bodies
    examples: dict[str, Counter[str]] = defaultdict(Counter)  # shape -> exact lines
    for outlet, ds in sorted(by_outlet.items(), key=lambda kv: -len(kv[1])):
        sections = Counter(s for d in ds if (s := section_prefix(d.title)))
        row: dict[str, Any] = {
            "articles": len(ds), "refused": lost[outlet], "judged": len(ds) >= min_articles,
            "titles_with_section": sum(sections.values()),
            "title_section_share": sum(sections.values()) / len(ds),
            "sections": dict(sections.most_common())}
        if row["judged"]:
            articles = [(d.title, d.lines) for d in ds]
            exact = recurring_lines(articles, line_text, min_share)
            shapes = recurring_lines(articles, line_shape, min_share)
            holding = sum(any(line_shape(x, t) in shapes for x in b) for t, b in articles)
            row |= {"recurring_lines": len(exact), "recurring_shapes": len(shapes),
                    "bodies_with_recurring": holding, "share": holding / len(ds),
                    "shapes": dict(shapes.most_common())}
            for shape, n in shapes.items():
                overall[shape][outlet] = n
            for t, b in articles:
                for x in b:
                    if (s := line_shape(x, t)) in shapes:
                        examples[s][line_text(x)] += 1
        outlets[outlet] = row
    top = [{"shape": shape, "bodies": sum(per.values()), "outlets": dict(per.most_common()),
            "example": examples[shape].most_common(1)[0][0],
            "exact_variants": len(examples[shape])}
           for shape, per in sorted(overall.items(), key=lambda kv: -sum(kv[1].values()))]
    return {"articles": len(docs), "refused": sum(lost.values()), "min_share": min_share,
            "min_articles": min_articles, "outlets": outlets, "furniture": top}


def print_report(r: dict[str, Any], top: int) -> None:
    print(f"\n== bodies: {r['articles']} articles normalised ({r['refused']} refused); lines "
          f"recurring in >= {r['min_share']:.0%} of an outlet's articles (outlets with >= "
          f"{r['min_articles']} articles)")
    for reason, n in r["refusals"].items():
        print(f"refused {n}: {shown(reason)}")
    rows = []
    for outlet, o in r["outlets"].items():
        rest = ([str(o["recurring_lines"]), str(o["recurring_shapes"]),
                 str(o["bodies_with_recurring"]), f"{o['share']:.1%}"] if o["judged"]
                else ["-", "-", "-", "too few articles"])
        rows.append([outlet, str(o["articles"]), str(o["refused"]), *rest])
    common.print_table(["outlet", "articles", "refused", "recurring lines", "recurring shapes",
                        "bodies holding one", "share"], rows)
    print(f"\n== furniture: the {min(top, len(r['furniture']))} most common of "
          f"{len(r['furniture'])} recurring line shapes (# = digits), bodies holding each")
    common.print_table(
        ["bodies", "outlets", "shape", "most common line", "variants"],
        [[str(f["bodies"]), " ".join(f"{o}:{n}" for o, n in f["outlets"].items()),
          shown(f["shape"]), shown(f["example"]) if f["example"] != f["shape"] else "=",
          str(f["exact_variants"])] for f in r["furniture"][:top]])
    print("\n== titles beginning with a «word /» section prefix")
    common.print_table(
        ["outlet", "titles", "with prefix", "share", "prefixes"],
        [[outlet, str(o["articles"]), str(o["titles_with_section"]),
          f"{o['title_section_share']:.1%}",
          " ".join(f"{s}:{n}" for s, n in list(o["sections"].items())[:6])]
         for outlet, o in r["outlets"].items()])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--min-share", type=float, default=MIN_SHARE)
    ap.add_argument("--min-articles", type=int, default=20)
    ap.add_argument("--days", nargs="?", const="all",
                    help="add the days of ../shared/data/news/more: all (the default when the "
                         "option is given alone) or a comma-separated list such as 2015-07-21")
    ap.add_argument("--top", type=int, default=40, help="furniture shapes printed")
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    t0 = time.perf_counter()
    docs, lost, reasons = normalized(raw_rows(args.days))
    say(f"normalised {len(docs)} articles in {time.perf_counter() - t0:.1f} s")
    report = measure(docs, lost, args.min_share, args.min_articles)
    report |= {"days": args.days or "2015-08-10", "refusals": dict(reasons.most_common())}
    print_report(report, args.top)
    if args.json:
        args.json.write_text(json.dumps(report, ensure_ascii=False, indent=2), encoding="utf-8")


if __name__ == "__main__":
    main()
