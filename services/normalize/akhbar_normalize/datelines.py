"""Datelines and bylines: the opening line that says where a report is filed from and which
agency or outlet files it («بريدة 25 شوال 1436 هـ الموافق 10 اغسطس 2015 م واس», «دمشق - سانا»,
«الرباط، 10 غشت 2015 (ومع)», «(أ ف ب)», «عين اليوم – جدة», «داليا أبوالعيش – عين اليوم»), whole
or as the prefix of the first paragraph («عبدالله الراجحي- سبق- جدة: ذكرت مصادر…»).

A line is read as one only when every part of it has a dateline's shape: an agency or outlet
of the tables below, a date and nothing else (read by arabic_dates), or a short name (the
place, or an author before an outlet). A story sentence has parts of no such shape, so it is
never taken. Pure functions over one line."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from akhbar.contract import Dateline
from akhbar.orthography import search_form
from akhbar_normalize.arabic_dates import DATE, read_date

# Canonical name → spellings (matched in search form, dots read as spaces: «أ.ف.ب» = «أ ف ب»).
AGENCIES: dict[str, list[str]] = {
    "واس": ["واس", "وكالة الأنباء السعودية"],
    "سانا": ["سانا", "وكالة الأنباء السورية", "الوكالة العربية السورية للأنباء"],
    "واج": ["واج", "وكالة الأنباء الجزائرية"],
    "ومع": ["ومع", "و م ع", "وكالة المغرب العربي للأنباء"],
    "وات": ["وات", "وكالة تونس أفريقيا للأنباء"],
    "كونا": ["كونا", "وكالة الأنباء الكويتية"],
    "قنا": ["قنا", "وكالة الأنباء القطرية"],
    "وام": ["وام", "وكالة أنباء الإمارات"],
    "بنا": ["بنا", "وكالة أنباء البحرين"],
    "العمانية": ["العمانية", "وكالة الأنباء العمانية"],
    "بترا": ["بترا", "وكالة الأنباء الأردنية"],
    "أ ش أ": ["أ ش أ", "وكالة أنباء الشرق الأوسط"],
    "وفا": ["وفا", "وكالة الأنباء الفلسطينية"],
    "سبأ": ["سبأ", "وكالة الأنباء اليمنية"],
    "أ ف ب": ["أ ف ب", "ا ف ب", "فرانس برس", "وكالة فرانس برس", "الفرنسية", "AFP"],
    "رويترز": ["رويترز", "وكالة رويترز", "Reuters"],
    "د ب أ": ["د ب أ", "الألمانية", "وكالة الأنباء الألمانية", "DPA"],
    "أ ب": ["أ ب", "أسوشيتد برس", "أسوشيتدبرس", "أسوشيتيد برس", "AP"],
    "الأناضول": ["الأناضول", "وكالة الأناضول"],
    "شينخوا": ["شينخوا", "وكالة شينخوا"],
    "الوكالات": ["الوكالات", "وكالات"],
}
# Outlets that sign their own reports in the opening line («عين اليوم – جدة», «… - سبق - جدة:»).
# A name here is never a place: «الجزيرة - واس:» is the paper's copy of an agency report.
OUTLETS: dict[str, list[str]] = {
    "عين اليوم": ["عين اليوم"], "سبق": ["سبق"], "الوئام": ["الوئام"], "الرياضي": ["الرياضي"],
    "الجزيرة": ["الجزيرة"], "عكاظ": ["عكاظ"], "الاقتصادية": ["الاقتصادية"],
}
# «متابعات»: compiled from other media; names neither a place nor an author.
COMPILED = frozenset(map(search_form, ["متابعات", "متابعة"]))
WEEKDAYS = frozenset(map(search_form, [
    "السبت", "الأحد", "الاثنين", "الإثنين", "الثلاثاء", "الأربعاء", "الخميس", "الجمعة"]))
# What may stand between and around the two calendars' dates of one dateline.
DATE_GLUE = frozenset(map(search_form, ["الموافق", "م", "هـ", "ه"]))
MAX_PLACE_WORDS = 3  # «مكة المكرمة», «القدس المحتلة», «خميس مشيط»
MAX_AUTHOR_WORDS = 4
MAX_WORDS = 20  # a whole dateline line, or the prefix of an inline one
MAX_PREFIX_CHARS = 80
# Parts are separated by dashes (a spaced tatweel too: «سلوى المدني ـ عين اليوم»), colons,
# commas and parentheses.
_SPLIT = re.compile(r"\s*(?:[-–—:،,()]|(?<=\s)ـ(?=\s))\s*")
# Where an inline prefix may end: a colon («باريس - أ ف ب: …»), or a closing parenthesis and
# a dash («القاهرة (رويترز) - …»). A bare dash may be the byline's own («عين اليوم – جدة»).
_PREFIX_END = re.compile(r"\s*(?::|\)\s*[-–—:]?)\s*")
_DIGIT = re.compile(r"\d")


def _visible(part: str) -> str:
    """Without direction marks and other invisible format characters («\u200fأبها»)."""
    return "".join(c for c in part if unicodedata.category(c) != "Cf").strip()


def _key(text: str) -> str:
    return " ".join(search_form(text).replace(".", " ").split())


_AGENCY = {_key(s): name for name, spellings in AGENCIES.items() for s in spellings}
_OUTLET = {_key(s): name for name, spellings in OUTLETS.items() for s in spellings}


@dataclass(frozen=True)
class Found:
    """A dateline read from the top of a body."""

    dateline: Dateline
    date: str | None  # the date it states, as written (for dates.parse_date)
    author: str | None  # a signed byline's author («داليا أبوالعيش – عين اليوم»)
    rest: str  # the story text after an inline prefix; "" when the whole line is the dateline


@dataclass(frozen=True)
class _Parts:
    place: str | None
    agency: str
    date: str | None
    author: str | None


def read_dateline(line: str) -> Found | None:
    """The dateline that `line` is or begins with, or None."""
    line = line.strip()
    if (parts := _read(line)) is not None:
        return _found(line, parts, "")
    # The longest prefix that reads: «لندن :(أ ف ب) - …» is one dateline, not «لندن :».
    for m in reversed(list(_PREFIX_END.finditer(line[:MAX_PREFIX_CHARS]))):
        prefix, rest = line[:m.end()].strip(), line[m.end():].strip()
        if rest and prefix.count("(") == prefix.count(")") and (parts := _read(prefix)):
            return _found(prefix, parts, rest)
    return None


def _found(raw: str, p: _Parts, rest: str) -> Found:
    return Found(Dateline(raw=raw, place=p.place, agency=p.agency), p.date, p.author, rest)


def _read(text: str) -> _Parts | None:
    """The parts of a whole dateline, or None when any part has another shape."""
    text = text.rstrip(":-–— ")
    if not text or len(text.split()) > MAX_WORDS:
        return None
    names: list[tuple[int, str]] = []  # (position among the parts, name as written)
    agency = outlet = date = None
    outlet_at = -1
    for i, part in enumerate(p for p in map(_visible, _SPLIT.split(text)) if p):
        key = _key(part)
        if key in _AGENCY:
            agency = agency or _AGENCY[key]
        elif key in _OUTLET:
            outlet, outlet_at = _OUTLET[key], i
        elif key in COMPILED:
            continue
        elif _DIGIT.search(part):
            if date is not None or (dated := _dated(part)) is None:
                return None
            place, date, suffix = dated
            if suffix is not None:
                agency = agency or suffix
            if place is not None:
                names.append((i, place))
        elif len(part.split()) <= MAX_AUTHOR_WORDS:
            names.append((i, part))
        else:
            return None
    credit = agency or outlet
    if credit is None:
        return None
    if agency is not None:  # an agency's dateline: the one name is its place
        if len(names) > 1:
            return None
        place = names[0][1] if names else None
        author = None
    else:  # an outlet's byline: author(s) before the outlet, the place after it
        before = [n for i, n in names if i < outlet_at]
        after = [n for i, n in names if i > outlet_at]
        if len(after) > 1 or len(before) > 2:
            return None
        place = after[0] if after else None
        author = "، ".join(before) or None
    if place is not None and len(place.split()) > MAX_PLACE_WORDS:
        return None
    return _Parts(place, credit, date, author)


def _dated(part: str) -> tuple[str | None, str, str | None] | None:
    """(place, date, agency) of a part that states a date and nothing else but a place before
    it and an agency after it («بريدة 25 شوال 1436 هـ الموافق 10 اغسطس 2015 م واس»; the space
    before the day is sometimes missing: «الدمام25 شوال …»)."""
    start = _DIGIT.search(part)
    assert start is not None  # a part with a digit
    head, words = part[:start.start()], part[start.start():].split()
    agency = None
    for n in range(1, 4):  # an agency's name closing the part: «… 2015 م واس», «… وكالة قنا»
        if len(words) > n and (found := _AGENCY.get(_key(" ".join(words[-n:])))):
            agency, words = found, words[:-n]
            break
    date = " ".join(words)
    if read_date(date) is None:
        return None
    leftover = DATE.sub(" ", search_form(date)).replace("،", " ").replace(",", " ").split()
    if any(w not in DATE_GLUE for w in leftover):
        return None
    place_words = [w for w in head.split() if search_form(w) not in WEEKDAYS]
    if len(place_words) > MAX_PLACE_WORDS:
        return None
    return " ".join(place_words) or None, date, agency
