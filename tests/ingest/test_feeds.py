"""Feeds and article pages over HTTP, against a real local server (FeedServer on 127.0.0.1,
hence allow_private), and the safety rules that stop unsafe XML and private addresses."""

from __future__ import annotations

import base64
import json
import os
import re
import runpy
import shutil
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from redis import Redis

from akhbar.contract import Article, Envelope, SourceError, utcnow
from akhbar.es import make_client
from akhbar.settings import Settings
from akhbar.stages import InProcessPipeline, StageContext
from akhbar_index.bulk import BulkWriter
from akhbar_index.setup import setup_elasticsearch
from akhbar_ingest.sources import (
    FeedConfig,
    SourceContext,
    commit,
    load_feeds,
    make_context,
    poll,
)
from akhbar_ingest.sources.fetch import Fetcher, FetchFailed, Refused, check_address
from akhbar_ingest.sources.rss import UnsafeXML, check_xml
from akhbar_ingest.sources.state import MemoryState, RedisState
from akhbar_ingest.sources.urls import canonical_url
from akhbar_testkit.data import REPO, SHARED, need
from akhbar_testkit.es_double import ElasticsearchDouble
from akhbar_testkit.feed_server import FeedServer, page
from akhbar_testkit.harness import BIN, RedisServer

PARAS = [
    "أعلنت وزارة الصحة اليوم عن افتتاح مستشفى جديد في مدينة الرياض بطاقة استيعابية تبلغ "
    "خمسمئة سرير، وذلك ضمن خطة لتطوير الخدمات الصحية في المملكة خلال السنوات المقبلة.",
    "وقال المتحدث الرسمي باسم الوزارة إن المستشفى يضم أقساما متخصصة في أمراض القلب والأورام "
    "وطب الأطفال، وإنه سيبدأ استقبال المرضى مطلع الشهر المقبل بعد استكمال التجهيزات.",
    "وأضاف أن المشروع يأتي في إطار برنامج وطني يهدف إلى رفع كفاءة القطاع الصحي وتوفير "
    "الرعاية للمواطنين والمقيمين في جميع المناطق دون الحاجة إلى السفر لمسافات طويلة.",
]
RSS = """<?xml version="1.0" encoding="{enc}"?>
<rss version="2.0"><channel><title>أخبار الاختبار</title><link>{base}/</link>
<description>آخر الأخبار</description>
<item><title>افتتاح مستشفى جديد في الرياض</title>
<link>{base}/news/1?utm_source=rss&amp;utm_medium=feed&amp;id=7#top</link>
<pubDate>Tue, 05 Mar 2024 07:00:00 GMT</pubDate><author>news@example.com (سارة أحمد)</author>
</item>
<item><title>خبر محجوب عن الزواحف</title><link>{base}/private/2</link>
<pubDate>Tue, 05 Mar 2024 08:00:00 GMT</pubDate></item>
</channel></rss>"""
ATOM = """<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom"><title>أخبار أتوم</title><id>urn:x</id>
<updated>2024-03-06T09:00:00Z</updated>
<entry><title>افتتاح مستشفى جديد في الرياض</title><id>urn:1</id>
<link rel="alternate" href="{base}/news/1"/><updated>2024-03-06T09:00:00Z</updated>
<author><name>سارة أحمد</name></author></entry></feed>"""
RDF = """<?xml version="1.0" encoding="utf-8"?>
<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns="http://purl.org/rss/1.0/"
 xmlns:dc="http://purl.org/dc/elements/1.1/">
<channel rdf:about="{base}/"><title>أخبار</title><link>{base}/</link><description>x</description>
</channel>
<item rdf:about="{base}/news/1"><title>افتتاح مستشفى جديد</title><link>{base}/news/1</link>
<dc:date>2024-03-07T10:00:00+03:00</dc:date></item></rdf:RDF>"""
BILLION_LAUGHS = b"""<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">
<!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>
<rss version="2.0"><channel><title>&lol3;</title></channel></rss>"""
XXE = b"""<?xml version="1.0"?><!DOCTYPE r [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<rss version="2.0"><channel><title>&xxe;</title></channel></rss>"""
XML = {"Content-Type": "application/rss+xml; charset=utf-8"}
HTML = {"Content-Type": "text/html; charset=utf-8"}


