"""Outlet furniture in bodies and titles before and after the normalize stage removes it, per
outlet of the SaudiNewsNet data. Prints tables; asserts nothing.

    .venv/bin/python bench/furniture.py [--min-share 0.05] [--min-articles 20] [--days [all|DAY,…]]
                                        [--cold] [--removed] [--top 40] [--json FILE]

Every article of the developers' day (../shared/data/news/saudinewsnet-2015-08-10.jsonl; with
--days also the crawl days of ../shared/data/news/more/*.zip, all of them or the DAYs named, e.g.
2015-07-21) goes through ingest's record reader, with the inbox field map the README gives for
these dumps, and through the normalize stage twice: "before" without a furniture learner (the
hand-listed widget words only), "after" as the in-process pipeline runs it (route ["normalize"]:
the stage's learner, starting from its seed; with --cold from nothing, to see what it learns on
its own). Then, per outlet (`source`) with at least --min-articles articles, the body lines that
recur in at least --min-share of its articles before (akhbar_normalize.furniture.recurring_lines):
exact lines (whitespace folded) and line shapes (digits folded too, «20:26 ت م» = «21:03 ت م»,
and the article's own title, as in the link lines that repeat it), and how many bodies hold a
recurring shape before and after. Then the recurring shapes over all outlets, the lines the
stage removed (--removed: every one, by outlet and shape, with counts), and the titles whose
«قسم /» prefix moved to `section` or stayed in the headline (an outlet that rarely prints one).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import zipfile
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import common

from akhbar.contract import PARAGRAPH_SEP, Article, ContractError, Source
from akhbar.settings import Settings
from akhbar.stages import InProcessPipeline, StageContext
from akhbar.terminal import say
from akhbar_ingest.formats import FileRejected, RecordOptions, mapped_fields, record_article
from akhbar_normalize.furniture import (
    MIN_SHARE,
    SECTION_PREFIX,
    TAIL,
    MemoryFurniture,
    line_shape,
    line_text,
    recurring_lines,
)
from akhbar_normalize.stage import process

MORE = common.NEWS.parent / "more"
# The SaudiNewsNet fields under the inbox's names (README, "Article objects").
FIELD_MAP = {"content": "body", "date_extracted": "retrieved_at"}
SHOWN_CHARS = 70


@dataclass(frozen=True)
class Doc:
    outlet: str
    title: str  # the headline (the stage moves a section prefix to `section`)
    section: str | None
    lines: list[str]  # the body's paragraphs before furniture removal
    after: list[str]


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


def inbox_articles(rows: Iterable[dict[str, Any]]) -> list[Article]:
    """The rows as ingest reads them from an inbox file (a row it refuses is left out)."""
    options = RecordOptions(field_map=FIELD_MAP)
    inbox = Source(name="inbox", kind="inbox")
    out = []
    for row in rows:
        try:
            out.append(record_article(mapped_fields(row, options)[0], inbox))
        except FileRejected:
            continue
    return out


def normalized(rows: Iterator[dict[str, Any]], cold: bool
               ) -> tuple[list[Doc], Counter[str], Counter[str]]:
    """Each article as normalize writes it before and after furniture removal, and the
    articles refused by ingest or by normalize, by outlet and by reason."""
    options = RecordOptions(field_map=FIELD_MAP)
    inbox = Source(name="inbox", kind="inbox")
    settings = Settings(route=["normalize"])
    lost: Counter[str] = Counter()
    reasons: Counter[str] = Counter()
    after = (partial(process, settings=settings, furniture=MemoryFurniture()) if cold
             else InProcessPipeline(StageContext(settings)).stages[0][1])
    docs = []
    for row in rows:
        try:
            obj, _ignored = mapped_fields(row, options)  # `id` and `author` are not mapped
            article = record_article(obj, inbox)
            before, done = process(article, settings), after(article)
        except (FileRejected, ContractError) as exc:
            lost[row.get("source") or "?"] += 1
            reasons[f"{'ingest' if isinstance(exc, FileRejected) else 'normalize'}: {exc}"] += 1
            continue
        docs.append(Doc(done.source.name, done.title, done.section, paragraphs(before),
                        paragraphs(done)))
    return docs, lost, reasons


def paragraphs(a: Article) -> list[str]:
    return [p for p in a.body.split(PARAGRAPH_SEP) if p]


def removed(d: Doc) -> list[tuple[str, str]]:
    """(text, shape) of what furniture removal took from `d`: its paragraphs (a line kept n
    times counts n) and the run-on tail cut from its last paragraph (shape «[tail] word»)."""
    kept = Counter(d.after)
    out = []
    for x in d.lines:
        if kept[x]:
            kept[x] -= 1
        elif d.after and x != d.after[-1] and line_text(x).startswith(d.after[-1]):
            tail = line_text(x)[len(d.after[-1]):].strip()
            out.append((tail, TAIL + tail.split()[0]))
        else:
            out.append((x, line_shape(x, d.title)))
    return out


def measure(docs: list[Doc], lost: Counter[str], min_share: float, min_articles: int
            ) -> dict[str, Any]:
    by_outlet: dict[str, list[Doc]] = defaultdict(list)
    for d in docs:
        by_outlet[d.outlet].append(d)
    outlets: dict[str, Any] = {}
    overall: dict[str, Counter[str]] = defaultdict(Counter)  # shape -> outlet -> bodies
    examples: dict[str, Counter[str]] = defaultdict(Counter)  # shape -> exact lines
    gone: dict[tuple[str, str], Counter[str]] = defaultdict(Counter)  # (outlet, shape) -> lines
    for outlet, ds in sorted(by_outlet.items(), key=lambda kv: -len(kv[1])):
        sections = Counter(d.section for d in ds if d.section)
        row: dict[str, Any] = {
            "articles": len(ds), "refused": lost[outlet], "judged": len(ds) >= min_articles,
            "titles_with_section": sum(sections.values()),
            "title_section_share": sum(sections.values()) / len(ds),
            "sections": dict(sections.most_common()),
            "titles_still_prefixed": sum(SECTION_PREFIX.match(d.title) is not None for d in ds),
            "removed_lines": 0}
        for d in ds:
            for x, shape in removed(d):
                gone[outlet, shape][line_text(x)] += 1
                row["removed_lines"] += 1
        if row["judged"]:
            articles = [(d.title, d.lines) for d in ds]
            exact = recurring_lines(articles, line_text, min_share)
            shapes = recurring_lines(articles, line_shape, min_share)
            left = Counter(k for d in ds for k in {line_shape(x, d.title) for x in d.after}
                           if k in shapes)
            row |= {"recurring_lines": len(exact), "recurring_shapes": len(shapes),
                    "bodies_with_recurring": holding(articles, shapes),
                    "bodies_with_recurring_after": holding(
                        [(d.title, d.after) for d in ds], shapes),
                    "shapes": dict(shapes.most_common()), "shapes_left": dict(left.most_common())}
            row["share"] = row["bodies_with_recurring"] / len(ds)
            row["share_after"] = row["bodies_with_recurring_after"] / len(ds)
            for shape, n in shapes.items():
                overall[shape][outlet] = n
            for t, b in articles:
                for x in b:
                    if (s := line_shape(x, t)) in shapes:
                        examples[s][line_text(x)] += 1
        outlets[outlet] = row
    top = [{"shape": shape, "bodies": sum(per.values()), "outlets": dict(per.most_common()),
            "bodies_after": sum(outlets[o]["shapes_left"].get(shape, 0) for o in per),
            "example": examples[shape].most_common(1)[0][0],
            "exact_variants": len(examples[shape])}
           for shape, per in sorted(overall.items(), key=lambda kv: -sum(kv[1].values()))]
    lines = [{"outlet": outlet, "shape": shape, "lines": sum(exact.values()),
              "variants": len(exact), "example": exact.most_common(1)[0][0]}
             for (outlet, shape), exact in sorted(
                 gone.items(), key=lambda kv: (kv[0][0], -sum(kv[1].values()), kv[0][1]))]
    return {"articles": len(docs), "refused": sum(lost.values()), "min_share": min_share,
            "min_articles": min_articles, "outlets": outlets, "furniture": top,
            "removed": lines}


def holding(articles: list[tuple[str, list[str]]], shapes: Counter[str]) -> int:
    """How many bodies hold a line of one of `shapes`."""
    return sum(any(line_shape(x, t) in shapes for x in b) for t, b in articles)


def shown(line: str) -> str:
    return line if len(line) <= SHOWN_CHARS else line[:SHOWN_CHARS - 1] + "…"


def print_report(r: dict[str, Any], top: int, removed_lines: bool) -> None:
    print(f"\n== bodies: {r['articles']} articles normalised ({r['refused']} refused); lines "
          f"recurring in >= {r['min_share']:.0%} of an outlet's articles before furniture "
          f"removal (outlets with >= {r['min_articles']} articles); learner: {r['learner']}")
    for reason, n in r["refusals"].items():
        print(f"refused {n}: {shown(reason)}")
    rows = []
    for outlet, o in r["outlets"].items():
        rest = ([str(o["recurring_lines"]), str(o["recurring_shapes"]),
                 f"{o['bodies_with_recurring']} ({o['share']:.1%})",
                 f"{o['bodies_with_recurring_after']} ({o['share_after']:.1%})"] if o["judged"]
                else ["-", "-", "-", "too few articles"])
        rows.append([outlet, str(o["articles"]), str(o["refused"]), *rest,
                     str(o["removed_lines"])])
    common.print_table(["outlet", "articles", "refused", "recurring lines", "recurring shapes",
                        "bodies holding one before", "after", "lines removed"], rows)
    print(f"\n== furniture: the {min(top, len(r['furniture']))} most common of "
          f"{len(r['furniture'])} recurring line shapes (# = digits), bodies holding each")
    common.print_table(
        ["before", "after", "outlets", "shape", "most common line", "variants"],
        [[str(f["bodies"]), str(f["bodies_after"]),
          " ".join(f"{o}:{n}" for o, n in f["outlets"].items()),
          shown(f["shape"]), shown(f["example"]) if f["example"] != f["shape"] else "=",
          str(f["exact_variants"])] for f in r["furniture"][:top]])
    if removed_lines:
        print(f"\n== removed: every line furniture removal took, by outlet and shape "
              f"({sum(x['lines'] for x in r['removed'])} lines)")
        common.print_table(
            ["outlet", "lines", "shape", "most common line", "variants"],
            [[x["outlet"], str(x["lines"]), x["shape"],
              x["example"] if x["example"] != x["shape"] else "=", str(x["variants"])]
             for x in r["removed"]])
    print("\n== titles: a «word /» prefix moved to `section`, or kept as a word of the headline")
    common.print_table(
        ["outlet", "titles", "with section", "share", "prefix kept", "sections"],
        [[outlet, str(o["articles"]), str(o["titles_with_section"]),
          f"{o['title_section_share']:.1%}", str(o["titles_still_prefixed"]),
          " ".join(f"{s}:{n}" for s, n in list(o["sections"].items())[:6])]
         for outlet, o in r["outlets"].items()])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--min-share", type=float, default=MIN_SHARE)
    ap.add_argument("--min-articles", type=int, default=20)
    ap.add_argument("--days", nargs="?", const="all",
                    help="add the days of ../shared/data/news/more: all (the default when the "
                         "option is given alone) or a comma-separated list such as 2015-07-21")
    ap.add_argument("--cold", action="store_true",
                    help="the learner starts from nothing instead of the stage's seed")
    ap.add_argument("--removed", action="store_true",
                    help="list every removed line, by outlet and shape")
    ap.add_argument("--top", type=int, default=40, help="furniture shapes printed")
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    t0 = time.perf_counter()
    docs, lost, reasons = normalized(raw_rows(args.days), args.cold)
    say(f"normalised {len(docs)} articles in {time.perf_counter() - t0:.1f} s")
    report = measure(docs, lost, args.min_share, args.min_articles)
    report |= {"days": args.days or "2015-08-10", "refusals": dict(reasons.most_common()),
               "learner": "cold (no seed)" if args.cold else "the stage's (seeded)"}
    print_report(report, args.top, args.removed)
    if args.json:
        args.json.write_text(json.dumps(report, ensure_ascii=False, indent=2), encoding="utf-8")


if __name__ == "__main__":
    main()
