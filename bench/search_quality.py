"""Arabic retrieval quality of the index template's analyzers, on real Lucene BM25 (no cluster).

    .venv/bin/python bench/search_quality.py [--corpus F --queries F --qrels F] [--json FILE]

Corpus and queries are TSV (`id<TAB>text`), qrels TREC format (`qid 0 docid grade`); the
defaults are XQuAD-R Arabic from ../shared. Prints nDCG@10, MRR@10 and R@100 for:

- standard: Elasticsearch's `standard` analyzer on one field, a match query;
- arabic_builtin: Lucene's ArabicAnalyzer (Elasticsearch's built-in `arabic`), same;
- akhbar: the template's `akhbar_arabic` analyzer, same;
- akhbar_query: the request `akhbar search` sends (akhbar.search.search_body), on documents
  indexed with the template's fields and analyzers: each passage is the `body` (read by body,
  body.exact and body.english), `title` is empty and `captions` absent, so their clauses match
  nothing. Approximation: the best_fields multi_match becomes a DisjunctionMax (tie_breaker 0) of
  one match query per listed field, boosted as listed, which is how Elasticsearch builds
  best_fields; the match_phrase clauses stay `should` clauses beside it. Not reproduced:
  Elasticsearch's per-shard statistics (one in-memory segment here), highlighting and _source,
  which do not change the ranking of a one-shard index.

Reference figures (Lucene BM25) on XQuAD-R: standard 0.672 / 0.876, built-in arabic
0.767 / 0.943 (nDCG@10 / R@100); this harness reproduces both to the third decimal.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from akhbar.search import search_body
from akhbar_testkit.lucene_harness import TEMPLATE, Lucene, template_analysis

REPO = Path(__file__).resolve().parents[1]

XQUAD = REPO.parent / "shared" / "data" / "ir" / "xquad-r-ar"
RUNS = ["standard", "arabic_builtin", "akhbar", "akhbar_query"]


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


def mapping_analyzers(template: Path = TEMPLATE) -> dict[str, str]:
    """Text field path (sub-fields included) -> analyzer, from the template mapping."""
    props = json.loads(template.read_text(encoding="utf-8"))["template"]["mappings"]["properties"]
    out: dict[str, str] = {}
    for name in ("title", "body", "captions"):
        out[name] = props[name]["analyzer"]
        out |= {f"{name}.{sub}": m["analyzer"] for sub, m in props[name]["fields"].items()}
    return out


def lucene_query(q: dict[str, Any]) -> dict[str, Any]:
    """Elasticsearch query DSL (the types search_body uses) -> the harness's query objects."""
    (kind, body), = q.items()
    if kind == "bool" and set(body) <= {"must", "should"}:
        return {"bool": {occur: [lucene_query(c) for c in body.get(occur, [])]
                         for occur in ("must", "should")}}
    if kind == "multi_match" and body.get("type", "best_fields") == "best_fields":
        parts = []
        for field in body["fields"]:
            name, _, boost = field.partition("^")
            parts.append({"match": {"field": name, "query": body["query"],
                                    "boost": float(boost or 1)}})
        return {"dis_max": {"queries": parts, "tie_breaker": body.get("tie_breaker", 0.0)}}
    if kind in ("match", "match_phrase"):
        (field, params), = body.items()
        params = params if isinstance(params, dict) else {"query": params}
        return {kind: {"field": field, **params}}
    raise ValueError(f"query {q} is not translated")


def evaluate(lucene: Lucene, queries: dict[str, str], qrels: dict[str, dict[str, int]],
             build: Callable[[str], dict[str, Any]]) -> dict[str, float]:
    qids = [q for q in queries if q in qrels]
    ranked = lucene.search([build(queries[q]) for q in qids], k=100)
    per_query = [metrics(r, qrels[q]) for q, r in zip(qids, ranked, strict=True)]
    return {m: sum(p[m] for p in per_query) / len(per_query) for m in per_query[0]}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--corpus", type=Path, default=XQUAD / "corpus.tsv")
    ap.add_argument("--queries", type=Path, default=XQUAD / "queries.tsv")
    ap.add_argument("--qrels", type=Path, default=XQUAD / "qrels.txt")
    ap.add_argument("--json", type=Path, help="write the figures here")
    args = ap.parse_args()
    for path in (args.corpus, args.queries, args.qrels):
        if not path.is_file():
            sys.exit(f"{path} not found (the defaults need ../shared beside the repository)")
    corpus, queries, qrels = read_tsv(args.corpus), read_tsv(args.queries), read_qrels(args.qrels)

    results: dict[str, dict[str, float]] = {}
    with Lucene() as lucene:
        analysis = template_analysis()
        lucene.define("standard", analysis)
        lucene.define("arabic_builtin", analysis, "arabic")
        fields = mapping_analyzers()
        for name in set(fields.values()):
            lucene.define(name, analysis)
        for run, analyzer in (("standard", "standard"), ("arabic_builtin", "arabic_builtin"),
                              ("akhbar", "akhbar_arabic")):
            lucene.index({"body": analyzer}, ({"id": i, "body": t} for i, t in corpus.items()))
            results[run] = evaluate(lucene, queries, qrels, lambda text: {
                "match": {"field": "body", "query": text}})
        lucene.index(fields, ({"id": i, "title": "", "body": t} for i, t in corpus.items()))
        results["akhbar_query"] = evaluate(lucene, queries, qrels,
                                           lambda text: lucene_query(search_body(text)["query"]))
        version = lucene.version

    print(f"Lucene {version} BM25; {len(corpus)} documents, "
          f"{sum(q in qrels for q in queries)} judged queries ({args.queries})")
    print(f"{'run':<16}{'nDCG@10':>9}{'MRR@10':>9}{'R@100':>9}")
    for run in RUNS:
        r = results[run]
        print(f"{run:<16}{r['ndcg@10']:>9.3f}{r['mrr@10']:>9.3f}{r['r@100']:>9.3f}")
    if args.json:
        args.json.write_text(json.dumps({run: {k: round(v, 4) for k, v in results[run].items()}
                                         for run in RUNS}, indent=2) + "\n")


if __name__ == "__main__":
    main()
