"""An index worker writing to ElasticsearchDouble (a stand-in at the HTTP boundary), and jobs
ready for it, for the tests that run one."""

from __future__ import annotations

import os
from pathlib import Path

from akhbar.contract import Article, Envelope, Source, article_id, utcnow
from akhbar_testkit.harness import RedisServer, Workers


def index_job(url: str) -> dict[str, object]:
    """A job ready for the index stage (normalized and enriched already)."""
    article = Article(id=article_id(url=url, title="عنوان", body="نص"), url=url,
                      source=Source(name="test", kind="inbox"), title="عنوان", body="نص",
                      language="ar", story_id="s", ingested_at=utcnow())
    return Envelope(route=["index"], article=article).to_message()


def index_workers(redis_server: RedisServer, es_url: str, logdir: Path) -> Workers:
    """Workers for the route ["index"], flushing batches every 0.2 s; none started yet."""
    return Workers({**os.environ, "AKHBAR_REDIS_URL": redis_server.url, "AKHBAR_ES_URL": es_url,
                    "AKHBAR_ROUTE": "index", "AKHBAR_BULK_FLUSH_S": "0.2"}, logdir)
