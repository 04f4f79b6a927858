"""The one-shot setup: the Kibana import requests, against a Kibana stand-in at the HTTP
boundary (KibanaDouble records what it receives and answers what the test tells it to; it is no
evidence Kibana accepts the saved objects)."""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from akhbar.settings import Settings
from akhbar_index.setup import kibana_files, setup_kibana

INFRA = Path(__file__).resolve().parents[1] / "infra"


class KibanaDouble:
    """HTTP test double of Kibana's import API: the n-th request gets answers[n] (the last answer
    repeats)."""

    def __init__(self, answers: list[dict[str, Any]]) -> None:
        self.received: list[tuple[str, dict[str, str], bytes]] = []
        double = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                double.received.append((self.path, dict(self.headers), body))
                data = json.dumps(answers[min(len(double.received), len(answers)) - 1]).encode()
                self.send_response(200)
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
    with pytest.raises(RuntimeError, match="Kibana import of data-view.ndjson failed"):
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
    with pytest.raises(RuntimeError, match=f"{second} failed") as failure:
        setup_kibana(Settings(kibana_url=kibana.url))
    assert "akhbar-places-map" in str(failure.value)
    assert "missing_references" in str(failure.value)


def test_data_views_name_the_alias_and_time_fields() -> None:
    lines = (INFRA / "kibana" / "data-view.ndjson").read_text().splitlines()
    views = [json.loads(line) for line in lines]
    assert all(v["type"] == "index-pattern" and v["attributes"]["title"] == "akhbar-articles"
               for v in views)
    assert [v["attributes"]["timeFieldName"] for v in views] == ["ingested_at", "@timestamp"]
