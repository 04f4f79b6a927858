"""Canonical entities: name keys, titles, Latin skeletons, the per-article merge and the junk
rules, on the seeds and on the developers' day."""

from __future__ import annotations

import gzip
import json
import re
import subprocess
import sys
from collections import Counter, defaultdict
from pathlib import Path

import pytest

from akhbar.contract import Article, Entities
from akhbar.orthography import search_form
from akhbar.settings import Settings
from akhbar_enrich.canonical import (
    alias_table,
    canonical,
    entity_id,
    name_key,
    skeleton,
    strip_titles,
)
from akhbar_enrich.entities import entities
from akhbar_enrich.stage import process
from akhbar_enrich.store import MemoryStore
from akhbar_ingest.formats import read_file
from akhbar_normalize.stage import process as normalize
from akhbar_testkit.data import REPO, SHARED, need

DAY = SHARED / "data" / "news" / "saudinewsnet-2015-08-10.jsonl"
BUILD = REPO / "services" / "enrich" / "tools" / "build_aliases.py"
_ARABIC = re.compile("[\u0621-\u064a]")


@pytest.mark.parametrize(("a", "b"), [
    ("سلمان بن عبدالعزيز آل سعود", "سلمان بن عبدالعزيز"),
    ("سلمان بن عبد العزيز", "سلمان بن عبدالعزيز"),
    ("محمد بن نايف بن عبدالعزيز آل سعود", "محمد بن نايف بن عبدالعزيز"),
    ("عبدالله بن محمد بن أحمد العنقري", "عبدالله بن محمد العنقري"),  # grandfather before a surname
    ("محمد ابن نايف", "محمد بن نايف"),
    ("عبد ربه منصور هادي", "عبدربه منصور هادي"),
    ("أحمد إبراهيم", "احمد ابراهيم"),  # hamza forms
    ("مصطفى", "مصطفي"),  # alef maqsura
])
def test_spellings_of_one_name_share_a_key(a: str, b: str) -> None:
    assert name_key(a.split()) == name_key(b.split())


@pytest.mark.parametrize(("a", "b"), [
    ("محمد بن نايف", "محمد بن سلمان"),
    ("محمد بن سلمان", "سلمان بن عبدالعزيز"),
    ("خالد آل دغيم", "خالد"),  # آل without a nasab is the surname
    ("عبدالله بن محمد بن أحمد العنقري", "عبدالله بن محمد"),  # a surname after grandfathers
    ("عبدالله بن صالح بن جمعة", "عبدالله بن صالح بن عبدالرحمن"),  # the grandfather tells them apart
    ("عبدالله بن عبدالعزيز بن مساعد آل سعود", "عبدالله بن عبدالعزيز آل سعود"),
])
def test_different_people_have_different_keys(a: str, b: str) -> None:
    assert name_key(a.split()) != name_key(b.split())


@pytest.mark.parametrize(("written", "name"), [
    ("خادم الحرمين الشريفين الملك سلمان بن عبدالعزيز", "سلمان بن عبدالعزيز"),
    ("ولي العهد الأمير محمد بن نايف", "محمد بن نايف"),
    ("الرئيس الروسي فلاديمير بوتين", "فلاديمير بوتين"),
    ("وزير الخارجية عادل الجبير", "عادل الجبير"),
    ("الرئيس السيسي", "السيسي"),  # the last word stays
    ("الأمير", "الأمير"),
])
def test_titles_are_cut(written: str, name: str) -> None:
    assert " ".join(strip_titles(written.split())) == name


def test_latin_and_arabic_skeletons_meet() -> None:
    assert skeleton("Vladimir Putin") == skeleton("فلاديمير بوتين")
    assert skeleton("Sergei Lavrov") == skeleton("سيرغي لافروف")
    assert skeleton("Vladimir Putin") != skeleton("فرانسوا هولاند")


def test_ids_are_deterministic_and_typed() -> None:
    assert entity_id("persons", ("بوتين",)) == entity_id("persons", ("بوتين",))
    assert entity_id("persons", ("بوتين",)) != entity_id("organizations", ("بوتين",))
    assert re.fullmatch(r"[0-9a-f]{16}", entity_id("misc", ("x",)))


def test_one_article_one_entity_per_person() -> None:
    found = entities(["أكد الرئيس الروسي فلاديمير بوتين دعمه للاتفاق. وقال بوتين إن موسكو "
                      "مستعدة."], ["Russian President Vladimir Putin (C) attends a meeting."])
    [putin] = [m for m in found.persons if "بوتين" in m.aliases]
    assert putin.name == "فلاديمير بوتين"
    assert {"فلاديمير بوتين", "بوتين", "Vladimir Putin"} <= set(putin.aliases)
    assert putin.count >= 3


@pytest.mark.parametrize(("short", "full"), [
    ("الملك سلمان", "خادم الحرمين الشريفين الملك سلمان بن عبدالعزيز آل سعود"),
    ("سلمان بن عبدالعزيز", "سلمان بن عبدالعزيز آل سعود"),
    ("ولي العهد الأمير محمد بن نايف", "محمد بن نايف بن عبدالعزيز آل سعود"),
])
def test_short_forms_alone_reach_the_full_forms_id(short: str, full: str) -> None:
    """In an article that writes only the short form, the alias table gives it the id and the
    name of the full form (the recogniser seldom tags «الملك سلمان» alone: the canonical layer
    is given the mention directly)."""
    [alone] = canonical([("persons", short)], []).persons
    [named] = canonical([("persons", full)], []).persons
    assert (alone.id, alone.name) == (named.id, named.name)
    assert alone.aliases == [short]


