"""Datelines and bylines: the opening line that says where a report is filed from and which
agency or outlet files it («بريدة 25 شوال 1436 هـ الموافق 10 اغسطس 2015 م واس», «دمشق - سانا»,
«الرباط، 10 غشت 2015 (ومع)», «(أ ف ب)», «عين اليوم – جدة», «داليا أبوالعيش – عين اليوم»), whole
or as the prefix of the first paragraph («عبدالله الراجحي- سبق- جدة: ذكرت مصادر…»).

A line is read as one only when every part of it has a dateline's shape: an agency or outlet
of the tables below, a date and nothing else (read by arabic_dates), a label («كتب», «خاص»), or
a short name (a place or a person's). A story sentence has parts of no such shape, so it is
never taken.

The same reader reads the author field (metadata: «الرياض - واس», «واس (جدة)», «جدة - محمد
حميدان», «محمد داوود (جدة)», «عادل الخنين من الرياض»): the field's persons are the author, and
the field is the dateline when the body has none. There no agency or outlet is needed, but two
names or one and a label are; a single name (a columnist) is left as it is. Person or place:
normalize has no gazetteer, so the shape decides, one rule for every outlet, measured on the
SaudiNewsNet days (bench/datelines.py): a name in parentheses, after «من», before a colon
inside the line or before the date is a place; so is the one name of an agency's dateline
(«مكة المكرمة - واس»); any other name of one word is a place («جدة - محمد حميدان»), of two
words or more a person's («الجزيرة - سلطان المواش»); the first place is the dateline's. Enrich
checks the guess with its gazetteer and recogniser (akhbar_enrich.bylines). The tables hold
names only (agencies, outlets, labels), no rule of one outlet. Pure functions over one line."""

from __future__ import annotations

import html
import re
import unicodedata
from dataclasses import dataclass

from akhbar.contract import AUTHOR_SEP, Dateline
from akhbar.orthography import search_form
from akhbar_normalize.arabic_dates import DATE, read_date
from akhbar_normalize.relative_dates import WEEKDAYS

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
    "رويترز": ["رويترز", "رويتر", "وكالة رويترز", "Reuters"],
    "د ب أ": ["د ب أ", "الألمانية", "وكالة الأنباء الألمانية", "DPA"],
    "أ ب": ["أ ب", "أسوشيتد برس", "أسوشيتدبرس", "أسوشيتيد برس", "AP"],
    "الأناضول": ["الأناضول", "وكالة الأناضول"],
    "شينخوا": ["شينخوا", "وكالة شينخوا"],
    "الوكالات": ["الوكالات", "وكالات", "وكالات الأنباء"],
    # Broadcasters credited like agencies in the author fields («الوئام - سي ان ان:»).
    "سي إن إن": ["سي إن إن", "سي ان ان", "CNN"], "بي بي سي": ["بي بي سي", "BBC"],
    "سكاي نيوز": ["سكاي نيوز", "سكاي", "Sky", "Sky News"], "روسيا اليوم": ["روسيا اليوم", "RT"],
    "يو بي آي": ["يو بي آي", "يو بي اي", "UPI"],
}
# Outlets that sign their own reports in the opening line or the author field («عين اليوم –
# جدة», «… - سبق - جدة:», «عكاظ (الرياض)», «اليوم - الدمام», «لندن: «الشرق الأوسط»»). A name
# here is never a place: «الجزيرة - واس:» is the paper's copy of an agency report.
OUTLETS: dict[str, list[str]] = {
    "عين اليوم": ["عين اليوم"], "سبق": ["سبق"], "الوئام": ["الوئام"], "الرياضي": ["الرياضي"],
    "الجزيرة": ["الجزيرة"], "عكاظ": ["عكاظ"],
    "الاقتصادية": ["الاقتصادية", "الاقتصادية الإلكترونية"],
    "الشرق الأوسط": ["الشرق الأوسط", "الشرق الأوسط أونلاين"],
    "الرياض": ["الرياض الإلكتروني"],
}
# Papers whose names are ordinary words («اليوم» is today, «المدينة» Medina): outlets only in
# an author field («اليوم - الدمام»), where no sentence is («ذكرت تقارير، اليوم (الاثنين)»).
BYLINE_OUTLETS: dict[str, list[str]] = {
    "اليوم": ["اليوم"], "المدينة": ["المدينة"], "الوطن": ["الوطن"]}
