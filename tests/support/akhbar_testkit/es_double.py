"""ElasticsearchDouble: a test double standing in for Elasticsearch at the HTTP boundary.

It answers the few endpoints the index and embed stages call, records every `_bulk` body and
keeps the documents by id, and can be told to fail. For the embed stage it applies `_bulk`
`update` actions (a partial `doc`, to the document in the index named), answers `_mget`,
`_count`, `_msearch`, a mapping update, and searches whose query is made of `ids`, `term`,
`exists`, a `range` of dates up to `now-<n>s|m` and `bool` (other queries match every document,
with no relevance) or a `knn` (exact dot products, its filter applied); `sort` is ignored.
It is evidence of what the pipeline *sends*, never that Elasticsearch would accept it (request
bodies are checked against the official API specification in test_es_requests.py, and against
a real cluster when AKHBAR_ES_URL is set).

Like Elasticsearch it keeps indices and aliases apart: creating an index that exists answers
400 resource_already_exists_exception, a `_bulk` action with `require_alias` (the request's
query parameter, or the action's own) into a name that is no alias fails that item with 404
index_not_found_exception, and a search of a missing index answers 404 unless
`ignore_unavailable` is set. A `knn` search ranks the documents carrying the vector field by
exact cosine similarity (what Elasticsearch's HNSW search approximates), without filters; any
other search returns every document in indexing order (no relevance).

Fault modes (bench/faults.py): `stop_listening()` / `listen()` (nothing on the port: connection
refused), `bulk_fault = (status, share)` (that share of `_bulk` requests answered with the
status, at random), `bulk_delay_per_doc_s` (a slow cluster: each `_bulk` answered after this
many seconds per document it carries, one request at a time), `answers[(method, path)]` (the
next requests to that endpoint answered with these (status, body) pairs, in order).
"""

from __future__ import annotations

import json
import random
import re
import threading
import time
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

CONTENT_TYPE = "application/vnd.elasticsearch+json;compatible-with=9"