def test_junk_rules_on_single_mentions() -> None:
    junk: Counter[str] = Counter()
    found = canonical([("misc", "الله"), ("persons", "وكيل"), ("persons", "عسير"),
                       ("misc", "دولارا"), ("persons", "محمد"),
                       ("organizations", "الشرق الأوسط"), ("persons", "عبداللطيف جميل")],
                      ["وقالت مصادر لـ«الشرق الأوسط» إن دوري عبداللطيف جميل يبدأ غدا."], junk)
    assert found.persons == [] and found.misc == []
    assert [m.name for m in found.locations] == ["عسير"]
    assert [m.name for m in found.organizations] == ["دوري عبداللطيف جميل"]
    assert junk == Counter({"god": 1, "title": 1, "place as person": 1, "common word": 1,
                            "bare name": 1, "own outlet": 1, "institution": 1})


def _ids_by_alias(found: list[Entities], kind: str) -> dict[str, set[str]]:
    ids: dict[str, set[str]] = defaultdict(set)
    for e in found:
        for m in getattr(e, kind):
            for alias in m.aliases:
                ids[search_form(alias)].add(m.id)
    return ids


def test_seeds_name_putin_once_across_outlets(enriched: dict[str, Article]) -> None:
    """Three outlets carry the Putin–Hollande story: «فلاديمير بوتين», «بوتين» and the
    English caption's «Vladimir Putin» are one person with one id in all of them."""
    ids = _ids_by_alias([a.entities for a in enriched.values()], "persons")
    assert len(ids[search_form("فلاديمير بوتين")]) == 1
    assert ids[search_form("بوتين")] == ids[search_form("فلاديمير بوتين")]
    assert ids[search_form("Vladimir Putin")] == ids[search_form("فلاديمير بوتين")]
    for a in enriched.values():
        for kind in ("persons", "organizations", "locations", "misc"):
            mentions = getattr(a.entities, kind)
            assert len({m.id for m in mentions}) == len(mentions), (a.title, kind)


@pytest.fixture(scope="module")
def enriched(seeds: list[Path]) -> dict[str, Article]:
    store = MemoryStore()
    return {p.name[:3]: process(normalize(read_file(p).articles[0], Settings()), store)
            for p in seeds}


NAMED = ("سلمان بن عبد", "الملك سلمان", "محمد بن نايف", "محمد بن سلمان", "عبدربه", "عبد ربه",
         "بوتين", "عسير", "وكيل")


@pytest.fixture(scope="module")
def day() -> list[Entities]:
    """The entities of the day's articles that name the issue's examples (title and content
    lines; a line without Arabic letters is English)."""
    rows = [json.loads(line) for line in need(DAY).read_text(encoding="utf-8").splitlines()]
    found = []
    for row in rows:
        lines = [row["title"] or "", *(row["content"] or "").split("\n")]
        if not any(n in line for line in lines for n in NAMED):
            continue
        found.append(entities([t for t in lines if _ARABIC.search(t)],
                              [t for t in lines if t.strip() and not _ARABIC.search(t)]))
    return found


def test_day_forms_of_one_person_share_an_id(day: list[Entities]) -> None:
    ids = _ids_by_alias(day, "persons")
    for forms in (["سلمان بن عبدالعزيز آل سعود", "سلمان بن عبدالعزيز", "سلمان بن عبد العزيز"],
                  ["محمد بن نايف", "محمد بن نايف بن عبدالعزيز",
                   "محمد بن نايف بن عبدالعزيز آل سعود"],
                  ["عبدربه منصور هادي", "عبد ربه منصور هادي"]):
        seen = [ids[search_form(f)] for f in forms]
        assert all(seen), [f for f, s in zip(forms, seen, strict=True) if not s]
        assert len(set().union(*seen)) == 1, dict(zip(forms, seen, strict=True))
    nayef, = ids[search_form("محمد بن نايف")]
    assert nayef not in ids[search_form("محمد بن سلمان")]


def test_day_persons_hold_no_junk(day: list[Entities]) -> None:
    persons = Counter(search_form(m.name) for e in day for m in e.persons)
    for junk in ("الله", "وكيل", "عسير"):
        assert persons[search_form(junk)] == 0, junk
    assert not [m for e in day for m in e.misc if search_form(m.name) == "الله"]
    regions = Counter(search_form(m.name) for e in day for m in e.locations)
    assert regions[search_form("عسير")] > 0  # the region is a place, not dropped


def test_alias_tool_builds_a_table_of_derived_names(tmp_path: Path) -> None:
    """The tool on a slice of the day (seconds, not the minutes of `make build-aliases`): a
    table of the packaged table's shape, holding names and words, no text."""
    news = tmp_path / "news"
    news.mkdir()
    lines = need(DAY).read_text(encoding="utf-8").splitlines()[:80]
    (news / DAY.name).write_text("\n".join(lines) + "\n", encoding="utf-8")
    out = tmp_path / "aliases.json.gz"
    subprocess.run([sys.executable, str(BUILD), "--news", str(news), "--days", "0",
                    "--out", str(out)], check=True, capture_output=True)
    table = json.loads(gzip.decompress(out.read_bytes()))
    assert table.keys() == alias_table().keys()
    assert table["names"].keys() == alias_table()["names"].keys()
    assert table["names"]["persons"] and table["common"]
    assert "الشرق الاوسط" in table["outlets"]
    longest = max(len(v) for kind in table["names"].values() for v in kind.values())
    assert longest <= 200  # names, not sentences
