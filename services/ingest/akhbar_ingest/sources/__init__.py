"""Source plugins: feeds, pages and anything else that turns the outside world into articles.

A source kind is a function `fetch(feed: FeedConfig, ctx: SourceContext) -> SourceResult`
registered under the `akhbar.sources` entry-point group (akhbar.plugins.Source; inbox files
have readers of their own, akhbar.plugins.Reader). Feeds are declared in a YAML file
(AKHBAR_FEEDS_FILE, see feeds.example.yaml).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from redis import Redis

from akhbar import plugins
from akhbar.contract import Article, Source, SourceError
from akhbar.settings import Settings
from akhbar.stages import traced
from akhbar_ingest.sources.fetch import Fetcher
from akhbar_ingest.sources.state import FetchState, MemoryState, RedisState


class FeedConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200, pattern=r"^[A-Za-z0-9_.-]+$")
    url: str = Field(min_length=1, max_length=2048)
    kind: str = "rss"  # an `akhbar.sources` entry point
    interval: float = Field(900.0, ge=10)  # seconds between polls
    language: str | None = None  # a hint only: enrich detects the language of the text
    source: str | None = None  # label of the outlet in documents (default: the name)
    allow_private: bool = False  # fetch private/loopback addresses (local test servers only)
    options: dict[str, Any] = Field(default_factory=dict)  # for the source plugin

    def label(self) -> Source:
        return Source(name=self.source or self.name, kind=self.kind)


@dataclass
class SourceContext:
    settings: Settings
    fetcher: Fetcher
    state: FetchState


@dataclass
class SourceResult:
    articles: list[Article] = field(default_factory=list)
    errors: list[dict[str, Any]] = field(default_factory=list)  # {"url": …, "error": …}
    not_modified: bool = False  # the feed answered 304: nothing new
    # Conditional-GET validators to remember for a feed URL once the articles are sent.
    validators: tuple[str, dict[str, str]] | None = None


def load_feeds(path: Path) -> dict[str, FeedConfig]:
    """The feeds of a YAML file `{feeds: [{name, url, kind, interval, …}, …]}`; an absent file
    is no feeds. Raises SourceError naming the first problem."""
    if not path.exists():
        return {}
    try:
        doc = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        raise SourceError(f"{path}: not valid YAML: {exc}") from None
    items = doc.get("feeds") if isinstance(doc, dict) else None
    if not isinstance(items, list):
        raise SourceError(f"{path}: expected a mapping with a 'feeds' list")
    feeds: dict[str, FeedConfig] = {}
    for n, item in enumerate(items, start=1):
        try:
            feed = FeedConfig.model_validate(item)
        except ValidationError as exc:
            first = exc.errors()[0]
            raise SourceError(f"{path}: feed {n}: {'.'.join(map(str, first['loc']))}: "
                              f"{first['msg']}") from None
        if feed.name in feeds:
            raise SourceError(f"{path}: feed name {feed.name!r} is used twice")
        feeds[feed.name] = feed
    return feeds


def load_source(kind: str) -> plugins.Source:
    source: plugins.Source = plugins.load(plugins.SOURCE_GROUP, kind, "source kind", SourceError)
    return source


def make_context(settings: Settings, redis: Redis | None = None) -> SourceContext:
    """State in Redis for workers, in memory for in-process runs."""
    state: FetchState = (RedisState(redis, settings.fetch_seen_ttl_s) if redis is not None
                         else MemoryState(settings.fetch_seen_ttl_s))
    return SourceContext(settings, Fetcher(settings, state), state)


def poll(feed: FeedConfig, ctx: SourceContext, source: plugins.Source | None = None
         ) -> SourceResult:
    """Run the feed's source (or `source`), stamping each article with the ingest trace step.
    Call `commit` once the articles are sent on."""
    with traced("ingest") as step:
        result = (source or load_source(feed.kind))(feed, ctx)
    for article in result.articles:
        article.pipeline = list(step)
    return result


def commit(result: SourceResult, ctx: SourceContext) -> None:
    """The articles were sent on: their URLs are seen, and the feed's validators remembered
    (so an unchanged feed costs a 304 next time)."""
    for article in result.articles:
        if article.url:
            ctx.state.mark_seen(article.url)
    if result.validators is not None:
        ctx.state.remember(*result.validators)
