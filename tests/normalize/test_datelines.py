"""Datelines and bylines: read on the forms of the data, never on a story sentence, and taken out
of the body and nothing else (bodies compared line by line with the reader switched off)."""

from __future__ import annotations

import html
import json
import re
import zipfile
from collections import Counter
from datetime import date

import pytest

from akhbar.contract import (
    AUTHOR_SEP,
    PARAGRAPH_SEP,
    Article,
    ContractError,
    RawContent,
    Source,
    utcnow,
)
from akhbar.orthography import search_form
from akhbar.settings import Settings
from akhbar_ingest.formats import read_file
from akhbar_normalize import cleaning
from akhbar_normalize.datelines import AGENCIES, BYLINE_OUTLETS, OUTLETS, read_byline, read_dateline
from akhbar_normalize.stage import process
from akhbar_testkit.data import SEEDS, SHARED, need

SETTINGS = Settings()
NEWS = SHARED / "data" / "news" / "saudinewsnet-2015-08-10.jsonl"
MORE_DAY = SHARED / "data" / "news" / "more" / "2015-07-21.zip"
HTML = SHARED / "data" / "html"


@pytest.mark.parametrize(("line", "place", "agency", "date_", "author", "rest"), [
    ("بريدة 25 شوال 1436 هـ الموافق 10 اغسطس 2015 م واس", "بريدة", "واس",
     "25 شوال 1436 هـ الموافق 10 اغسطس 2015 م", None, ""),
    ("مكة المكرمة 25 شوال 1436 هـ الموافق 10 أغسطس 2015 م واس", "مكة المكرمة", "واس",
     "25 شوال 1436 هـ الموافق 10 أغسطس 2015 م", None, ""),
    ("الدمام25 شوال 1436 هـ الموافق 10 أغسطس 2015 م واس", "الدمام", "واس",
     "25 شوال 1436 هـ الموافق 10 أغسطس 2015 م", None, ""),
    ("الإثنين 25 شوال 1436 هـ الموافق 10 اغسطس 2015 م واس", None, "واس",
     "25 شوال 1436 هـ الموافق 10 اغسطس 2015 م", None, ""),
    ("دمشق-سانا", "دمشق", "سانا", None, None, ""),
    ("دمشق - سانا", "دمشق", "سانا", None, None, ""),
    ("الرباط، 10 غشت 2015 (ومع)", "الرباط", "ومع", "10 غشت 2015", None, ""),
    ("(أ ف ب)", None, "أ ف ب", None, None, ""),
    ("بغداد - أ. ف. ب.", "بغداد", "أ ف ب", None, None, ""),
    ("لندن :(أ ف ب)", "لندن", "أ ف ب", None, None, ""),
    ("ستوكهولم - فرانس برس", "ستوكهولم", "أ ف ب", None, None, ""),
    ("كولومبو - (د ب أ)", "كولومبو", "د ب أ", None, None, ""),
    ("القاهرة (رويترز) - قال وزير الخارجية", "القاهرة", "رويترز", None, None,
     "قال وزير الخارجية"),
    ("باريس - أ ف ب: أعلنت الحكومة", "باريس", "أ ف ب", None, None, "أعلنت الحكومة"),
    ("عين اليوم – جدة", "جدة", "عين اليوم", None, None, ""),
    ("عين اليوم – متابعات", None, "عين اليوم", None, None, ""),
    ("داليا أبوالعيش – عين اليوم", None, "عين اليوم", None, "داليا أبوالعيش", ""),
    ("سلوى المدني ـ عين اليوم", None, "عين اليوم", None, "سلوى المدني", ""),
    ("عبدالرحمن الشهري، رغد عشميل – عين اليوم", None, "عين اليوم", None,
     "عبدالرحمن الشهري، رغد عشميل", ""),
    ("عبدالله الراجحي- سبق- جدة: ذكرت مصادر مطلعة", "جدة", "سبق", None, "عبدالله الراجحي",
     "ذكرت مصادر مطلعة"),
    ("الجزيرة - واس:", None, "واس", None, None, ""),
    ("\u200fأبها - واس", "أبها", "واس", None, None, ""),  # a direction mark left out
])
def test_dateline_forms(line: str, place: str | None, agency: str, date_: str | None,
                        author: str | None, rest: str) -> None:
    found = read_dateline(line)
    assert found is not None
    assert (found.dateline.place, found.dateline.agency, found.date, found.author, found.rest) == (
        place, agency, date_, author, rest)
    assert found.dateline.raw == line[:len(line) - len(rest)].strip()


