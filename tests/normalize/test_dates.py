"""Arabic date forms: the real date strings of ../shared/data/dates through bench/dates.py (its
figures asserted), the Saudi Press Agency datelines of the developers' day, and unit cases for
every regional month-name set and the rule for lines giving both calendars."""

from __future__ import annotations

import json
import logging
import runpy
from datetime import date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from akhbar.contract import Article, Source, utcnow
from akhbar.settings import Settings
from akhbar_normalize.arabic_dates import read_date
from akhbar_normalize.cleaning import clean_lines
from akhbar_normalize.dates import looks_like_date, parse_date
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
