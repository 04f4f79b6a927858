"""Arabic date forms: the real date strings of ../shared/data/dates through bench/dates.py (its
figures asserted), the Saudi Press Agency datelines of the developers' day, and unit cases for
every regional month-name set and the rule for lines giving both calendars."""

from __future__ import annotations

import csv
import json
import logging
import re
import runpy
from collections import Counter
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from akhbar.contract import PARAGRAPH_SEP, Article, Source, utcnow
from akhbar.settings import Settings
from akhbar_normalize.arabic_dates import find_dates, read_date
from akhbar_normalize.cleaning import clean_lines
from akhbar_normalize.dates import looks_like_date, parse_date
from akhbar_normalize.published import CLOCK_SKEW, Candidate, choose, url_date
from akhbar_normalize.relative_dates import read_relative
from akhbar_normalize.stage import process
from akhbar_testkit.data import REPO, SHARED, need

DATES = SHARED / "data" / "dates"
NEWS = SHARED / "data" / "news" / "saudinewsnet-2015-08-10.jsonl"
# Pairs whose Gregorian side is not the Umm al-Qura day of their Hijri side (± a day): none.
PAPER_ERRORS: list[str] = []


@pytest.fixture(scope="module")
def bench() -> dict[str, Any]:
    # The script's functions, loaded from its file (bench/ is no package on the path).
    return runpy.run_path(str(REPO / "bench" / "dates.py"))


@pytest.fixture(scope="module")
def report(bench: dict[str, Any]) -> Any:
    return bench["run"](need(DATES), None)


def rows(report: Any, title_start: str) -> dict[str, tuple[int, int, int | None]]:
    (table,) = [t for title, t in report.tables.items() if title.startswith(title_start)]
    return {form: (r.strings, r.read, r.right) for form, r in table.items()}


def test_every_hijri_side_gives_its_gregorian_side_within_a_day(report: Any) -> None:
    assert rows(report, "saudinewsnet_hijri_gregorian_pairs.tsv: Hijri side") == {
        "hijri-named": (196, 196, 196), "hijri-numeric": (10, 10, 10)}
    assert [d.article_id for d in report.disagreements] == PAPER_ERRORS
    # One paper's day is one after Umm al-Qura: «الأربعاء 20 شوال … الموافق 6 أغسطس» (the
    # Wednesday was 5 August 2015).
    assert [line.split(":")[0] for line in report.off_by_one] == ["393 aljazirah"]
    assert date(2015, 8, 5).isoweekday() == 3


def test_lines_giving_both_calendars_give_the_gregorian_date(report: Any) -> None:
    assert rows(report, "saudinewsnet_hijri_gregorian_pairs.tsv: Gregorian side") == {
        "gregorian-egyptian-gulf": (196, 196, None), "gregorian-numeric": (10, 10, None)}
    # The one miss is article 371's context, which opens with the previous pair's «6 أغسطس».
    assert rows(report, "saudinewsnet_hijri_gregorian_pairs.tsv: context line") == {
        "gregorian-egyptian-gulf": (196, 196, 195), "gregorian-numeric": (10, 10, 10)}


def test_page_strings_give_their_parsed_date(report: Any) -> None:
    assert rows(report, "html_pages_visible_date_strings.tsv") == {
        "gregorian-egyptian-gulf": (11, 11, 11)}


def test_dateparser_lines_with_a_stated_date_are_read_to_it(report: Any) -> None:
    assert rows(report, "dateparser_arabic_test_lines.tsv: strings with a stated date") == {
        "gregorian-egyptian-gulf": (4, 4, 4), "hijri-numeric": (6, 6, 6)}
    # Relative strings («أمس», «منذ ساعتين») are no full date; the 7 read are full dates
    # («في 29 يوليو 1938 …») whose stated date sits on another line.
    assert rows(report, "dateparser_arabic_test_lines.tsv: strings stating no date") == {
        "(not read)": (27, 0, None), "gregorian-egyptian-gulf": (7, 7, None)}