@pytest.mark.parametrize("line", [
    "ذكرت وكالة الأنباء السعودية (واس) أن الوزير وصل",
    "قال مصدر لـ«واس»: إن الاجتماع انتهى",
    "أعلنت سانا أن الجيش تقدم",
    "واصل الذهب تعافيه من الانخفاضات الأخيرة اليوم الاثنين 10 أغسطس 2015 م",
    "تبدأ الفعاليات يوم الخميس 28 شوال 1436 هـ في بريدة وفق واس",
    "رغد عشميل – متابعات",  # a byline without an agency or outlet: no dateline shape
    "بريدة 25 شوال 1436 هـ",  # a date line without an agency: left to the date reader
    "عين اليوم – أتلانتا، أمريكا، حيث وصل الوفد",
    "نايف عبدالله – عين اليوم (تصوير: علي الزهراني) حاورت الفنانة",
])
def test_story_sentences_are_no_datelines(line: str) -> None:
    assert read_dateline(line) is None


@pytest.mark.parametrize(("field", "place", "credit", "author"), [
    ("الرياض - واس", "الرياض", "واس", None),
    ("واس (جدة)", "جدة", "واس", None),
    ("لندن :(أ ف ب)", "لندن", "أ ف ب", None),
    ("عدن: الوكالات", "عدن", "الوكالات", None),
    ("الوئام - رويترز:", None, "رويترز", None),
    ("مكة المكرمة - واس", "مكة المكرمة", "واس", None),  # an agency's one name is its place
    ("أولجاس أويزوف - رويترز", "أولجاس أويزوف", "رويترز", None),  # enrich corrects it
    ("جدة - محمد حميدان", "جدة", None, "محمد حميدان"),
    ("محمد البيضاني - الباحة", "الباحة", None, "محمد البيضاني"),
    ("القاهرة: عبد الستار حتيتة", "القاهرة", None, "عبد الستار حتيتة"),
    ("\xa0علي الرباعي (الباحة)", "الباحة", None, "علي الرباعي"),
    ("عادل الخنين من الرياض", "الرياض", None, "عادل الخنين"),
    ("«الاقتصادية» من الرياض", "الرياض", "الاقتصادية", None),
    ("لندن: «الشرق الأوسط أونلاين»", "لندن", "الشرق الأوسط", None),
    ("اليوم - الدمام", "الدمام", "اليوم", None),
    ("الجزيرة - سلطان المواش:", None, "الجزيرة", "سلطان المواش"),
    ("القاهرة - الجزيرة:", "القاهرة", "الجزيرة", None),
    ("الرياض، الأحساء: واس، عدنان الغزال", "الرياض", "واس", "عدنان الغزال"),
    ("عبدالله الدهاس (مكة المكرمة)، أحمد اللحياني (صنعاء ــ هاتفياً)", "مكة المكرمة", None,
     "عبدالله الدهاس، أحمد اللحياني"),
    ("كتب - عيسى الحكمي:", None, None, "عيسى الحكمي"),
    ("مكة المكرمة - سامي علي / تصوير - سليمان وهيب:", None, None, "مكة المكرمة، سامي علي"),
    ("&nbsp;أ ف ب (بيروت)", "بيروت", "أ ف ب", None),
])
def test_author_field_bylines(field: str, place: str | None, credit: str | None,
                              author: str | None) -> None:
    found = read_byline(field)
    assert found is not None
    assert (found.dateline.place, found.dateline.agency, found.author) == (place, credit, author)