def settings(**kw: Any) -> Settings:
    base: dict[str, Any] = {"fetch_host_interval_s": 0, "fetch_backoff_s": 0.01,
                            "fetch_retries": 2, "fetch_read_timeout_s": 0.5}
    return Settings(**{**base, **kw})


@pytest.fixture
def server() -> Iterator[FeedServer]:
    with FeedServer() as srv:
        b = srv.base
        srv.routes.update({
            "/robots.txt": (200, {"Content-Type": "text/plain"},
                            b"User-agent: *\nDisallow: /private/\n"),
            "/rss": (200, XML, RSS.format(enc="utf-8", base=b).encode()),
            "/atom": (200, {"Content-Type": "application/atom+xml"}, ATOM.format(base=b).encode()),
            "/rdf": (200, {"Content-Type": "application/rdf+xml"}, RDF.format(base=b).encode()),
            "/rss-1256": (200, {"Content-Type": "application/rss+xml"},
                          RSS.format(enc="windows-1256", base=b).encode("cp1256")),
            "/news/1": (200, HTML, page("افتتاح مستشفى جديد في الرياض", PARAS).encode()),
            "/news/1256": (200, {"Content-Type": "text/html; charset=windows-1256"},
                           page("خبر بترميز ويندوز", PARAS).replace('charset="utf-8"', "")
                           .encode("cp1256")),
            "/private/2": (200, HTML, page("محجوب", PARAS).encode()),
            "/malformed": (200, XML, b"<rss version='2.0'><channel><item><title>x</titl"),
            "/laughs": (200, XML, BILLION_LAUGHS),
            "/xxe": (200, XML, XXE),
            "/loop-a": (302, {"Location": "/loop-b"}, b""),
            "/loop-b": (302, {"Location": "/loop-a"}, b""),
            "/hop": (301, {"Location": "/news/1"}, b""),
            "/error": (500, {}, b"boom"),
            "/slow": (-1, {"delay": "2"}, b"<html></html>"),
            "/big": (200, HTML, b"x" * 300_000),
            "/big-unannounced": (200, {**HTML, "no-length": "1"}, b"x" * 300_000),
        })
        yield srv


def ctx_for(s: Settings, sleeps: list[float] | None = None) -> SourceContext:
    state = MemoryState(s.fetch_seen_ttl_s)
    sleep = sleeps.append if sleeps is not None else (lambda _s: None)
    return SourceContext(s, Fetcher(s, state, sleep=sleep), state)


def feed(srv: FeedServer, path: str, kind: str = "rss", **kw: Any) -> FeedConfig:
    return FeedConfig(name="test", url=srv.url(path), kind=kind, allow_private=True, **kw)


# --- feeds --------------------------------------------------------------------------------

def test_arabic_rss_items_become_page_articles(server: FeedServer) -> None:
    ctx = ctx_for(settings())
    before = utcnow()
    result = poll(feed(server, "/rss", source="صحيفة الاختبار"), ctx)
    assert len(result.articles) == 1  # the other item is disallowed by robots.txt
    a = result.articles[0]
    assert a.url == server.url("/news/1?id=7")  # canonical: tracking params, fragment gone
    assert a.title == "افتتاح مستشفى جديد في الرياض" and a.raw is not None
    assert a.raw.media_type == "text/html" and a.raw.charset == "utf-8"
    assert a.published_raw == "Tue, 05 Mar 2024 07:00:00 GMT"
    assert a.published_at is not None and a.published_at.isoformat() == "2024-03-05T07:00:00+00:00"
    assert a.source.name == "صحيفة الاختبار" and a.source.kind == "rss"
    assert [s.stage for s in a.pipeline] == ["ingest"]
    assert a.retrieved_at is not None and before <= a.retrieved_at <= utcnow()  # page fetched
    assert result.errors == [{"url": server.url("/private/2"),
                              "error": f"robots.txt of 127.0.0.1 disallows "
                                       f"{server.url('/private/2')}"}]
    assert server.hits["/private/2"] == 0 and server.hits["/robots.txt"] == 1
    assert all(h["user-agent"] == "Akhbar/0.1" for h in server.headers_seen)
    doc = next(InProcessPipeline(StageContext(Settings())).run([a])).document()
    assert doc["title"] == "افتتاح مستشفى جديد في الرياض"
    assert (doc["date_source"], doc["@timestamp"]) == ("metadata", "2024-03-05T07:00:00Z")
    assert "مستشفى جديد" in doc["body"] and "شارك" not in doc["body"]
    assert "طباعة" not in doc["body"] and doc["url"] == a.url


