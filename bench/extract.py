"""Article-page extraction check: runs the normalize stage on the saved pages of
../shared/data/html/*.html (as the page source would hand them over: bytes, text/html) and
prints, per page, the publication date against gold.json and whether the main text still
carries page furniture (share, print, comments, navigation lines). Asserts nothing.

    .venv/bin/python bench/extract.py [--html-dir DIR]
"""

from __future__ import annotations

import argparse
import json
import re
from pathlib import Path

from rich.console import Console
from rich.table import Table

from akhbar.contract import Article, RawContent, Source, utcnow
from akhbar.settings import Settings
from akhbar.stages import StageContext, load_stage

REPO = Path(__file__).resolve().parents[1]
HTML_DIR = REPO.parent / "shared" / "data" / "html"
# Lines that are page furniture, not article text (Arabic and Persian pages are in the set).
FURNITURE = re.compile(
    r"^(شارك|مشاركة|طباعة|التعليقات|تعليقات|أضف تعليق|اضف تعليق|الرئيسية|اقرأ أيضا|اقرأ أيضاً|"
    r"اشترك|تابعنا|واتساب|فيسبوك|تويتر|نسخ الرابط|کپی|اشتراک|نظرات|چاپ|ارسال نظر|"
    r"share|print|comments?|home|menu)\b.{0,30}$", re.IGNORECASE)


def furniture_lines(body: str) -> list[str]:
    return [line for line in (p.strip() for p in body.splitlines()) if line and
            FURNITURE.match(line)]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--html-dir", type=Path, default=HTML_DIR)
    args = parser.parse_args(argv)
    gold = {g["file"]: g for g in json.loads((args.html_dir / "gold.json").read_text("utf-8"))}
    normalize = load_stage("normalize", StageContext(Settings()))
    table = Table("file", "lang", "gold date", "extracted", "date ok", "title", "body chars",
                  "furniture lines")
    dates_ok = clean = total = 0
    for path in sorted(args.html_dir.glob("*.html")):
        total += 1
        g = gold.get(path.name, {})
        article = Article(id="0" * 32, source=Source(name="bench", kind="page"),
                          ingested_at=utcnow(),
                          raw=RawContent.from_bytes(path.read_bytes(), "text/html"))
        try:
            doc = normalize(article)
        except Exception as exc:  # report and go on: this is a measurement
            table.add_row(path.name, g.get("lang", "?"), g.get("gold_value", "?"),
                          f"{type(exc).__name__}", "no", "", "0", "")
            continue
        got = doc.published_at.date().isoformat() if doc.published_at else "-"
        ok = got == g.get("gold_value")
        junk = furniture_lines(doc.body)
        dates_ok += ok
        clean += not junk
        table.add_row(path.name, g.get("lang", "?"), g.get("gold_value", "?"), got,
                      "yes" if ok else "NO", doc.title[:40], str(len(doc.body)),
                      "; ".join(junk[:3]) or "none")
    console = Console(width=200)
    console.print(table)
    console.print(f"date accuracy {dates_ok}/{total}; main text free of furniture lines "
                  f"{clean}/{total}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