@pytest.mark.parametrize("field", [
    "خلف الحربي", "د. جاسر الحربش", "أ.د. جابر بن سالم القحطاني",  # a columnist: one name
    "- الهلال سيكون \"فريقاً مرعباً\" مع سامي هذا الموسم",  # a pull quote, no name
])
def test_a_persons_name_is_no_byline(field: str) -> None:
    assert read_byline(field) is None


CREDIT_NAMES = {search_form(s) for table in (AGENCIES, OUTLETS, BYLINE_OUTLETS)
                for spellings in table.values() for s in spellings}


def test_the_days_author_fields_keep_persons_only() -> None:
    """Every author field of the day: an agency's or outlet's dateline gives the credit and
    leaves no author, and no author left holds an agency, an outlet or a byline's dashes."""
    records = [json.loads(line) for line in need(NEWS).read_text("utf-8").splitlines()]
    credited: Counter[str] = Counter()
    for r in records:
        if not r["author"].strip():
            continue
        try:
            a = process(_record_article(r), SETTINGS)
        except ContractError:
            continue
        if a.author is not None:
            for name in a.author.split(AUTHOR_SEP):
                assert search_form(name) not in CREDIT_NAMES, (r["author"], a.author)
                assert not re.search(r"[-–—:()]", name), (r["author"], a.author)
            if not re.search(r"[-–—:(،]|\sـ+\s| من ", r["author"]):  # one name: the field itself
                assert a.author == " ".join(html.unescape(r["author"]).split())  # spaces folded
        if (byline := read_byline(r["author"])) is not None and byline.dateline.agency:
            assert a.credit == byline.dateline.agency
            credited[r["source"]] += 1
    assert credited == {
        "aawsat": 61, "aleqtisadiya": 100, "aljazirah": 70, "almadina": 52, "alriyadh": 90,
        "alwatan": 39, "alweeam": 84, "alyaum": 102, "okaz": 29, "sabq": 2}


def _record_article(r: dict[str, str]) -> Article:
    return Article(id="0" * 32, source=Source(name=r["source"], kind="inbox"),
                   ingested_at=utcnow(), title=r["title"], body=r["content"],
                   author=r["author"] or None)


def _with_and_without(article: Article,
                      monkeypatch: pytest.MonkeyPatch) -> tuple[Article, Article] | None:
    """The article normalized with the dateline reader, and with it switched off."""
    try:
        after = process(article, SETTINGS)
    except ContractError:  # no text at all: nothing to compare
        return None
    with monkeypatch.context() as m:
        m.setattr(cleaning, "read_dateline", lambda line: None)
        before = process(article, SETTINGS)
    return after, before


def assert_only_the_dateline_left(after: Article, before: Article) -> None:
    """The body lost exactly the dateline: a whole first paragraph, or an inline prefix whose
    sentence stays the first paragraph (a whole dateline that was a date line or a caption
    before was not in the body then)."""
    a, b = after.body.split(PARAGRAPH_SEP), before.body.split(PARAGRAPH_SEP)
    if after.dateline is None or (after.dateline == before.dateline and a == b):
        assert a == b  # no dateline, or the author field's: the body is untouched
        return
    raw = after.dateline.raw
    if a[:1] != b[:1] and len(a) == len(b):  # an inline prefix
        assert b[0] == f"{raw} {a[0]}" and a[1:] == b[1:]
    else:
        assert [p for p in b if p != raw] == a and len(b) - len(a) <= 1
        assert raw in b or raw == before.published_raw or raw in before.captions
        assert after.captions == [c for c in before.captions if c != raw]
    assert after.title == before.title


