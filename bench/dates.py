"""Date reading on the real date strings of ../shared/data/dates: per file and per form (Hijri
named-month, Hijri numeric, Gregorian by regional name set, …) how many strings are read and how
many to the date they state, every Hijri↔Gregorian pair that disagrees by more than a day, and the
mean time per parse. Then the articles of the developers' day (--news) through ingest's record
reader and the normalize stage, per outlet and per date_source: how many are dated, how many to
the date their text (or URL) states, and the time the date work costs per article. Asserts
nothing (tests/normalize/test_dates.py asserts its figures).

    .venv/bin/python bench/dates.py [--data-dir DIR] [--news FILE] [--json FILE]

Stated dates: the pairs' Gregorian side (the Hijri side alone must give it within a day); the page
strings' `parsed_date` column; for dateparser's test lines, the date written on the same line
(«6 january 2015», `datetime.datetime(1938, 7, 29)`) or, for its Hijri test strings, the dates
of its tests/test_hijri.py (HIJRI_TEST_DATES). For the articles, whose rows have no published
date (only the crawl time `date_extracted`, read as retrieved_at): the date a short opening line
states (the Saudi Press Agency's dateline «بريدة 25 شوال 1436 هـ الموافق 10 اغسطس 2015 م واس»,
its Gregorian side), else none; apart, the date in the URL (/2015/08/10/, /20150810/).
"""

from __future__ import annotations

import argparse
import csv
import json
import re
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from hijridate import Gregorian

from akhbar.contract import Article, ContractError, Source
from akhbar.settings import Settings, parse_field_map
from akhbar.terminal import print_table
from akhbar_ingest.formats import FileRejected, RecordOptions, mapped_fields, record_article
from akhbar_normalize.arabic_dates import AGREE_DAYS, read_date
from akhbar_normalize.cleaning import clean_lines
from akhbar_normalize.dates import MAX_CANDIDATE_CHARS, parse_date
from akhbar_normalize.published import Candidate, choose, stamp, url_date
from akhbar_normalize.stage import process

REPO = Path(__file__).resolve().parents[1]
DATA = REPO.parent / "shared" / "data" / "dates"
NEWS = REPO.parent / "shared" / "data" / "news" / "saudinewsnet-2015-08-10.jsonl"
PAIRS, PAGES, DATEPARSER = ("saudinewsnet_hijri_gregorian_pairs.tsv",
                            "html_pages_visible_date_strings.tsv",
                            "dateparser_arabic_test_lines.tsv")
NOT_READ = "(not read)"
# The SaudiNewsNet fields under the inbox's names, as the README's AKHBAR_INBOX_FIELD_MAP example.
FIELD_MAP = parse_field_map("content=body,date_extracted=retrieved_at")
OPENING_LINES = 5  # tried for a date stamp, as the normalize stage does
# scrapinghub/dateparser tests/test_hijri.py: the dates its Hijri strings state (Umm al-Qura).
HIJRI_TEST_DATES = {
    "14-09-1432 هـ, 09:40 صباحاً": date(2011, 8, 14),
    "20-02-1430 هـ, 07:21 صباحاً": date(2009, 2, 15),
    "11-08-1434 هـ, 09:38 صباحاً": date(2013, 6, 20),
    " 17-01-1437 هـ 08:30 مساءً": date(2015, 10, 30),
    "29-02-1433 هـ, 06:22 صباحاً": date(2012, 1, 23),
    "04-03-1433 هـ, 10:08 مساءً": date(2012, 1, 27),
}
_ARABIC_LITERAL = re.compile(r'"([^"]*[\u0600-\u06ff][^"]*)"')
_ENGLISH_DATE = re.compile(r"\b(\d{1,2}) ([a-z]+) (\d{4})\b")
_DATETIME = re.compile(r"datetime\.datetime\((\d{4}), (\d{1,2}), (\d{1,2})")
_MONTHS = ["january", "february", "march", "april", "may", "june", "july", "august",
           "september", "october", "november", "december"]