# «متابعات»: compiled from other media, «عواصم»: from several capitals; names neither a place
# nor an author.
COMPILED = frozenset(map(search_form, ["متابعات", "متابعة", "عواصم", "العواصم"]))
# Words that label the name after them, or say how or by which desk a report was filed («كتب -
# …», «حاوره: …», «(صنعاء ــ هاتفياً)», «الجزيرة - المحليات:», «عكاظ (خاص)», « سعيد (زائر)»,
# a reader): neither a place nor an author either; so is a desk («مكتب الجزيرة»).
ROLES = frozenset(map(search_form, [
    "كتب", "كتبت", "إعداد", "اعداد", "حاوره", "حاورها", "حوار", "تقرير", "مقاربة", "أدار الندوة",
    "بواسطة", "هاتفيا", "هاتفياً", "خاص", "الموفد الإعلامي", "المحليات", "القسم السياسي",
    "زائر", "رصد", "اختيار وتصوير", "رصد وتصوير"]))
DESKS = frozenset(map(search_form, ["مكتب", "القسم"]))
# A photo credit ends a byline («… / تصوير - سليمان وهيب:», «(تصوير: فهد العداين)»): the
# photographer is not the author.
_PHOTO = re.compile(r"(?:^|[\s/،,(-])+تصوير\b.*", re.DOTALL)
# What may stand between and around the two calendars' dates of one dateline.
DATE_GLUE = frozenset(map(search_form, ["الموافق", "م", "هـ", "ه"]))
MAX_PLACE_WORDS = 3  # «مكة المكرمة», «القدس المحتلة», «خميس مشيط»
MAX_AUTHOR_WORDS = 4
# An author field may name two persons in one part («كارول موريللو وكارين دي يونغ») and holds no
# story sentence; a longer part is one («- الهلال سيكون "فريقاً مرعباً" مع سامي هذا الموسم»).
MAX_BYLINE_NAME_WORDS = 6
MAX_WORDS = 20  # a whole dateline line, or the prefix of an inline one
MAX_PREFIX_CHARS = 80
# Parts are separated by dashes (a spaced tatweel too: «سلوى المدني ـ عين اليوم», «صنعاء ــ
# هاتفياً»), colons, commas and parentheses, and «من» («عادل الخنين من الرياض»).
_SPLIT = re.compile(r"\s*([-–—:،,()]|(?<=\s)ـ+(?=\s))\s*|\s+(من)\s+")
# Where an inline prefix may end: a colon («باريس - أ ف ب: …»), or a closing parenthesis and
# a dash («القاهرة (رويترز) - …»). A bare dash may be the byline's own («عين اليوم – جدة»).
_PREFIX_END = re.compile(r"\s*(?::|\)\s*[-–—:]?)\s*")
_DIGIT = re.compile(r"\d")


def _visible(part: str) -> str:
    """Without direction marks and other invisible format characters («\u200fأبها»), and
    without the quotes and stars around a name («"الاقتصادية"», ««الشرق الأوسط»», «*طلال
    الصياح»)."""
    return "".join(c for c in part if unicodedata.category(c) != "Cf").strip(" *\"“”«»\xa0")


def _key(text: str) -> str:
    return " ".join(search_form(text).replace(".", " ").split())


_AGENCY = {_key(s): name for name, spellings in AGENCIES.items() for s in spellings}
_OUTLET = {_key(s): name for name, spellings in OUTLETS.items() for s in spellings}
_BYLINE_OUTLET = _OUTLET | {
    _key(s): name for name, spellings in BYLINE_OUTLETS.items() for s in spellings}


@dataclass(frozen=True)
class Found:
    """A dateline read from the top of a body or from an author field."""

    dateline: Dateline
    date: str | None  # the date it states, as written (for dates.parse_date)
    author: str | None  # the persons a byline names («داليا أبوالعيش – عين اليوم»)
    rest: str  # the story text after an inline prefix; "" when the whole line is the dateline


@dataclass(frozen=True)
class _Parts:
    place: str | None
    agency: str | None
    date: str | None
    author: str | None


