"""The normalize stage removes outlet furniture and nothing of the story: on the seed articles, on
saved pages and on the SaudiNewsNet day compared line by line with and without the learner. Also
the title's section prefix and the entities and byte-order marks in titles."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path

import pytest

from akhbar.contract import PARAGRAPH_SEP, Article, RawContent, Source, utcnow
from akhbar.settings import Settings
from akhbar.stages import StageContext
from akhbar_ingest.formats import RecordOptions, mapped_fields, read_file, record_article
from akhbar_normalize import stage
from akhbar_normalize.furniture import HEAD_LINES, MAX_WORDS, TAIL_LINES, line_shape, line_text
from akhbar_testkit.data import SHARED, need

SETTINGS = Settings(route=["normalize"])
NEWS = SHARED / "data" / "news" / "saudinewsnet-2015-08-10.jsonl"
Process = Callable[[Article], Article]


def learner_stage() -> Process:
    """The stage as `akhbar process` runs it: its learner in memory, from its seed."""
    return stage.make(StageContext(SETTINGS))


def plain(article: Article) -> Article:
    """The stage without a furniture learner: the bodies to compare with."""
    return stage.process(article, SETTINGS)


def paragraphs(a: Article) -> list[str]:
    return a.body.split(PARAGRAPH_SEP) if a.body else []


def test_seed_articles_keep_their_bodies(seeds: list[Path]) -> None:
    """The five reference articles (three outlets carrying one story) twice over, as one
    outlet's: nothing of them is furniture, the copies teach nothing."""
    process = learner_stage()
    for _round in range(2):
        for path in seeds:
            article = read_file(path).articles[0]
            got, want = process(article), plain(article)
            assert got.body == want.body and got.title == want.title, path.name
            assert got.section is None


# The saved pages and what their story is: a sentence of it that must stay.
PAGES = {
    "1550981615.html": "وأوضح الدكتور خالد مجاهد، المتحدث الرسمي للوزارة",  # 30 new cases in Egypt
    "1588107198.html": "بلغت حصيلة الوفيات الناجمة عن فيروس كورونا المستجدّ في الولايات المتحدة",
    "1623715966.html": "ثمّن أحمد ساير داودزي، القائم بأعمال السفارة الأفغانية",
    "1691196862.html": "شهد الدكتور محمد عبد العاطي وزير الموارد المائية والرى",  # a study contract
    "1731695567.html": "يصادف اليوم ذكرى ميلاد الفنانة نعيمة عاكف",
    "1764731404.html": "بسرقة أغراض فاخرة بقيمة 700 ألف دولار",  # a burglary in Paris
    "1784190729.html": "شيعت إيران أمس الإثنين جثمان العالم النووي",
    "1806793639.html": "بشأن إصابة الفنانة يسرا بفيروس كورونا",
}


def test_without_a_learner_titles_and_bodies_stay_whole() -> None:
    article = Article(id="0" * 32, source=Source(name="was", kind="inbox"), ingested_at=utcnow(),
                      title="عام / خادم الحرمين يستقبل", body="نص الخبر\n20:26 ت م")
    a = plain(article)
    assert (a.section, a.title, paragraphs(a)) == (None, article.title, ["نص الخبر", "20:26 ت م"])
    a = learner_stage()(article)  # the seed knows `was`
    assert (a.section, a.title, paragraphs(a)) == ("عام", "خادم الحرمين يستقبل", ["نص الخبر"])


def test_saved_pages_keep_their_story() -> None:
    """Every saved page (the eight Arabic ones and three Persian), three times as one outlet's:
    each body is the body without the learner, its story sentence and its closing lines (the
    short «--(بترا)» credit too) included."""
    html_dir = need(SHARED / "data" / "html")
    process = learner_stage()
    pages = sorted(html_dir.glob("*.html"))
    assert set(PAGES) < {p.name for p in pages}
    for _round in range(3):
        for page in pages:
            article = Article(id="0" * 32, source=Source(name="pages", kind="inbox"),
                              ingested_at=utcnow(),
                              raw=RawContent.from_bytes(page.read_bytes(), "text/html"))
            got, want = process(article), plain(article)
            assert paragraphs(got) == paragraphs(want), page.name
            if page.name in PAGES:
                assert PAGES[page.name] in got.body, page.name
    assert paragraphs(got)[-1]  # the last page's closing line is there


