"""The one-shot setup, against stand-ins at the HTTP boundary (ElasticsearchDouble, and
KibanaDouble, which records what it receives and answers what the test tells it to; neither is
evidence Elasticsearch or Kibana accepts the objects): two setups racing on a fresh cluster,
transient failures tried again until success, a configuration error named with its file and
request, and the Kibana import requests."""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from akhbar.es import make_client
from akhbar.settings import Settings
from akhbar_index.setup import (
    FIRST_INDEX,
    SetupError,
    kibana_files,
    run_setup,
    setup_elasticsearch,
    setup_kibana,
)
from akhbar_testkit.data import REPO
from akhbar_testkit.es_double import ElasticsearchDouble

INFRA = REPO / "infra"


class KibanaDouble:
    """HTTP test double of Kibana's import API: the n-th request gets answers[n] (the last answer
    repeats)."""

    def __init__(self, answers: list[dict[str, Any]], statuses: list[int] | None = None) -> None:
        """`statuses`: the HTTP status of the first requests (then 200)."""
        self.received: list[tuple[str, dict[str, str], bytes]] = []
        statuses = list(statuses or [])
        double = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                double.received.append((self.path, dict(self.headers), body))
                data = json.dumps(answers[min(len(double.received), len(answers)) - 1]).encode()
                self.send_response(statuses.pop(0) if statuses else 200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.fixture
def kibana(request: pytest.FixtureRequest) -> Iterator[KibanaDouble]:
    double = KibanaDouble(request.param)
    yield double
    double.server.shutdown()


def uploaded_name(body: bytes) -> str:
    match = re.search(rb'name="file"; filename="([^"]+)"', body)
    assert match, body[:200]
    return match.group(1).decode()


OK = {"success": True, "successCount": 1}


@pytest.mark.parametrize("kibana", [[OK]], indirect=True)
def test_every_kibana_file_is_imported_with_overwrite_data_view_first(
        kibana: KibanaDouble) -> None:
    setup_kibana(Settings(kibana_url=kibana.url))
    files = kibana_files(INFRA)
    assert [f.name for f in files][:1] == ["data-view.ndjson"]
    assert {f.name for f in files} >= {"data-view.ndjson", "dashboard.ndjson"}
    assert [uploaded_name(body) for _, _, body in kibana.received] == [f.name for f in files]
    for (path, headers, body), ndjson in zip(kibana.received, files, strict=True):
        assert path == "/api/saved_objects/_import?overwrite=true"
        assert headers["kbn-xsrf"] == "true"
        assert headers["Content-Type"].startswith("multipart/form-data")
        assert ndjson.read_bytes() in body


def test_kibana_files_order_is_data_view_then_by_name(tmp_path: Path) -> None:
    (tmp_path / "kibana").mkdir()
    for name in ("b.ndjson", "data-view.ndjson", "a.ndjson", "notes.md"):
        (tmp_path / "kibana" / name).write_text("{}\n")
    assert [f.name for f in kibana_files(tmp_path)] == [
        "data-view.ndjson", "a.ndjson", "b.ndjson"]


@pytest.mark.parametrize("kibana", [[{"success": False, "errors": [{"id": "akhbar-articles"}]}]],
                         indirect=True)
def test_failed_import_is_an_error(kibana: KibanaDouble) -> None:
    with pytest.raises(SetupError, match=r"data-view.ndjson: POST .*_import → Kibana import "
                                         "failed"):
        setup_kibana(Settings(kibana_url=kibana.url))
    assert len(kibana.received) == 1  # nothing is imported on top of a missing data view


PARTLY_FAILED = {"success": False, "successCount": 6, "errors": [
    {"id": "akhbar-places-map", "type": "map",
     "error": {"type": "missing_references", "references": [
         {"type": "index-pattern", "id": "akhbar-articles"}]}}]}


@pytest.mark.parametrize("kibana", [[OK, PARTLY_FAILED]], indirect=True)
def test_partly_failed_import_is_an_error_naming_the_objects(kibana: KibanaDouble) -> None:
    """Kibana answers 200 with success false when some objects of a file fail."""
    second = kibana_files(INFRA)[1].name
    with pytest.raises(SetupError, match=f"{second}: POST .* failed") as failure:
        setup_kibana(Settings(kibana_url=kibana.url))
    assert "akhbar-places-map" in str(failure.value)
    assert "missing_references" in str(failure.value)


def test_data_views_name_the_alias_and_time_fields() -> None:
    lines = (INFRA / "kibana" / "data-view.ndjson").read_text().splitlines()
    views = [json.loads(line) for line in lines]
    assert all(v["type"] == "index-pattern" and v["attributes"]["title"] == "akhbar-articles"
               for v in views)
    assert [v["attributes"]["timeFieldName"] for v in views] == ["ingested_at", "@timestamp"]


# --- Elasticsearch setup: races, transient failures, configuration errors ------------------

FAST = {"es_backoff_s": 0.01, "es_backoff_max_s": 0.05}
NO_KIBANA = {"kibana": False}


@pytest.fixture
def double() -> Iterator[ElasticsearchDouble]:
    with ElasticsearchDouble() as d:
        yield d


def test_two_setups_racing_on_a_fresh_cluster_both_succeed(double: ElasticsearchDouble) -> None:
    """Both find no alias (held at the double until both have asked), both create the first
    index: the loser is told 400 resource_already_exists_exception and succeeds."""
    both_asked = threading.Barrier(2, timeout=10)
    answer, asked, created = double.handle, [], []

    def held(method: str, path: str, body: bytes, params: dict[str, str] | None = None
             ) -> tuple[int, Any]:
        result = answer(method, path, body, params)
        if (method, path) == ("PUT", f"/{FIRST_INDEX}"):
            created.append(result)
        if (method, path) == ("HEAD", "/_alias/akhbar-articles"):
            asked.append(result[0])
            if len(asked) <= 2:  # the first look of each
                both_asked.wait()
        return result

    double.handle = held  # type: ignore[method-assign]
    s = Settings(es_url=double.url)
    errors: list[BaseException] = []

    def one_setup() -> None:
        try:
            setup_elasticsearch(make_client(s), s)
        except BaseException as exc:  # reported below
            errors.append(exc)

    racers = [threading.Thread(target=one_setup) for _ in range(2)]
    for t in racers:
        t.start()
    for t in racers:
        t.join(30)
    assert errors == []
    assert asked[:2] == [404, 404]  # neither saw the alias
    assert sorted(status for status, _ in created) == [200, 400]  # both created it
    assert [body["error"]["type"] for status, body in created if status == 400] == [
        "resource_already_exists_exception"]
    assert double.indices == {FIRST_INDEX}
    assert double.aliases == {"akhbar-articles": FIRST_INDEX}


def test_an_index_without_the_write_alias_is_a_configuration_error(
        double: ElasticsearchDouble) -> None:
    double.indices.add(FIRST_INDEX)  # created by hand, without the alias
    s = Settings(es_url=double.url)
    with pytest.raises(SetupError, match=f"index {FIRST_INDEX} exists without the write alias"):
        setup_elasticsearch(make_client(s), s)


UNAVAILABLE = {"error": {"type": "unavailable", "reason": "not ready"}}


@pytest.mark.parametrize(("endpoint", "statuses"), [
    (("GET", "/_cluster/health"), [503, 503, 408]),
    (("PUT", "/_ilm/policy/akhbar-articles"), [503, 429]),
    (("PUT", "/_index_template/akhbar-articles"), [502, 504, 429]),
    (("PUT", f"/{FIRST_INDEX}"), [503]),
])
def test_transient_failures_during_setup_are_tried_again(
        double: ElasticsearchDouble, endpoint: tuple[str, str], statuses: list[int]) -> None:
    double.answers[endpoint] = [(status, UNAVAILABLE) for status in statuses]
    run_setup(Settings(es_url=double.url, **FAST), **NO_KIBANA)
    assert double.requests.count(endpoint) == len(statuses) + 1
    assert double.aliases == {"akhbar-articles": FIRST_INDEX}


def test_setup_waits_for_a_cluster_refusing_connections(double: ElasticsearchDouble) -> None:
    double.stop_listening()
    threading.Timer(1.0, double.listen).start()
    run_setup(Settings(es_url=double.url, **FAST), **NO_KIBANA)
    assert double.aliases == {"akhbar-articles": FIRST_INDEX}


def test_setup_gives_up_when_its_time_runs_out(double: ElasticsearchDouble) -> None:
    double.stop_listening()
    with pytest.raises(SetupError, match=r"^Elasticsearch at http:\S+: still unavailable when "
                                         r"AKHBAR_SETUP_TIMEOUT_S=0.3 ran out: ConnectionError"):
        run_setup(Settings(es_url=double.url, setup_timeout_s=0.3, **FAST), **NO_KIBANA)


def test_a_refused_template_is_named_with_its_file_and_request(
        double: ElasticsearchDouble) -> None:
    reason = "unknown parameter [anlyzer] on mapper [title] of type [text]"
    double.answers[("PUT", "/_index_template/akhbar-articles")] = [
        (400, {"error": {"type": "mapper_parsing_exception", "reason": reason}, "status": 400})]
    with pytest.raises(SetupError) as failure:
        run_setup(Settings(es_url=double.url, **FAST), **NO_KIBANA)
    assert str(failure.value) == (
        f"{INFRA / 'elasticsearch' / 'index-template.json'}: PUT _index_template/akhbar-articles"
        f" → 400 mapper_parsing_exception: {reason}")
    assert "\n" not in str(failure.value)
    assert ("PUT", f"/{FIRST_INDEX}") not in double.requests  # nothing after the refusal


def test_an_unreadable_infra_file_is_named(tmp_path: Path, double: ElasticsearchDouble) -> None:
    (tmp_path / "elasticsearch").mkdir()
    (tmp_path / "elasticsearch" / "ilm-policy.json").write_text("{not json")
    with pytest.raises(SetupError, match=r"ilm-policy.json: Expecting property name"):
        run_setup(Settings(es_url=double.url, infra_dir=tmp_path, **FAST), **NO_KIBANA)


def test_kibana_not_ready_is_waited_for(double: ElasticsearchDouble) -> None:
    kibana = KibanaDouble([OK], statuses=[503, 503])
    try:
        run_setup(Settings(es_url=double.url, kibana_url=kibana.url, **FAST))
    finally:
        kibana.server.shutdown()
    names = [uploaded_name(body) for _, _, body in kibana.received]
    assert names[:3] == ["data-view.ndjson"] * 3  # two 503s, then imported
    assert names[2:] == [f.name for f in kibana_files(INFRA)]


def test_a_kibana_client_error_is_named_with_its_file() -> None:
    kibana = KibanaDouble([OK], statuses=[400])
    try:
        with pytest.raises(SetupError, match=r"data-view.ndjson: POST .*_import → 400 "):
            setup_kibana(Settings(kibana_url=kibana.url, **FAST))
    finally:
        kibana.server.shutdown()
    assert len(kibana.received) == 1


def test_setup_time_is_bounded_in_all(double: ElasticsearchDouble) -> None:
    """One deadline for every step: Kibana never answering ends the run at the timeout."""
    with pytest.raises(SetupError, match=r"Kibana import of data-view\.ndjson: still unavailable"):
        run_setup(Settings(es_url=double.url, kibana_url="http://127.0.0.1:9",
                           setup_timeout_s=0.5, **FAST))
    assert double.aliases == {"akhbar-articles": FIRST_INDEX}


def test_refused_credentials_are_a_configuration_error(double: ElasticsearchDouble) -> None:
    double.answers[("GET", "/_cluster/health")] = [(401, {"error": {
        "type": "security_exception", "reason": "unable to authenticate user [akhbar]"}})]
    with pytest.raises(SetupError, match=r"^GET _cluster/health → 401 security_exception: "
                                         r"unable to authenticate user \[akhbar\]$"):
        run_setup(Settings(es_url=double.url, **FAST), **NO_KIBANA)
    assert double.requests == [("GET", "/_cluster/health")]  # not tried again
