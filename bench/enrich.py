"""Where the enrich stage's time and memory go: the SaudiNewsNet day (normalised as
bench/dedup.py loads it) through `akhbar_enrich.stage.process`, CPU time per article of each
part, and the resident memory of the process as it loads and runs. Prints tables; asserts
nothing.

    .venv/bin/python bench/enrich.py [--store memory|redis] [--json FILE]

Each part is timed by wrapping the name the stage calls it by (languages and detect, entities,
settle_byline, geocode, and assign's features, signature, band_keys, decide and the store's
lookup, get and commit), with CPU time (time.process_time), so that other processes on the
machine change the figures less than wall time would; redis-server's CPU is counted apart.
"""

from __future__ import annotations

import argparse
import json
import resource
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

import dedup
import psutil

from akhbar.settings import Settings
from akhbar.terminal import print_table
from akhbar_enrich import entities, language, places, stage
from akhbar_enrich.store import MemoryStore, RedisStore, SimilarityStore
from akhbar_testkit.harness import RedisServer

MB = 2**20
PARTS = {"languages": "language", "detect": "language", "entities": "entities (tagger)",
         "settle_byline": "bylines", "geocode": "places", "features": "similarity features",
         "signature": "MinHash", "band_keys": "LSH bands", "decide": "decide"}


def rss_mb() -> float:
    return round(psutil.Process().memory_info().rss / MB, 1)


def timed(fn: Callable[..., Any], part: str, cpu: dict[str, float]) -> Callable[..., Any]:
    def run(*args: Any, **kw: Any) -> Any:
        t0 = time.process_time()
        try:
            return fn(*args, **kw)
        finally:
            cpu[part] += time.process_time() - t0
    return run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--store", choices=["memory", "redis"], default="redis")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    memory = {"imports (enrich; normalize and ingest to load the day)": rss_mb()}
    entities._model()
    memory["tagger model and lexicon"] = rss_mb()
    places.gazetteer()
    memory["gazetteer"] = rss_mb()
    for text in ("Breaking news from the capital", "Nouvelles de la capitale",
                 "اخبار پایتخت امروز", "آج دارالحکومت کی خبریں", "Başkentten haberler",
                 "חדשות מהבירה"):
        language.detect(text)  # every language model lingua may load
    memory["lingua models"] = rss_mb()
    articles = [a for _, a in dedup.load_articles()[0]]
    memory["the day's articles loaded"] = rss_mb()

    cpu: dict[str, float] = defaultdict(float)
    for name, part in PARTS.items():
        setattr(stage, name, timed(getattr(stage, name), part, cpu))
    with tempfile.TemporaryDirectory() as tmp:
        server = RedisServer(Path(tmp)) if args.store == "redis" else None
        try:
            store: SimilarityStore = (RedisStore(server.client, Settings().story_state_ttl_s)
                                      if server else MemoryStore())
            for method in ("lookup", "get", "commit"):
                setattr(store, method, timed(getattr(store, method), f"store {method}", cpu))
            stage.process(articles[0], MemoryStore())  # warm-up, outside the figures
            cpu.clear()
            redis_cpu0 = sum(psutil.Process(server.proc.pid).cpu_times()[:2]) if server else 0
            t0 = time.process_time()
            for a in articles:
                stage.process(a, store)
            total = time.process_time() - t0
            redis_cpu = (sum(psutil.Process(server.proc.pid).cpu_times()[:2]) - redis_cpu0
                         if server else 0.0)
        finally:
            if server:
                server.stop()
    memory["after the day"] = rss_mb()
    memory["peak"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    n = len(articles)
    parts = {p: 1000 * s / n for p, s in sorted(cpu.items(), key=lambda x: -x[1])}
    parts["other (process, copies)"] = 1000 * total / n - sum(parts.values())
    print(f"{n} articles, {args.store} store: {1000 * total / n:.2f} ms CPU per article"
          + (f"; redis-server {1000 * redis_cpu / n:.2f} ms" if args.store == "redis" else ""))
    print_table(("part", "ms CPU per article", "share"),
                [(p, f"{ms:.3f}", f"{100 * ms / (1000 * total / n):.0f}%")
                 for p, ms in parts.items()])
    print()
    print_table(("process memory after", "RSS MB"), [(k, str(v)) for k, v in memory.items()])
    lexicon = entities._model()[1]
    print(f"the tagger's word cache (ner_features.Lexicon.cache) holds {len(lexicon.cache):,} "
          "words")
    if args.json:
        args.json.write_text(json.dumps({"articles": n, "store": args.store,
                                         "cpu_ms_per_article": parts,
                                         "total_ms": 1000 * total / n,
                                         "redis_ms": 1000 * redis_cpu / n,
                                         "rss_mb": memory}, indent=2))


if __name__ == "__main__":
    main()
