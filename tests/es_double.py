"""ElasticsearchDouble: a test double standing in for Elasticsearch at the HTTP boundary.

It answers the few endpoints the index stage calls, records every `_bulk` body and keeps the
documents by id, and can be told to fail. It is evidence of what the pipeline *sends*, never
that Elasticsearch would accept it (request bodies are checked against the official API
specification in test_es_requests.py, and against a real cluster when AKHBAR_ES_URL is set).
"""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

CONTENT_TYPE = "application/vnd.elasticsearch+json;compatible-with=9"


class ElasticsearchDouble:
    def __init__(self) -> None:
        self.bulk_bodies: list[list[dict[str, Any]]] = []
        self.docs: dict[str, dict[str, Any]] = {}
        self.arrivals: dict[str, float] = {}  # id → time.time() of its first indexing
        self.doc_index: dict[str, str] = {}
        self.requests: list[tuple[str, str]] = []
        self.searches: list[dict[str, Any]] = []
        self.aliases: dict[str, str] = {}  # alias → write index
        self.fail_next: list[int] = []  # statuses to answer the next _bulk requests with
        self.reject_ids: dict[str, str] = {}  # id → reason, answered per item with 400
        self.lock = threading.Lock()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> ElasticsearchDouble:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()

    def actions_for(self, doc_id: str) -> int:
        """How many bulk actions carried this id."""
        return sum(1 for body in self.bulk_bodies for a in body[::2]
                   if a["index"]["_id"] == doc_id)

    # What the handler does, one method per endpoint family.
    def handle(self, method: str, path: str, body: bytes) -> tuple[int, Any]:
        self.requests.append((method, path))
        parts = [p for p in path.split("/") if p]
        if method == "GET" and not parts:
            return 200, {"name": "double", "cluster_name": "double",
                         "version": {"number": "9.5.1"}, "tagline": "You Know, for Search"}
        if parts[:1] == ["_cluster"]:
            return 200, {"status": "green"}
        if parts[:2] == ["_ilm", "policy"] or parts[:1] == ["_index_template"]:
            return 200, {"acknowledged": True}
        if method == "HEAD" and parts[:1] == ["_alias"]:
            return (200 if parts[1] in self.aliases else 404), None
        if parts[-1:] == ["_search"]:
            query = json.loads(body)
            self.searches.append(query)
            if "ids" in query["query"]:
                ids = query["query"]["ids"]["values"]
                hits = [{"_id": i, "_index": self.doc_index[i]} for i in ids if i in self.docs]
            else:  # no relevance here: every document, in indexing order, score 1
                hits = [{"_id": i, "_index": self.doc_index[i], "_score": 1.0, "_source": d}
                        for i, d in list(self.docs.items())[:query.get("size", 10)]]
            return 200, {"hits": {"total": {"value": len(hits), "relation": "eq"}, "hits": hits}}
        if parts[-1:] == ["_bulk"]:
            return self._bulk(body)
        if method == "PUT" and len(parts) == 1:
            spec = json.loads(body or b"{}")
            for alias in spec.get("aliases", {}):
                self.aliases[alias] = parts[0]
            return 200, {"acknowledged": True, "index": parts[0]}
        return 404, {"error": {"type": "double_unsupported", "reason": f"{method} {path}"}}

    def _bulk(self, body: bytes) -> tuple[int, Any]:
        lines = [json.loads(ln) for ln in body.splitlines() if ln.strip()]
        with self.lock:
            self.bulk_bodies.append(lines)
            if self.fail_next:
                status = self.fail_next.pop(0)
                return status, {"error": {"type": "double_failure", "reason": "told to fail"},
                                "status": status}
            items = []
            for action, doc in zip(lines[::2], lines[1::2], strict=True):
                meta = action["index"]
                doc_id = meta["_id"]
                if doc_id in self.reject_ids:
                    items.append({"index": {"_id": doc_id, "status": 400, "error": {
                        "type": "document_parsing_exception", "reason": self.reject_ids[doc_id]}}})
                    continue
                created = doc_id not in self.docs
                self.docs[doc_id] = doc
                self.arrivals.setdefault(doc_id, time.time())
                self.doc_index[doc_id] = self.aliases.get(meta["_index"], meta["_index"])
                items.append({"index": {"_id": doc_id, "status": 201 if created else 200,
                                        "result": "created" if created else "updated"}})
        return 200, {"took": 1, "errors": any(i["index"]["status"] >= 300 for i in items),
                     "items": items}

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        double = self

        class Handler(BaseHTTPRequestHandler):
            def _serve(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                try:
                    status, payload = double.handle(self.command, urlsplit(self.path).path, body)
                except Exception as exc:  # a bug in the double must show, not hang the client
                    status, payload = 500, {"error": {"type": "double_error", "reason": repr(exc)}}
                data = b"" if payload is None else json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("X-Elastic-Product", "Elasticsearch")
                self.send_header("Content-Type", CONTENT_TYPE)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(data)

            do_GET = do_PUT = do_POST = do_HEAD = do_DELETE = _serve

            def log_message(self, *args: Any) -> None:
                pass

        return Handler
