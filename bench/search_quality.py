"""Arabic retrieval quality of Akhbar's search: keyword (real Lucene BM25, no cluster), dense
(the shared sentence encoder) and hybrid (both, fused as `akhbar search` fuses them).

    .venv/bin/python bench/search_quality.py [--mode bm25 dense hybrid] [--queries F]
        [--corpus F --qrels F] [--cache DIR] [--json FILE]

Corpus and queries are TSV (`id<TAB>text`), qrels TREC format (`qid 0 docid grade`); the
defaults are XQuAD-R Arabic from ../shared. Queries may be in any language (the English
XQuAD-R questions: ../shared/data/ir/xquad-r-ar/queries.en.tsv, same ids and qrels). Prints
nDCG@10, MRR@10 and R@100 over all queries and over each half of a fixed split of the query
ids (`half`): fusion parameters are chosen on the `tune` half and reported on `test` too.

--mode bm25, on Lucene:
- standard: Elasticsearch's `standard` analyzer on one field, a match query;
- arabic_builtin: Lucene's ArabicAnalyzer (Elasticsearch's built-in `arabic`), same;
- akhbar_arabic: the template's `akhbar_arabic` analyzer, same;
- akhbar: the keyword request `akhbar search` sends (akhbar.search.search_body), on documents
  indexed with the template's fields and analyzers: each passage is the `body` (read by body,
  body.exact and body.english), `title` is empty and `captions` absent, so their clauses match
  nothing. Approximation: the best_fields multi_match becomes a DisjunctionMax (tie_breaker 0) of
  one match query per listed field, boosted as listed, which is how Elasticsearch builds
  best_fields; the match_phrase clauses stay `should` clauses beside it. Not reproduced:
  Elasticsearch's per-shard statistics (one in-memory segment here), highlighting and _source,
  which do not change the ranking of a one-shard index.
--mode dense: the corpus ranked by cosine similarity to the query with akhbar.embedding (the
  product's encoder, "passage: " / "query: " prefixes), exactly (Elasticsearch's HNSW search
  approximates this ranking).
--mode hybrid: the `akhbar` and `dense` rankings fused by akhbar.search.fuse, the function
  `akhbar search` applies to its two requests.

Encoding the corpus and queries takes minutes on one core: the vectors are cached in --cache
(default ~/.cache/akhbar/bench-vectors), one file per model, prefix and text list.

Reference figures (Lucene BM25) on XQuAD-R: standard 0.672 / 0.876, built-in arabic
0.767 / 0.943 (nDCG@10 / R@100); this harness reproduces both to the third decimal.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from akhbar import embedding
from akhbar.search import Hit, fuse, search_body
from akhbar_testkit.lucene_harness import (
    Lucene,
    lucene_query,
    mapping_analyzers,
    template_analysis,
)

if TYPE_CHECKING:
    import numpy as np

REPO = Path(__file__).resolve().parents[1]

XQUAD = REPO.parent / "shared" / "data" / "ir" / "xquad-r-ar"
CACHE = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "akhbar" / "bench-vectors"
MODES = ["bm25", "dense", "hybrid"]
BM25_RUNS = ["standard", "arabic_builtin", "akhbar_arabic", "akhbar"]
DEPTH = 100  # every ranking is cut here: R@100 and the fusion's input

Ranking = list[Hit]


def half(qid: str) -> str:
    """The fixed split of query ids: fusion parameters are chosen on `tune`, never on `test`."""
    return "tune" if hashlib.sha256(qid.encode()).digest()[0] % 2 == 0 else "test"


def read_tsv(path: Path) -> dict[str, str]:
    rows = (line.split("\t", 1) for line in path.read_text(encoding="utf-8").splitlines())
    return {r[0]: r[1] for r in rows if len(r) == 2}


def read_qrels(path: Path) -> dict[str, dict[str, int]]:
    qrels: dict[str, dict[str, int]] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            qid, _, doc, grade = line.split()
            if int(grade) > 0:
                qrels.setdefault(qid, {})[doc] = int(grade)
    return qrels


def metrics(ranked: list[str], relevant: dict[str, int]) -> dict[str, float]:
    dcg = sum(relevant.get(d, 0) / math.log2(i + 2) for i, d in enumerate(ranked[:10]))
    ideal = sum(g / math.log2(i + 2)
                for i, g in enumerate(sorted(relevant.values(), reverse=True)[:10]))
    first = next((i for i, d in enumerate(ranked[:10]) if d in relevant), None)
    return {"ndcg@10": dcg / ideal, "mrr@10": 0.0 if first is None else 1 / (first + 1),
            "r@100": len(set(ranked[:100]) & relevant.keys()) / len(relevant)}


def mean(rows: list[dict[str, float]]) -> dict[str, float]:
    return {m: sum(r[m] for r in rows) / len(rows) for m in rows[0]} if rows else {}


def score(rankings: dict[str, Ranking], qrels: dict[str, dict[str, int]]) -> dict[str, Any]:
    """Mean metrics over every query, and over each half of the split (`halves`)."""
    per_query = {q: metrics([doc for doc, _ in r], qrels[q]) for q, r in rankings.items()}
    return mean(list(per_query.values())) | {"halves": {
        h: mean([m for q, m in per_query.items() if half(q) == h]) for h in ("tune", "test")}}


def rounded(figures: dict[str, Any]) -> dict[str, Any]:
    return {k: rounded(v) if isinstance(v, dict) else round(v, 4) for k, v in figures.items()}


def lucene_rankings(lucene: Lucene, queries: dict[str, str],
                    build: Callable[[str], dict[str, Any]]) -> dict[str, Ranking]:
    qids = list(queries)
    hits = lucene.scored_search([build(queries[q]) for q in qids], k=DEPTH)
    return dict(zip(qids, hits, strict=True))


def bm25_rankings(corpus: dict[str, str], queries: dict[str, str],
                  runs: list[str]) -> tuple[dict[str, dict[str, Ranking]], str]:
    """The Lucene BM25 runs asked for (BM25_RUNS), and the Lucene version."""
    out: dict[str, dict[str, Ranking]] = {}
    with Lucene() as lucene:
        analysis = template_analysis()
        lucene.define("standard", analysis)
        lucene.define("arabic_builtin", analysis, "arabic")
        fields = mapping_analyzers()
        for name in set(fields.values()):
            lucene.define(name, analysis)
        for run, analyzer in (("standard", "standard"), ("arabic_builtin", "arabic_builtin"),
                              ("akhbar_arabic", "akhbar_arabic")):
            if run in runs:
                lucene.index({"body": analyzer}, ({"id": i, "body": t} for i, t in corpus.items()))
                out[run] = lucene_rankings(lucene, queries, lambda text: {
                    "match": {"field": "body", "query": text}})
        if "akhbar" in runs:
            lucene.index(fields, ({"id": i, "title": "", "body": t} for i, t in corpus.items()))
            out["akhbar"] = lucene_rankings(lucene, queries,
                                            lambda text: lucene_query(search_body(text)["query"]))
        return out, lucene.version


def encode(texts: list[str], kind: str, cache: Path) -> np.ndarray:
    """akhbar.embedding vectors of `texts` ("passage" or "query"), cached by model and texts."""
    import numpy as np
    key = hashlib.sha256("\0".join([embedding.MODEL, kind, *texts]).encode()).hexdigest()
    path = cache / f"{key[:32]}.npy"
    if path.is_file():
        vectors: np.ndarray = np.load(path)
        return vectors
    print(f"encoding {len(texts)} {kind} texts (cached in {cache})", file=sys.stderr)
    if kind == "passage":
        vectors = embedding.passages(texts)
    else:
        vectors = np.stack([embedding.query(t) for t in texts])
    cache.mkdir(parents=True, exist_ok=True)
    np.save(path, vectors)
    return vectors


def dense_rankings(corpus: dict[str, str], queries: dict[str, str],
                   cache: Path) -> dict[str, Ranking]:
    """Each query's top DEPTH passages by cosine similarity (the vectors are L2-normalised)."""
    import numpy as np
    ids, qids = list(corpus), list(queries)
    similarity = (encode([queries[q] for q in qids], "query", cache)
                  @ encode([corpus[i] for i in ids], "passage", cache).T)
    top = np.argsort(-similarity, axis=1, kind="stable")[:, :DEPTH]
    return {q: [(ids[j], float(similarity[n, j])) for j in top[n]] for n, q in enumerate(qids)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--mode", nargs="+", choices=MODES, default=MODES,
                    help="the rankings to measure (default: all three)")
    ap.add_argument("--corpus", type=Path, default=XQUAD / "corpus.tsv")
    ap.add_argument("--queries", type=Path, default=XQUAD / "queries.tsv")
    ap.add_argument("--qrels", type=Path, default=XQUAD / "qrels.txt")
    ap.add_argument("--cache", type=Path, default=CACHE,
                    help=f"directory of cached vectors, outside the repository (default {CACHE})")
    ap.add_argument("--json", type=Path, help="write the figures here")
    args = ap.parse_args()
    for path in (args.corpus, args.queries, args.qrels):
        if not path.is_file():
            sys.exit(f"{path} not found (the defaults need ../shared beside the repository)")
    corpus, qrels = read_tsv(args.corpus), read_qrels(args.qrels)
    queries = {q: t for q, t in read_tsv(args.queries).items() if q in qrels}

    runs = BM25_RUNS if "bm25" in args.mode else ["akhbar"] if "hybrid" in args.mode else []
    rankings, version = bm25_rankings(corpus, queries, runs) if runs else ({}, "")
    if {"dense", "hybrid"} & set(args.mode):
        rankings["dense"] = dense_rankings(corpus, queries, args.cache)
    if "hybrid" in args.mode:
        rankings["hybrid"] = {q: fuse(queries[q], rankings["akhbar"][q], rankings["dense"][q],
                                      DEPTH) for q in queries}
    shown = (BM25_RUNS if "bm25" in args.mode else []) + [
        m for m in ("dense", "hybrid") if m in args.mode]
    results = {run: score(rankings[run], qrels) for run in shown}

    print(f"{len(corpus)} documents, {len(queries)} judged queries ({args.queries}); "
          f"BM25: Lucene {version or '-'}; dense: {embedding.MODEL}")
    print(f"{'run':<16}{'nDCG@10':>9}{'MRR@10':>9}{'R@100':>9}"
          f"{'tune nDCG':>11}{'test nDCG':>11}{'tune R':>8}{'test R':>8}")
    for run, r in results.items():
        h = r["halves"]
        print(f"{run:<16}{r['ndcg@10']:>9.3f}{r['mrr@10']:>9.3f}{r['r@100']:>9.3f}"
              f"{h['tune']['ndcg@10']:>11.3f}{h['test']['ndcg@10']:>11.3f}"
              f"{h['tune']['r@100']:>8.3f}{h['test']['r@100']:>8.3f}")
    if args.json:
        args.json.write_text(json.dumps(rounded(results), indent=2) + "\n")


if __name__ == "__main__":
    main()