@pytest.mark.parametrize("path", ["/atom", "/rdf"])
def test_atom_and_rss1_feeds(server: FeedServer, path: str) -> None:
    result = poll(feed(server, path), ctx_for(settings()))
    [a] = result.articles
    assert a.url == server.url("/news/1") and a.title.startswith("افتتاح مستشفى جديد")
    assert a.published_at is not None
    if path == "/atom":
        assert a.author == "سارة أحمد"


def test_windows_1256_feed_and_page(server: FeedServer) -> None:
    result = poll(feed(server, "/rss-1256"), ctx_for(settings()))
    assert result.articles[0].title == "افتتاح مستشفى جديد في الرياض"
    page_feed = feed(server, "/news/1256", kind="page")
    [a] = poll(page_feed, ctx_for(settings())).articles
    assert a.raw is not None and a.raw.charset == "windows-1256"
    doc = next(InProcessPipeline(StageContext(Settings())).run([a])).document()
    assert doc["title"] == "خبر بترميز ويندوز" and "وزارة الصحة" in doc["body"]


def test_malformed_feed_is_a_clear_error(server: FeedServer) -> None:
    with pytest.raises(SourceError, match="malformed feed"):
        poll(feed(server, "/malformed"), ctx_for(settings()))


@pytest.mark.parametrize("path", ["/laughs", "/xxe"])
def test_billion_laughs_and_xxe_are_refused(server: FeedServer, path: str) -> None:
    with pytest.raises(UnsafeXML, match="unsafe XML refused"):
        poll(feed(server, path), ctx_for(settings()))


def test_unsafe_declarations_in_malformed_xml_are_refused() -> None:
    with pytest.raises(UnsafeXML):
        check_xml(XXE.replace(b"</rss>", b"</rs"))
    check_xml(b"<rss version='2.0'><channel></chan")  # malformed only: feedparser's to judge


def test_unchanged_feed_costs_a_304(server: FeedServer) -> None:
    def etag_feed(headers: dict[str, str]) -> tuple[int, dict[str, str], bytes]:
        if headers.get("if-none-match") == '"v1"':
            return 304, {"ETag": '"v1"'}, b""
        return 200, {**XML, "ETag": '"v1"'}, ATOM.format(base=server.base).encode()
    server.routes["/etag"] = etag_feed
    ctx = ctx_for(settings())
    first = poll(feed(server, "/etag"), ctx)
    assert len(first.articles) == 1
    commit(first, ctx)
    second = poll(feed(server, "/etag"), ctx)
    assert second.not_modified and not second.articles
    assert server.headers_seen[-1]["if-none-match"] == '"v1"'
    assert server.hits["/news/1"] == 1


def test_seen_urls_are_fetched_once(server: FeedServer) -> None:
    ctx = ctx_for(settings())
    first = poll(feed(server, "/rss"), ctx)
    commit(first, ctx)
    again = poll(feed(server, "/atom"), ctx)  # the same article, spelled without the tracking
    assert len(first.articles) == 1
    server.routes["/atom"] = (200, XML, ATOM.format(base=server.base)
                              .replace("/news/1", "/news/1?id=7&amp;utm_campaign=x#c").encode())
    third = poll(feed(server, "/atom"), ctx)
    assert len(again.articles) == 1 and not third.articles  # /news/1?id=7 was seen
    assert server.hits["/news/1"] == 2


