"""Arabic named entities: entity-level precision, recall and F1, and the cost of tagging.
Prints tables; asserts nothing.

    .venv/bin/python bench/ner.py [--train FILE] [--test FILE] [--folds 5] [--json FILE]

Quality follows the CoNLL rules: an entity counts when its span and its type are both exact
(akhbar_enrich.entities.bio_spans reads the tags). Cross-validation trains on all folds but one
and tags the held-out one, for each fold in turn; folds are contiguous blocks of sentences, so
no article's names are in both parts; sentences are tagged 20 at a time, as an article's are.
Features use the packaged lexicon (`make train-ner`: word clusters of unlabelled news,
Benajiba's lists); the only labelled data in it is the count of words in names, which features
do not use. With --test FILE a model trained on the whole training file tags that file too.

Cost: the packaged model over the SaudiNewsNet day's articles (title and paragraphs), in CPU
microseconds per article: `arabic_mentions` (sentence splitting and tagging) from a cold word
cache and again warm, and the whole `entities()` (plus English names and normalisation).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from akhbar_enrich.entities import LEXICON, arabic_mentions, bio_spans, entities
from akhbar_enrich.ner_features import read_lexicon
from akhbar_enrich.ner_training import DATA as MODEL_DATA
from akhbar_enrich.ner_training import Sentence, cross_validate, read_conll, tag, train

REPO = Path(__file__).resolve().parents[1]
DATA = REPO.parent / "shared" / "data"
TRAIN = DATA / "ner" / "anercorp-train.conll"
NEWS = DATA / "news" / "saudinewsnet-2015-08-10.jsonl"
TYPES = ("PERS", "LOC", "ORG", "MISC")


def prf(tp: int, fp: int, fn: int) -> dict[str, float | int]:
    p = tp / (tp + fp) if tp + fp else 0.0
    r = tp / (tp + fn) if tp + fn else 0.0
    return {"precision": round(p, 4), "recall": round(r, 4),
            "f1": round(2 * p * r / (p + r), 4) if p + r else 0.0, "gold": tp + fn}


def score(gold: Sequence[Sequence[str]], predicted: Sequence[Sequence[str]]
          ) -> dict[str, dict[str, float | int]]:
    """Micro and per-type figures: exact span and type."""
    tp: Counter[str] = Counter()
    fp: Counter[str] = Counter()
    fn: Counter[str] = Counter()
    for g, p in zip(gold, predicted, strict=True):
        gs, ps = set(bio_spans(g)), set(bio_spans(p))
        for _, _, t in ps & gs:
            tp[t] += 1
        for _, _, t in ps - gs:
            fp[t] += 1
        for _, _, t in gs - ps:
            fn[t] += 1
    out = {"micro": prf(sum(tp.values()), sum(fp.values()), sum(fn.values()))}
    return out | {t: prf(tp[t], fp[t], fn[t]) for t in sorted({*TYPES, *tp, *fp, *fn})}


def print_table(title: str, figures: dict[str, dict[str, float | int]]) -> None:
    print(f"\n{title}\n| type | precision | recall | F1 | gold entities |\n|---|---|---|---|---|")
    for name, f in figures.items():
        print(f"| {name} | {f['precision']:.3f} | {f['recall']:.3f} | {f['f1']:.3f} "
              f"| {f['gold']} |")


def cost(limit: int) -> dict[str, float | int]:
    """CPU µs per article (process time: the machine may be shared) of a first pass of
    `arabic_mentions` over the articles from a cold word cache (what a fresh worker pays), a
    second, warm pass, and the whole `entities()`."""
    articles = []
    with open(NEWS, encoding="utf-8") as f:
        for line in f:
            record = json.loads(line)
            articles.append([record["title"], *record["content"].split("\n")])
            if len(articles) == limit:
                break
    arabic_mentions([])  # load the model outside the timing; its word cache starts empty
    out: dict[str, float | int] = {"articles": len(articles)}
    for name, run in (("cold", arabic_mentions), ("warm", arabic_mentions),
                      ("entities", lambda texts: entities(texts, []))):
        start = time.process_time()
        for texts in articles:
            run(texts)
        out[f"{name}_us_per_article"] = round((time.process_time() - start) / len(articles) * 1e6)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--train", type=Path, default=TRAIN)
    ap.add_argument("--test", type=Path, help="a CoNLL file to evaluate a model trained on --train")
    ap.add_argument("--folds", type=int, default=5, help="0 skips cross-validation")
    ap.add_argument("--articles", type=int, default=0,
                    help="articles of the day for the cost run (default: all)")
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    for need in (args.train, NEWS):
        if not need.exists():
            sys.exit(f"{need} is absent (the developer data folder ../shared is not beside the "
                     "repository)")
    sentences: list[Sentence] = read_conll(args.train)
    lexicon = read_lexicon(MODEL_DATA / LEXICON)
    results: dict[str, Any] = {"train": str(args.train), "sentences": len(sentences)}
    if args.folds:
        start = time.perf_counter()
        predicted = cross_validate(sentences, lexicon, folds=args.folds)
        cv = score([tags for _, tags in sentences], predicted)
        results |= cv | {"folds": args.folds}
        print_table(f"{args.folds}-fold cross-validation on {args.train.name} "
                    f"({len(sentences)} sentences, {time.perf_counter() - start:.0f} s)", cv)
    if args.test:
        test = read_conll(args.test)
        with tempfile.TemporaryDirectory() as tmp:
            model = Path(tmp) / "model.zip"
            train(sentences, lexicon, model)
            predicted = tag([tokens for tokens, _ in test], lexicon, model)
        results["test"] = score([tags for _, tags in test], predicted)
        print_table(f"trained on {args.train.name}, tested on {args.test.name}", results["test"])
    results["cost"] = c = cost(args.articles)
    print(f"\ncost of the packaged model on {c['articles']} SaudiNewsNet articles (title and "
          "paragraphs; CPU time of one process)\n| pass | µs per article |\n|---|---|\n"
          f"| arabic_mentions, first pass (cold word cache) | {c['cold_us_per_article']} |\n"
          f"| arabic_mentions, second pass | {c['warm_us_per_article']} |\n"
          f"| entities() (tagging, English names, normalising) | {c['entities_us_per_article']} |")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