def test_the_days_datelines_leave_the_body_and_nothing_else(
        monkeypatch: pytest.MonkeyPatch) -> None:
    records = [json.loads(line) for line in need(NEWS).read_text("utf-8").splitlines()]
    found: Counter[str] = Counter()
    for r in records:
        pair = _with_and_without(_record_article(r), monkeypatch)
        if pair is None:
            continue
        after, before = pair
        assert_only_the_dateline_left(after, before)
        if after.dateline == before.dateline and after.body == before.body:
            continue  # none in the body (the author field's is read with the reader off too)
        found[r["source"]] += 1
        assert after.credit == after.dateline.agency
        if r["source"] == "was":
            assert after.dateline.agency == "واس" and after.dateline.place
            assert after.published_source == "dateline"
            assert after.published_at is not None
            assert after.published_at.date() == date(2015, 8, 10)
    # was: every article that opens with a dateline (13 are continuations «إضافة …»,
    # «سادساً :» or start mid-story; one opens with a greeting line before its date line).
    # 3alyoum: its bylines with the outlet's name; sabq: both inline bylines.
    assert found == {"was": 190, "3alyoum": 72, "sabq": 2}


def test_bylines_fill_an_empty_author() -> None:
    records = [json.loads(line) for line in need(NEWS).read_text("utf-8").splitlines()]
    r = next(r for r in records if r["content"].lstrip().startswith("داليا أبوالعيش – عين اليوم"))
    a = process(_record_article(r), SETTINGS)
    assert (a.author, a.credit, a.dateline and a.dateline.place) == (
        "داليا أبوالعيش", "عين اليوم", None)
    assert not a.body.startswith("داليا")


def test_a_crawl_days_inline_bylines_keep_their_sentence(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Sabq opens its paragraphs with «… - سبق - المدينة: »; the sentence stays."""
    with zipfile.ZipFile(need(MORE_DAY)) as zf:
        records = [r for n in zf.namelist() if n.endswith(".json")
                   for r in _records(zf.read(n).decode("utf-8"))]
    inline = 0
    for r in records[::5]:  # a fifth of the day: every outlet, a bounded cost
        pair = _with_and_without(_record_article(r), monkeypatch)
        if pair is None:
            continue
        after, before = pair
        assert_only_the_dateline_left(after, before)
        inline += after.dateline is not None and after.body != before.body and (
            after.body.split(PARAGRAPH_SEP)[0] in before.body.split(PARAGRAPH_SEP)[0])
    assert inline > 10


def _records(text: str) -> list[dict[str, str]]:
    data = json.loads(text)
    return data if isinstance(data, list) else [data]


def test_seeds_and_saved_pages_lose_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    articles = [a for p in sorted(need(SEEDS).glob("*.txt")) for a in read_file(p).articles]
    articles += [Article(id="0" * 32, source=Source(name="t", kind="inbox"),
                         ingested_at=utcnow(),
                         raw=RawContent.from_bytes(p.read_bytes(), "text/html"))
                 for p in sorted(need(HTML).glob("*.html"))]
    for article in articles:
        pair = _with_and_without(article, monkeypatch)
        assert pair is not None
        assert_only_the_dateline_left(*pair)


def test_no_dateline_in_a_body_without_one() -> None:
    a = process(Article(id="0" * 32, source=Source(name="t", kind="inbox"), ingested_at=utcnow(),
                        title="عنوان", body="قال وزير الخارجية إن الاجتماع انتهى."), SETTINGS)
    assert a.dateline is None and a.credit is None


def test_metadata_date_outranks_the_datelines() -> None:
    a = process(Article(id="0" * 32, source=Source(name="t", kind="inbox"), ingested_at=utcnow(),
                        title="عنوان", published_raw="2015-08-11T09:00:00+03:00",
                        body="جنيف 25 شوال 1436 هـ الموافق 10 اغسطس 2015 م واس\nاختتمت اللجنة."),
                SETTINGS)
    assert a.published_source == "metadata" and a.published_at is not None
    assert a.published_at.date() == date(2015, 8, 11)
    assert a.dateline is not None and a.dateline.place == "جنيف" and a.body == "اختتمت اللجنة."


@pytest.mark.parametrize("line", ["ـــ - واس", "جدة - \u064b - واس"])
def test_a_part_of_marks_only_is_no_dateline_and_no_error(line: str) -> None:
    """A part that folds to nothing (tatweel, a lone harakah) stops the reading, not the stage."""
    assert read_dateline(line) is None
