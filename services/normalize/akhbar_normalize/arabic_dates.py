"""Arabic date forms read without dateparser (a regex scan costs microseconds, dateparser
milliseconds): Hijri dates on the Umm al-Qura calendar and every regional set of Gregorian
month names, with Eastern Arabic digits, diacritics and the common spellings."""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import date, datetime, time
from functools import lru_cache

from hijridate import Hijri

from akhbar.orthography import search_form

log = logging.getLogger(__name__)

HIJRI = "hijri"
GREGORIAN = "gregorian"
AGREE_DAYS = 1  # Umm al-Qura tables and local moon sighting may differ by a day
HIJRI_YEARS = range(1300, 1600)  # a numeric date with such a year and no era mark is Hijri
# Characters between the two calendars' dates of one day: «، الموافق », «(» …; more is another date.
MAX_PAIR_GAP = 12

# Month names as written, matched in their search form (akhbar.orthography: Eastern Arabic
# digits, hamza and madda alef, ى, ة, diacritics and tatweel folded; «شوّال» = «شوال»,
# «هـ» = «ه»), to which the tables are folded when built. Spaces inside a name match any run
# of spaces. Hijri names: «ذو/ذي» by grammatical case, «الاولى/الآخرة» or «الاول/الثاني».
_HIJRI_MONTHS = {
    1: ["محرم", "المحرم"], 2: ["صفر"],
    3: ["ربيع الأول", "ربيع أول"], 4: ["ربيع الآخر", "ربيع الثاني", "ربيع آخر", "ربيع ثاني"],
    5: ["جمادى الأولى", "جمادى الأول"], 6: ["جمادى الآخرة", "جمادى الثانية", "جمادى الآخر"],
    7: ["رجب"], 8: ["شعبان"], 9: ["رمضان"], 10: ["شوال"],
    11: ["ذو القعدة", "ذي القعدة"], 12: ["ذو الحجة", "ذي الحجة"],
}
# Gregorian names by regional set; a name shared by several sets is listed in the first.
_GREGORIAN_MONTHS = {
    "egyptian-gulf": {
        1: ["يناير"], 2: ["فبراير"], 3: ["مارس"], 4: ["أبريل", "إبريل"], 5: ["مايو"],
        6: ["يونيو", "يونيه"], 7: ["يوليو", "يوليه"], 8: ["أغسطس", "أغسطوس"],
        9: ["سبتمبر"], 10: ["أكتوبر"], 11: ["نوفمبر"], 12: ["ديسمبر"],
    },
    "levantine": {
        1: ["كانون الثاني"], 2: ["شباط"], 3: ["آذار"], 4: ["نيسان"], 5: ["أيار"],
        6: ["حزيران"], 7: ["تموز"], 8: ["آب"], 9: ["أيلول"], 10: ["تشرين الأول"],
        11: ["تشرين الثاني"], 12: ["كانون الأول"],
    },
    "maghrebi": {  # Algerian and Tunisian
        1: ["جانفي"], 2: ["فيفري"], 4: ["أفريل"], 5: ["ماي"], 6: ["جوان"],
        7: ["جويلية"], 8: ["أوت"],
    },
    "moroccan": {7: ["يوليوز"], 8: ["غشت"], 9: ["شتنبر"], 11: ["نونبر"], 12: ["دجنبر"]},
}
# folded name → (calendar, month, name set)
MONTHS: dict[str, tuple[str, int, str]] = {
    search_form(name): (HIJRI, month, HIJRI)
    for month, names in _HIJRI_MONTHS.items() for name in names
}
MONTHS.update({search_form(name): (GREGORIAN, month, region)
               for region, table in _GREGORIAN_MONTHS.items()
               for month, names in table.items() for name in names})

_NAME = "|".join(re.escape(n).replace(r"\ ", r"\s+")
                 for n in sorted(MONTHS, key=len, reverse=True))


def _era(group: str) -> str:
    """An optional era mark, «هـ»/«هجري» or «م»/«ميلادي», as the named group `group`."""
    return rf"(?:\s*(?P<{group}>ه(?:جري|جريه)?|م(?:يلادي|يلاديه)?)(?!\w))?"


def time_pattern(n: str) -> str:
    """An optional time of day after a date, «- 11:25 م», «، الساعة 05:16 مساءً», in search form;
    its groups' names end in `n` (read by `time_of`)."""
    return (rf"(?:\s*[-|،,]?\s*(?:الساعه\s*)?(?P<hh{n}>\d{{1,2}}):(?P<mm{n}>\d\d)"
            rf"(?::(?P<ss{n}>\d\d))?(?:\s*(?P<ampm{n}>صباحا|مساء|ص|م)(?!\w))?)?")