@dataclass
class Row:
    """One form of one file: strings of that form, how many were read, how many to the stated
    date (None where no date is stated to compare with)."""
    strings: int = 0
    read: int = 0
    right: int | None = 0


@dataclass
class Disagreement:
    article_id: str
    source: str
    hijri: str
    gregorian: str
    hijri_as_gregorian: str | None  # the Umm al-Qura day of the Hijri side, as read
    gregorian_as_hijri: str  # the Umm al-Qura day of the paper's Gregorian side
    paper_wrong: bool  # its Gregorian side is not the Umm al-Qura conversion of its Hijri side


@dataclass
class Dated:
    """Articles of one outlet or one date_source: how many are dated (published_at set); of
    those whose text states a date, how many are dated to it; the same for a date in the URL;
    how many publication times lie after retrieved_at."""
    articles: int = 0
    dated: int = 0
    text_states: int = 0
    text_right: int = 0
    url_states: int = 0
    url_right: int = 0
    after_retrieved: int = 0


@dataclass
class Report:
    tables: dict[str, dict[str, Row]] = field(default_factory=dict)
    # per outlet and per date_source ("outlet" and "date_source" → key → Dated)
    dated: dict[str, dict[str, Dated]] = field(default_factory=dict)
    refused: int = 0
    not_dated_as_stated: list[str] = field(default_factory=list)  # "url: line → date"
    # Hijri sides one day from their Gregorian side (moon sighting, or the paper's slip): ids
    off_by_one: list[str] = field(default_factory=list)
    disagreements: list[Disagreement] = field(default_factory=list)
    timings_us: dict[str, float] = field(default_factory=dict)


def read_tsv(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f, delimiter="\t", quoting=csv.QUOTE_NONE))


def _tally(rows: dict[str, Row], text: str, stated: date | None) -> date | None:
    found = read_date(text)
    row = rows.setdefault(found.form if found else NOT_READ, Row())
    row.strings += 1
    row.read += found is not None
    got = found.at.date() if found else None
    if stated is None:
        row.right = None
    elif row.right is not None:
        row.right += got == stated
    return got


def pairs(path: Path, report: Report) -> list[str]:
    """Hijri side alone against the Gregorian side; the whole line (both calendars) too."""
    hijri_rows: dict[str, Row] = {}
    gregorian_rows: dict[str, Row] = {}
    line_rows: dict[str, Row] = {}
    texts = []
    for r in read_tsv(path):
        texts += [r["hijri"], r["gregorian"], r["context"]]
        stated = _tally(gregorian_rows, r["gregorian"], None)
        got = read_date(r["hijri"])
        form = got.form if got else NOT_READ
        row = hijri_rows.setdefault(form, Row())
        row.strings += 1
        row.read += got is not None
        within = (got is not None and stated is not None
                  and abs((got.at.date() - stated).days) <= AGREE_DAYS)
        assert row.right is not None
        row.right += within
        if within and got is not None and got.at.date() != stated:
            report.off_by_one.append(f"{r['article_id']} {r['source']}: {r['hijri']} → "
                                     f"{got.at.date()}, paper says {r['gregorian']}")
        if not within and stated is not None:
            g = Gregorian(stated.year, stated.month, stated.day).to_hijri()
            report.disagreements.append(Disagreement(
                r["article_id"], r["source"], r["hijri"], r["gregorian"],
                got.at.date().isoformat() if got else None, g.isoformat(), got is not None))
        _tally(line_rows, r["context"], stated)
    report.tables[f"{PAIRS}: Hijri side (right: within {AGREE_DAYS} day of the Gregorian)"] = (
        hijri_rows)
    report.tables[f"{PAIRS}: Gregorian side (the stated date)"] = gregorian_rows
    report.tables[f"{PAIRS}: context line, both calendars (right: the Gregorian side)"] = (
        line_rows)
    return texts


