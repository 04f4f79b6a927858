"""What `akhbar search` sends and how it ranks: the keyword request over the analyzed fields
the index defines (stemmed, exact and English sub-fields, a phrase boost on the exact field,
highlights), the kNN request over the article vectors, and the fusion of the two (hybrid)."""

from __future__ import annotations

import re
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
    """The approximate kNN search of `vector` against the articles' embedding field. HNSW
    explores `num_candidates` per shard, at least twice k (Elasticsearch's default is 1.5 k)."""
    knn: dict[str, Any] = {"field": FIELD, "query_vector": [float(x) for x in vector],
                           "k": size, "num_candidates": max(num_candidates, 2 * size)}
    if filter_ is not None:
        knn["filter"] = filter_
    return {"size": size, "_source": {"includes": SOURCE}, "knn": knn}


Hit = tuple[str, float]  # (document id, score), best first as Elasticsearch returns them

# Hybrid ranking, chosen on the `tune` half of XQuAD-R's query ids (bench/search_quality.py, README
# "Semantic and hybrid search"): a convex combination of min-max normalised scores beat
# reciprocal-rank fusion at every k and window tried (Arabic nDCG@10 0.832 vs 0.820 at k=60).
WINDOW = 100  # hits fetched by each of hybrid's two requests, and fused
DENSE_WEIGHT_ARABIC = 0.5  # the dense share of the fused score for an Arabic query…
DENSE_WEIGHT_OTHER = 0.7  # …and for one in another script: the Arabic analyzers see no words
_LETTER = re.compile(r"[^\W\d_]")
_ARABIC = re.compile(r"[\u0600-\u06FF\u0750-\u077F\u08A0-\u08FF\uFB50-\uFDFF\uFE70-\uFEFF]")


def dense_weight(query: str) -> float:
    """The dense share of the fused score: by the share of the query's letters in Arabic script."""
    letters = _LETTER.findall(query)
    arabic = sum(bool(_ARABIC.match(c)) for c in letters) / len(letters) if letters else 1.0
    return arabic * DENSE_WEIGHT_ARABIC + (1 - arabic) * DENSE_WEIGHT_OTHER


def _normalised(hits: Sequence[Hit]) -> dict[str, float]:
    """Scores mapped onto [0, 1] within the window: best 1, last 0 (all equal: 1)."""
    if not hits:
        return {}
    scores = [score for _, score in hits]
    top, bottom = max(scores), min(scores)
    return {doc: (score - bottom) / (top - bottom) if top > bottom else 1.0
            for doc, score in hits}


def fuse(query: str, keyword: Sequence[Hit], dense: Sequence[Hit], size: int) -> list[Hit]:
    """The hybrid ranking: each ranking's top WINDOW scores normalised to [0, 1], weighted by
    dense_weight(query) and summed; a document missing from one ranking scores 0 there. The
    fused score is in [0, 1]; ties keep the keyword ranking's order, then the dense one's."""
    weight = dense_weight(query)
    kw, de = _normalised(keyword[:WINDOW]), _normalised(dense[:WINDOW])
    fused = {doc: (1 - weight) * kw.get(doc, 0.0) + weight * de.get(doc, 0.0)
             for doc in [*kw, *de]}
    return sorted(fused.items(), key=lambda hit: -hit[1])[:size]