def test_bench_prints_its_tables_and_writes_json(bench: dict[str, Any], tmp_path: Path,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "dates.json"
    assert bench["main"](["--data-dir", str(need(DATES)), "--news", str(tmp_path / "none"),
                          "--json", str(out)]) == 0
    assert "Pairs disagreeing by more than 1 day: 0" in capsys.readouterr().out
    saved = json.loads(out.read_text(encoding="utf-8"))
    assert saved["disagreements"] == [] and len(saved["tables"]) == 6


def test_agency_datelines_date_their_articles() -> None:
    """«بريدة 25 شوال 1436 هـ الموافق 10 اغسطس 2015 م واس» opens most Saudi Press Agency
    copy of the day: the stage dates the article by it and the dateline leaves the body."""
    records = [json.loads(line) for line in need(NEWS).read_text(encoding="utf-8").splitlines()]
    spa = [r for r in records if r["source"] == "was"]
    dated = 0
    for r in spa:
        first = clean_lines(r["content"])[0]
        if "الموافق" not in first:
            continue
        a = process(Article(id="0" * 32, source=Source(name="was", kind="inbox"),
                            ingested_at=utcnow(), title=r["title"], body=r["content"]),
                    Settings())
        assert a.published_at is not None and a.published_raw == first, first
        assert a.published_at.date() == read_date(first).at.date()  # type: ignore[union-attr]
        assert not a.body.startswith(first)
        dated += a.published_at.date() == date(2015, 8, 10)
    assert (len(spa), dated) == (201, 190)


@pytest.mark.parametrize(("region", "names"), [
    ("levantine", ["كانون الثاني", "شباط", "آذار", "نيسان", "أيار", "حزيران", "تموز", "آب",
                   "أيلول", "تشرين الأول", "تشرين الثاني", "كانون الأول"]),
    ("maghrebi", ["جانفي", "فيفري", "مارس", "أفريل", "ماي", "جوان", "جويلية", "أوت", "سبتمبر",
                  "أكتوبر", "نوفمبر", "ديسمبر"]),
    ("moroccan", ["يناير", "فبراير", "مارس", "أبريل", "ماي", "يونيو", "يوليوز", "غشت", "شتنبر",
                  "أكتوبر", "نونبر", "دجنبر"]),
    ("egyptian-gulf", ["يناير", "فبراير", "مارس", "ابريل", "مايو", "يونيو", "يوليو", "اغسطس",
                       "سبتمبر", "اكتوبر", "نوفمبر", "ديسمبر"]),
])
def test_regional_gregorian_month_names(region: str, names: list[str]) -> None:
    for month, name in enumerate(names, start=1):
        found = read_date(f"7 {name} 2015")
        assert found is not None and found.at == datetime(2015, month, 7), name
        # A name shared by several sets is counted in the first that has it.
        assert found.form in (f"gregorian-{region}", "gregorian-egyptian-gulf",
                              "gregorian-maghrebi"), name


@pytest.mark.parametrize(("text", "expected"), [
    ("10 آب/أغسطس 2015", datetime(2015, 8, 10)),
    ("10 آب (أغسطس) 2015", datetime(2015, 8, 10)),
    ("١٠ أيلول ٢٠١٥", datetime(2015, 9, 10)),
    ("الإثنين 02/نوفمبر/2015 - 11:25 م", datetime(2015, 11, 2, 23, 25)),
    ("6 يناير، 2015، الساعة 05:16 مساءً", datetime(2015, 1, 6, 17, 16)),
    ("12 دجنبر 2015 - 12:30 ص", datetime(2015, 12, 12, 0, 30)),
])
def test_gregorian_forms(text: str, expected: datetime) -> None:
    found = read_date(text)
    assert found is not None and found.at == expected


@pytest.mark.parametrize(("text", "expected"), [
    ("25 شوال 1436 هـ", date(2015, 8, 10)),
    ("25 شوّال 1436 ه", date(2015, 8, 10)),
    ("٢٥ شوال ١٤٣٦", date(2015, 8, 10)),
    ("25/10/1436هـ", date(2015, 8, 10)),
    ("1436/10/25 هـ", date(2015, 8, 10)),
    ("1 محرم 1437 هـ", date(2015, 10, 14)),
    ("1 صفر 1437", date(2015, 11, 13)),
    ("1 ربيع الأول 1437", date(2015, 12, 12)),
    ("1 ربيع الاول 1437", date(2015, 12, 12)),
    ("1 ربيع أول 1437", date(2015, 12, 12)),
    ("1 ربيع الآخر 1437", date(2016, 1, 11)),
    ("1 ربيع الثاني 1437", date(2016, 1, 11)),
    ("1 جمادى الأولى 1437", date(2016, 2, 10)),
    ("1 جمادى الاولى 1437", date(2016, 2, 10)),
    ("1 جمادى الآخرة 1437", date(2016, 3, 10)),
    ("1 جمادى الثانية 1437", date(2016, 3, 10)),
    ("1 رجب 1437", date(2016, 4, 8)),
    ("1 شعبان 1437", date(2016, 5, 8)),
    ("1 رمضان 1437", date(2016, 6, 6)),
    ("1 ذو القعدة 1436", date(2015, 8, 16)),
    ("1 ذي القعدة 1436", date(2015, 8, 16)),
    ("10 ذو الحجة 1436", date(2015, 9, 23)),  # the table's day; Eid was seen a day later
    ("10 ذي الحجة 1436 هـ", date(2015, 9, 23)),
])
def test_hijri_forms(text: str, expected: date) -> None:
    found = read_date(text)
    assert found is not None and found.calendar == "hijri" and found.at.date() == expected


def test_no_date_without_day_month_and_year() -> None:
    for text in ["5/7/2015", "أمس", "منذ ساعتين", "شوال 1436", "30 صفر 1433 هـ", "32 مارس 2015",
                 "10 آب/أيلول 2015"]:
        assert read_date(text) is None, text
    assert parse_date("10 شوال 1436 هـ", "Asia/Riyadh") == datetime(
        2015, 7, 26, tzinfo=ZoneInfo("Asia/Riyadh"))


def test_both_calendars_agreeing_give_the_gregorian_date(caplog: pytest.LogCaptureFixture) -> None:
    found = read_date("السبت 24 شوال 1436 هـ الموافق 10 أغسطس 2015 م")  # Umm al-Qura: 9 Aug
    assert found is not None and found.calendar == "gregorian"
    assert found.at == datetime(2015, 8, 10) and not caplog.records


def test_both_calendars_disagreeing_keep_the_gregorian_and_log(
        caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="akhbar_normalize.arabic_dates")
    found = read_date("5 ذي الحجة 1436 هـ الموافق 1 يناير 2015 م")
    assert found is not None and found.at == datetime(2015, 1, 1)
    assert [r.levelname for r in caplog.records] == ["WARNING"]
    assert "disagree" in caplog.records[0].getMessage()


def test_dates_far_apart_are_no_pair(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="akhbar_normalize.arabic_dates")
    found = read_date("6 أغسطس 2015م، فيما سيكون الافتتاح يوم الأربعاء 27 شوال 1436هـ")
    assert found is not None and found.at == datetime(2015, 8, 6) and not caplog.records


def test_date_lines_are_recognised() -> None:
    assert looks_like_date("بريدة 25 شوال 1436 هـ الموافق 10 اغسطس 2015 م واس")
    assert looks_like_date("دمشق 10 آب 2015")
    assert looks_like_date("Monday 10 August 2015")  # left to dateparser
    assert not looks_like_date("اختتمت اللجنة زيارتها في 10 آب 2015 بعد لقاءات مع مسؤولين "
                               "في عمان وجنيف وعدد من العواصم الأخرى خلال الأسبوع")


# Relative and weekday dates, the trust order and the future-date check (akhbar_normalize
# .relative_dates, .published). The day's crawl time, as in its rows' `date_extracted`.
CRAWLED = datetime(2015, 8, 10, 18, 52, 49, tzinfo=UTC)
RIYADH = "Asia/Riyadh"
_AGO = re.compile(r'"(\d+ )?(day|hour)s? ago"|"ago (\d+) (day|hour)"|ago=\{"days": (\d+)\}')


def article(body: str, *, title: str = "عنوان الخبر", url: str | None = None,
            published_raw: str | None = None, retrieved_at: datetime | None = CRAWLED,
            ingested_at: datetime | None = None) -> Article:
    return Article(id="0" * 32, source=Source(name="test", kind="inbox"), title=title,
                   body=body, url=url, published_raw=published_raw, retrieved_at=retrieved_at,
                   ingested_at=ingested_at or utcnow())


def normalized(a: Article, timezone: str = "UTC") -> Article:
    return process(a, Settings(default_timezone=timezone))


def relative_test_strings() -> list[tuple[str, timedelta]]:
    """dateparser's Arabic relative strings with how far back each one is, from its own tests
    (`"1 day ago"`, `"ago 2 hour"`, `ago={"days": 3}`)."""
    found = []
    for r in read_tsv(need(DATES / "dateparser_arabic_test_lines.tsv")):
        code = r["code"].replace('""', '"')
        literal = re.search(r'"([^"]*[\u0600-\u06ff][^"]*)"', code)
        ago = _AGO.search(code)
        if literal is None or ago is None:
            continue
        n, unit = ((ago[1] or "1", ago[2]) if ago[2] else (ago[3], ago[4]) if ago[4]
                   else (ago[5], "day"))
        found.append((literal[1], timedelta(**{f"{unit}s": int(n)})))
    return found


def read_tsv(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f, delimiter="\t", quoting=csv.QUOTE_NONE))


