"""Idempotent setup of Elasticsearch (ILM policy, index template, first index with the write
alias) and Kibana (data view, dashboard), from the files under infra/. Run by the one-shot `setup`
container (`run_setup`) and, for Elasticsearch, by every index worker before its first write
(`setup_elasticsearch`: one pass; the worker pauses and tries again while it fails).

Both may run at once on a fresh stack: whoever creates the first index second is told it exists
(400 resource_already_exists_exception), which is success once the write alias is there.
`run_setup` is patient: connection errors, timeouts and akhbar.retry.TRANSIENT_STATUS answers
(408, 429, 500, 502-504) are tried again with
capped exponential backoff for up to AKHBAR_SETUP_TIMEOUT_S in all. Anything else is a
configuration error: `SetupError`, one line naming the file and the request that was refused.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

import httpx
from elasticsearch import ApiError, Elasticsearch

from akhbar.contract import ConfigError
from akhbar.es import ALIAS, error_of, make_client
from akhbar.settings import Settings, redact_url
from akhbar_index.outage import describe, transient, wait_after

log = logging.getLogger(__name__)
POLICY = TEMPLATE = "akhbar-articles"
FIRST_INDEX = "akhbar-articles-000001"
DATA_VIEW_FILE = "data-view.ndjson"
T = TypeVar("T")


class SetupError(ConfigError):
    """A configuration error: a file or request Elasticsearch or Kibana refuses, or a service
    still unavailable when the setup timeout ran out (SetupTimeout). The message is one line."""


class SetupTimeout(SetupError):
    """Elasticsearch or Kibana still unavailable when AKHBAR_SETUP_TIMEOUT_S ran out."""


def load(file: Path) -> dict[str, Any]:
    try:
        loaded: dict[str, Any] = json.loads(file.read_text(encoding="utf-8"))
        return loaded
    except (OSError, ValueError) as exc:
        raise SetupError(f"{file}: {exc}") from exc


def answer(request: str, call: Callable[[], T]) -> T:
    """Send one request; a refusal that waiting cannot cure is a SetupError naming `request`
    (with the file it sends)."""
    try:
        return call()
    except ApiError as exc:
        if transient(exc):
            raise
        raise SetupError(f"{request} → {describe(exc)}") from exc


def setup_elasticsearch(es: Elasticsearch, s: Settings) -> None:
    """One idempotent pass; transient failures propagate (the caller waits and tries again)."""
    policy, template, first = (s.infra_dir / "elasticsearch" / name for name in (
        "ilm-policy.json", "index-template.json", "write-index.json"))
    answer(f"{policy}: PUT _ilm/policy/{POLICY}",
           lambda: es.ilm.put_lifecycle(name=POLICY, body=load(policy)))
    answer(f"{template}: PUT _index_template/{TEMPLATE}",
           lambda: es.indices.put_index_template(name=TEMPLATE, body=load(template)))
    if not answer(f"HEAD _alias/{ALIAS}", lambda: es.indices.exists_alias(name=ALIAS)):
        # Created once; later indices come from ILM rollover through the alias.
        answer(f"{first}: PUT {FIRST_INDEX}", lambda: create_first_index(es, load(first)))
    log.info("Elasticsearch ready: policy, template and alias %s", ALIAS)


def create_first_index(es: Elasticsearch, body: dict[str, Any]) -> None:
    try:
        es.indices.create(index=FIRST_INDEX, body=body)
    except ApiError as exc:
        if error_of(exc).get("type") != "resource_already_exists_exception":
            raise
        # Another setup (or index worker) created it first, with the alias in the same request.
        if not es.indices.exists_alias(name=ALIAS):
            raise SetupError(f"index {FIRST_INDEX} exists without the write alias {ALIAS}: "
                             "add the alias (is_write_index) or delete the index") from exc


def kibana_files(infra: Path) -> list[Path]:
    """Every infra/kibana/*.ndjson, the data view first (the other objects reference it), then
    by name, so that each import finds what it references already in Kibana."""
    files = sorted((infra / "kibana").glob("*.ndjson"))
    return sorted(files, key=lambda f: f.name != DATA_VIEW_FILE)


def import_kibana_file(s: Settings, ndjson: Path) -> None:
    """Import one file's saved objects (overwriting: idempotent)."""
    request = f"POST {s.kibana_url}/api/saved_objects/_import"
    resp = httpx.post(f"{s.kibana_url}/api/saved_objects/_import",
                      params={"overwrite": "true"}, headers={"kbn-xsrf": "true"}, auth=s.es_auth,
                      timeout=60.0,
                      files={"file": (ndjson.name, ndjson.read_bytes(), "application/ndjson")})
    try:
        resp.raise_for_status()
    except httpx.HTTPStatusError as exc:
        if transient(exc):
            raise
        raise SetupError(f"{ndjson}: {request} → {resp.status_code} "
                         f"{' '.join(resp.text.split())[:500]}") from exc
    result = resp.json()
    # Kibana answers 200 even when objects fail: success is false and errors names them.
    if not result.get("success"):
        raise SetupError(f"{ndjson}: {request} → Kibana import failed: {result.get('errors')}")
    log.info("Kibana: imported %s saved object(s) from %s", result.get("successCount"),
             ndjson.name)


def setup_kibana(s: Settings, patience: Patience | None = None) -> None:
    patience = patience or Patience.of(s)
    for ndjson in kibana_files(s.infra_dir):
        patience.run(f"Kibana import of {ndjson.name}", partial(import_kibana_file, s, ndjson))


def wait_for(es: Elasticsearch, patience: Patience) -> None:
    """Until the cluster health is yellow or better (until then Elasticsearch answers 408)."""
    patience.run(f"Elasticsearch at {redact_url(patience.s.es_url)}", lambda: answer(
        "GET _cluster/health",
        lambda: es.cluster.health(wait_for_status="yellow", timeout="5s")))


@dataclass(frozen=True)
class Patience:
    """Transient failures tried again, waits doubling from AKHBAR_ES_BACKOFF_S up to
    AKHBAR_ES_BACKOFF_MAX_S, until one deadline (time.monotonic()) for every step."""

    s: Settings
    deadline: float
    sleep: Callable[[float], None] = time.sleep

    @classmethod
    def of(cls, s: Settings) -> Patience:
        return cls(s, time.monotonic() + s.setup_timeout_s)

    def run(self, what: str, step: Callable[[], T]) -> T:
        failures = 0
        while True:
            try:
                return step()
            except Exception as exc:
                if not transient(exc):
                    raise
                failures += 1
                wait = wait_after(failures, self.s)
                if time.monotonic() + wait > self.deadline:
                    raise SetupTimeout(
                        f"{what}: still unavailable when AKHBAR_SETUP_TIMEOUT_S="
                        f"{self.s.setup_timeout_s:g} ran out: {describe(exc)}") from exc
                log.warning("%s: %s; trying again in %.1f s", what, describe(exc), wait)
                self.sleep(wait)


def run_setup(s: Settings, kibana: bool = True) -> None:
    """The one-shot setup: wait for Elasticsearch, apply its setup, import the Kibana objects,
    trying each again on transient failures within AKHBAR_SETUP_TIMEOUT_S in all. Raises
    SetupError (one line) for a configuration error or when the time runs out."""
    patience = Patience.of(s)
    es = make_client(s)
    try:
        wait_for(es, patience)
        patience.run("Elasticsearch setup", lambda: setup_elasticsearch(es, s))
    finally:
        es.close()
    if kibana:
        setup_kibana(s, patience)