def pages(path: Path, report: Report) -> list[str]:
    rows: dict[str, Row] = {}
    for r in read_tsv(path):
        _tally(rows, r["date_string"], date.fromisoformat(r["parsed_date"]))
    report.tables[f"{PAGES} (right: parsed_date)"] = rows
    return [r["date_string"] for r in read_tsv(path)]


def stated_on_line(code: str, literal: str) -> date | None:
    if literal in HIJRI_TEST_DATES:
        return HIJRI_TEST_DATES[literal]
    if m := _DATETIME.search(code):
        return date(int(m[1]), int(m[2]), int(m[3]))
    if (m := _ENGLISH_DATE.search(code)) and m[2] in _MONTHS:
        return date(int(m[3]), _MONTHS.index(m[2]) + 1, int(m[1]))
    return None


def dateparser_lines(path: Path, report: Report) -> list[str]:
    """Each Arabic string literal of dateparser's test lines; those stating no full date
    (relative ones such as «أمس», sentence fragments) are counted apart."""
    stated_rows: dict[str, Row] = {}
    unstated_rows: dict[str, Row] = {}
    texts = []
    for r in read_tsv(path):
        code = r["code"].replace('""', '"')
        for literal in _ARABIC_LITERAL.findall(code):
            texts.append(literal)
            stated = stated_on_line(code, literal)
            _tally(stated_rows if stated else unstated_rows, literal, stated)
    report.tables[f"{DATEPARSER}: strings with a stated date"] = stated_rows
    report.tables[f"{DATEPARSER}: strings stating no date on their line"] = unstated_rows
    return texts


def mean_us(fn: Callable[[Any], object], items: list[Any]) -> float:
    """Mean time per call with the date caches empty at the start (as in a fresh worker)."""
    read_date.cache_clear()
    parse_date.cache_clear()
    start = time.perf_counter()
    for item in items:
        fn(item)
    return (time.perf_counter() - start) / len(items) * 1e6


def inbox_articles(news: Path) -> list[Article]:
    """The day's rows as ingest reads them (FIELD_MAP; `id` and `author` are not mapped)."""
    options, inbox = RecordOptions(field_map=FIELD_MAP), Source(name="inbox", kind="inbox")
    articles = []
    for line in news.read_text(encoding="utf-8").splitlines():
        try:
            articles.append(record_article(mapped_fields(json.loads(line), options)[0], inbox))
        except FileRejected:
            continue  # counted as refused by the caller (rows - articles)
    return articles


def stated_date(lines: list[str]) -> tuple[date, str] | None:
    """The date the first short opening line that states one states (a dateline, a stamp), and
    that line."""
    for line in lines[:OPENING_LINES]:
        if len(line) <= MAX_CANDIDATE_CHARS and (found := read_date(line)) is not None:
            return found.at.date(), line
    return None


def date_work(article: tuple[list[str], Article], timezone: str = "UTC") -> Candidate | None:
    """What the normalize stage does for a date, on an article's opening lines: a stamp among
    them (explicit or relative), the URL's date, the choice between them."""
    lines, a = article
    base = a.retrieved_at or a.ingested_at
    opening = next((c for line in lines if (c := stamp(line, "body", base, timezone))), None)
    found = [c for c in (url_date(a.url, timezone), opening) if c is not None]
    return choose(found, a.retrieved_at, a.ingested_at)


