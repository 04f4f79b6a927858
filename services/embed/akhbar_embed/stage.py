"""The embed stage's pure part: the requests it sends and how it reads their answers.

A document gets its vector and its similar articles by one partial update (`_bulk` `update`
with `doc`), addressed to the concrete index it was written to; one the stage gives up on gets
FAILED_FIELD instead, so that the catch-up (akhbar.embedding.missing_query) never takes it
again. Similar articles are the kNN neighbours of its vector from other stories: a copy or
another report of the same news is not "similar", it is the same story.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from akhbar.embedding import FAILED_FIELD, FIELD, SIMILAR_FIELD, missing_query
from akhbar.search import knn_body

SOURCE = ["title", "body", "story_id"]  # what the stage reads of a document
RETRY_ON_CONFLICT = 3  # the index stage may rewrite the document meanwhile (a redelivery)


def other_stories(doc_id: str, story_id: str | None) -> dict[str, Any]:
    """The kNN filter of a document's similar articles: neither itself nor its story."""
    must_not: list[dict[str, Any]] = [{"ids": {"values": [doc_id]}}]
    if story_id:
        must_not.append({"term": {"story_id": story_id}})
    return {"bool": {"must_not": must_not}}


def similar_body(vector: Sequence[float], doc_id: str, story_id: str | None, size: int,
                 ids_only: bool) -> dict[str, Any]:
    """The kNN search for the `size` nearest articles of other stories (only their ids for the
    stored field, their summary for `akhbar similar`)."""
    body = knn_body(vector, size, filter_=other_stories(doc_id, story_id))
    if ids_only:
        body["_source"] = False
    return body


def vector_update(index: str, doc_id: str, vector: Sequence[float], similar: list[str]
                  ) -> list[dict[str, Any]]:
    """The `_bulk` lines giving a document its vector and similar articles (and clearing a
    failure left by an earlier attempt, when a dead-lettered job is replayed)."""
    return [{"update": {"_index": index, "_id": doc_id, "retry_on_conflict": RETRY_ON_CONFLICT}},
            {"doc": {FIELD: [float(x) for x in vector], SIMILAR_FIELD: similar,
                     FAILED_FIELD: None}}]


def failure_update(index: str, doc_id: str, reason: str) -> list[dict[str, Any]]:
    """The `_bulk` lines marking a document the stage gave up on."""
    return [{"update": {"_index": index, "_id": doc_id, "retry_on_conflict": RETRY_ON_CONFLICT}},
            {"doc": {FAILED_FIELD: reason[:1000]}}]


# The catch-up leaves alone what arrived this recently: index has sent it to the embed queue,
# where a worker may hold it (prefetched, in a batch) while the queue looks empty; taking it
# too would embed it twice.
CATCH_UP_MIN_AGE = "now-1m"


def catch_up_body(size: int) -> dict[str, Any]:
    """The newest documents still without a vector, past CATCH_UP_MIN_AGE: what an idle embed
    worker takes."""
    query = missing_query()
    query["bool"]["filter"] = [{"range": {"ingested_at": {"lte": CATCH_UP_MIN_AGE}}}]
    return {"size": size, "_source": False, "query": query,
            "sort": [{"ingested_at": {"order": "desc", "unmapped_type": "date"}}]}


def item_outcome(item: dict[str, Any]) -> tuple[str, str]:
    """(id, "done" | "gone" | "unavailable" | reason) of one `_bulk` update answer: a document
    deleted meanwhile is gone; an overloaded or failing cluster says nothing about it."""
    op = next(iter(item.values()))
    status, err = op.get("status", 0), op.get("error")
    if status < 300:
        return op["_id"], "done"
    if status == 404:
        return op["_id"], "gone"
    if status == 429 or status >= 500:
        return op["_id"], "unavailable"
    reason = f"{err.get('type')}: {err.get('reason')}" if isinstance(err, dict) else str(err)
    return op["_id"], f"{status} {reason}"
