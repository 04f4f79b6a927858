"""Write the furniture seed (akhbar_normalize/data/furniture.json): `make learn-furniture`.

Every article of the SaudiNewsNet crawl in ../shared/data/news (the day's JSONL, then the days of
more/*.zip, in file order) goes through the normalize stage with a furniture learner that starts
from nothing (akhbar_normalize.furniture.MemoryFurniture); the seed is, per outlet, the shapes
that are furniture at the end, with their counts. Only these derived shapes are written, with
the command and the files they were derived from.
"""

from __future__ import annotations

import argparse
import json
import sys
import zipfile
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from akhbar.contract import Article, ContractError, Source, article_id, utcnow
from akhbar.settings import Settings
from akhbar_normalize import furniture as f
from akhbar_normalize.stage import process

NEWS = Path(__file__).resolve().parents[3].parent / "shared" / "data" / "news"
COMMAND = "make learn-furniture (python -m akhbar_normalize.furniture_seed)"


def crawl(news: Path) -> Iterator[tuple[str, dict[str, Any]]]:
    """(file, row) of the SaudiNewsNet day and of the crawl days in news/more, in file order."""
    for path in sorted(news.glob("*.jsonl")):
        with path.open(encoding="utf-8") as fh:
            yield from ((path.name, json.loads(line)) for line in fh if line.strip())
    for path in sorted((news / "more").glob("*.zip")):
        with zipfile.ZipFile(path) as z:
            for name in sorted(z.namelist()):
                if name.endswith(".json"):
                    yield from ((f"more/{path.name}", row) for row in json.loads(z.read(name)))


def learn(news: Path) -> dict[str, Any]:
    learner = f.MemoryFurniture()
    settings = Settings(route=["normalize"])
    files: Counter[str] = Counter()
    for name, row in crawl(news):
        title, body = row.get("title") or "", row.get("content") or ""
        if not (title or body):
            continue
        article = Article(id=article_id(url=row.get("url"), title=title, body=body),
                          source=Source(name=row.get("source") or "inbox", kind="inbox"),
                          title=title, body=body, ingested_at=utcnow())
        try:
            process(article, settings, learner)
        except ContractError:  # refused by normalize (no text left, too long): nothing learned
            continue
        files[name] += 1
    outlets = {}
    for outlet, o in sorted(learner.outlets.items()):
        shapes = {s: n for s, n in sorted(o.counts.items(), key=lambda kv: (-kv[1], kv[0]))
                  if f.is_furniture(s, n, o.articles)}
        if shapes:
            outlets[outlet] = {"articles": o.articles, "shapes": shapes}
    return {"command": COMMAND,
            "data": {"source": "SaudiNewsNet crawl, ../shared/data/news (research use; only "
                               "the shapes below are derived from it)",
                     "articles_per_file": dict(files)},
            "rule": {"min_count": f.MIN_COUNT, "min_share": f.MIN_SHARE,
                     "head_lines": f.HEAD_LINES, "tail_lines": f.TAIL_LINES,
                     "max_words": f.MAX_WORDS},
            "outlets": outlets}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--news", type=Path, default=NEWS)
    ap.add_argument("--out", type=Path, default=f.SEED)
    args = ap.parse_args()
    if not args.news.exists():
        sys.exit(f"{args.news} is absent (the developer data folder ../shared)")
    seed = learn(args.news)
    args.out.parent.mkdir(exist_ok=True)
    args.out.write_text(json.dumps(seed, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    print(f"{args.out}: {sum(len(o['shapes']) for o in seed['outlets'].values())} shapes of "
          f"{len(seed['outlets'])} outlets")


if __name__ == "__main__":
    main()
