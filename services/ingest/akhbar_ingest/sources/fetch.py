"""HTTP fetching for feeds and pages: one httpx client with timeouts, a size cap, redirects
followed hop by hop (each hop's scheme and addresses checked), retries with backoff on
transient failures (Retry-After honoured, bounded), per-host concurrency and spacing,
conditional GET and robots.txt."""

from __future__ import annotations

import ipaddress
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from email.message import Message
from email.utils import parsedate_to_datetime
from urllib.parse import urljoin, urlsplit
from urllib.robotparser import RobotFileParser

import httpx

from akhbar.contract import SourceError, TransientError
from akhbar.retry import TRANSIENT_STATUS, backoff
from akhbar.settings import Settings
from akhbar_ingest.sources.state import FetchState

SCHEMES = {"http", "https"}
REDIRECTS = {301, 302, 303, 307, 308}
# The robots.txt rules that stand for an unavailable one (everything allowed) and for an
# unreachable one (nothing allowed).
ALLOW_ALL: list[str] = []
DISALLOW_ALL = ["User-agent: *", "Disallow: /"]


class Refused(SourceError):
    """A URL fetching would be unsafe or not allowed for (scheme, address, robots.txt, size)."""


class HTTPStatusError(Refused):
    def __init__(self, status: int, url: str) -> None:
        super().__init__(f"HTTP {status} for {url}")
        self.status = status


class FetchFailed(TransientError):
    """The server could not be reached or kept failing after the retries."""


@dataclass
class Response:
    url: str  # after redirects
    status: int
    headers: httpx.Headers
    content: bytes
    validators: dict[str, str] = field(default_factory=dict)  # ETag / Last-Modified

    @property
    def media_type(self) -> str:
        value: str = self.headers.get("content-type", "")
        return value.split(";")[0].strip().lower()

    @property
    def charset(self) -> str | None:
        msg = Message()
        msg["content-type"] = self.headers.get("content-type", "")
        cs = msg.get_param("charset")
        return cs.strip().lower() if isinstance(cs, str) and cs.strip() else None


def check_address(url: str, allow_private: bool) -> None:
    """Refuse non-http(s) URLs and hosts resolving to any non-public address."""
    parts = urlsplit(url)
    if parts.scheme.lower() not in SCHEMES:
        raise Refused(f"only http and https URLs are fetched, not {url!r}")
    host = parts.hostname
    if not host:
        raise Refused(f"no host in {url!r}")
    if allow_private:
        return
    try:
        infos = socket.getaddrinfo(host, parts.port or 443, proto=socket.IPPROTO_TCP)
    except socket.gaierror as exc:
        raise FetchFailed(f"cannot resolve {host}: {exc}") from None
    for info in infos:
        ip = ipaddress.ip_address(str(info[4][0]).split("%")[0])
        mapped = getattr(ip, "ipv4_mapped", None)
        ip = mapped or ip
        if not ip.is_global or ip.is_multicast:
            raise Refused(f"{host} resolves to {ip}, a private, loopback, link-local or "
                          "reserved address (allow_private is off)")


@dataclass
class _Host:
    slots: threading.BoundedSemaphore
    lock: threading.Lock = field(default_factory=threading.Lock)
    next_at: float = 0.0


