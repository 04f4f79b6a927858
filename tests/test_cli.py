"""The `akhbar` command as a user runs it."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from akhbar.contract import Article
from akhbar.es import make_client
from akhbar.search import search_body
from akhbar.settings import Settings
from akhbar.stages import InProcessPipeline, StageContext
from akhbar_index.bulk import BulkWriter
from akhbar_index.setup import setup_elasticsearch
from akhbar_ingest.formats import read_file

from conftest import BIN, RedisServer
from es_double import ElasticsearchDouble

FIELDS = {"id", "source", "url", "title", "body", "captions", "published_at", "published_raw",
          "language", "story_id", "duplicate_of", "ingested_at", "pipeline"}


def akhbar(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(BIN / "akhbar"), *args], capture_output=True, text=True,
                          timeout=300, env=env)


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


def test_process_reports_bad_files_and_keeps_going(seeds: list[Path], tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text("[]")
    out = tmp_path / "docs.jsonl"
    result = akhbar("process", str(seeds[3]), str(bad), "--out", str(out))
    assert result.returncode == 1
    assert "bad.json: an article must be a JSON object" in " ".join(result.stderr.split())
    assert len(out.read_text(encoding="utf-8").splitlines()) == 1


def test_status_and_dlq_on_a_real_redis(redis_server: RedisServer) -> None:
    redis_server.client.flushall()
    redis_server.client.rpush("akhbar:dlq:enrich", json.dumps({
        "stage": "enrich", "error_class": "ValueError", "message": "bad", "payload": {"x": 1},
        "at": "2026-01-01T00:00:00+00:00", "worker": "w"}))
    env = {"AKHBAR_REDIS_URL": redis_server.url, "PATH": str(BIN)}
    status = akhbar("status", env=env)
    assert status.returncode == 0, status.stderr
    row = next(line for line in status.stdout.splitlines() if "enrich" in line)
    assert row.replace("│", " ").split() == ["enrich", "0", "1"]
    assert "held by workers (unacknowledged, incl. delayed retries): 0" in status.stdout
    listed = akhbar("dlq", "list", "enrich", env=env)
    assert '"error_class": "ValueError"' in listed.stdout
    replayed = akhbar("dlq", "replay", "enrich", env=env)
    assert "replayed 1 job(s) to enrich" in replayed.stdout
    assert redis_server.client.llen("akhbar:dlq:enrich") == 0
    assert redis_server.client.llen("enrich") == 1  # back on the stage's queue
    redis_server.client.flushall()


def test_search_sends_the_checked_query_and_prints_hits(seeds: list[Path]) -> None:
    """Against ElasticsearchDouble: the CLI's request and output, not search relevance."""
    articles = [a for p in seeds for a in read_file(p).articles]
    docs = [a.document() for a in InProcessPipeline(StageContext(Settings())).run(articles)]
    with ElasticsearchDouble() as es:
        client = make_client(Settings(es_url=es.url))
        setup_elasticsearch(client, Settings())
        BulkWriter(client, Settings()).write(docs)
        result = akhbar("search", "الرقة", "--size", "3",
                        env={"AKHBAR_ES_URL": es.url, "PATH": str(BIN)})
    assert result.returncode == 0, result.stderr
    assert es.searches[-1] == search_body("الرقة", 3)
    assert "3 hit(s)" in result.stdout and docs[0]["title"] in result.stdout
