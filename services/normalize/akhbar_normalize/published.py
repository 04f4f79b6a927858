"""Which of the times an article offers is its publication time: the trust order, the date in a
URL, and the check against when the item was retrieved. Pure functions."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Final, Literal
from urllib.parse import unquote, urlsplit
from zoneinfo import ZoneInfo

from akhbar.contract import PublishedSource
from akhbar_normalize.dates import looks_like_date, parse_date
from akhbar_normalize.relative_dates import read_relative

log = logging.getLogger(__name__)

# Where a candidate was found, most trustworthy first (contract.PublishedSource, whose
# "relative" is a stamp of metadata or the opening lines read against the retrieval time).
FoundIn = Literal["metadata", "dateline", "url", "body"]
TRUST: Final[tuple[FoundIn, ...]] = ("metadata", "dateline", "url", "body")
# How far a publication time may lie after the retrieval time and still be believed. Stamps
# without an offset are read in AKHBAR_DEFAULT_TIMEZONE (UTC by default): a page's local time
# from the Gulf (UTC+4, the widest offset of an Arabic-speaking country) is then up to 4 hours
# late, and an hour more covers a crawler's or a server's clock and summer time.
CLOCK_SKEW: Final = timedelta(hours=5)
# /2015/08/10/, /2015/8/10/, /2015-08-10/ and /20150810/ in a URL's path (a segment of its own
# or the start of one: /2015-08-10-title).
URL_DATE = re.compile(r"/(?P<y>(?:19|20)\d\d)(?:(?P<s>[/-])(?P<m>\d{1,2})(?P=s)(?P<d>\d{1,2})"
                      r"|(?P<cm>\d\d)(?P<cd>\d\d))(?=[/_.-]|$)")


@dataclass(frozen=True)
class Candidate:
    """A publication time an article offers, as written (`raw`) and where it was found."""
    at: datetime  # aware
    raw: str
    found_in: FoundIn
    relative: bool = False  # read against the retrieval (or ingestion) time

    @property
    def source(self) -> PublishedSource:
        return "relative" if self.relative else self.found_in


def choose(candidates: Iterable[Candidate], retrieved_at: datetime | None,
           ingested_at: datetime) -> Candidate | None:
    """The most trusted candidate (TRUST) that is not after the item was retrieved (else
    ingested) by more than CLOCK_SKEW: a later one is no publication time and is dropped."""
    limit = (retrieved_at or ingested_at) + CLOCK_SKEW
    for c in sorted(candidates, key=lambda c: TRUST.index(c.found_in)):
        if c.at <= limit:
            return c
        log.debug("%s date %r (%s) is after the retrieval time %s: not a publication date",
                  c.found_in, c.raw, c.at.isoformat(), (retrieved_at or ingested_at).isoformat())
    return None


def stamp(text: str, found_in: FoundIn, base: datetime, timezone: str) -> Candidate | None:
    """The candidate a date stamp states: metadata's string, or an opening line that is a date
    stamp (dates.looks_like_date) or a relative one read against `base`."""
    if found_in == "metadata" or looks_like_date(text):
        if (at := parse_date(text, timezone)) is not None:
            return Candidate(at, text, found_in)
    if (at := read_relative(text, base, timezone)) is not None:
        return Candidate(at, text, found_in, relative=True)
    return None


def url_date(url: str | None, timezone: str) -> Candidate | None:
    """The date in a URL's path (midnight in `timezone`), as a candidate."""
    if not url:
        return None
    for m in URL_DATE.finditer(unquote(urlsplit(url).path)):
        month, day = (m["m"], m["d"]) if m["m"] is not None else (m["cm"], m["cd"])
        try:
            day_of = date(int(m["y"]), int(month), int(day))
        except ValueError:  # /2015/13/45/ or an id that only looks like a date
            continue
        return Candidate(datetime(day_of.year, day_of.month, day_of.day,
                                  tzinfo=ZoneInfo(timezone)), m[0], "url")
    return None
