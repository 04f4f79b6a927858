"""The Elasticsearch client, configured from settings, and the reading of its error answers.
The transport's own immediate retries are off: waiting for an unavailable cluster is ours (the
index stage pauses, setup tries again; akhbar_index.outage)."""

from __future__ import annotations

from typing import Any

from elasticsearch import ApiError, Elasticsearch

from akhbar.settings import Settings

# The write alias over the rolled-over indices; fixed by infra/elasticsearch/*.json.
ALIAS = "akhbar-articles"


def make_client(s: Settings) -> Elasticsearch:
    return Elasticsearch(s.es_url, basic_auth=s.es_auth, request_timeout=s.es_request_timeout_s,
                         max_retries=0, retry_on_timeout=False)


def error_of(exc: ApiError) -> dict[str, Any]:
    """The `error` object (type, reason, index…) of an Elasticsearch error answer; {} if none."""
    body = exc.body if isinstance(exc.body, dict) else {}
    return body["error"] if isinstance(body.get("error"), dict) else {}
