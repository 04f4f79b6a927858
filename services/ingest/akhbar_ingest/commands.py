"""`akhbar feeds list|check NAME` and `akhbar fetch URL`, registered with the `akhbar` command
through the `akhbar.commands` entry-point group."""

from __future__ import annotations

import argparse
from typing import Any
from urllib.parse import urlsplit

from rich.console import Console
from rich.table import Table

from akhbar.cli import JsonlSink
from akhbar.contract import SourceError, TransientError
from akhbar.settings import Settings
from akhbar.stages import InProcessPipeline, StageContext
from akhbar_ingest.sources import (
    FeedConfig,
    SourceContext,
    SourceResult,
    commit,
    load_feeds,
    make_context,
    poll,
)
from akhbar_ingest.sources.fetch import Refused
from akhbar_ingest.sources.page import page_article
from akhbar_ingest.sources.rss import articles_from_feed, parse_feed
from akhbar_ingest.sources.urls import canonical_url

err = Console(stderr=True)
out = Console()
FEED_TYPES = ("xml", "rss", "atom", "rdf")


def register(sub: Any) -> None:
    f = sub.add_parser("feeds", help="the feeds of AKHBAR_FEEDS_FILE")
    fs = f.add_subparsers(dest="feeds_command", required=True)
    fs.add_parser("list", help="list the declared feeds").set_defaults(run=cmd_feeds_list)
    c = fs.add_parser("check", help="fetch and parse one feed now (no article pages)")
    c.add_argument("name")
    c.set_defaults(run=cmd_feeds_check)
    p = sub.add_parser("fetch", help="fetch a feed or an article page and run every stage "
                                     "in-process (no Redis, no Elasticsearch)")
    p.add_argument("url")
    p.add_argument("--kind", default="auto",
                   help="source kind: auto (feed or page, from the response), rss, page or an "
                        "installed akhbar.sources plugin")
    p.add_argument("--source", help="source label in the documents (default: the host)")
    p.add_argument("--allow-private", action="store_true",
                   help="allow private, loopback and link-local addresses")
    p.add_argument("--out", required=True, help="output JSONL file ('-' = stdout)")
    p.set_defaults(run=cmd_fetch)


def cmd_feeds_list(args: argparse.Namespace, s: Settings) -> int:
    feeds = load_feeds(s.feeds_file)
    table = Table("name", "kind", "interval (s)", "language", "source", "url")
    for feed in feeds.values():
        table.add_row(feed.name, feed.kind, f"{feed.interval:g}", feed.language or "",
                      feed.label().name, feed.url)
    out.print(table)
    err.print(f"{len(feeds)} feed(s) in {s.feeds_file}")
    return 0


def cmd_feeds_check(args: argparse.Namespace, s: Settings) -> int:
    feed = load_feeds(s.feeds_file).get(args.name)
    if feed is None:
        err.print(f"[red]no feed named {args.name!r}[/] in {s.feeds_file}")
        return 2
    ctx = make_context(s)
    try:
        if feed.kind == "rss":
            resp = ctx.fetcher.get(feed.url, allow_private=feed.allow_private)
            assert resp is not None  # not a conditional request
            items = parse_feed(resp)
            for item in items:
                out.print(f"{item.published_raw or '-'}  {item.title}  {item.url}")
            err.print(f"{feed.name}: {len(items)} item(s), HTTP {resp.status}, "
                      f"charset {resp.charset or 'from the document'}")
            return 0
        result = poll(feed, ctx)
    except (SourceError, TransientError) as exc:
        err.print(f"[red]{feed.name} failed[/]: {exc}")
        return 1
    finally:
        ctx.fetcher.close()
    for a in result.articles:
        out.print(a.url or a.title)
    _report_errors(result)
    err.print(f"{feed.name}: {len(result.articles)} article(s)")
    return 1 if result.errors else 0


def cmd_fetch(args: argparse.Namespace, s: Settings) -> int:
    host = urlsplit(args.url).hostname or "unknown"
    try:
        feed = FeedConfig(name="fetch", url=args.url, kind=args.kind if args.kind != "auto"
                          else "rss", source=args.source or host,
                          allow_private=args.allow_private)
    except ValueError as exc:
        err.print(f"[red]bad arguments[/]: {exc}")
        return 2
    ctx = make_context(s)
    try:
        result = poll(feed, ctx, auto if args.kind == "auto" else None)
    except (SourceError, TransientError) as exc:
        err.print(f"[red]failed[/] {args.url}: {exc}")
        return 1
    finally:
        ctx.fetcher.close()
    _report_errors(result)
    pipeline = InProcessPipeline(StageContext(s))
    with JsonlSink(args.out) as sink:
        sink.failures += len(result.errors)
        sink.write(pipeline.documents(result.articles, lambda a, exc: sink.failed(
            f"{a.url}: {type(exc).__name__}: {exc}")))
    commit(result, ctx)
    return sink.report()


def auto(feed: FeedConfig, ctx: SourceContext) -> SourceResult:
    """A feed or an article page, decided by the response (robots.txt respected)."""
    url = canonical_url(feed.url)
    resp = ctx.fetcher.get(url, allow_private=feed.allow_private, robots=True)
    assert resp is not None  # not a conditional request
    head = resp.content[:512].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if any(t in resp.media_type for t in FEED_TYPES) or head.startswith(
            (b"<?xml", b"<rss", b"<feed", b"<rdf")):
        return articles_from_feed(resp, feed, ctx)
    try:
        return SourceResult(articles=[page_article(resp, url,
                                                   feed.model_copy(update={"kind": "page"}))])
    except (Refused, SourceError) as exc:
        return SourceResult(errors=[{"url": url, "error": str(exc)}])


def _report_errors(result: SourceResult) -> None:
    for e in result.errors:
        err.print(f"[yellow]skipped[/] {e['url']}: {e['error']}")
