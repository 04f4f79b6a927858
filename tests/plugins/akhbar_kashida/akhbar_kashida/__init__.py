"""A stage added from outside the project, as DESIGN.md's "How to add a stage" says: its
package registers a factory under the `akhbar.stages` entry points, and nothing else names it
but the route (AKHBAR_ROUTE) and, under Docker Compose, its service. Its worker is the generic
one (`celery -A akhbar.stage_app worker -Q kashida`).

It removes kashida (tatweel, U+0640), the letter-stretching stroke of justified Arabic text
(«الصحـــة»), from the title, body and captions."""

from __future__ import annotations

from akhbar.contract import Article
from akhbar.stages import ProcessFn, StageContext

KASHIDA = "\u0640"


def without_kashida(text: str) -> str:
    return text.replace(KASHIDA, "")


def make(ctx: StageContext) -> ProcessFn:
    return process


def process(article: Article) -> Article:
    return article.model_copy(update={
        "title": without_kashida(article.title), "body": without_kashida(article.body),
        "captions": [without_kashida(c) for c in article.captions]})
