"""Embedding indexed documents: read them, encode their passage text, find their similar
articles and write both back, a batch at a time (the worker's pool process; `embed_documents`
is the in-process form for `akhbar process --embed`).

Nothing here loses a document: it is in the index already. Elasticsearch unavailable (or
refusing a whole request) leaves the batch without vectors, for the catch-up to take again; a
document that cannot be embedded (no text, the model fails on it, the update is refused for
it) is reported as failed, for the glue to dead-letter and mark.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from elasticsearch import ApiError, Elasticsearch, TransportError

from akhbar.contract import ContractError, Indexed
from akhbar.embedding import FAILED_FIELD, FIELD, passages
from akhbar.es import ALIAS
from akhbar.settings import Settings
from akhbar_embed.stage import (
    SOURCE,
    failure_update,
    item_outcome,
    similar_body,
    vector_update,
)
from akhbar_embed.text import passage_text

log = logging.getLogger(__name__)
Vector = list[float]


@dataclass
class Outcome:
    done: list[str] = field(default_factory=list)
    gone: list[str] = field(default_factory=list)  # no longer in the index
    failed: dict[str, str] = field(default_factory=dict)  # id → why it cannot be embedded
    unavailable: list[str] = field(default_factory=list)  # left without a vector, for now
    why: str = ""  # why Elasticsearch did not take them
    deferred: list[str] = field(default_factory=list)  # left to the catch-up: keyword stages busy


class Deferred:
    """No vector yet: the keyword stages needed the CPU (see Embedder's `go_on`)."""


def always() -> bool:
    return True


def encode(texts: list[str], s: Settings, go_on: Callable[[], bool] = always
           ) -> list[Vector | Exception | Deferred]:
    """The vector of each text, or why it has none: texts go to the model
    `embed_batch_size` at a time; a batch the model fails on is encoded text by text, so one
    bad text fails alone. Before each batch `go_on()` is asked: once it says no, the texts
    left are Deferred."""
    out: list[Vector | Exception | Deferred] = []
    for i in range(0, len(texts), s.embed_batch_size):
        if not go_on():
            return out + [Deferred() for _ in texts[i:]]
        chunk = texts[i:i + s.embed_batch_size]
        try:
            out += [[float(x) for x in v] for v in passages(chunk, s.embed_threads)]
        except Exception:  # noqa: BLE001 (find the text at fault)
            out += [_encode_one(t, s) for t in chunk]
    return out


def _encode_one(text: str, s: Settings) -> Vector | Exception:
    try:
        return [float(x) for x in passages([text], s.embed_threads)[0]]
    except Exception as exc:  # noqa: BLE001 (reported for this text alone)
        return exc


def passage_vectors(sources: list[dict[str, Any]], s: Settings, go_on: Callable[[], bool] = always
                    ) -> list[Vector | Exception | Deferred]:
    """encode() of each document's passage text; one with no text has none to embed."""
    texts = [passage_text(src) for src in sources]
    todo = [i for i, t in enumerate(texts) if t]
    vectors = iter(encode([texts[i] for i in todo], s, go_on))
    return [next(vectors) if t else ContractError("no title or body to embed") for t in texts]


def embed_documents(docs: list[dict[str, Any]], settings: Settings) -> None:
    """`akhbar process --embed`: each document's vector, in place (or why it has none). Similar
    articles need the index: they are not computed here."""
    for doc, vector in zip(docs, passage_vectors(docs, settings), strict=True):
        assert not isinstance(vector, Deferred)  # nothing yields in process
        if isinstance(vector, Exception):
            doc[FAILED_FIELD] = f"{type(vector).__name__}: {vector}"
        else:
            doc[FIELD] = vector


class Embedder:
    """`go_on`: asked before each model call; once it says no, the rest of the batch is left
    to the catch-up (the worker's: the keyword stages have no work waiting)."""

    def __init__(self, es: Elasticsearch, s: Settings, go_on: Callable[[], bool] = always
                 ) -> None:
        self.es, self.s, self.go_on = es, s, go_on

    def run(self, jobs: list[Indexed], refresh: bool = False) -> Outcome:
        """Embed the documents of `jobs`; `refresh`: make the vectors visible to search before
        returning (the catch-up must not find the same documents again)."""
        outcome = Outcome()
        try:
            sources = self._read(jobs, outcome)
            vectors = passage_vectors([src for _, src in sources], self.s, self.go_on)
            ready = []
            for (job, src), vector in zip(sources, vectors, strict=True):
                if isinstance(vector, Deferred):
                    outcome.deferred.append(job.id)
                elif isinstance(vector, Exception):
                    outcome.failed[job.id] = f"{type(vector).__name__}: {vector}"
                else:
                    ready.append((job, src, vector))
            similar = self._similar(ready)
            self._write([line for (job, _, vector), near in zip(ready, similar, strict=True)
                         for line in vector_update(job.index, job.id, vector, near)],
                        refresh, outcome)
        except (ApiError, TransportError) as exc:
            outcome.unavailable = [j.id for j in jobs if j.id not in outcome.failed
                                   and j.id not in outcome.gone and j.id not in outcome.done]
            outcome.why = f"{type(exc).__name__}: {exc}"
        return outcome

    def mark_failed(self, jobs: dict[str, Indexed], failed: dict[str, str]) -> None:
        """Mark the documents given up on (best effort: unmarked, the catch-up tries again)."""
        lines = [line for doc_id, why in failed.items()
                 for line in failure_update(jobs[doc_id].index, doc_id, why)]
        if not lines:
            return
        try:
            resp = self.es.bulk(operations=lines)
            refused = [item_outcome(i) for i in resp["items"]
                       if next(iter(i.values())).get("status", 0) >= 300]
            if refused:
                log.warning("could not mark %d document(s) given up on: %s", len(refused),
                            refused[:3])
        except (ApiError, TransportError) as exc:
            log.warning("could not mark %d document(s) given up on: %s", len(failed), exc)

    def _read(self, jobs: list[Indexed], outcome: Outcome) -> list[tuple[Indexed, dict[str, Any]]]:
        """The documents' text (a real-time get: no refresh needed after indexing)."""
        resp = self.es.mget(docs=[{"_index": j.index, "_id": j.id, "_source": SOURCE}
                                  for j in jobs])
        found = []
        for job, doc in zip(jobs, resp["docs"], strict=True):
            if doc.get("found"):
                found.append((job, doc.get("_source") or {}))
            else:
                outcome.gone.append(job.id)
        return found

    def _similar(self, ready: list[tuple[Indexed, dict[str, Any], Vector]]) -> list[list[str]]:
        """The ids of each document's nearest articles of other stories, in one _msearch."""
        size = self.s.embed_similar
        if not size or not ready:
            return [[] for _ in ready]
        lines: list[dict[str, Any]] = []
        for job, src, vector in ready:
            lines += [{"index": ALIAS},
                      similar_body(vector, job.id, src.get("story_id"), size, ids_only=True)]
        resp = self.es.msearch(searches=lines)
        out = []
        for answer in resp["responses"]:
            if "error" in answer:
                raise ApiError(f"similar articles: {answer['error']}", resp.meta, answer)
            out.append([h["_id"] for h in answer["hits"]["hits"]])
        return out

    def _write(self, lines: list[dict[str, Any]], refresh: bool, outcome: Outcome) -> None:
        if not lines:
            return
        resp = self.es.bulk(operations=lines, refresh="wait_for" if refresh else None)
        for item in resp["items"]:
            doc_id, result = item_outcome(item)
            if result == "done":
                outcome.done.append(doc_id)
            elif result == "gone":
                outcome.gone.append(doc_id)
            elif result == "unavailable":
                outcome.unavailable.append(doc_id)
                outcome.why = "Elasticsearch refused the update for now (overloaded or failing)"
            else:
                outcome.failed[doc_id] = f"Elasticsearch refused the update: {result}"
