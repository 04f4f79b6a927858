"""The `rss` source: RSS 2.0, RSS 1.0 (RDF) and Atom feeds (feedparser), each new item's
article page fetched by the page source. The XML is first checked with defusedxml: entity
declarations (billion laughs) and external entities or DTDs (XXE) are refused outright."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from time import struct_time
from xml.etree.ElementTree import ParseError

import defusedxml.ElementTree
import feedparser
from defusedxml import DefusedXmlException

from akhbar.contract import SourceError, TransientError
from akhbar_ingest.sources import FeedConfig, SourceContext, SourceResult
from akhbar_ingest.sources.fetch import Response
from akhbar_ingest.sources.page import fetch_page
from akhbar_ingest.sources.urls import canonical_url

_DECLARATIONS = re.compile(rb"<!(ENTITY|DOCTYPE)", re.IGNORECASE)


class UnsafeXML(SourceError):
    """The feed declares entities or refers to external ones: never parsed."""


@dataclass
class FeedItem:
    url: str  # canonical
    title: str
    published_raw: str | None
    published_at: datetime | None
    author: str | None


def check_xml(data: bytes) -> None:
    """Refuse entity declarations and external references before feedparser sees the bytes."""
    try:
        defusedxml.ElementTree.fromstring(data, forbid_dtd=False, forbid_entities=True,
                                          forbid_external=True)
    except DefusedXmlException as exc:
        raise UnsafeXML(f"unsafe XML refused ({type(exc).__name__}: {exc}): feeds may not "
                        "declare entities or refer to external ones") from None
    except (ParseError, ValueError, LookupError):
        # Malformed: feedparser's lenient parser may still read it, but not with declarations
        # that a strict parser never got to check.
        if _DECLARATIONS.search(data):
            raise UnsafeXML("malformed XML with a DOCTYPE or ENTITY declaration refused") \
                from None


def parse_feed(resp: Response) -> list[FeedItem]:
    check_xml(resp.content)
    parsed = feedparser.parse(resp.content, response_headers={
        "content-type": resp.headers.get("content-type", "application/xml"),
        "content-location": resp.url})
    if not parsed.bozo and not parsed.version:
        raise SourceError(f"{resp.url} is not an RSS or Atom feed")
    items = []
    for entry in parsed.entries:
        link = entry.get("link") or ""
        if not link.lower().startswith(("http://", "https://")):
            continue
        items.append(FeedItem(
            url=canonical_url(link), title=(entry.get("title") or "").strip(),
            published_raw=entry.get("published") or entry.get("updated"),
            published_at=_when(entry.get("published_parsed") or entry.get("updated_parsed")),
            author=(entry.get("author") or "").strip() or None))
    if parsed.bozo and not items:  # lenient parsing of broken XML salvaged nothing usable
        raise SourceError(f"malformed feed at {resp.url}: {parsed.bozo_exception}")
    return items


def _when(parsed: struct_time | None) -> datetime | None:
    if not parsed:
        return None
    try:
        return datetime(parsed.tm_year, parsed.tm_mon, parsed.tm_mday, parsed.tm_hour,
                        parsed.tm_min, parsed.tm_sec, tzinfo=UTC)
    except ValueError:  # a field out of range (a leap second)
        return None


def fetch(feed: FeedConfig, ctx: SourceContext) -> SourceResult:
    resp = ctx.fetcher.get(feed.url, allow_private=feed.allow_private, conditional=True)
    if resp is None:
        return SourceResult(not_modified=True)
    result = articles_from_feed(resp, feed, ctx)
    if resp.validators and not any(e.get("transient") for e in result.errors):
        # Not when a page failed for a passing reason: a 304 would hide its item next time.
        result.validators = (feed.url, resp.validators)
    return result


def articles_from_feed(resp: Response, feed: FeedConfig, ctx: SourceContext) -> SourceResult:
    result, taken = SourceResult(), set()
    for item in parse_feed(resp):
        if len(result.articles) >= ctx.settings.fetch_max_items:
            break
        if item.url in taken or ctx.state.seen(item.url):
            continue
        taken.add(item.url)
        try:
            result.articles.append(fetch_page(
                item.url, feed, ctx, title=item.title, published_raw=item.published_raw,
                published_at=item.published_at, author=item.author))
        except SourceError as exc:
            result.errors.append({"url": item.url, "error": str(exc)})
        except TransientError as exc:
            result.errors.append({"url": item.url, "error": str(exc), "transient": True})
    return result
