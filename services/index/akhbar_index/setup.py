"""Idempotent setup of Elasticsearch (ILM policy, index template, first index with the write
alias) and Kibana (data view, dashboard), from the files under infra/. Run by the one-shot `setup`
container and again, for Elasticsearch, by every index worker at start."""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path
from typing import Any

import httpx
from elasticsearch import Elasticsearch
from elasticsearch import TransportError as ESTransportError

from akhbar.es import ALIAS
from akhbar.settings import Settings

log = logging.getLogger(__name__)
POLICY = TEMPLATE = "akhbar-articles"
FIRST_INDEX = "akhbar-articles-000001"
DATA_VIEW_FILE = "data-view.ndjson"


def load(infra: Path, relative: str) -> dict[str, Any]:
    return json.loads((infra / relative).read_text(encoding="utf-8"))


def setup_elasticsearch(es: Elasticsearch, s: Settings) -> None:
    infra = s.infra_dir
    es.ilm.put_lifecycle(name=POLICY, body=load(infra, "elasticsearch/ilm-policy.json"))
    es.indices.put_index_template(name=TEMPLATE,
                                  body=load(infra, "elasticsearch/index-template.json"))
    if not es.indices.exists_alias(name=ALIAS):
        # Created once; later indices come from ILM rollover through the alias.
        es.indices.create(index=FIRST_INDEX, body=load(infra, "elasticsearch/write-index.json"))
    log.info("Elasticsearch ready: policy, template and alias %s", ALIAS)


def wait_for(es: Elasticsearch, timeout_s: float = 300.0) -> None:
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            es.cluster.health(wait_for_status="yellow", timeout="5s")
            return
        except ESTransportError as exc:
            if time.monotonic() > deadline:
                raise TimeoutError(
                    f"Elasticsearch not ready after {timeout_s:.0f}s: {exc}") from exc
            time.sleep(2)


def kibana_files(infra: Path) -> list[Path]:
    """Every infra/kibana/*.ndjson, the data view first (the other objects reference it), then
    by name, so that each import finds what it references already in Kibana."""
    files = sorted((infra / "kibana").glob("*.ndjson"))
    return sorted(files, key=lambda f: f.name != DATA_VIEW_FILE)


def setup_kibana(s: Settings) -> None:
    auth = (s.es_user, s.es_password) if s.es_user and s.es_password else None
    for ndjson in kibana_files(s.infra_dir):
        resp = httpx.post(f"{s.kibana_url}/api/saved_objects/_import",
                          params={"overwrite": "true"}, headers={"kbn-xsrf": "true"}, auth=auth,
                          timeout=60.0,
                          files={"file": (ndjson.name, ndjson.read_bytes(), "application/ndjson")})
        resp.raise_for_status()
        result = resp.json()
        # Kibana answers 200 even when objects fail: success is false and errors names them.
        if not result.get("success"):
            raise RuntimeError(f"Kibana import of {ndjson.name} failed: {result.get('errors')}")
        log.info("Kibana: imported %s saved object(s) from %s",
                 result.get("successCount"), ndjson.name)
