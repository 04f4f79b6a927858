"""Publication dates: Arabic date forms by the explicit reader in arabic_dates (microseconds),
then dateparser for whatever else (English, numeric without an era mark; a call costs
milliseconds), on short candidate strings only. Relative dates («أمس») are read by
relative_dates against when the item was retrieved, never by dateparser against the clock."""

from __future__ import annotations

import re
from datetime import datetime
from functools import lru_cache
from zoneinfo import ZoneInfo

import dateparser

from akhbar.orthography import search_form
from akhbar_normalize.arabic_dates import find_dates, read_date
from akhbar_normalize.relative_dates import WEEKDAYS

MIN_YEAR = 1900  # rejects Hijri years (1436 هـ) read as Gregorian
_YEAR = re.compile(r"(?<!\d)(19|20)\d\d(?!\d)")
_HIJRI = re.compile(r"\d\s*هـ")
MAX_CANDIDATE_CHARS = 80
MAX_CANDIDATE_WORDS = 10
# Words a date stamp or dateline may hold besides its date: a place of two words and an agency
# («المدينة المنورة 25 شوال 1436 هـ الموافق 10 اغسطس 2015 م واس»).
MAX_STAMP_EXTRA_WORDS = 3
# Words that are part of a stamp, not extra: weekdays, «الموافق» between the two calendars, and
# a page's label («نشر في: …», «آخر تحديث: …»).
STAMP_WORDS = frozenset(WEEKDAYS) | {search_form(w) for w in [
    "الموافق", "نشر", "تم", "في", "تاريخ", "النشر", "آخر", "تحديث"]}
# Words that put a date inside a sentence: «تبدأ يوم الخميس 28 شوال», «افتتح في 10 أغسطس 2015»,
# «بتاريخ 15/10/1436هـ», «منذ 2006», «حتى 15 سبتمبر 2015». «في» only counts after another word
# (it is part of the label «نشر في»).
PROSE_WORDS = frozenset(search_form(w) for w in [
    "يوم", "بتاريخ", "منذ", "من", "حتى", "وحتى", "الى", "إلى", "خلال", "اعتبارا", "ابتداء",
    "قبل", "بعد", "صباح", "مساء", "عام"])
_WORD = re.compile(r"[^\W\d_]+")


def looks_like_date(line: str) -> bool:
    """A date stamp or a dateline, not a sentence that mentions a date: a short line whose date
    (read by the Arabic reader, else for dateparser a plausible Gregorian year and no Hijri one,
    which dateparser would misread) is most of it. Besides the date it holds at most
    MAX_STAMP_EXTRA_WORDS words (a place, an agency; Latin ones left to dateparser: «Monday»,
    «August»), none of them prose («يوم», «بتاريخ», «حتى» … or «في» after a word), and for an
    Arabic date no more letters than the date has."""
    if len(line) > MAX_CANDIDATE_CHARS:
        return False
    folded = search_form(line)
    found = find_dates(line)
    if found:
        rest = "".join(folded[a:b] for a, b in zip([0] + [f.end for f in found],
                                                   [f.start for f in found] + [len(folded)],
                                                   strict=True))
        dated = sum(len(f.text.replace(" ", "")) for f in found)
    elif len(line.split()) <= MAX_CANDIDATE_WORDS and _YEAR.search(line) and not _HIJRI.search(
            line):
        rest, dated = folded, len(folded)
    else:
        return False
    words = _WORD.findall(rest)
    extra = [w for w in words if w not in STAMP_WORDS and not (w.isascii() and not found)]
    prose = any(w in PROSE_WORDS or (w == "في" and i > 0 and words[i - 1] not in STAMP_WORDS)
                for i, w in enumerate(words))
    return (len(extra) <= MAX_STAMP_EXTRA_WORDS and not prose
            and sum(map(len, extra)) <= dated)


@lru_cache(maxsize=4096)
def parse_date(text: str, timezone: str = "UTC") -> datetime | None:
    """Parse a date string; naive times are read in `timezone`. None when not a full date."""
    parsed: datetime | None
    try:  # ISO 8601 (metadata, feeds) needs no guessing
        parsed = datetime.fromisoformat(text.strip())
    except ValueError:
        found = read_date(text)
        parsed = found.at if found is not None else _guess(text, timezone)
    if parsed is None or parsed.year < MIN_YEAR:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=ZoneInfo(timezone))
    return parsed


def _guess(text: str, timezone: str) -> datetime | None:
    return dateparser.parse(text, languages=["ar", "en"], settings={
        "TIMEZONE": timezone, "RETURN_AS_TIMEZONE_AWARE": True,
        "REQUIRE_PARTS": ["day", "month", "year"], "PREFER_DATES_FROM": "past",
        # Not "relative-time": it counts «أمس» back from the clock (relative_dates reads it).
        "PARSERS": ["timestamp", "custom-formats", "absolute-time"]})
