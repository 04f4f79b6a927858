"""Does int8 quantisation of the stored vectors (the template's `int8_hnsw`) lose retrieval
quality? Exact search on XQuAD-R Arabic (../shared/data/ir/xquad-r-ar) with the float vectors
and with the same vectors scalar-quantised roughly as Lucene's int8 format does (one linear
scale to 0..127 for all dimensions, between the lower and upper quantiles of all values at
Elasticsearch's default confidence interval 1 - 1/(dims + 1); Lucene's per-vector score
corrections are left out, so this errs on the pessimistic side), the query vector staying
float. HNSW's approximation is not in the comparison: only what quantisation changes.

    .venv/bin/python bench/vector_quantization.py [--queries queries.en.tsv]

Prints one JSON object: nDCG@10 and recall@100 of each, and how often the top hit differs.
"""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path

import numpy as np

from akhbar.embedding import DIMS, passages, query

DATA = Path(__file__).resolve().parents[1].parent / "shared/data/ir/xquad-r-ar"


def read_tsv(path: Path) -> dict[str, str]:
    rows = (line.split("\t", 1) for line in path.read_text(encoding="utf-8").splitlines())
    return {k: v for k, v in rows}


def quantise(vectors: np.ndarray) -> np.ndarray:
    """int8 scalar quantisation and back (what the stored vector scores as)."""
    confidence = 1 - 1 / (DIMS + 1)
    lo, hi = np.quantile(vectors, [(1 - confidence) / 2, (1 + confidence) / 2])
    levels = np.round((np.clip(vectors, lo, hi) - lo) * 127 / (hi - lo))
    return (levels * (hi - lo) / 127 + lo).astype(np.float32)


def scores(ranking: np.ndarray, ids: list[str], relevant: set[str]) -> tuple[float, float]:
    ranked = [ids[i] for i in ranking]
    dcg = sum(1 / math.log2(r + 2) for r, d in enumerate(ranked[:10]) if d in relevant)
    ideal = sum(1 / math.log2(r + 2) for r in range(min(10, len(relevant))))
    return dcg / ideal, len(relevant & set(ranked[:100])) / len(relevant)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--queries", default="queries.tsv", help="a queries file of the set")
    args = ap.parse_args()
    corpus, queries = read_tsv(DATA / "corpus.tsv"), read_tsv(DATA / args.queries)
    qrels: dict[str, set[str]] = {}
    for line in (DATA / "qrels.txt").read_text().splitlines():
        qid, _, doc, rel = line.split()
        if int(rel) > 0:
            qrels.setdefault(qid, set()).add(doc)
    ids = list(corpus)
    stored = passages([corpus[i] for i in ids])
    variants = {"float": stored, "int8": quantise(stored)}
    totals = {name: [0.0, 0.0] for name in variants}
    top_differs, asked = 0, [q for q in queries if q in qrels]
    for qid in asked:
        q = query(queries[qid])
        tops = []
        for name, vectors in variants.items():
            ranking = np.argsort(-(vectors @ q))[:100]
            ndcg, recall = scores(ranking, ids, qrels[qid])
            totals[name][0] += ndcg
            totals[name][1] += recall
            tops.append(ranking[0])
        top_differs += int(tops[0] != tops[1])
    print(json.dumps({"queries": args.queries, "n": len(asked), **{
        name: {"ndcg@10": round(t[0] / len(asked), 4), "r@100": round(t[1] / len(asked), 4)}
        for name, t in totals.items()}, "top_hit_differs": top_differs}))


if __name__ == "__main__":
    main()
