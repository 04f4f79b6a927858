"""Relative and weekday date stamps («اليوم», «أمس», «منذ ساعتين», «قبل 3 أيام», «الإثنين -
11:25 م») read against a base time the caller gives: when the item was retrieved, else ingested,
never the clock (a backfill of 2015 pages must not be dated today). The whole text must be the
stamp: «عين اليوم – جدة» (an outlet's name) or «وصلت أمس الطائرة…» state no publication time."""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from akhbar.orthography import search_form
from akhbar_normalize.arabic_dates import time_of, time_pattern

# Monday first, as datetime.weekday() counts; «الإثنين» and «الاثنين» fold to one search form.
WEEKDAYS = {search_form(name): day for day, names in enumerate([
    ["الاثنين", "الإثنين"], ["الثلاثاء"], ["الأربعاء"], ["الخميس"], ["الجمعة"], ["السبت"],
    ["الأحد"]]) for name in names}
DAYS_BACK = {search_form(name): back for name, back in [
    ("اليوم", 0), ("أمس", 1), ("يوم أمس", 1), ("البارحة", 1),
    ("أول أمس", 2), ("أمس الأول", 2), ("أول من أمس", 2)]}
# Units of «منذ/قبل N …»: singular (one), dual (two), plural (the number precedes it).
_UNITS = {
    timedelta(minutes=1): ("دقيقة", "دقيقتين|دقيقتان", "دقائق"),
    timedelta(hours=1): ("ساعة", "ساعتين|ساعتان", "ساعات"),
    timedelta(days=1): ("يوم", "يومين|يومان", "أيام"),
    timedelta(weeks=1): ("أسبوع", "أسبوعين|أسبوعان", "أسابيع"),
}
UNITS: dict[str, tuple[timedelta, int | None]] = {
    search_form(word): (unit, count) for unit, forms in _UNITS.items()
    for count, words in zip((1, 2, None), forms, strict=True) for word in words.split("|")}
# «منذ دقائق» with no number: a few minutes, as good as the base itself. «منذ ساعات» or «منذ
# أيام» with none is too vague to date anything.
VAGUE_OK = timedelta(minutes=1)
# A page's label before its stamp: «نشر», «نُشر في», «آخر تحديث:».
_LABEL = r"(?:(?:تم )?نشر(?: في)?|اخر تحديث|تاريخ النشر)\s*:?\s*"


def _alt(words: Iterable[str]) -> str:
    """A regex alternative of folded words, longest first; a space matches any run of them."""
    return "|".join(re.escape(w).replace(r"\ ", r"\s+")
                    for w in sorted(words, key=len, reverse=True))


STAMP = re.compile(
    rf"(?:{_LABEL})?(?:(?:منذ|قبل)\s+(?:(?P<n>\d{{1,3}})\s+)?(?P<unit>{_alt(UNITS)})"
    rf"|(?P<day>{_alt(DAYS_BACK)})?\s*[-،,]?\s*(?P<weekday>{_alt(WEEKDAYS)})?{time_pattern('')})")
_TRIM = " .:،,-–|()"
# Longer than any stamp («نُشر في: أول من أمس الإثنين - الساعة 11:25 مساءً» has 48): a paragraph
# is not folded just to find it is none.
MAX_STAMP_CHARS = 60


def read_relative(text: str, base: datetime, timezone: str = "UTC") -> datetime | None:
    """The time a relative or weekday stamp states, counted back from `base` (aware); a day
    («أمس», «الأحد») is read in `timezone`, at the time the stamp gives or midnight. None when
    `text` is not wholly such a stamp."""
    m = STAMP.fullmatch(search_form(text).strip(_TRIM)) if len(text) <= MAX_STAMP_CHARS else None
    if m is None:
        return None
    if m["unit"] is not None:
        unit, count = UNITS[" ".join(m["unit"].split())]
        if m["n"] is not None:
            count = int(m["n"])
        elif count is None:
            count = 0 if unit <= VAGUE_OK else None
        return None if count is None else base - count * unit
    if m["day"] is None and m["weekday"] is None:
        return None
    zone = ZoneInfo(timezone)
    today = base.astimezone(zone).date()
    back = (DAYS_BACK[" ".join(m["day"].split())] if m["day"] is not None
            else (today.weekday() - WEEKDAYS[m["weekday"]]) % 7)
    return datetime.combine(today - timedelta(days=back), time_of(m), tzinfo=zone)