class ElasticsearchDouble:
    def __init__(self) -> None:
        self.bulk_bodies: list[list[dict[str, Any]]] = []
        self.bulk_params: list[dict[str, str]] = []  # the query parameters of each _bulk
        self.docs: dict[str, dict[str, Any]] = {}
        self.arrivals: dict[str, float] = {}  # id → time.time() of its first indexing
        self.doc_index: dict[str, str] = {}
        self.copies: dict[str, set[str]] = {}  # id → every concrete index it was written to
        self.requests: list[tuple[str, str]] = []
        self.searches: list[dict[str, Any]] = []
        self.aliases: dict[str, str] = {}  # alias → write index
        self.indices: set[str] = set()  # concrete indices created
        self.answers: dict[tuple[str, str], list[tuple[int, Any]]] = {}
        self.fail_next: list[int] = []  # statuses to answer the next _bulk requests with
        self.reject_ids: dict[str, str] = {}  # id → reason, answered per item with 400
        self.busy_ids: set[str] = set()  # answered per item with 429 (a write queue full)
        # field → reason: an update setting it is refused with 400 (a mapping refusing it)
        self.reject_fields: dict[str, str] = {}
        self.mappings: list[dict[str, Any]] = []  # the bodies of mapping updates
        self.bulk_fault: tuple[int, float] | None = None  # (status, share of _bulk requests)
        self.bulk_delay_per_doc_s = 0.0
        self.lock = threading.Lock()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.port = self.server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> ElasticsearchDouble:
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop_listening()

    def stop_listening(self) -> None:
        """Close the listening socket: clients now get connection refused."""
        self.server.shutdown()
        self.server.server_close()

    def listen(self) -> None:
        """Listen again on the same port, keeping every document and record."""
        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), self._handler())
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def forget(self) -> None:
        """Drop the documents and every record (aliases stay): a fresh start for counting."""
        with self.lock:
            for record in (self.bulk_bodies, self.bulk_params, self.docs, self.arrivals,
                           self.doc_index, self.copies, self.requests, self.searches):
                record.clear()

    def actions_for(self, doc_id: str) -> int:
        """How many bulk actions carried this id."""
        return sum(1 for body in self.bulk_bodies for a in body[::2]
                   if "index" in a and a["index"]["_id"] == doc_id)

    # What the handler does, one method per endpoint family.
    def handle(self, method: str, path: str, body: bytes,
               params: dict[str, str] | None = None) -> tuple[int, Any]:
        params = params or {}
        self.requests.append((method, path))
        scripted = self.answers.get((method, path))
        if scripted:
            return scripted.pop(0)
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
            return self._search(parts[0], json.loads(body), params)
        if parts[-1:] == ["_bulk"]:
            return self._bulk(body, params)
        if parts[-1:] == ["_mget"]:
            return self._mget(json.loads(body))
        if parts[-1:] == ["_msearch"]:
            lines = [json.loads(ln) for ln in body.splitlines() if ln.strip()]
            return 200, {"took": 1, "responses": [
                self._search(head.get("index", parts[0]), query, {})[1]
                for head, query in zip(lines[::2], lines[1::2], strict=True)]}
        if parts[-1:] == ["_count"]:
            query = json.loads(body or b"{}").get("query")
            with self.lock:
                return 200, {"count": sum(1 for i, d in self.docs.items()
                                          if _matches(i, d, query))}
        if method == "PUT" and parts[-1:] == ["_mapping"]:
            self.mappings.append(json.loads(body))
            return 200, {"acknowledged": True}
        if method == "PUT" and len(parts) == 1:
            return self._create_index(parts[0], json.loads(body or b"{}"))
        return 404, {"error": {"type": "double_unsupported", "reason": f"{method} {path}"}}

    def _create_index(self, name: str, spec: dict[str, Any]) -> tuple[int, Any]:
        with self.lock:
            if name in self.indices or name in self.aliases:
                return 400, {"error": {"type": "resource_already_exists_exception",
                                       "reason": f"index [{name}/double] already exists"},
                             "status": 400}
            self.indices.add(name)
            for alias in spec.get("aliases", {}):
                self.aliases[alias] = name
        return 200, {"acknowledged": True, "index": name}

    def _search(self, target: str, query: dict[str, Any],
                params: dict[str, str]) -> tuple[int, Any]:
        if target not in self.aliases and target not in self.indices:
            if params.get("ignore_unavailable") != "true":
                return 404, {"error": {"type": "index_not_found_exception",
                                       "reason": f"no such index [{target}]"}, "status": 404}
            return 200, {"hits": {"total": {"value": 0, "relation": "eq"}, "hits": []}}
        self.searches.append(query)
        with self.lock:
            if "knn" in query:
                hits = self._knn(query["knn"])
            else:  # in indexing order, score 1
                hits = [{"_id": i, "_index": self.doc_index[i], "_score": 1.0, "_source": d}
                        for i, d in self.docs.items() if _matches(i, d, query.get("query"))]
        hits = hits[:query.get("size", 10)]
        if query.get("_source") is False:
            hits = [{k: v for k, v in h.items() if k != "_source"} for h in hits]
        return 200, {"hits": {"total": {"value": len(hits), "relation": "eq"}, "hits": hits}}

    def _knn(self, knn: dict[str, Any]) -> list[dict[str, Any]]:
        """Exact nearest neighbours among the documents that have the field and pass the
        filter, scored as Elasticsearch scores a dot_product field of unit vectors
        ((1 + dot) / 2)."""
        field, vector = knn["field"], knn["query_vector"]
        scored = [((1 + sum(a * b for a, b in zip(d[field], vector, strict=True))) / 2, i, d)
                  for i, d in self.docs.items()
                  if d.get(field) is not None and _matches(i, d, knn.get("filter"))]
        scored.sort(key=lambda t: -t[0])
        return [{"_id": i, "_index": self.doc_index[i], "_score": score, "_source": d}
                for score, i, d in scored[:knn["k"]]]

    def _mget(self, body: dict[str, Any]) -> tuple[int, Any]:
        out = []
        with self.lock:
            for ref in body["docs"]:
                doc_id, index = ref["_id"], ref["_index"]
                if self.doc_index.get(doc_id) != self.aliases.get(index, index):
                    out.append({"_id": doc_id, "_index": index, "found": False})
                    continue
                src = self.docs[doc_id]
                if isinstance(ref.get("_source"), list):
                    src = {k: v for k, v in src.items() if k in ref["_source"]}
                out.append({"_id": doc_id, "_index": self.doc_index[doc_id], "found": True,
                            "_source": src})
        return 200, {"docs": out}

    def _bulk(self, body: bytes, params: dict[str, str]) -> tuple[int, Any]:
        lines = [json.loads(ln) for ln in body.splitlines() if ln.strip()]
        with self.lock:
            self.bulk_bodies.append(lines)
            self.bulk_params.append(params)
            status = self._bulk_status()
            if status:
                return status, {"error": {"type": "double_failure", "reason": "told to fail"},
                                "status": status}
            time.sleep(self.bulk_delay_per_doc_s * len(lines) / 2)
            items = [self._update_one(action["update"], doc) if "update" in action
                     else self._index_one(action["index"], doc,
                                          params.get("require_alias") == "true")
                     for action, doc in zip(lines[::2], lines[1::2], strict=True)]
        return 200, {"took": 1, "items": items,
                     "errors": any(next(iter(i.values()))["status"] >= 300 for i in items)}

    def _update_one(self, meta: dict[str, Any], payload: dict[str, Any]) -> dict[str, Any]:
        """A partial update: the document must be in the index the action names."""
        doc_id, target = meta["_id"], meta["_index"]
        refused = [f for f in payload["doc"] if f in self.reject_fields]
        if refused:
            return {"update": {"_id": doc_id, "status": 400, "error": {
                "type": "document_parsing_exception", "reason": self.reject_fields[refused[0]]}}}
        if doc_id in self.busy_ids:
            return {"update": {"_id": doc_id, "status": 429, "error": {
                "type": "es_rejected_execution_exception", "reason": "write queue full"}}}
        if self.doc_index.get(doc_id) != self.aliases.get(target, target):
            return {"update": {"_id": doc_id, "status": 404, "error": {
                "type": "document_missing_exception", "reason": f"[{doc_id}]: document missing"}}}
        self.docs[doc_id] = {**self.docs[doc_id], **payload["doc"]}
        return {"update": {"_id": doc_id, "_index": self.doc_index[doc_id], "status": 200,
                           "result": "updated"}}

    def _index_one(self, meta: dict[str, Any], doc: dict[str, Any],
                   require_alias: bool) -> dict[str, Any]:
        doc_id, target = meta["_id"], meta["_index"]
        if doc_id in self.reject_ids:
            return {"index": {"_id": doc_id, "status": 400, "error": {
                "type": "document_parsing_exception", "reason": self.reject_ids[doc_id]}}}
        if doc_id in self.busy_ids:
            return {"index": {"_id": doc_id, "status": 429, "error": {
                "type": "es_rejected_execution_exception", "reason": "write queue full"}}}
        if meta.get("require_alias", require_alias) and target not in self.aliases:
            return {"index": {"_id": doc_id, "status": 404, "error": {
                "type": "index_not_found_exception",
                "reason": f"no such index [{target}] and [require_alias] request flag is "
                          f"[true] and [{target}] is not an alias"}}}
        created = doc_id not in self.docs
        self.docs[doc_id] = doc
        self.arrivals.setdefault(doc_id, time.time())
        self.doc_index[doc_id] = self.aliases.get(target, target)
        self.indices.add(self.doc_index[doc_id])  # as Elasticsearch auto-creates it
        self.copies.setdefault(doc_id, set()).add(self.doc_index[doc_id])
        return {"index": {"_id": doc_id, "_index": self.doc_index[doc_id],
                          "status": 201 if created else 200,
                          "result": "created" if created else "updated"}}

    def _bulk_status(self) -> int | None:
        """The failure status this _bulk request is told to answer with, if any."""
        if self.fail_next:
            return self.fail_next.pop(0)
        if self.bulk_fault and random.random() < self.bulk_fault[1]:
            return self.bulk_fault[0]
        return None

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        double = self

        class Handler(BaseHTTPRequestHandler):
            def _serve(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                try:
                    url = urlsplit(self.path)
                    params = {k: v[-1] for k, v in parse_qs(url.query).items()}
                    status, payload = double.handle(self.command, url.path, body, params)
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


def _matches(doc_id: str, doc: dict[str, Any], query: dict[str, Any] | None) -> bool:
    """Whether a document matches the query parts the double knows; any other query (full
    text, match_all) matches every document."""
    if not query:
        return True
    if "ids" in query:
        return doc_id in query["ids"]["values"]
    if "exists" in query:
        return doc.get(query["exists"]["field"]) is not None
    if "term" in query:
        (field, value), = query["term"].items()
        return bool(doc.get(field) == (value["value"] if isinstance(value, dict) else value))
    if "range" in query:
        (field, bounds), = query["range"].items()
        ago = re.fullmatch(r"now-(\d+)([sm])", bounds["lte"])
        assert ago is not None and doc.get(field), f"the double has no range {bounds}"
        age = int(ago[1]) * (60 if ago[2] == "m" else 1)
        return bool(datetime.fromisoformat(doc[field]) <= datetime.now(UTC)
                    - timedelta(seconds=age))
    if "bool" in query:
        b = query["bool"]
        return (all(_matches(doc_id, doc, q) for q in [*b.get("must", []), *b.get("filter", [])])
                and not any(_matches(doc_id, doc, q) for q in b.get("must_not", [])))
    return True
