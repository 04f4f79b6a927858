"""`akhbar watch`, `akhbar feeds list|check NAME` and `akhbar fetch URL`, registered with the
`akhbar` command through the `akhbar.commands` entry-point group."""

from __future__ import annotations

import argparse
import signal
import threading
from typing import Any
from urllib.parse import urlsplit

from akhbar.cli import JsonlSink
from akhbar.cli_errors import CliError, Exit, exit_for
from akhbar.contract import SourceError, TransientError
from akhbar.settings import Settings
from akhbar.stages import InProcessPipeline, StageContext
from akhbar.terminal import log_to_stderr, print_table, say
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

FEED_TYPES = ("xml", "rss", "atom", "rdf")


def register(sub: Any) -> None:
    sub.add_parser("watch", help="watch AKHBAR_INBOX and send one ingest job per finished file "
                                 "(until stopped)").set_defaults(run=cmd_watch)
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


def cmd_watch(args: argparse.Namespace, s: Settings) -> int:
    log_to_stderr(s.log_level)
    from akhbar_ingest.inbox import Inbox
    from akhbar_ingest.watcher import watch
    try:
        box = Inbox(s.inbox, s.inbox_stable_seconds)
    except OSError as exc:
        raise CliError(f"cannot use the inbox {s.inbox.resolve()}: {exc.strerror or exc}; "
                       "set AKHBAR_INBOX to a directory this user can write", Exit.CONFIG) from exc
    # SIGTERM (akhbar run, docker stop) and Ctrl-C end the watch loop cleanly; a file claimed
    # but not yet sent is re-sent at the next start anyway.
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    watch(box, s, stop)
    return Exit.OK


def declared_feeds(s: Settings) -> dict[str, FeedConfig]:
    """The feeds of AKHBAR_FEEDS_FILE; a missing or invalid file is a configuration error here
    (beat, by contrast, takes a missing file as no feeds)."""
    if not s.feeds_file.is_file():
        raise CliError(f"no feeds file at {s.feeds_file}; copy feeds.example.yaml there or set "
                       "AKHBAR_FEEDS_FILE", Exit.CONFIG)
    try:
        return load_feeds(s.feeds_file)
    except SourceError as exc:
        raise CliError(f"{exc} (AKHBAR_FEEDS_FILE)", Exit.CONFIG) from exc


def cmd_feeds_list(args: argparse.Namespace, s: Settings) -> int:
    feeds = declared_feeds(s)
    print_table(("name", "kind", "interval (s)", "language", "source", "url"),
                [(f.name, f.kind, f"{f.interval:g}", f.language or "", f.label().name, f.url)
                 for f in feeds.values()])
    say(f"{len(feeds)} feed(s) in {s.feeds_file}")
    return Exit.OK


def cmd_feeds_check(args: argparse.Namespace, s: Settings) -> int:
    feeds = declared_feeds(s)
    feed = feeds.get(args.name)
    if feed is None:
        raise CliError(f"no feed named {args.name!r} in {s.feeds_file}; the feeds are "
                       f"{', '.join(feeds) or 'none'}", Exit.USAGE)
    ctx = make_context(s)
    try:
        if feed.kind == "rss":
            resp = ctx.fetcher.get(feed.url, allow_private=feed.allow_private)
            assert resp is not None  # not a conditional request
            items = parse_feed(resp)
            for item in items:
                print(f"{item.published_raw or '-'}  {item.title}  {item.url}")
            say(f"{feed.name}: {len(items)} item(s), HTTP {resp.status}, "
                f"charset {resp.charset or 'from the document'}")
            return Exit.OK
        result = poll(feed, ctx)
    except (SourceError, TransientError) as exc:
        raise CliError(f"feed {feed.name} failed: {exc}", exit_for(exc)) from exc
    finally:
        ctx.fetcher.close()
    for a in result.articles:
        print(a.url or a.title)
    _report_errors(result)
    say(f"{feed.name}: {len(result.articles)} article(s)")
    return Exit.FAILED if result.errors else Exit.OK


def cmd_fetch(args: argparse.Namespace, s: Settings) -> int:
    host = urlsplit(args.url).hostname or "unknown"
    try:
        feed = FeedConfig(name="fetch", url=args.url, kind=args.kind if args.kind != "auto"
                          else "rss", source=args.source or host,
                          allow_private=args.allow_private)
    except ValueError as exc:
        raise CliError(f"bad arguments: {exc}", Exit.USAGE) from exc
    with JsonlSink(args.out) as sink:  # opened first: a bad --out fails before any fetch
        ctx = make_context(s)
        try:
            result = poll(feed, ctx, auto if args.kind == "auto" else None)
        except (SourceError, TransientError) as exc:
            raise CliError(f"{args.url} failed: {exc}", exit_for(exc)) from exc
        finally:
            ctx.fetcher.close()
        _report_errors(result)
        pipeline = InProcessPipeline(StageContext(s))
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
        say(f"skipped {e['url']}: {e['error']}")
