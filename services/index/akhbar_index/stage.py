"""The index stage's pure part: the last check before a document is written.

`akhbar process` writes `article.document()` after this; the worker bulk-indexes the same.
"""

from __future__ import annotations

from akhbar.contract import Article, ContractError
from akhbar.stages import ProcessFn, StageContext


def make(ctx: StageContext) -> ProcessFn:
    return process


def process(article: Article) -> Article:
    missing = [name for name in ("story_id", "language") if getattr(article, name) is None]
    if article.raw is not None:
        missing.append("normalized text (raw input is still undecoded)")
    if missing:
        raise ContractError(f"article {article.id} reached index without {', '.join(missing)}: "
                            "check AKHBAR_ROUTE")
    return article