def read_dateline(line: str) -> Found | None:
    """The dateline that `line` is or begins with, or None."""
    line = line.strip()
    if (parts := _read(line, byline=False)) is not None:
        return _found(line, parts, "")
    # The longest prefix that reads: «لندن :(أ ف ب) - …» is one dateline, not «لندن :».
    for m in reversed(list(_PREFIX_END.finditer(line[:MAX_PREFIX_CHARS]))):
        prefix, rest = line[:m.end()].strip(), line[m.end():].strip()
        if (rest and prefix.count("(") == prefix.count(")")
                and (parts := _read(prefix, byline=False))):
            return _found(prefix, parts, rest)
    return None


def read_byline(field: str) -> Found | None:
    """The dateline an author field holds, its persons as `author`; None when the field is
    one name (a columnist) or has another shape."""
    field = _visible(html.unescape(field))
    if len(field.split()) > MAX_WORDS:
        return None
    names = _PHOTO.sub("", field)
    parts = _read(names, byline=True)
    return _found(field, parts, "") if parts is not None else None


def _found(raw: str, p: _Parts, rest: str) -> Found:
    return Found(Dateline(raw=raw, place=p.place, agency=p.agency), p.date, p.author, rest)


def _pieces(text: str) -> list[tuple[str, bool, bool]]:
    """The parts of a dateline, each with whether its shape marks it as a place (in
    parentheses, after «من», before a colon) and whether a colon precedes it."""
    tokens = _SPLIT.split(text)
    parts = [_visible(p) for p in tokens[0::3]]
    seps = [a or b for a, b in zip(tokens[1::3], tokens[2::3], strict=True)]
    out: list[tuple[str, bool, bool]] = []
    depth, colon = 0, False
    for i, part in enumerate(parts):
        before = seps[i - 1] if i else ""
        depth += (before == "(") - (before == ")")
        after = "".join(seps[i:next((j for j in range(i + 1, len(parts)) if parts[j]),
                                    len(parts))])
        colon = colon or before == ":"
        if part:
            out.append((part, depth > 0 or before == "من" or ":" in after, colon))
    return out


def _read(text: str, *, byline: bool) -> _Parts | None:
    """The parts of a whole dateline, or None when any part has another shape. A dateline in
    a body needs an agency or outlet; a byline (author field) two names, or one and a label
    («كتب»، «متابعة»)."""
    text = text.rstrip(":-–— ")
    if not text or len(text.split()) > MAX_WORDS:
        return None
    names: list[tuple[str, bool]] = []  # (name as written, its shape marks a place)
    agency = outlet = date = None
    labelled = False  # «كتب - عيسى الحكمي:»: a byline of one name
    max_words = MAX_BYLINE_NAME_WORDS if byline else MAX_AUTHOR_WORDS
    outlets = _BYLINE_OUTLET if byline else _OUTLET
    for part, marked, after_colon in _pieces(text):
        key = _key(part)
        if not key:  # a mark alone: «*», «.»
            return None
        if key in _AGENCY:
            agency = agency or _AGENCY[key]
        elif key in outlets:
            outlet = outlet or outlets[key]
        elif key in COMPILED or key in ROLES or key in WEEKDAYS or key.split()[0] in DESKS:
            labelled = True
        elif _DIGIT.search(part):
            if date is not None or (dated := _dated(part)) is None:
                return None
            place, date, suffix = dated
            if suffix is not None:
                agency = agency or suffix
            if place is not None:
                names.append((place, True))
        elif len(part.split()) <= max_words and (byline or not after_colon):
            names.append((part, marked))  # in a body, what follows a colon is the story
        else:
            return None
    credit = agency or outlet
    if credit is None and (not byline or len(names) + labelled < 2):
        return None
    if agency is not None and len(names) == 1:  # an agency's dateline: its one name is a place
        names = [(names[0][0], True)]
    places = [n for n, marked in names
              if (marked or len(n.split()) == 1) and len(n.split()) <= MAX_PLACE_WORDS]
    if labelled and credit is None and len(names) == 1:
        places = []  # «كتب - عيسى الحكمي:», «الصالح (زائر)»: the one name is the writer's
    persons = [n for n, _ in names if n not in places]
    if not byline and (len(places) > 1 or len(persons) > 2 or (agency and persons)):
        return None  # more names than a dateline has: a sentence
    return _Parts(places[0] if places else None, credit, date, AUTHOR_SEP.join(persons) or None)


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
