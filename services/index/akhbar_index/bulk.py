"""Bulk indexing with bounded retries.

A batch is written in `_bulk` requests of at most `bulk_size` documents and `bulk_max_bytes`.
Whole-request failures (connection errors, 429, 5xx) and per-item 429/5xx are retried with
full-jitter exponential backoff; any other per-item error is a rejection with the reason
Elasticsearch gave. Documents already in an older index behind the alias (after a rollover) are
overwritten there, so a redelivered article never exists twice.
"""

from __future__ import annotations

import json
import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from elasticsearch import ApiError, Elasticsearch, TransportError

from akhbar.contract import TransientError
from akhbar.es import ALIAS
from akhbar.settings import Settings

log = logging.getLogger(__name__)
RETRY_STATUS = {429, 500, 502, 503, 504}


@dataclass
class BulkOutcome:
    indexed: list[str] = field(default_factory=list)
    rejected: dict[str, str] = field(default_factory=dict)  # id → reason from Elasticsearch
    unavailable: list[str] = field(default_factory=list)  # still failing after every retry
    last_error: str = ""


class BulkWriter:
    def __init__(self, es: Elasticsearch, s: Settings,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.es, self.s, self.sleep = es, s, sleep

    def write(self, docs: list[dict[str, Any]]) -> BulkOutcome:
        outcome = BulkOutcome()
        for chunk in _chunks(docs, self.s.bulk_size, self.s.bulk_max_bytes):
            self._write_chunk(chunk, outcome)
        return outcome

    def _write_chunk(self, docs: list[dict[str, Any]], outcome: BulkOutcome) -> None:
        pending = {d["id"]: d for d in docs}
        for attempt in range(self.s.retry_max + 1):
            if attempt:
                self.sleep(random.uniform(0, min(self.s.retry_backoff_max_s,
                                                 self.s.retry_backoff_s * 2 ** (attempt - 1))))
            try:
                homes = self._existing_indices(list(pending))
                resp = self.es.bulk(operations=bulk_body(pending.values(), ALIAS, homes))
            except (TransportError, ApiError, TransientError) as exc:
                status = getattr(exc, "status_code", None) or getattr(exc, "status", None)
                if isinstance(exc, ApiError) and status not in RETRY_STATUS:
                    raise  # a malformed request: retrying cannot help
                outcome.last_error = f"{type(exc).__name__}: {exc}"
                log.warning("bulk attempt %d failed: %s", attempt + 1, outcome.last_error)
                continue
            retry: dict[str, dict[str, Any]] = {}
            for item in resp["items"]:
                op = next(iter(item.values()))
                doc_id, status = op["_id"], op.get("status", 0)
                if status < 300:
                    outcome.indexed.append(doc_id)
                elif status in RETRY_STATUS:
                    retry[doc_id] = pending[doc_id]
                    outcome.last_error = _reason(op)
                else:
                    outcome.rejected[doc_id] = _reason(op)
            pending = retry
            if not pending:
                return
        outcome.unavailable.extend(pending)

    def _existing_indices(self, ids: list[str]) -> dict[str, str]:
        """Concrete index of each id that is already behind the alias."""
        if not self.es.indices.exists_alias(name=ALIAS):
            # Writing now would auto-create a plain index named like the alias.
            raise TransientError(f"write alias {ALIAS} does not exist (run setup)")
        resp = self.es.search(index=ALIAS, query={"ids": {"values": ids}},
                              source=False, size=len(ids))
        return {h["_id"]: h["_index"] for h in resp["hits"]["hits"]}


def bulk_body(docs: Any, alias: str, homes: dict[str, str]) -> list[dict[str, Any]]:
    body: list[dict[str, Any]] = []
    for d in docs:
        body.append({"index": {"_index": homes.get(d["id"], alias), "_id": d["id"]}})
        body.append(d)
    return body


def _reason(op: dict[str, Any]) -> str:
    err = op.get("error")
    if isinstance(err, dict):
        return f"{err.get('type')}: {err.get('reason')}"
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