def test_dateparsers_relative_strings_count_back_from_the_base() -> None:
    cases = relative_test_strings()
    # «اليوم», «أمس», «يوم أمس», «منذ 2 ساعات», «منذ ساعتين», «منذ يومين», «منذ 3 أيام» …
    assert len(cases) >= 10, cases
    unread = []
    for text, back in cases:
        at = read_relative(text, CRAWLED, RIYADH)
        if at is None:
            unread.append(text)
        elif text.startswith("منذ"):  # a span back from the base time
            assert at == CRAWLED - back, text
        else:  # a calendar day: that day, at midnight where the stamp is read
            assert at == datetime.combine(CRAWLED.astimezone(ZoneInfo(RIYADH)).date() - back,
                                          time(), tzinfo=ZoneInfo(RIYADH)), text
    # «اليوم السابق» (the day before some other day) is no page stamp; «يومين» alone no date.
    assert set(unread) <= {"اليوم السابق", "يومين"}, unread


@pytest.mark.parametrize(("text", "expected"), [
    ("اليوم", datetime(2015, 8, 10)),
    ("أمس", datetime(2015, 8, 9)),
    ("أول أمس", datetime(2015, 8, 8)),
    ("أمس الأول", datetime(2015, 8, 8)),
    ("أمس - 10:30 م", datetime(2015, 8, 9, 22, 30)),
    ("الإثنين", datetime(2015, 8, 10)),  # 10 August 2015 was a Monday
    ("الاثنين 11:25 ص", datetime(2015, 8, 10, 11, 25)),
    ("الأحد", datetime(2015, 8, 9)),
    ("الثلاثاء", datetime(2015, 8, 4)),
    ("نُشر في: أمس", datetime(2015, 8, 9)),
])
def test_relative_days_and_weekdays(text: str, expected: datetime) -> None:
    assert read_relative(text, CRAWLED, "UTC") == expected.replace(tzinfo=ZoneInfo("UTC"))


