"""A byline's places told from its persons by the gazetteer and the recogniser, on the forms and
on every author field and opening byline of the SaudiNewsNet day."""

from __future__ import annotations

import json
from collections import Counter

import pytest

from akhbar.contract import AUTHOR_SEP, Article, ContractError, Dateline, Source, utcnow
from akhbar.settings import Settings
from akhbar_enrich.bylines import settle_byline
from akhbar_enrich.places import geocode, lookup
from akhbar_normalize.datelines import read_byline, read_dateline
from akhbar_normalize.stage import process as normalize
from akhbar_testkit.data import SHARED, need

DAY = SHARED / "data" / "news" / "saudinewsnet-2015-08-10.jsonl"


@pytest.mark.parametrize(("byline", "place", "author"), [
    ("أولجاس أويزوف - رويترز", None, "أولجاس أويزوف"),  # a reporter, not a place
    ("الرياض - واس", "الرياض", None),
    ("مكة المكرمة - واس", "مكة المكرمة", None),
    ("مكة المكرمة - سامي علي", "مكة المكرمة", "سامي علي"),  # a long place name
    ("محمد ماهر - القدس المحتلة", "القدس المحتلة", "محمد ماهر"),
    ("المدينة المنورة - الجزيرة:", "المدينة المنورة", None),
    ("الجزيرة - سلطان المواش:", None, "سلطان المواش"),
    ("جدة - محمد حميدان", "جدة", "محمد حميدان"),
    ("محمد بوحميدة - إبراهيم جبريل - الأحساء - مكة المكرمة", "الأحساء",
     "محمد بوحميدة، إبراهيم جبريل"),  # the second place stays in the raw text only
    ("حفر الباطن - عبدالله السعيدي", None, "حفر الباطن، عبدالله السعيدي"),  # neither knows it
])
def test_author_field_bylines(byline: str, place: str | None, author: str | None) -> None:
    found = read_byline(byline)
    assert found is not None
    dateline, who = settle_byline(found.dateline, found.author)
    assert dateline is not None and dateline.raw == byline
    assert (dateline.place, who) == (place, author)


@pytest.mark.parametrize(("line", "place", "author"), [
    ("عين اليوم – هيفاء عبدالله", None, "هيفاء عبدالله"),  # a person read as the place before
    ("عين اليوم – جدة", "جدة", None),
    ("عين اليوم – القدس المحتلة", "القدس المحتلة", None),
    ("عين اليوم – إسلام آباد", "إسلام آباد", None),
    ("سانتياجو :رويترز", "سانتياجو", None),  # the recogniser's person, but one word
    ("داليا أبوالعيش – عين اليوم", None, "داليا أبوالعيش"),
])
def test_body_bylines(line: str, place: str | None, author: str | None) -> None:
    found = read_dateline(line)
    assert found is not None
    dateline, who = settle_byline(found.dateline, found.author)
    assert dateline is not None and (dateline.place, who) == (place, author)


def test_an_author_from_metadata_stays_when_the_byline_does_not_write_it() -> None:
    dateline = Dateline(raw="عين اليوم – متابعات", agency="عين اليوم")
    assert settle_byline(dateline, "مكة المكرمة") == (dateline, "مكة المكرمة")
    assert settle_byline(None, "جدة") == (None, "جدة")


def test_the_days_bylines() -> None:
    """The day through normalize and the byline check: per outlet, the articles with a
    dateline place and with one the gazetteer resolves; no author left holds a place the
    gazetteer knows; the reporter and the person read as a place are authors."""
    places: Counter[str] = Counter()
    resolved: Counter[str] = Counter()
    authors: dict[str, str | None] = {}
    for r in map(json.loads, need(DAY).read_text("utf-8").splitlines()):
        try:
            a = normalize(Article(id="0" * 32, source=Source(name=r["source"], kind="inbox"),
                                  ingested_at=utcnow(), title=r["title"], body=r["content"],
                                  author=r["author"] or None), Settings())
        except ContractError:
            continue
        dateline, author = settle_byline(a.dateline, a.author)
        if author is not None:
            assert not any(lookup(n) for n in author.split(AUTHOR_SEP)), (r["author"], author)
        if dateline is not None and dateline.place is not None:
            places[r["source"]] += 1
            resolved[r["source"]] += any(p.dateline for p in geocode([], dateline.place))
        authors[dateline.raw if dateline else r["author"]] = author
    assert authors["أولجاس أويزوف - رويترز"] == "أولجاس أويزوف"
    assert authors["عين اليوم – هيفاء عبدالله"] == "هيفاء عبدالله"
    assert authors["الرياض - واس"] is None
    assert places == {
        "3alyoum": 34, "aawsat": 104, "aleqtisadiya": 118, "aljazirah": 97, "almadina": 141,
        "alriyadh": 197, "alwatan": 93, "alweeam": 63, "alyaum": 139, "okaz": 104, "sabq": 1,
        "was": 190}
    assert resolved == {
        "3alyoum": 33, "aawsat": 101, "aleqtisadiya": 116, "aljazirah": 80, "almadina": 138,
        "alriyadh": 182, "alwatan": 91, "alweeam": 61, "alyaum": 133, "okaz": 95, "sabq": 1,
        "was": 184}
