"""Duplicate and story assignment on real data: precision, recall and F1 on hand-labelled pairs,
and what one assignment costs as the store fills. Prints tables; asserts nothing.

    .venv/bin/python bench/dedup.py [--store memory|redis|both] [--rounds 5] [--json FILE]

The 1,700 SaudiNewsNet articles (../shared/data/news/saudinewsnet-2015-08-10.jsonl) go through
ingest's record reader and the normalize stage (as `akhbar process` runs it: outlet furniture
removed), then through enrich's `assign` (the function the stage calls) in a fixed order: by
date_extracted, then id. MemoryStore runs in-process; RedisStore against a real redis-server
started on a free port.

Labels: bench/story_pairs.tsv. A pair is predicted "duplicate" when both articles have the same
duplicate root (duplicate_of, or the article itself) and "same story" when they have the same
story_id; a labelled duplicate counts as a positive for story too. The pairs are split in two by a
hash of the pair: the thresholds in akhbar_enrich.similarity were set on the calibration half,
the held-out half checks them.

Largest stories: errors that random pairs rarely catch sit in the largest clusters. The 30
largest stories of round 1 (by size, then smallest SaudiNewsNet id) are scored with
bench/story_clusters.tsv, the event of each article read there: in each story the articles of its
most frequent event belong; precision = belonging / articles in those stories. Articles the file
does not list are reported (unlabelled) and left out of the figure.

Cost: with --rounds N the day is fed N times, each round one day later and under new ids and
URLs (a synthetic stream in which every story recurs daily: bands fill as fast as they can);
quality is measured on round 1 only, the cost per article over all rounds in blocks of 200.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import statistics
import sys
import tempfile
import time
import zipfile
from collections import Counter
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

from akhbar.contract import Article, ContractError, Source
from akhbar.settings import Settings
from akhbar.stages import StageContext
from akhbar_enrich.stage import assign
from akhbar_enrich.store import MemoryStore, RedisStore, SimilarityStore
from akhbar_ingest.formats import FileRejected, record_article
from akhbar_normalize.stage import make as normalize_stage
from akhbar_testkit.harness import RedisServer

REPO = Path(__file__).resolve().parents[1]

NEWS = REPO.parent / "shared" / "data" / "news" / "saudinewsnet-2015-08-10.jsonl"
CRAWL = REPO.parent / "shared" / "data" / "news" / "more"
LABELS = REPO / "bench" / "story_pairs.tsv"
EVENTS = REPO / "bench" / "story_clusters.tsv"
LARGEST = 30
BLOCK = 200
ROUND_SHIFT = timedelta(days=1)
CLASSES = ("duplicate", "story", "different")


@dataclass(frozen=True)
class Pair:
    a: int
    b: int
    label: str
    half: str  # calibration | held-out


def load_pairs(path: Path = LABELS) -> list[Pair]:
    pairs = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith(("#", "id_a\t")) or not line.strip():
            continue
        a, b, label, _note = line.split("\t")
        digest = hashlib.blake2b(f"{a}-{b}".encode(), digest_size=1).digest()[0]
        pairs.append(Pair(int(a), int(b), label, ("calibration", "held-out")[digest % 2]))
    return pairs


def load_events(path: Path = EVENTS) -> dict[int, frozenset[str]]:
    """SaudiNewsNet id -> the events it reports (a roundup several)."""
    return {int(i): frozenset(event.split("|"))
            for i, event in (line.split("\t") for line in path.read_text("utf-8").splitlines()
                             if line[:1].isdigit())}


def load_articles(path: Path = NEWS) -> tuple[list[tuple[int, Article]], list[int]]:
    """(SaudiNewsNet id, normalised article) by date_extracted then id; ids ingest rejects."""
    rows = sorted((json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()),
                  key=lambda r: (r["date_extracted"], r["id"]))
    normalized = normalize_records([record(r) for r in rows])
    return ([(r["id"], a) for r, a in zip(rows, normalized, strict=True) if a is not None],
            [r["id"] for r, a in zip(rows, normalized, strict=True) if a is None])


def record(row: dict[str, Any]) -> dict[str, Any]:
    """A SaudiNewsNet row as an inbox record."""
    return {"title": row["title"], "body": row["content"], "url": row["url"],
            "published_at": row["date_extracted"], "source": row["source"]}


def crawl_records(days: int | None = None, limit: int | None = None) -> list[dict[str, Any]]:
    """The crawl days of ../shared/data/news/more (the latest `days` of them, all by default)
    as inbox records in time order (the first `limit`)."""
    zips = sorted(CRAWL.glob("*.zip"))
    if not zips:
        raise SystemExit(f"{CRAWL} holds no crawl days: the benchmark needs ../shared/data/news")
    rows = []
    for path in zips if days is None else zips[len(zips) - days:]:
        with zipfile.ZipFile(path) as z:
            for name in z.namelist():
                rows += json.loads(z.read(name))
    rows.sort(key=lambda r: (r["date_extracted"], r["url"]))
    return [record(r) for r in rows[:limit]]


def normalize_records(records: list[dict[str, Any]]) -> list[Article | None]:
    """Each record through ingest's reader and the normalize stage (as `akhbar process` runs
    them: outlet furniture removed); None where either refuses it."""
    normalize = normalize_stage(StageContext(Settings()))
    inbox = Source(name="inbox", kind="inbox")
    out: list[Article | None] = []
    for r in records:
        try:
            out.append(normalize(record_article(r, inbox)))
        except (FileRejected, ContractError):  # no title and no body, or over a limit
            out.append(None)
    return out


def later_round(article: Article, k: int) -> Article:
    """The article as if republished k days later under another URL."""
    return article.model_copy(update={
        "id": hashlib.blake2b(f"{k}:{article.id}".encode(), digest_size=16).hexdigest(),
        "url": f"{article.url}{'&' if '?' in (article.url or '') else '?'}round={k}",
        "published_at": article.published_at and article.published_at + k * ROUND_SHIFT,
        "ingested_at": article.ingested_at + k * ROUND_SHIFT})


def run(store: SimilarityStore, articles: list[Article], rounds: int
        ) -> tuple[dict[str, tuple[str, str | None]], list[float]]:
    """Assignments of round 1 by article id, and the seconds each assignment took."""
    assigned, seconds = {}, []
    for k in range(rounds):
        for article in articles:
            a = later_round(article, k) if k else article
            t0 = time.perf_counter()
            result = assign(a, store)
            seconds.append(time.perf_counter() - t0)
            if not k:
                assigned[a.id] = result
    return assigned, seconds


def predicted(x: tuple[str, str | None], y: tuple[str, str | None], xid: str, yid: str) -> str:
    if (x[1] or xid) == (y[1] or yid):
        return "duplicate"
    return "story" if x[0] == y[0] else "different"


def prf(tp: int, fp: int, fn: int) -> dict[str, float]:
    p = tp / (tp + fp) if tp + fp else 0.0
    r = tp / (tp + fn) if tp + fn else 0.0
    return {"precision": p, "recall": r, "f1": 2 * p * r / (p + r) if p + r else 0.0,
            "tp": tp, "fp": fp, "fn": fn}


def quality(pairs: list[Pair], preds: list[str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, gold_pos, pred_pos in (("duplicate", {"duplicate"}, {"duplicate"}),
                                     ("story", {"duplicate", "story"}, {"duplicate", "story"})):
        g = [p.label in gold_pos for p in pairs]
        q = [x in pred_pos for x in preds]
        out[name] = prf(sum(a and b for a, b in zip(g, q, strict=True)),
                        sum(b and not a for a, b in zip(g, q, strict=True)),
                        sum(a and not b for a, b in zip(g, q, strict=True)))
    confusion = Counter(zip((p.label for p in pairs), preds, strict=True))
    out["confusion"] = {g: {q: confusion[g, q] for q in CLASSES} for g in CLASSES}
    out["pairs"] = len(pairs)
    return out


def evaluate(pairs: list[Pair], ids: dict[int, str],
             assigned: dict[str, tuple[str, str | None]]) -> dict[str, Any]:
    usable = [p for p in pairs if p.a in ids and p.b in ids]
    preds = [predicted(assigned[ids[p.a]], assigned[ids[p.b]], ids[p.a], ids[p.b])
             for p in usable]
    return {half: quality([p for p in usable if half in ("all", p.half)],
                          [q for p, q in zip(usable, preds, strict=True)
                           if half in ("all", p.half)])
            for half in ("all", "calibration", "held-out")}


def largest_stories(articles: list[tuple[int, Article]],
                    assigned: dict[str, tuple[str, str | None]],
                    events: dict[int, frozenset[str]]) -> dict[str, Any]:
    """Precision of the LARGEST stories against the events read in bench/story_clusters.tsv."""
    members: dict[str, list[int]] = {}
    for sid, a in articles:
        members.setdefault(assigned[a.id][0], []).append(sid)
    largest = sorted(members.values(), key=lambda m: (-len(m), min(m)))[:LARGEST]
    stories, belong, labelled, unlabelled = [], 0, 0, []
    for story in largest:
        read = [i for i in story if i in events]
        unlabelled += [i for i in story if i not in events]
        counts = Counter(e for i in read for e in events[i])
        event, n = min(counts.items(), key=lambda kv: (-kv[1], kv[0])) if counts else ("", 0)
        stories.append({"size": len(story), "event": event, "belong": n,
                        "strays": sorted(i for i in read if event not in events[i])})
        belong, labelled = belong + n, labelled + len(read)
    return {"stories": stories, "articles": sum(len(m) for m in largest), "labelled": labelled,
            "belong": belong, "precision": belong / labelled if labelled else 0.0,
            "unlabelled": sorted(unlabelled)}


def cost(seconds: list[float]) -> dict[str, Any]:
    blocks = [seconds[i:i + BLOCK] for i in range(0, len(seconds), BLOCK)]
    return {"articles": len(seconds), "seconds": sum(seconds),
            "articles_per_s": len(seconds) / sum(seconds),
            "block_ms": [round(1000 * statistics.fmean(b), 3) for b in blocks]}


def measure(store: SimilarityStore, articles: list[tuple[int, Article]], pairs: list[Pair],
            events: dict[int, frozenset[str]], rounds: int, before: list[Article]
            ) -> dict[str, Any]:
    for article in before:  # earlier days: the store as a running pipeline has it
        assign(article, store)
    assigned, seconds = run(store, [a for _, a in articles], rounds)
    ids = {sid: a.id for sid, a in articles}
    stories = Counter(s for s, _ in assigned.values())
    return {"quality": evaluate(pairs, ids, assigned), "cost": cost(seconds),
            "largest": largest_stories(articles, assigned, events),
            "round1": {"articles": len(assigned), "stories": len(stories),
                       "duplicates": sum(d is not None for _, d in assigned.values()),
                       "largest_story": max(stories.values())}}


def print_report(name: str, r: dict[str, Any]) -> None:
    print(f"\n== {name}: {r['round1']['articles']} articles in round 1 -> "
          f"{r['round1']['stories']} stories (largest {r['round1']['largest_story']}), "
          f"{r['round1']['duplicates']} marked duplicate")
    print(f"{'half':<12} {'pairs':>5}  {'dup P':>6} {'dup R':>6} {'dup F1':>6}  "
          f"{'story P':>7} {'story R':>7} {'story F1':>8}")
    for half, q in r["quality"].items():
        d, s = q["duplicate"], q["story"]
        print(f"{half:<12} {q['pairs']:>5}  {d['precision']:>6.3f} {d['recall']:>6.3f} "
              f"{d['f1']:>6.3f}  {s['precision']:>7.3f} {s['recall']:>7.3f} {s['f1']:>8.3f}")
    print("confusion (all pairs), gold rows x predicted columns:")
    print(f"{'':<12}" + "".join(f"{c:>11}" for c in CLASSES))
    for g, row in r["quality"]["all"]["confusion"].items():
        print(f"{g:<12}" + "".join(f"{row[c]:>11}" for c in CLASSES))
    g = r["largest"]
    print(f"{LARGEST} largest stories ({g['articles']} articles, {g['labelled']} read): "
          f"{g['belong']} belong to their story's event, precision {g['precision']:.3f}")
    for n, story in enumerate(g["stories"], 1):
        if story["strays"]:
            print(f"  #{n} {story['size']} articles, {story['belong']} of {story['event']}; "
                  f"strays {story['strays']}")
    if g["unlabelled"]:
        print(f"  not in {EVENTS.name} (read them and add their event): {g['unlabelled']}")
    c = r["cost"]
    print(f"assign: {c['articles']} articles in {c['seconds']:.2f} s = "
          f"{c['articles_per_s']:.0f} articles/s")
    print(f"mean ms per article, blocks of {BLOCK}: " + " ".join(f"{b:.2f}" for b in c["block_ms"]))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--store", choices=["memory", "redis", "both"], default="both")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--after-days", type=int, default=0, metavar="N",
                    help="assign the N latest crawl days first (../shared/data/news/more), "
                         "so the day meets the stories of the days before it")
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    if not NEWS.exists():
        sys.exit(f"{NEWS} is absent (the developer data folder ../shared is not beside the "
                 "repository)")
    articles, rejected = load_articles()
    pairs, events = load_pairs(), load_events()
    print(f"{len(articles)} articles in order of date_extracted, then id "
          f"({len(rejected)} refused by ingest: ids {rejected}); {len(pairs)} labelled pairs "
          f"({dict(Counter(p.label for p in pairs))}); {args.rounds} round(s)")
    before = [a for a in normalize_records(crawl_records(args.after_days))
              if a is not None] if args.after_days else []
    if before:
        print(f"after {len(before)} articles of the {args.after_days} crawl day(s) before it")
    results: dict[str, Any] = {"order": "date_extracted, id", "rejected": rejected,
                               "rounds": args.rounds, "after_articles": len(before)}
    if args.store in ("memory", "both"):
        results["memory"] = measure(MemoryStore(), articles, pairs, events, args.rounds, before)
        print_report("MemoryStore", results["memory"])
    if args.store in ("redis", "both"):
        with tempfile.TemporaryDirectory() as tmp:
            server = RedisServer(Path(tmp))
            try:
                store = RedisStore(server.client, Settings().story_state_ttl_s)
                results["redis"] = measure(store, articles, pairs, events, args.rounds, before)
            finally:
                server.stop()
        print_report("RedisStore", results["redis"])
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