@pytest.mark.parametrize(("text", "back"), [
    ("منذ ساعتين", timedelta(hours=2)), ("منذ 3 ساعات", timedelta(hours=3)),
    ("منذ ٣ ساعات", timedelta(hours=3)), ("قبل 3 أيام", timedelta(days=3)),
    ("منذ ساعة", timedelta(hours=1)), ("منذ دقائق", timedelta()),
    ("منذ 45 دقيقة", timedelta(minutes=45)), ("منذ أسبوعين", timedelta(weeks=2)),
])
def test_relative_spans(text: str, back: timedelta) -> None:
    assert read_relative(text, CRAWLED) == CRAWLED - back


def test_only_a_whole_stamp_is_a_relative_date() -> None:
    # Opening lines of the developers' day: an outlet's name, a wire service's greeting.
    for text in ["عين اليوم – جدة", "وكالة الأنباء السعودية تحييكم وتبدأ بثها اليوم",
                 "وصلت أمس الطائرة إلى الرياض", "منذ ساعات", "11:25 م", "اليوم السابق"]:
        assert read_relative(text, CRAWLED) is None, text
    assert parse_date("أمس") is None and parse_date("منذ ساعتين") is None  # no clock reading


def test_relative_opening_line_is_read_against_retrieved_at() -> None:
    a = normalized(article("أمس\nوصلت أمس الطائرة إلى الرياض.", retrieved_at=CRAWLED))
    assert (a.published_at, a.published_raw, a.date_source()) == (
        datetime(2015, 8, 9, tzinfo=UTC), "أمس", "relative")
    assert a.body == "وصلت أمس الطائرة إلى الرياض."  # the story's «أمس» is no date stamp


