"""FeedServer: a real HTTP server on 127.0.0.1 serving feeds and article pages written for the
tests, with the misbehaviours fetching must survive (304, 429, 500, slow, redirect loop, huge).
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

Reply = tuple[int, dict[str, str], bytes]


def page(title: str, paragraphs: list[str], date: str = "2024-03-05") -> str:
    body = "\n".join(f"<p>{p}</p>" for p in paragraphs)
    return f"""<!DOCTYPE html><html lang="ar" dir="rtl"><head><meta charset="utf-8">
<title>{title} | صحيفة الاختبار</title>
<meta property="article:published_time" content="{date}T10:00:00+03:00">
</head><body>
<nav><ul><li><a href="/">الرئيسية</a></li><li><a href="/s">سياسة</a></li></ul></nav>
<article><h1>{title}</h1><time datetime="{date}">{date}</time>{body}</article>
<div class="share">شارك</div><div class="print">طباعة</div>
<footer>جميع الحقوق محفوظة</footer></body></html>"""


class FeedServer:
    def __init__(self) -> None:
        self.routes: dict[str, Reply | Callable[[dict[str, str]], Reply]] = {}
        self.hits: Counter[str] = Counter()
        self.headers_seen: list[dict[str, str]] = []
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.server.daemon_threads = True
        self.base = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def url(self, path: str) -> str:
        return self.base + path

    def __enter__(self) -> FeedServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (http.server's name)
                path = self.path
                server.hits[path.split("?")[0]] += 1
                headers = {k.lower(): v for k, v in self.headers.items()}
                server.headers_seen.append({"path": path, **headers})
                route = server.routes.get(path.split("?")[0])
                if route is None:
                    status, extra, body = 404, {"Content-Type": "text/plain"}, b"not found"
                else:
                    status, extra, body = route(headers) if callable(route) else route
                if status == -1:  # slow: headers now, the body after a pause
                    self.send_response(200)
                    self.send_header("Content-Type", "text/html")
                    self.end_headers()
                    self.wfile.flush()
                    time.sleep(float(extra.get("delay", "2")))
                    self._write(body)
                    return
                self.send_response(status)
                for k, v in extra.items():
                    if k != "no-length":
                        self.send_header(k, v)
                if "no-length" not in extra:
                    self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self._write(body)

            def _write(self, body: bytes) -> None:
                try:
                    self.wfile.write(body)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client aborted (size cap, timeout): expected

            def log_message(self, *args: Any) -> None:
                pass

        return Handler