def test_seen_urls_and_validators_live_in_redis(redis_db: Redis, server: FeedServer) -> None:
    s = settings()
    ctx = make_context(s, redis_db)
    assert isinstance(ctx.state, RedisState)
    first = poll(feed(server, "/rss"), ctx)
    commit(first, ctx)
    other_worker = make_context(s, redis_db)
    assert other_worker.state.seen(first.articles[0].url or "")
    assert not poll(feed(server, "/rss"), other_worker).articles
    other_worker.state.remember("http://x/feed", {"etag": '"e"'})
    assert ctx.state.validators("http://x/feed") == {"etag": '"e"'}


# --- HTTP behaviour -------------------------------------------------------------------------

def test_429_retry_after_is_honoured_then_succeeds(server: FeedServer) -> None:
    calls: list[int] = []

    def busy(headers: dict[str, str]) -> tuple[int, dict[str, str], bytes]:
        calls.append(1)
        if len(calls) == 1:
            return 429, {"Retry-After": "7"}, b""
        return 200, HTML, b"<html><body>ok</body></html>"
    server.routes["/busy"] = busy
    sleeps: list[float] = []
    s = settings(fetch_retry_after_max_s=5)
    resp = ctx_for(s, sleeps).fetcher.get(server.url("/busy"), allow_private=True)
    assert resp is not None and resp.status == 200 and len(calls) == 2
    assert sleeps == [5]  # Retry-After 7 s, bounded by AKHBAR_FETCH_RETRY_AFTER_MAX_S


def test_5xx_retried_with_backoff_then_given_up(server: FeedServer) -> None:
    sleeps: list[float] = []
    fetcher = ctx_for(settings(fetch_retries=2, fetch_backoff_s=0.5), sleeps).fetcher
    with pytest.raises(FetchFailed, match="HTTP 500"):
        fetcher.get(server.url("/error"), allow_private=True)
    assert server.hits["/error"] == 3 and sleeps == [0.5, 1.0]


def test_slow_response_times_out(server: FeedServer) -> None:
    fetcher = ctx_for(settings(fetch_retries=0, fetch_read_timeout_s=0.3)).fetcher
    with pytest.raises(FetchFailed, match="ReadTimeout"):
        fetcher.get(server.url("/slow"), allow_private=True)


def test_redirects_followed_and_loops_stopped(server: FeedServer) -> None:
    fetcher = ctx_for(settings(fetch_max_redirects=3)).fetcher
    resp = fetcher.get(server.url("/hop"), allow_private=True)
    assert resp is not None and resp.url == server.url("/news/1")
    with pytest.raises(Refused, match="more than 3 redirects"):
        fetcher.get(server.url("/loop-a"), allow_private=True)
    assert server.hits["/loop-a"] + server.hits["/loop-b"] == 4


@pytest.mark.parametrize("path", ["/big", "/big-unannounced"])
def test_oversized_body_is_aborted(server: FeedServer, path: str) -> None:
    fetcher = ctx_for(settings(fetch_max_bytes=100_000)).fetcher
    with pytest.raises(Refused, match="AKHBAR_FETCH_MAX_BYTES"):
        fetcher.get(server.url(path), allow_private=True)


def test_private_addresses_refused_without_allow_private(server: FeedServer,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    fetcher = ctx_for(settings()).fetcher
    with pytest.raises(Refused, match=r"127\.0\.0\.1, a private"):
        fetcher.get(server.url("/rss"), allow_private=False)
    assert server.hits["/rss"] == 0
    for url in ["http://localhost/", "http://10.1.2.3/", "http://169.254.169.254/latest",
                "http://[::1]/", "http://[::ffff:192.168.0.1]/", "http://0.0.0.0/"]:
        with pytest.raises(Refused):
            check_address(url, allow_private=False)
    with pytest.raises(Refused, match="only http and https"):
        check_address("file:///etc/passwd", allow_private=True)
    # Every address of a host is checked: one private address among public ones is enough.
    addrs = [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (ip, 80)) for ip in
             ("93.184.215.14", "192.168.1.5")]
    monkeypatch.setattr(socket, "getaddrinfo", lambda *a, **k: addrs)
    with pytest.raises(Refused, match=r"192\.168\.1\.5"):
        check_address("http://news.example/", allow_private=False)
    monkeypatch.setattr(socket, "getaddrinfo", lambda *a, **k: addrs[:1])
    check_address("http://news.example/", allow_private=False)