def test_relative_date_without_retrieved_at_is_read_against_ingested_at() -> None:
    a = normalized(article("الخبر كاملا", published_raw="منذ ساعتين", retrieved_at=None,
                           ingested_at=CRAWLED))
    assert a.published_at == CRAWLED - timedelta(hours=2)
    assert (a.published_raw, a.date_source()) == ("منذ ساعتين", "relative")


def test_a_backfill_is_never_dated_today() -> None:
    """Crawled in 2015, ingested now: «أمس» is 9 August 2015, whatever the clock says."""
    for body, raw in [("يوم أمس\nنص الخبر", None), ("نص الخبر", "منذ 3 أيام"),
                      ("الأحد\nنص الخبر", None)]:
        a = normalized(article(body, published_raw=raw, ingested_at=utcnow()))
        assert a.published_at is not None and a.published_at.year == 2015, (body, raw)
        assert a.published_at <= CRAWLED and a.date_source() == "relative"


def test_a_date_after_retrieval_is_no_publication_date(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="akhbar_normalize.published")
    a = normalized(article("نص الخبر", published_raw="2015-08-12T09:00:00+00:00",
                           url="http://www.aleqt.com/2015/08/10/article_1.html"))
    assert (a.published_at, a.date_source()) == (datetime(2015, 8, 10, tzinfo=UTC), "url")
    assert "after the retrieval time" in caplog.text
    # Nothing else to go by: no publication time, the document is placed at its retrieval.
    a = normalized(article("12 أغسطس 2015\nنص الخبر"))
    assert a.published_at is None and a.date_source() == "retrieved"
    assert a.body == "نص الخبر"  # a date stamp all the same: not story text


def test_clock_skew_allows_a_local_time_read_in_utc() -> None:
    """«الإثنين 10 أغسطس 2015 - 11:25 م» is Riyadh time (20:25 UTC), read as UTC 23:25 when
    AKHBAR_DEFAULT_TIMEZONE is left at UTC: 4½ hours after the crawl, within CLOCK_SKEW."""
    a = normalized(article("الإثنين 10 أغسطس 2015 - 11:25 م\nنص الخبر"))
    assert a.published_at == datetime(2015, 8, 10, 23, 25, tzinfo=ZoneInfo("UTC"))
    assert a.published_at - CRAWLED < CLOCK_SKEW and a.date_source() == "body"


