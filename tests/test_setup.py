"""The one-shot setup: the Kibana import request, against a Kibana stand-in at the HTTP
boundary (KibanaDouble records what it receives; it is no evidence Kibana accepts it)."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from akhbar.settings import Settings
from akhbar_index.setup import setup_kibana

INFRA = Path(__file__).resolve().parents[1] / "infra"


class KibanaDouble:
    def __init__(self, answer: dict[str, Any]) -> None:
        self.received: list[tuple[str, dict[str, str], bytes]] = []
        double = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                double.received.append((self.path, dict(self.headers), body))
                data = json.dumps(answer).encode()
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


@pytest.mark.parametrize("kibana", [{"success": True, "successCount": 1}], indirect=True)
def test_data_view_is_imported_with_overwrite(kibana: KibanaDouble) -> None:
    setup_kibana(Settings(kibana_url=kibana.url))
    [(path, headers, body)] = kibana.received
    assert path == "/api/saved_objects/_import?overwrite=true"
    assert headers["kbn-xsrf"] == "true"
    assert headers["Content-Type"].startswith("multipart/form-data")
    assert (INFRA / "kibana" / "data-view.ndjson").read_bytes() in body


@pytest.mark.parametrize("kibana", [{"success": False, "errors": [{"id": "akhbar-articles"}]}],
                         indirect=True)
def test_failed_import_is_an_error(kibana: KibanaDouble) -> None:
    with pytest.raises(RuntimeError, match="Kibana import failed"):
        setup_kibana(Settings(kibana_url=kibana.url))


def test_data_view_names_the_alias_and_time_field() -> None:
    [line] = (INFRA / "kibana" / "data-view.ndjson").read_text().splitlines()
    obj = json.loads(line)
    assert obj["type"] == "index-pattern" and obj["attributes"]["title"] == "akhbar-articles"
    assert obj["attributes"]["timeFieldName"] == "published_at"