def test_a_redirect_to_a_private_address_is_refused(server: FeedServer,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """Each hop is checked: the first hop's host looks public, the Location is loopback."""
    server.routes["/out"] = (302, {"Location": server.url("/news/1")}, b"")
    real = socket.getaddrinfo

    def resolve(host: str, *a: Any, **k: Any) -> Any:
        if host == "public.test":
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("93.184.215.14", 80))]
        return real(host, *a, **k)
    monkeypatch.setattr(socket, "getaddrinfo", resolve)
    fetcher = ctx_for(settings()).fetcher
    monkeypatch.setattr(fetcher.client, "stream", _via(server, fetcher.client.stream))
    with pytest.raises(Refused, match=r"127\.0\.0\.1, a private"):
        fetcher.get("http://public.test/out", allow_private=False)
    assert server.hits["/out"] == 1 and server.hits["/news/1"] == 0


def _via(server: FeedServer, stream: Any) -> Any:
    """Send requests for public.test to the local server (as if DNS pointed there)."""
    def go(method: str, url: str, **kw: Any) -> Any:
        return stream(method, url.replace("http://public.test", server.base), **kw)
    return go


def test_canonical_url_rules() -> None:
    assert canonical_url("HTTPS://News.Example.COM:443/a/b?utm_source=x&id=3&fbclid=1"
                         "&gclid=2&UTM_Medium=y#frag") == "https://news.example.com/a/b?id=3"
    assert canonical_url("http://Example.com") == "http://example.com/"
    assert canonical_url("http://example.com:8080/x?b=2&a=1") == "http://example.com:8080/x?b=2&a=1"
    assert canonical_url("https://example.com/%D8%B3?q=%D8%B3") == \
        "https://example.com/%D8%B3?q=%D8%B3"


# --- feeds file, CLI, beat, plugins ---------------------------------------------------------

def test_example_feeds_file_is_valid() -> None:
    feeds = load_feeds(REPO / "feeds.example.yaml")
    assert feeds and all(f.kind in {"rss", "page"} for f in feeds.values())


def test_feeds_file_errors_are_named(tmp_path: Path) -> None:
    bad = tmp_path / "feeds.yaml"
    bad.write_text("feeds:\n  - {name: a, url: 'http://x/', kind: rss, colour: red}\n")
    with pytest.raises(SourceError, match="feed 1: colour"):
        load_feeds(bad)
    assert load_feeds(tmp_path / "absent.yaml") == {}


def akhbar(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(BIN / "akhbar"), *args], capture_output=True, text=True,
                          timeout=300, env={"PATH": str(BIN), "AKHBAR_FETCH_HOST_INTERVAL_S": "0",
                                            **(env or {})})


def test_fetch_command_runs_every_stage(server: FeedServer, tmp_path: Path) -> None:
    out = tmp_path / "docs.jsonl"
    refused = akhbar("fetch", server.url("/rss"), "--out", str(out))
    assert refused.returncode == 1 and "private" in refused.stderr
    result = akhbar("fetch", server.url("/rss"), "--allow-private", "--out", str(out))
    assert result.returncode == 1, result.stderr  # the robots.txt-disallowed item is reported
    assert "robots.txt" in result.stderr and "1 document(s) written" in result.stderr
    [doc] = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert Article.from_document(doc).document() == doc
    assert doc["url"] == server.url("/news/1?id=7") and doc["source"]["kind"] == "rss"
    assert doc["language"] == "ar" and doc["published_at"].startswith("2024-03-05")
    page_run = akhbar("fetch", server.url("/news/1"), "--allow-private", "--out", str(out))
    assert page_run.returncode == 0, page_run.stderr
    [doc] = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert doc["source"]["kind"] == "page" and doc["title"] == "افتتاح مستشفى جديد في الرياض"


