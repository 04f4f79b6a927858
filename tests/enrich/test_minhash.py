"""Enrich's MinHash is datasketch's (seed 1, scheme "affine32") value for value: band keys
written to Redis before it replaced datasketch still match the articles that follow."""

from __future__ import annotations

import json

import numpy as np
from datasketch import MinHash

from akhbar.orthography import search_form
from akhbar_enrich.similarity import NUM_PERM, features, signature
from akhbar_testkit.data import SHARED, need

NEWS = SHARED / "data" / "news" / "saudinewsnet-2015-08-10.jsonl"


def reference(story: np.ndarray) -> np.ndarray:
    m = MinHash(num_perm=NUM_PERM, hashfunc=int, seed=1, scheme="affine32")
    m.update_batch(story & np.uint64(0xFFFFFFFF))
    values: np.ndarray = m.hashvalues
    return values


def test_signature_is_datasketch_minhash_on_real_articles() -> None:
    rows = [json.loads(line) for line in need(NEWS).read_text("utf-8").splitlines()[:300]]
    stories = [features(search_form(r["title"]), search_form(r["content"])).story for r in rows]
    stories = [s for s in stories if len(s)]
    assert len(stories) > 250
    for story in stories:
        assert np.array_equal(signature(story), reference(story))


def test_signature_of_one_feature_and_of_extreme_hashes() -> None:
    """Wrap-around of the 32-bit arithmetic at the edges of the input range."""
    for story in (np.array([0], dtype=np.uint64), np.array([2**64 - 1], dtype=np.uint64),
                  np.array([1, 2**32 - 1, 2**32, 2**63], dtype=np.uint64)):
        assert np.array_equal(signature(story), reference(story))