_SEP = r"(?:\s*[-/.,،]\s*|\s+)"
DATE = re.compile(
    # 25 شوال 1436 هـ · 02/نوفمبر/2015 · 10 آب (أغسطس) 2015 · 6 يناير، 2015، الساعة 05:16 مساءً
    rf"(?<!\d)(?P<d>\d{{1,2}}){_SEP}(?P<month>{_NAME})"
    rf"(?:\s*[/(]\s*(?P<month2>{_NAME})\s*\)?)?{_SEP}(?P<y>\d{{4}})(?!\d){_era('era')}"
    rf"{time_pattern('')}"
    # 25/10/1436 هـ · 05/07/2015 م (the era mark is required: numbers alone are ambiguous)
    rf"|(?<![\d/])(?P<nd>\d{{1,2}})\s*(?P<s1>[-/.])\s*(?P<nm>\d{{1,2}})\s*(?P=s1)\s*"
    rf"(?P<ny>\d{{4}})(?!\d){_era('nera')}{time_pattern('n')}"
    # 1436/10/25 هـ
    rf"|(?<![\d/])(?P<ry>\d{{4}})\s*(?P<s2>[-/.])\s*(?P<rm>\d{{1,2}})\s*(?P=s2)\s*"
    rf"(?P<rd>\d{{1,2}})(?![\d/]){_era('rera')}{time_pattern('r')}")


@dataclass(frozen=True)
class FoundDate:
    """A date written in the text, converted to the Gregorian calendar."""
    at: datetime  # naive: the caller knows the time zone
    calendar: str  # HIJRI or GREGORIAN, as written
    form: str  # "hijri-named", "hijri-numeric", "gregorian-<name set>", "gregorian-numeric"
    text: str  # the matched span, folded
    start: int  # of the span in the folded text
    end: int


def find_dates(text: str) -> list[FoundDate]:
    """Every full date (day, month, year) written in `text`, in order."""
    found = []
    for m in DATE.finditer(search_form(text)):
        if (hit := _read(m)) is not None:
            found.append(FoundDate(*hit, m[0].strip(), m.start(), m.end()))
    return found


@lru_cache(maxsize=4096)
def read_date(text: str) -> FoundDate | None:
    """The first date a line states. When the other calendar's date follows it at once («… 1436
    هـ الموافق 10 اغسطس 2015 م», either order) the Gregorian one is returned; the two must agree
    within a day, or the conflict is logged (and the Gregorian one still stands)."""
    found = find_dates(text)
    if not found:
        return None
    first, second = found[0], found[1] if len(found) > 1 else None
    if (second is None or second.calendar == first.calendar
            or second.start - first.end > MAX_PAIR_GAP):
        return first
    hijri, gregorian = (first, second) if first.calendar == HIJRI else (second, first)
    if abs((gregorian.at.date() - hijri.at.date()).days) > AGREE_DAYS:
        log.warning("Hijri and Gregorian dates disagree, the Gregorian one stands: %r (%s) vs "
                    "%r (%s)", hijri.text, hijri.at.date(), gregorian.text, gregorian.at.date())
    return gregorian


def _read(m: re.Match[str]) -> tuple[datetime, str, str] | None:
    era = m["era"] or m["nera"] or m["rera"]
    if m["month"] is not None:
        calendar, month, region = MONTHS[_squash(m["month"])]
        if m["month2"] is not None and MONTHS[_squash(m["month2"])][:2] != (calendar, month):
            return None  # «آب/أغسطس» names one month twice; two different months are no date
        day, year = int(m["d"]), int(m["y"])
        form = f"{calendar}-named" if calendar == HIJRI else f"{GREGORIAN}-{region}"
    else:
        day, month, year = ((int(m["nd"]), int(m["nm"]), int(m["ny"])) if m["nd"] is not None
                            else (int(m["rd"]), int(m["rm"]), int(m["ry"])))
        if era is None and year not in HIJRI_YEARS:
            return None  # «5/7/2015» alone may be day- or month-first: left to dateparser
        calendar = GREGORIAN if era is not None and era[0] == "م" else HIJRI
        form = f"{calendar}-numeric"
    if calendar == GREGORIAN and era is not None and era[0] == "ه":
        return None  # a Gregorian month name with a Hijri year mark
    try:
        day_of = (Hijri(year, month, day).to_gregorian() if calendar == HIJRI
                  else date(year, month, day))
        return datetime.combine(day_of, time_of(m)), calendar, form
    except (ValueError, OverflowError):  # no such day, or outside the Umm al-Qura tables
        return None


def time_of(m: re.Match[str]) -> time:
    """The time a `time_pattern` group holds (midnight when none), 12-hour when marked «ص» (am)
    or «م» (pm)."""
    groups = m.groupdict()
    n = next((n for n in ("", "n", "r") if groups.get(f"hh{n}") is not None), None)
    if n is None:
        return time()
    ampm = m[f"ampm{n}"]
    hour = int(m[f"hh{n}"]) % 12 if ampm else int(m[f"hh{n}"])
    if ampm in ("م", "مساء"):
        hour += 12
    return time(hour, int(m[f"mm{n}"]), int(m[f"ss{n}"] or 0))


def _squash(name: str) -> str:
    return " ".join(name.split())
