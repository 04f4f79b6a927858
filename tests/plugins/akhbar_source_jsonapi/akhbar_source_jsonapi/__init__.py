"""A source plugin outside the project: `GET url` answers `{"articles": [{"title", "body",
"url", "published_at", "author"}, …]}`. It uses only the ingest source interface."""

from __future__ import annotations

import json

from akhbar.contract import Article, SourceError, article_id, utcnow
from akhbar_ingest.sources import FeedConfig, SourceContext, SourceResult
from akhbar_ingest.sources.urls import canonical_url


def fetch(feed: FeedConfig, ctx: SourceContext) -> SourceResult:
    resp = ctx.fetcher.get(feed.url, allow_private=feed.allow_private)
    if resp is None:
        return SourceResult(not_modified=True)
    try:
        records = json.loads(resp.content)["articles"]
    except (ValueError, KeyError, TypeError) as exc:
        raise SourceError(f"{feed.url}: not an article list: {exc}") from None
    result, fetched = SourceResult(), utcnow()
    for record in records:
        url = canonical_url(record["url"])
        if ctx.state.seen(url):
            continue
        result.articles.append(Article(
            id=article_id(url=url, title="", body=""), source=feed.label(), url=url,
            title=record.get("title", ""), body=record.get("body", ""),
            author=record.get("author"), published_raw=record.get("published_at"),
            retrieved_at=fetched, ingested_at=fetched))
    return result