LINK = re.compile(r"رابط الخبر بصحيفة الوئام: .+")
TAGS = re.compile(r"سمات(?: [^ .!؟]+)+")  # 3alyoum's tags, run on or a line of their own
# The furniture the day holds, by family (bench/furniture.py --removed lists every line).
KNOWN = re.compile("|".join([
    r"\d{1,2}:\d{2} ت م", r"// انتهى //", r"// يتبع //",  # agency time stamp, end marks
    LINK.pattern,  # the link line repeating the headline
    r"للتواصل مع الكاتب ارسل رسالة SMS", r"تبدأ بالرمز \(\d+\) ثم مسافة ثم نص الرسالة إلى",
    r"\d+ - (?:Stc|Mobily|Zain)", r"للتواصل أرسل sms إلى \d+",
    r"زين تبدأ بالرمز \d+ مسافة ثم الرسالة",
    # 3alyoum's bylines: outlet – place, author – outlet.
    r"عين اليوم – \S+", r"\S+ \S+ – عين اليوم",
    r"\.\.\.المزيد",  # aawsat's "more" link
    TAGS.pattern,
]))


@pytest.fixture(scope="module")
def day() -> list[tuple[Article, Article]]:
    """The day's articles after the stage, without and with the learner."""
    options = RecordOptions(field_map={"content": "body", "date_extracted": "retrieved_at"})
    process = learner_stage()
    out = []
    for line in need(NEWS).read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        if not (row["title"].strip() or row["content"].strip()):
            continue  # the day's two empty rows, refused by ingest
        article = record_article(mapped_fields(row, options)[0],
                                 Source(name="inbox", kind="inbox"))
        out.append((plain(article), process(article)))
    return out


def test_day_loses_only_furniture_lines(day: list[tuple[Article, Article]]) -> None:
    """Line by line: the bodies with the learner are the bodies without it less some short edge
    lines, every one of a known furniture family; the story paragraphs all stay."""
    removed = 0
    for before, after in day:
        lines, kept = paragraphs(before), paragraphs(after)
        n = len(lines)
        j = 0
        for i, line in enumerate(lines):
            if j < len(kept) and kept[j] == line:
                j += 1
                continue
            removed += 1
            if i == n - 1 and j == len(kept) - 1 and line_text(line).startswith(kept[j]):
                # A link line or tags run on into the last paragraph: only they were cut.
                cut = line_text(line)[len(kept[j]):].strip()
                assert LINK.fullmatch(cut) or TAGS.fullmatch(cut), line
                j += 1
                continue
            assert i < HEAD_LINES or i >= n - TAIL_LINES, (before.source.name, line)
            assert len(line_shape(line, before.title).split()) <= MAX_WORDS
            assert KNOWN.fullmatch(line), (before.source.name, line)
        assert j == len(kept), before.title  # kept is lines less removals, in order
    assert removed > 500  # the end marks, time stamps, link lines and SMS blocks of the day


def test_day_bodies_hold_no_listed_furniture(day: list[tuple[Article, Article]]) -> None:
    left = [(a.source.name, p) for _, a in day for p in paragraphs(a)
            if re.fullmatch(r"\d{1,2}:\d{2} ت م|// انتهى //|\d+ - (?:Stc|Mobily|Zain)|"
                            r"للتواصل مع الكاتب ارسل رسالة SMS", p) or LINK.search(p)
            or re.search(r"(?:^|[.!؟]\S* )" + TAGS.pattern + "$", p)]
    # Nor a link line (8 alweeam articles of the day) or tags (83 of 86 3alyoum) run on.
    assert left == []


def test_section_prefixes_leave_the_title(day: list[tuple[Article, Article]]) -> None:
    was = [a for _, a in day if a.source.name == "was"]
    assert sum(a.section is not None for a in was) == 200
    assert {"عام", "اقتصادي", "سياسي"} <= {a.section for a in was}
    assert not any(re.match(r"\S+ / ", a.title) for a in was)
    # No other outlet's title loses a word.
    assert not [a.title for _, a in day if a.source.name != "was" and a.section]


def test_titles_and_bodies_read_entities_and_drop_byte_order_marks(
        day: list[tuple[Article, Article]]) -> None:
    titles = [a.title for _, a in day]
    assert "'سول' تدين 'بيونجيانج' بسبب انفجار لغم أرضي" in " ".join(titles)
    for _, a in day:
        assert not re.search(r"&(?:#\d+|quot|amp|lt|gt);|\ufeff", a.title + a.body), a.title
    assert any(t.startswith("مساجلة شعرية بين ضاحي خلفان") for t in titles)
