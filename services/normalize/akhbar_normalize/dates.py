"""Publication dates: Arabic date forms by the explicit reader in arabic_dates (microseconds),
then dateparser for whatever else (English, numeric without an era mark; a call costs
milliseconds), on short candidate strings only."""

from __future__ import annotations

import re
from datetime import datetime
from functools import lru_cache
from zoneinfo import ZoneInfo

import dateparser

from akhbar_normalize.arabic_dates import read_date

MIN_YEAR = 1900  # rejects Hijri years (1436 هـ) read as Gregorian
_YEAR = re.compile(r"(?<!\d)(19|20)\d\d(?!\d)")
_HIJRI = re.compile(r"\d\s*هـ")
MAX_CANDIDATE_CHARS = 80
MAX_CANDIDATE_WORDS = 10
# A dateline giving both calendars is longer: «بريدة 25 شوال 1436 هـ الموافق 10 اغسطس 2015 م واس».
MAX_DATELINE_WORDS = 14


def looks_like_date(line: str) -> bool:
    """A short line that states a date the Arabic reader finds, or has few words and a plausible
    Gregorian year (and no Hijri one, which dateparser would misread) for dateparser."""
    if len(line) > MAX_CANDIDATE_CHARS:
        return False
    words = len(line.split())
    return ((words <= MAX_DATELINE_WORDS and read_date(line) is not None)
            or (words <= MAX_CANDIDATE_WORDS and _YEAR.search(line) is not None
                and not _HIJRI.search(line)))


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
        "REQUIRE_PARTS": ["day", "month", "year"], "PREFER_DATES_FROM": "past"})
