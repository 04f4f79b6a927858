"""The search request `akhbar search` sends: the same analyzed fields the index defines
(stemmed, exact and English sub-fields), a phrase boost on the exact field, highlights."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from akhbar.embedding import FIELD

# Stemmed fields carry the match; exact sub-fields only add to it (boosting them above the
# stemmed ones made ranking mostly exact-match: nDCG@10 0.707 vs 0.799 in bench/search_quality).
FIELDS = ["title^3", "title.exact^1.5", "body", "body.exact^0.5", "captions",
          "captions.arabic"]
TIE_BREAKER = 0.3  # other matching fields add 30% of their score to the best one
SOURCE = ["id", "title", "source", "url", "published_at", "language", "story_id",
          "duplicate_of"]


def search_body(query: str, size: int = 10) -> dict[str, Any]:
    return {
        "size": size,
        "_source": {"includes": SOURCE},
        "query": {"bool": {
            "must": [{"multi_match": {"query": query, "fields": FIELDS, "type": "best_fields",
                                      "tie_breaker": TIE_BREAKER}}],
            "should": [{"match_phrase": {"body.exact": {"query": query, "boost": 2, "slop": 1}}},
                       {"match_phrase": {"title.exact": {"query": query, "boost": 3}}}],
        }},
        "highlight": {
            "pre_tags": ["«"], "post_tags": ["»"],
            "fields": {"body": {"fragment_size": 160, "number_of_fragments": 2},
                       "title": {"number_of_fragments": 0}},
        },
    }


def knn_body(vector: Sequence[float], size: int = 10, *, num_candidates: int = 100,
             filter_: dict[str, Any] | None = None) -> dict[str, Any]:
    """The approximate kNN search of `vector` against the articles' embedding field."""
    knn: dict[str, Any] = {"field": FIELD, "query_vector": [float(x) for x in vector],
                           "k": size, "num_candidates": max(num_candidates, size)}
    if filter_ is not None:
        knn["filter"] = filter_
    return {"size": size, "_source": {"includes": SOURCE}, "knn": knn}


Hit = tuple[str, float]  # (document id, score), best first as Elasticsearch returns them
RRF_K = 60


def fuse(query: str, keyword: Sequence[Hit], dense: Sequence[Hit], size: int) -> list[Hit]:
    """Reciprocal-rank fusion of the keyword and kNN rankings."""
    fused: dict[str, float] = {}
    for ranking in (keyword, dense):
        for rank, (doc, _) in enumerate(ranking, 1):
            fused[doc] = fused.get(doc, 0.0) + 1 / (RRF_K + rank)
    return sorted(fused.items(), key=lambda kv: -kv[1])[:size]
WINDOW = 100