def test_feeds_list_and_check(server: FeedServer, tmp_path: Path) -> None:
    feeds = tmp_path / "feeds.yaml"
    feeds.write_text(f"feeds:\n  - name: local\n    url: {server.url('/rss')}\n    kind: rss\n"
                     "    interval: 60\n    language: ar\n    allow_private: true\n")
    env = {"AKHBAR_FEEDS_FILE": str(feeds), "COLUMNS": "200"}
    listed = akhbar("feeds", "list", env=env)
    assert listed.returncode == 0 and "local" in listed.stdout and "1 feed(s)" in listed.stderr
    checked = akhbar("feeds", "check", "local", env=env)
    assert checked.returncode == 0, checked.stderr
    assert "افتتاح مستشفى جديد في الرياض" in checked.stdout and "2 item(s)" in checked.stderr
    assert akhbar("feeds", "check", "nope", env=env).returncode == 2


def test_beat_schedules_each_feed(tmp_path: Path) -> None:
    feeds = tmp_path / "feeds.yaml"
    feeds.write_text("feeds:\n  - {name: one, url: 'https://a.example/rss', interval: 300}\n"
                     "  - {name: two, url: 'https://b.example/x', kind: page, interval: 60}\n")
    code = ("import json, akhbar_ingest.tasks as t; print(json.dumps({k: [v['task'], "
            "v['schedule'], v.get('args')] for k, v in t.app.conf.beat_schedule.items()}))")
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env={"AKHBAR_FEEDS_FILE": str(feeds)}, timeout=60)
    assert run.returncode == 0, run.stderr
    schedule = json.loads(run.stdout)
    assert schedule["feed-one"] == ["akhbar.ingest.feed", 300.0, ["one"]]
    assert schedule["feed-two"] == ["akhbar.ingest.feed", 60.0, ["two"]]
    assert "sweep-inbox" in schedule


def test_a_separately_installed_source_plugin_reaches_the_index(server: FeedServer,
                                                                tmp_path: Path) -> None:
    server.routes["/api"] = (200, {"Content-Type": "application/json"}, json.dumps({"articles": [
        {"title": "افتتاح مستشفى جديد في الرياض", "body": "\n\n".join(PARAS),
         "url": server.url("/api/1?utm_source=api"), "published_at": "2024-03-05T10:00:00+03:00"},
    ]}, ensure_ascii=False).encode())
    target, plugin = tmp_path / "site", tmp_path / "plugin"  # built from a copy: no build/ left
    shutil.copytree(REPO / "tests/plugins/akhbar_source_jsonapi", plugin)
    install = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation",
         "--no-index", "--target", str(target), str(plugin)],
        capture_output=True, text=True, timeout=300)
    assert install.returncode == 0, install.stderr
    out = tmp_path / "docs.jsonl"
    missing = akhbar("fetch", server.url("/api"), "--kind", "jsonapi", "--allow-private",
                     "--out", str(out))
    assert missing.returncode == 1 and "no source kind 'jsonapi'" in missing.stderr
    result = akhbar("fetch", server.url("/api"), "--kind", "jsonapi", "--allow-private",
                    "--out", str(out), env={"PYTHONPATH": str(target)})
    assert result.returncode == 0, result.stderr
    docs = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert [d["url"] for d in docs] == [server.url("/api/1")]
    assert docs[0]["source"] == {"name": "127.0.0.1", "kind": "jsonapi"}
    with ElasticsearchDouble() as es:
        client = make_client(Settings(es_url=es.url))
        setup_elasticsearch(client, Settings())
        BulkWriter(client, Settings()).write(docs)
        assert es.docs[docs[0]["id"]]["title"] == "افتتاح مستشفى جديد في الرياض"


