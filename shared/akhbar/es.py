"""The Elasticsearch client, configured from settings. Retries are ours (bulk.py), with
backoff and jitter, so the transport's own immediate retries are off."""

from __future__ import annotations

from elasticsearch import Elasticsearch

from akhbar.settings import Settings

# The write alias over the rolled-over indices; fixed by infra/elasticsearch/*.json.
ALIAS = "akhbar-articles"


def make_client(s: Settings) -> Elasticsearch:
    auth = (s.es_user, s.es_password) if s.es_user and s.es_password else None
    return Elasticsearch(s.es_url, basic_auth=auth, request_timeout=s.es_request_timeout_s,
                         max_retries=0, retry_on_timeout=False)
