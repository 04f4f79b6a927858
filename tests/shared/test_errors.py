"""One exception tree (akhbar.contract.AkhbarError), one outcome per branch (DESIGN.md "Errors
and what becomes of them"): the tree itself, and each outcome for one real error of its kind,
through the code path a worker, ingest or the command takes, on a real Redis."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
from redis import Redis

from akhbar.charset import NotText, UndecodableError
from akhbar.cli_errors import CliError, Exit, explain
from akhbar.contract import (
    AkhbarError,
    Article,
    ConfigError,
    ContractError,
    Envelope,
    RawContent,
    Source,
    SourceError,
    TransientError,
    utcnow,
)
from akhbar.deadletter import list_dead
from akhbar.queues import SCHEMA_VERSION, make_app, send_jobs
from akhbar.settings import Settings
from akhbar.worker import RETRYABLE, StageRuntime, process_jobs
from akhbar_index.setup import SetupError, SetupTimeout
from akhbar_ingest.formats import FileRejected, read_file
from akhbar_ingest.sources.fetch import FetchFailed, HTTPStatusError, Refused
from akhbar_ingest.sources.rss import UnsafeXML
from akhbar_normalize.html import NoMainTextError
from akhbar_testkit.data import REPO
from akhbar_testkit.es_double import ElasticsearchDouble
from akhbar_testkit.harness import BIN, RedisServer, free_port, wait_until
from akhbar_testkit.index_stage import index_job, index_workers

OUTCOMES: dict[type[AkhbarError], set[type[Exception]]] = {
    TransientError: {FetchFailed},
    ContractError: {NoMainTextError},
    SourceError: {FileRejected, NotText, UndecodableError, Refused, HTTPStatusError, UnsafeXML},
    ConfigError: {SetupError, SetupTimeout},
}


def test_the_tree_has_one_root_and_one_outcome_per_error() -> None:
    assert set(AkhbarError.__subclasses__()) >= {*OUTCOMES, CliError}
    for outcome, members in OUTCOMES.items():
        for error in members:
            assert issubclass(error, outcome), (error, outcome)
            others = [o for o in (*OUTCOMES, CliError) if o is not outcome]
            assert not any(issubclass(error, o) for o in others), error
    assert TransientError in RETRYABLE
    assert not any(issubclass(o, RETRYABLE) for o in (ContractError, SourceError, ConfigError))


def job(article: Article) -> dict[str, object]:
    env = Envelope(route=["normalize"], article=article)
    return {"schema_version": SCHEMA_VERSION, "jobs": [env.to_message()]}


def raw(data: bytes, media_type: str) -> Article:
    return Article(id="0" * 32, source=Source(name="t", kind="inbox"), ingested_at=utcnow(),
                   raw=RawContent.from_bytes(data, media_type))


@pytest.mark.parametrize(("data", "media_type", "error"), [
    # A page with no article text: NoMainTextError, a ContractError.
    (b"<html><body><script>var a = 1;</script></body></html>", "text/html", "NoMainTextError"),
    # Bytes that are no text, met in a stage: a SourceError, dead-lettered there.
    (bytes(range(256)) * 4, "text/plain", "UndecodableError"),
])
def test_a_permanent_error_in_a_stage_dead_letters_the_job(
        redis_server: RedisServer, redis_db: Redis, data: bytes, media_type: str,
        error: str) -> None:
    rt = StageRuntime("normalize", Settings(redis_url=redis_server.url, route=["normalize"]))
    done, retried = process_jobs(rt, job(raw(data, media_type)))
    assert (done, retried) == ([], [])
    [entry] = list_dead(redis_db, "normalize")
    assert entry.error_class == error


def test_a_transient_error_in_a_stage_is_retried(redis_server: RedisServer, redis_db: Redis
                                                 ) -> None:
    rt = StageRuntime("normalize", Settings(redis_url=redis_server.url, route=["normalize"]))

    def unreachable(article: Article) -> Article:
        raise FetchFailed("https://example.com/: ConnectError: refused")

    rt._process = unreachable  # the stage function a worker process would have loaded
    done, retried = process_jobs(rt, job(raw(b"text", "text/plain")))
    assert done == [] and [type(exc) for _, exc in retried] == [FetchFailed]
    assert list_dead(redis_db, "normalize") == []


def test_a_source_error_at_ingest_refuses_the_file(tmp_path: Path) -> None:
    binary = tmp_path / "scan.txt"
    binary.write_bytes(b"\x00\x01\x02" * 100)
    with pytest.raises(SourceError, match="binary"):
        read_file(binary)


@pytest.mark.parametrize(("error", "code"), [
    (SetupError("infra/elasticsearch/index-template.json: PUT _index_template → 400"),
     Exit.CONFIG),
    (FetchFailed("HTTP 503 for https://example.com/ after 3 attempt(s)"), Exit.UNREACHABLE),
    (FileRejected("file is empty"), Exit.FAILED),
    (ContractError("invalid job: article.id: pattern"), Exit.FAILED),
    (CliError("no stage 'x' on the route", Exit.USAGE), Exit.USAGE),
])
def test_the_command_exits_with_the_code_of_the_outcome(error: AkhbarError, code: Exit) -> None:
    failure = explain(error, Settings())
    assert failure.code == code
    assert str(error).split(" (")[0] in failure.message


def test_a_config_error_in_the_index_worker_keeps_its_jobs(redis_server: RedisServer,
                                                          tmp_path: Path) -> None:
    """A SetupError (an ILM policy file Elasticsearch cannot be sent) writes nothing and
    dead-letters nothing: the jobs wait, and are indexed once the file is fixed."""
    infra = tmp_path / "infra"
    shutil.copytree(REPO / "infra", infra)
    policy = infra / "elasticsearch" / "ilm-policy.json"
    good = policy.read_text(encoding="utf-8")
    policy.write_text("{not json", encoding="utf-8")
    r = redis_server.client
    r.flushall()
    jobs = [index_job(f"https://example.com/config/{n}") for n in range(6)]
    send_jobs(make_app("akhbar_test", Settings(redis_url=redis_server.url, route=["index"])),
              "index", jobs, 2)
    with ElasticsearchDouble() as es:
        workers = index_workers(redis_server, es.url, tmp_path)
        log = tmp_path / "index.log"
        try:
            workers.start_stage("index", env={
                "AKHBAR_INFRA_DIR": str(infra), "AKHBAR_MAX_DELIVERIES": "2",
                "AKHBAR_RETRY_MAX": "1", "AKHBAR_ES_BACKOFF_S": "0.2",
                "AKHBAR_ES_BACKOFF_MAX_S": "0.5"})
            # Failing again and again: more than the delivery cap and the retry budget allow.
            wait_until(lambda: log.read_text(errors="replace").count(
                "Elasticsearch setup failed") >= 4, 60, f"setup to fail\n{workers.logs()}")
            assert es.docs == {} and r.llen("akhbar:dlq:index") == 0
            policy.write_text(good, encoding="utf-8")
            ids = {job["article"]["id"] for job in jobs}
            wait_until(lambda: set(es.docs) == ids, 60, f"every job indexed\n{workers.logs()}")
            assert r.llen("akhbar:dlq:index") == 0
        finally:
            workers.stop()
            r.flushall()


def test_a_command_ended_by_a_transient_error_exits_3(tmp_path: Path) -> None:
    """`akhbar fetch` of a server that is not there: FetchFailed once the retries are spent."""
    url = f"http://127.0.0.1:{free_port()}/feed.xml"
    result = subprocess.run(
        [str(BIN / "akhbar"), "fetch", url, "--kind", "rss", "--allow-private", "--out",
         str(tmp_path / "o")],
        env={**os.environ, "AKHBAR_FETCH_RETRIES": "0"}, capture_output=True, text=True,
        timeout=120)
    assert result.returncode == Exit.UNREACHABLE, result.stderr
    assert f"akhbar: {url} failed: {url}: ConnectError" in result.stderr