@pytest.mark.parametrize(("url", "expected"), [
    ("http://www.aleqt.com/2015/08/10/article_980592.html", date(2015, 8, 10)),
    ("http://example.com/news/2015/8/9/title", date(2015, 8, 9)),
    ("http://example.com/2015-08-10/title", date(2015, 8, 10)),
    ("http://example.com/news/2015-08-10-title.html", date(2015, 8, 10)),
    ("http://www.al-jazirah.com/2015/20150810/ln54.htm", date(2015, 8, 10)),
    ("http://www.okaz.com.sa/new/Issues/20150810/Con20150810788740.htm", date(2015, 8, 10)),
    ("http://example.com/%D8%A3/2015/08/10/", date(2015, 8, 10)),
    ("http://www.alriyadh.com/1072046", None),
    ("http://example.com/2015/08/", None),
    ("http://example.com/2015/13/45/x", None),
    ("http://example.com/item?date=2015/08/10", None),  # the path only
    ("http://www.spa.gov.sa/details.php?id=20150810", None),
    (None, None),
])
def test_url_dates(url: str | None, expected: date | None) -> None:
    found = url_date(url, "UTC")
    assert (found.at.date() if found else None) == expected
    assert found is None or (found.at.time() == time() and found.source == "url")


def test_url_dates_of_the_developers_day() -> None:
    """The three outlets whose URLs carry the issue date are dated by it, the others not."""
    dated: Counter[str] = Counter()
    for r in (json.loads(line) for line in need(NEWS).read_text(encoding="utf-8").splitlines()):
        if (found := url_date(r["url"], "UTC")) is not None:
            assert found.at.date() == date(2015, 8, 10), r["url"]
            dated[r["source"]] += 1
    assert dated == {"aljazirah": 193, "aleqtisadiya": 146, "okaz": 134}


def test_trust_order() -> None:
    day = [datetime(2015, 8, d, tzinfo=UTC) for d in range(5, 10)]
    body = Candidate(day[0], "5 أغسطس 2015", "body")
    relative = Candidate(day[1], "أمس", "body", relative=True)
    url = Candidate(day[2], "/2015/08/07", "url")
    dateline = Candidate(day[3], "بريدة 8 أغسطس 2015 واس", "dateline")
    metadata = Candidate(day[4], "2015-08-09", "metadata")
    everything = [body, relative, url, dateline, metadata]
    assert choose(everything, CRAWLED, utcnow()) == metadata
    assert choose(everything[:4], CRAWLED, utcnow()) == dateline
    assert choose(everything[:3], CRAWLED, utcnow()) == url
    assert choose([relative, body], CRAWLED, utcnow()) == relative  # the first of a kind
    assert choose([body], None, CRAWLED) == body  # ingested_at when nothing says retrieved
    future = Candidate(CRAWLED + CLOCK_SKEW + timedelta(minutes=1), "2015-08-11", "metadata")
    assert choose([future, url], CRAWLED, utcnow()) == url
    assert choose([future], None, CRAWLED) is None
    assert [c.source for c in everything] == ["body", "relative", "url", "dateline", "metadata"]


def test_metadata_outranks_url_and_opening_lines() -> None:
    a = normalized(article("الإثنين 10 أغسطس 2015\nنص الخبر", published_raw="2015-08-09 08:00",
                           url="http://www.aleqt.com/2015/08/08/a.html"))
    assert (a.published_at, a.date_source()) == (datetime(2015, 8, 9, 8, tzinfo=UTC), "metadata")
    assert a.body == "نص الخبر"
    a = normalized(article("الإثنين 10 أغسطس 2015\nنص الخبر",
                           url="http://www.aleqt.com/2015/08/08/a.html"))
    assert (a.published_at, a.date_source()) == (datetime(2015, 8, 8, tzinfo=UTC), "url")