def test_feed_task_sends_new_articles_once(redis_server: RedisServer, server: FeedServer,
                                           tmp_path: Path) -> None:
    """The beat task, run as a worker would (state in Redis): jobs reach the first stage's
    queue, and a second poll of the unchanged feed sends nothing (304, URLs seen)."""
    redis_server.client.flushall()
    feeds = tmp_path / "feeds.yaml"
    feeds.write_text(f"feeds:\n  - name: local\n    url: {server.url('/etag')}\n"
                     "    allow_private: true\n")

    def etag_feed(headers: dict[str, str]) -> tuple[int, dict[str, str], bytes]:
        if headers.get("if-none-match") == '"v1"':
            return 304, {}, b""
        return 200, {**XML, "ETag": '"v1"'}, RSS.format(enc="utf-8", base=server.base).encode()
    server.routes["/etag"] = etag_feed
    code = ("import akhbar_ingest.tasks as t; feed = t.app.tasks[t.FEED_TASK]; "
            "print(feed('local'), feed('local'), feed('absent'))")
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60,
                         env={"AKHBAR_FEEDS_FILE": str(feeds), "AKHBAR_REDIS_URL": redis_server.url,
                              "AKHBAR_FETCH_HOST_INTERVAL_S": "0"})
    assert run.returncode == 0, run.stderr
    assert run.stdout.split() == ["1", "0", "0"]
    [message] = [json.loads(m) for m in redis_server.client.lrange("normalize", 0, -1)]
    [job] = json.loads(base64.b64decode(message["body"]))[0][0]["jobs"]
    article = Envelope.from_message(job).article
    assert article.url == server.url("/news/1?id=7") and article.raw is not None
    assert server.hits["/news/1"] == 1 and server.headers_seen[-1]["if-none-match"] == '"v1"'
    redis_server.client.flushall()


def test_feed_poll_and_sweep_wait_while_a_queue_is_full(redis_server: RedisServer,
                                                         server: FeedServer,
                                                         tmp_path: Path) -> None:
    """Backpressure in the beat tasks: with the normalize queue at AKHBAR_QUEUE_MAX_MESSAGES a
    feed poll fetches nothing and the inbox sweep claims nothing, each saying why."""
    redis_server.client.flushall()
    redis_server.client.rpush("normalize", b"waiting")
    feeds, inbox = tmp_path / "feeds.yaml", tmp_path / "inbox"
    feeds.write_text(f"feeds:\n  - name: local\n    url: {server.url('/rss')}\n"
                     "    allow_private: true\n")
    inbox.mkdir()
    (inbox / "a.txt").write_text("عنوان\nنص", encoding="utf-8")
    os.utime(inbox / "a.txt", (1, 1))
    code = ("import akhbar_ingest.tasks as t; "
            "print(t.app.tasks[t.FEED_TASK]('local'), t.app.tasks[t.SWEEP_TASK]())")
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60,
                         env={"AKHBAR_FEEDS_FILE": str(feeds), "AKHBAR_REDIS_URL": redis_server.url,
                              "AKHBAR_INBOX": str(inbox), "AKHBAR_INBOX_STABLE_SECONDS": "0",
                              "AKHBAR_QUEUE_MAX_MESSAGES": "1"})
    assert run.returncode == 0, run.stderr
    assert run.stdout.split() == ["0", "0"]
    assert "poll of feed local skipped: normalize holds 1 messages" in run.stderr
    assert "inbox sweep skipped: normalize holds 1 messages" in run.stderr
    assert server.hits["/rss"] == 0 and (inbox / "a.txt").exists()
    assert redis_server.client.llen("ingest") == 0
    redis_server.client.flushall()


def test_extraction_bench_runs_on_the_saved_pages(capsys: pytest.CaptureFixture[str]) -> None:
    html = need(SHARED / "data" / "html")
    # The script's functions, loaded from its file (bench/ is no package on the path).
    extract = runpy.run_path(str(REPO / "bench" / "extract.py"))
    assert extract["furniture_lines"]("نص الخبر\nشارك\nطباعة\nالتعليقات (3)") == [
        "شارك", "طباعة", "التعليقات (3)"]
    assert extract["main"](["--html-dir", str(html)]) == 0
    assert re.search(r"date accuracy \d+/11", capsys.readouterr().out)