class Fetcher:
    def __init__(self, settings: Settings, state: FetchState,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.s, self.state = settings, state
        self.client = httpx.Client(
            timeout=httpx.Timeout(settings.fetch_read_timeout_s,
                                  connect=settings.fetch_connect_timeout_s),
            follow_redirects=False, trust_env=False,
            headers={"User-Agent": settings.fetch_user_agent})
        self._hosts: dict[str, _Host] = {}
        self._hosts_lock = threading.Lock()
        self._robots: dict[str, tuple[float, RobotFileParser]] = {}
        self._sleep = sleep

    def close(self) -> None:
        self.client.close()

    def get(self, url: str, *, allow_private: bool = False, conditional: bool = False,
            robots: bool = False) -> Response | None:
        """GET `url`; None when `conditional` and the server answers 304 Not Modified (the
        validators the caller remembered for `url` with `state.remember` were sent)."""
        headers: dict[str, str] = {}
        if conditional:
            v = self.state.validators(url)
            if "etag" in v:
                headers["If-None-Match"] = v["etag"]
            if "last_modified" in v:
                headers["If-Modified-Since"] = v["last_modified"]
        current, visited = url, []
        for _hop in range(self.s.fetch_max_redirects + 1):
            check_address(current, allow_private)
            if robots and not self.allowed(current, allow_private):
                raise Refused(f"robots.txt of {urlsplit(current).hostname} disallows {current}")
            visited.append(current)
            resp = self._get_with_retries(current, headers)
            if resp.status in REDIRECTS and "location" in resp.headers:
                current = urljoin(current, resp.headers["location"])
                continue
            if resp.status == 304 and conditional:
                return None
            if resp.status >= 400:
                raise HTTPStatusError(resp.status, current)
            resp.validators = {k: resp.headers[h] for k, h in (("etag", "etag"),
                                                                ("last_modified", "last-modified"))
                               if h in resp.headers}
            return resp
        raise Refused(f"more than {self.s.fetch_max_redirects} redirects from {url} "
                      f"(AKHBAR_FETCH_MAX_REDIRECTS): {' -> '.join(visited[:6])}")

    def _get_with_retries(self, url: str, headers: dict[str, str]) -> Response:
        attempt = 0
        while True:
            try:
                resp = self._get_once(url, headers)
            except httpx.TransportError as exc:
                if attempt >= self.s.fetch_retries:
                    raise FetchFailed(f"{url}: {type(exc).__name__}: {exc}") from None
                delay = backoff(attempt, self.s.fetch_backoff_s, self.s.fetch_retry_after_max_s)
            else:
                if resp.status not in TRANSIENT_STATUS:
                    return resp
                if attempt >= self.s.fetch_retries:
                    raise FetchFailed(f"HTTP {resp.status} for {url} after "
                                      f"{attempt + 1} attempt(s)")
                delay = self._retry_after(resp) or backoff(
                    attempt, self.s.fetch_backoff_s, self.s.fetch_retry_after_max_s)
            attempt += 1
            self._sleep(delay)

    def _retry_after(self, resp: Response) -> float | None:
        value = resp.headers.get("retry-after", "").strip()
        if not value:
            return None
        try:
            seconds = float(value)
        except ValueError:
            try:
                seconds = parsedate_to_datetime(value).timestamp() - time.time()
            except (TypeError, ValueError):
                return None
        return max(0.0, min(seconds, self.s.fetch_retry_after_max_s))

    def _host(self, url: str) -> _Host:
        key = urlsplit(url).netloc.lower()
        with self._hosts_lock:
            if key not in self._hosts:
                self._hosts[key] = _Host(threading.BoundedSemaphore(self.s.fetch_host_concurrency))
            return self._hosts[key]

    def _get_once(self, url: str, headers: dict[str, str]) -> Response:
        host = self._host(url)
        with host.slots:
            with host.lock:  # space the starts of requests to one host
                wait = host.next_at - time.monotonic()
                if wait > 0:
                    self._sleep(wait)
                host.next_at = time.monotonic() + self.s.fetch_host_interval_s
            with self.client.stream("GET", url, headers=headers) as r:
                declared = r.headers.get("content-length", "")
                if declared.isdigit() and int(declared) > self.s.fetch_max_bytes:
                    raise Refused(f"{url} is {declared} bytes, above the limit of "
                                  f"{self.s.fetch_max_bytes} (AKHBAR_FETCH_MAX_BYTES)")
                chunks, size = [], 0
                for chunk in r.iter_bytes():
                    size += len(chunk)
                    if size > self.s.fetch_max_bytes:
                        raise Refused(f"{url} sent more than {self.s.fetch_max_bytes} bytes "
                                      "(AKHBAR_FETCH_MAX_BYTES); aborted")
                    chunks.append(chunk)
                return Response(str(r.url), r.status_code, r.headers, b"".join(chunks))

    def allowed(self, url: str, allow_private: bool) -> bool:
        """robots.txt of the URL's host allows our user agent to fetch it (cached per host).
        An unavailable robots.txt (4xx) allows everything; an unreachable one (5xx, network)
        allows nothing until it can be read (RFC 9309)."""
        parts = urlsplit(url)
        origin = f"{parts.scheme}://{parts.netloc}"
        cached = self._robots.get(origin)
        if cached is None or cached[0] < time.monotonic():
            parser = RobotFileParser()
            try:
                resp = self.get(origin + "/robots.txt", allow_private=allow_private)
                assert resp is not None
                parser.parse(resp.content.decode("utf-8", "replace").splitlines())
            except HTTPStatusError as exc:
                parser.parse(ALLOW_ALL if 400 <= exc.status < 500 else DISALLOW_ALL)
            except (Refused, FetchFailed):
                parser.parse(DISALLOW_ALL)
            self._robots[origin] = (time.monotonic() + self.s.fetch_robots_ttl_s, parser)
            cached = self._robots[origin]
        return cached[1].can_fetch(self.s.fetch_user_agent.split("/")[0], url)