def day_rows() -> dict[int, dict[str, Any]]:
    rows = (json.loads(line) for line in need(NEWS).read_text(encoding="utf-8").splitlines())
    return {r["id"]: r for r in rows}


# Real lines of the developers' day that mention a date in a sentence: a death date, an earlier
# event, this-day-in-history lines, the opening of a festival («تبدأ يوم الخميس 28 شوال»).
STORY_LINES = [(430, 9), (946, 6), (385, 1), (385, 2), (385, 3), (371, 1), (1509, 1)]


@pytest.mark.parametrize(("row", "line"), STORY_LINES)
def test_story_sentences_with_dates_stay_in_the_body(row: int, line: int) -> None:
    r = day_rows()[row]
    text = clean_lines(r["content"])[line]
    assert find_dates(text) or re.search(r"\b(19|20)\d\d\b", text), text  # it states a date
    # Placed first after the title, with no URL to date the article by.
    a = normalized(article(text + "\nبقية الخبر", title=r["title"]))
    assert a.published_at is None and a.date_source() == "retrieved", text
    assert a.body.split(PARAGRAPH_SEP)[0] == text
    assert not looks_like_date(text)


def test_opening_lines_of_the_day_give_dates_only_from_stamps() -> None:
    """Through the stage as the inbox delivers them (crawl time as retrieved_at): the agency's
    datelines are the only opening lines taken, every story line stays."""
    taken: Counter[str] = Counter()
    for r in day_rows().values():
        if not (r["content"].strip() or r["title"].strip()):
            continue  # refused by ingest
        a = normalized(article(r["content"], title=r["title"],
                               retrieved_at=datetime.fromisoformat(r["date_extracted"]).replace(
                                   tzinfo=UTC)))
        if a.published_source in ("dateline", "body"):
            taken[r["source"]] += 1
            assert a.published_raw is not None and looks_like_date(a.published_raw)
            assert read_date(a.published_raw) is not None, a.published_raw
    assert taken == {"was": 191}


def test_the_days_articles_are_dated_where_their_text_or_url_states_a_date(
        bench: dict[str, Any]) -> None:
    """bench/dates.py on the developers' day, its published date withheld (its rows have none;
    the crawl time is retrieved_at): every article whose opening lines or URL state a date is
    dated to it, except one story line; nothing is dated after its retrieval."""
    report = bench["Report"]()
    bench["dated"](need(NEWS), report)
    counts = {kind: {key: (d.articles, d.dated, d.text_states, d.text_right, d.url_states,
                           d.url_right, d.after_retrieved) for key, d in table.items()}
              for kind, table in report.dated.items()}
    assert counts["date_source"] == {"retrieved": (1034, 0, 1, 0, 0, 0, 0),
                                     "url": (473, 473, 0, 0, 473, 473, 0),
                                     "dateline": (190, 190, 190, 190, 0, 0, 0),
                                     "body": (1, 1, 1, 1, 0, 0, 0)}
    assert counts["outlet"]["was"] == (201, 191, 191, 191, 0, 0, 0)
    for outlet in ("aljazirah", "aleqtisadiya", "okaz"):
        n = counts["outlet"][outlet][0]
        assert counts["outlet"][outlet] == (n, n, 0, 0, n, n, 0), outlet
    # The one: «٢- قامت الكلية بتقييد طلبه إلكترونيا بتاريخ ٣ / ٧ / ١٤٣٤هـ …», an item of a
    # story's numbered list (a date in 2013), rightly not taken.
    assert len(report.not_dated_as_stated) == 1
    assert "١٤٣٤هـ" in report.not_dated_as_stated[0]
    assert report.not_dated_as_stated[0].endswith("undated")
