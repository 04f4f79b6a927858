"""Bulk indexing: one attempt per batch, each document ending indexed, rejected or unavailable.

A batch is written in `_bulk` requests of at most `bulk_size` documents and `bulk_max_bytes`,
with `require_alias=true`: a write that finds no alias fails (the alias is missing: setup has
not run, or the cluster was reset) instead of auto-creating an index with a default mapping.
Documents already in an older index behind the alias (after a rollover) are overwritten there
(that one action names its concrete index and sets `require_alias: false`), so a redelivered
article never exists twice.

Nothing is retried here. Elasticsearch unavailable (akhbar_index.outage.transient) or refusing
the request as a whole (credentials, privileges) leaves the documents `unavailable`, as does a
transient failure of one item: no document is at fault, and the index worker pauses. Only a
document Elasticsearch refuses for itself is `rejected`, with its reason and the node that gave
it.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from elasticsearch import ApiError, Elasticsearch, TransportError

from akhbar.es import ALIAS
from akhbar.retry import TRANSIENT_STATUS
from akhbar.settings import Settings
from akhbar_index.outage import describe

if TYPE_CHECKING:
    from elastic_transport import NodeConfig


@dataclass
class BulkOutcome:
    indexed: dict[str, str] = field(default_factory=dict)  # id → the concrete index written
    rejected: dict[str, str] = field(default_factory=dict)  # id → reason, with the node
    unavailable: list[str] = field(default_factory=list)  # not taken: Elasticsearch unavailable
    why: str = ""  # why they were not taken


class BulkWriter:
    def __init__(self, es: Elasticsearch, s: Settings) -> None:
        self.es, self.s = es, s

    def write(self, docs: list[dict[str, Any]]) -> BulkOutcome:
        outcome = BulkOutcome()
        chunks = _chunks(docs, self.s.bulk_size, self.s.bulk_max_bytes)
        for n, chunk in enumerate(chunks):
            try:
                self._write_chunk(chunk, outcome)
            except (ApiError, TransportError) as exc:
                # The rest of the batch waits too, untried.
                outcome.unavailable += [d["id"] for c in chunks[n:] for d in c]
                outcome.why = describe(exc)
                break
        return outcome

    def _write_chunk(self, docs: list[dict[str, Any]], outcome: BulkOutcome) -> None:
        homes = self._existing_indices([d["id"] for d in docs])
        resp = self.es.bulk(operations=bulk_body(docs, ALIAS, homes), require_alias=True)
        node = node_url(resp.meta.node)
        for item in resp["items"]:
            op = next(iter(item.values()))
            doc_id, status = op["_id"], op.get("status", 0)
            if status < 300:
                outcome.indexed[doc_id] = op["_index"]
            elif unavailable_item(op):
                outcome.unavailable.append(doc_id)
                outcome.why = f"{node}: {_reason(op)}"
            else:
                outcome.rejected[doc_id] = f"{node} rejected the document: {_reason(op)}"

    def _existing_indices(self, ids: list[str]) -> dict[str, str]:
        """Concrete index of each id already behind the alias (none while it is missing)."""
        resp = self.es.search(index=ALIAS, query={"ids": {"values": ids}}, source=False,
                              size=len(ids), ignore_unavailable=True)
        return {h["_id"]: h["_index"] for h in resp["hits"]["hits"]}


def unavailable_item(op: dict[str, Any]) -> bool:
    """An item refused for the cluster's sake, not the document's: overloaded or failing
    (429, 5xx), or the write alias missing (`require_alias`)."""
    err = op.get("error")
    missing_alias = isinstance(err, dict) and err.get("type") == "index_not_found_exception"
    return op.get("status") in TRANSIENT_STATUS or missing_alias


def bulk_body(docs: Iterable[dict[str, Any]], alias: str, homes: dict[str, str]
              ) -> list[dict[str, Any]]:
    """Action and source lines: into the alias, or into the index a document already lives in
    (a concrete index: the request's `require_alias` is lifted for that action alone)."""
    body: list[dict[str, Any]] = []
    for d in docs:
        home = homes.get(d["id"])
        action = ({"_index": alias, "_id": d["id"]} if home is None
                  else {"_index": home, "_id": d["id"], "require_alias": False})
        body += [{"index": action}, d]
    return body


def node_url(node: NodeConfig) -> str:
    """The Elasticsearch node that answered (never its credentials)."""
    return f"Elasticsearch at {node.scheme}://{node.host}:{node.port}{node.path_prefix}"


def _reason(op: dict[str, Any]) -> str:
    err = op.get("error")
    if isinstance(err, dict):
        return f"{op.get('status')} {err.get('type')}: {err.get('reason')}"
    return str(err or f"status {op.get('status')}")


def _chunks(docs: list[dict[str, Any]], max_docs: int, max_bytes: int
            ) -> list[list[dict[str, Any]]]:
    """Consecutive runs of at most `max_docs` documents and `max_bytes` bytes (a document larger
    than `max_bytes` goes alone)."""
    chunks: list[list[dict[str, Any]]] = [[]]
    size = 0
    for d in docs:
        n = len(json.dumps(d, ensure_ascii=False).encode("utf-8"))
        if chunks[-1] and (size + n > max_bytes or len(chunks[-1]) == max_docs):
            chunks.append([])
            size = 0
        chunks[-1].append(d)
        size += n
    return [c for c in chunks if c]