def dated(news: Path, report: Report) -> list[tuple[list[str], Article]]:
    """The normalize stage over the day's articles, tallied per outlet and per date_source."""
    rows = len(news.read_text(encoding="utf-8").splitlines())
    articles = inbox_articles(news)
    report.refused = rows - len(articles)
    by: dict[str, dict[str, Dated]] = {"outlet": {}, "date_source": {}}
    settings, opened = Settings(), []
    for a in articles:
        lines = clean_lines(a.body)
        opened.append((lines[:OPENING_LINES], a))
        try:
            doc = process(a, settings)
        except ContractError:
            report.refused += 1
            continue
        in_url = url_date(a.url, settings.default_timezone)
        stated, line = stated_date(lines) or (None, "")
        when = doc.published_at
        if stated is not None and (when is None or when.date() != stated):
            report.not_dated_as_stated.append(f"{a.url}: {line} → {when or 'undated'}")
        for kind, key in (("outlet", a.source.name), ("date_source", doc.date_source())):
            d = by[kind].setdefault(key, Dated())
            d.articles += 1
            d.text_states += stated is not None
            d.url_states += in_url is not None
            if when is None:
                continue
            assert doc.retrieved_at is not None  # every row has its crawl time
            sane = when <= doc.retrieved_at
            d.dated += 1
            d.after_retrieved += not sane
            d.text_right += stated is not None and sane and when.date() == stated
            d.url_right += in_url is not None and sane and when.date() == in_url.at.date()
    report.dated = by
    return opened


def run(data: Path, news: Path | None) -> Report:
    report = Report()
    texts = pairs(data / PAIRS, report) + pages(data / PAGES, report)
    texts += dateparser_lines(data / DATEPARSER, report)
    report.timings_us["read_date, per string"] = mean_us(read_date, texts)
    report.timings_us["parse_date, per string"] = mean_us(parse_date, texts)
    if news is not None and news.exists():
        articles = dated(news, report)
        report.timings_us[f"date work, per article ({len(articles)} of {news.name})"] = (
            mean_us(date_work, articles))
    return report


def share(n: int, of: int) -> str:
    return f"{n} ({n / of:.0%})" if of else "- (states none)"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data-dir", type=Path, default=DATA)
    ap.add_argument("--news", type=Path, default=NEWS)
    ap.add_argument("--json", type=Path)
    args = ap.parse_args(argv)
    if not args.data_dir.exists():
        print(f"{args.data_dir} is absent: nothing to measure")
        return 1
    report = run(args.data_dir, args.news)
    for title, rows in report.tables.items():
        print(f"\n{title}")
        print_table(["form", "strings", "read", "right"], [
            (form, str(r.strings), str(r.read), "-" if r.right is None else str(r.right))
            for form, r in sorted(rows.items())])
    print(f"\nHijri sides one day off their Gregorian side: {len(report.off_by_one)}")
    for line in report.off_by_one:
        print(f"  {line}")
    print(f"Pairs disagreeing by more than {AGREE_DAYS} day: {len(report.disagreements)}")
    for d in report.disagreements:
        print(f"  {d.article_id} {d.source}: {d.hijri} → {d.hijri_as_gregorian}, paper says "
              f"{d.gregorian} (= {d.gregorian_as_hijri} هـ); paper wrong: {d.paper_wrong}")
    for kind, table in report.dated.items():
        print(f"\nThe day's articles per {kind} ({report.refused} refused): dated, and dated to "
              "the date their text or URL states (never after retrieved_at)")
        print_table([kind, "articles", "dated", "text states", "dated to it", "URL states",
                     "dated to it", "after retrieved_at"], [
            (key, str(d.articles), share(d.dated, d.articles), str(d.text_states),
             share(d.text_right, d.text_states), str(d.url_states),
             share(d.url_right, d.url_states), str(d.after_retrieved))
            for key, d in sorted(table.items(), key=lambda kv: -kv[1].articles)])
    if report.dated:
        print(f"Articles not dated to the date an opening line states: "
              f"{len(report.not_dated_as_stated)}")
    for line in report.not_dated_as_stated:
        print(f"  {line}")
    print()
    print_table(["timing", "mean µs"], [(k, f"{v:.1f}") for k, v in report.timings_us.items()])
    if args.json:
        args.json.write_text(json.dumps(asdict(report), ensure_ascii=False, indent=2,
                                        default=str), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

