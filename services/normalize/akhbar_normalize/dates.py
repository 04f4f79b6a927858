"""Publication dates: dateparser on short candidate strings only (a call costs milliseconds)."""

from __future__ import annotations

import re
from datetime import datetime
from functools import lru_cache
from zoneinfo import ZoneInfo

import dateparser

MIN_YEAR = 1900  # rejects Hijri years (1436 هـ) read as Gregorian
_YEAR = re.compile(r"(?<!\d)(19|20)\d\d(?!\d)")
_HIJRI = re.compile(r"\d\s*هـ")
MAX_CANDIDATE_CHARS = 80


def looks_like_date(line: str) -> bool:
    """Cheap filter: a short line with a plausible Gregorian year and few words."""
    return (len(line) <= MAX_CANDIDATE_CHARS and _YEAR.search(line) is not None
            and not _HIJRI.search(line) and len(line.split()) <= 10)


@lru_cache(maxsize=4096)
def parse_date(text: str, timezone: str = "UTC") -> datetime | None:
    """Parse a date string; naive times are read in `timezone`. None when not a full date."""
    parsed: datetime | None
    try:  # ISO 8601 (metadata, feeds) needs no guessing
        parsed = datetime.fromisoformat(text.strip())
    except ValueError:
        parsed = _guess(text, timezone)
    if parsed is None or parsed.year < MIN_YEAR:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=ZoneInfo(timezone))
    return parsed


def _guess(text: str, timezone: str) -> datetime | None:
    return dateparser.parse(text, languages=["ar", "en"], settings={
        "TIMEZONE": timezone, "RETURN_AS_TIMEZONE_AWARE": True,
        "REQUIRE_PARTS": ["day", "month", "year"], "PREFER_DATES_FROM": "past"})
