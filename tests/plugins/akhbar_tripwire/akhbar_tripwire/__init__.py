"""A stage outside the project, for fault tests: it passes every article through unchanged,
except that it raises (a bug, not bad data) on the article ids listed in TRIPWIRE_IDS
(comma-separated, read when the worker starts). Restarting its worker without the variable is
the fix. It uses only the stage interface, a factory under the `akhbar.stages` entry points:
its worker is the generic one (`celery -A akhbar.stage_app worker -Q tripwire`)."""

from __future__ import annotations

import os

from akhbar.contract import Article
from akhbar.stages import ProcessFn, StageContext


class TripwireBug(RuntimeError):
    """The injected bug."""


def make(ctx: StageContext) -> ProcessFn:
    broken = {i for i in os.environ.get("TRIPWIRE_IDS", "").split(",") if i}

    def process(article: Article) -> Article:
        if article.id in broken:
            raise TripwireBug(f"tripwire: injected bug on article {article.id}")
        return article

    return process
