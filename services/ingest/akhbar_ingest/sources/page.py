"""The `page` source: one article page fetched over HTTP (robots.txt respected). Normalize
decodes the bytes (the declared charset is passed as a hint) and extracts the main text."""

from __future__ import annotations

from datetime import datetime

from akhbar.contract import Article, RawContent, SourceError, article_id, utcnow
from akhbar_ingest.sources import FeedConfig, SourceContext, SourceResult
from akhbar_ingest.sources.fetch import Response
from akhbar_ingest.sources.urls import canonical_url

HTML_TYPES = {"text/html", "application/xhtml+xml", ""}


def fetch(feed: FeedConfig, ctx: SourceContext) -> SourceResult:
    result = SourceResult()
    url = canonical_url(feed.url)
    if ctx.state.seen(url):
        return result
    try:
        result.articles.append(fetch_page(url, feed, ctx))
    except SourceError as exc:
        result.errors.append({"url": url, "error": str(exc)})
    return result


def fetch_page(url: str, feed: FeedConfig, ctx: SourceContext, *, title: str = "",
               published_raw: str | None = None, published_at: datetime | None = None,
               author: str | None = None) -> Article:
    """Fetch one canonical article URL into an Article carrying the page's bytes. `title`,
    dates and `author` (from a feed item) are fallbacks for normalize."""
    resp = ctx.fetcher.get(url, allow_private=feed.allow_private, robots=True)
    assert resp is not None  # not a conditional request
    return page_article(resp, url, feed, title=title, published_raw=published_raw,
                        published_at=published_at, author=author)


def page_article(resp: Response, url: str, feed: FeedConfig, *, title: str = "",
                 published_raw: str | None = None, published_at: datetime | None = None,
                 author: str | None = None) -> Article:
    if resp.media_type not in HTML_TYPES:
        raise SourceError(f"{url} is {resp.media_type}, not an HTML page")
    if not resp.content.strip():
        raise SourceError(f"{url} is empty")
    fetched = utcnow()  # the response was just read
    return Article(
        id=article_id(url=url, title="", body=""), source=feed.label(), url=url, title=title,
        published_raw=published_raw, published_at=published_at, author=author or None,
        retrieved_at=fetched, ingested_at=fetched,
        raw=RawContent.from_bytes(resp.content, "text/html", charset=resp.charset))
