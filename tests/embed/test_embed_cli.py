"""The embed stage in the `akhbar` command: `process --embed`, `status` (the embed backlog),
`similar` (against ElasticsearchDouble, a stand-in at the HTTP boundary), and `run` starting
the embed worker when the route has it."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest
from redis import Redis

from akhbar.contract import Indexed
from akhbar.embedding import DIMS, FIELD
from akhbar.es import make_client
from akhbar.queues import skipped_key
from akhbar.run import plan
from akhbar.settings import Settings
from akhbar_embed.embedder import Embedder
from akhbar_index.bulk import BulkWriter
from akhbar_index.setup import setup_elasticsearch
from akhbar_testkit.data import REPO
from akhbar_testkit.es_double import ElasticsearchDouble
from akhbar_testkit.harness import BIN, RedisServer, free_port

EXAMPLES = REPO / "examples"
ROUTE = "normalize,enrich,index,embed"


def akhbar(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(BIN / "akhbar"), *args], capture_output=True, text=True,
                          timeout=300, env={"PATH": str(BIN), **env})


def documents(out: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]


@pytest.fixture(scope="module")
def example_docs(tmp_path_factory: pytest.TempPathFactory) -> list[dict[str, Any]]:
    """`akhbar process examples`, with embed on the route: the keyword stages' documents."""
    out = tmp_path_factory.mktemp("process") / "docs.jsonl"
    result = akhbar("process", str(EXAMPLES), "--out", str(out), env={"AKHBAR_ROUTE": ROUTE})
    assert result.returncode == 0, result.stderr
    return documents(out)


def dot(a: list[float], b: list[float]) -> float:
    return sum(x * y for x, y in zip(a, b, strict=True))


def test_process_embed_adds_the_vectors(example_docs: list[dict[str, Any]],
                                        tmp_path: Path) -> None:
    out = tmp_path / "embedded.jsonl"
    result = akhbar("process", str(EXAMPLES), "--embed", "--out", str(out),
                    env={"AKHBAR_ROUTE": ROUTE})
    assert result.returncode == 0, result.stderr
    embedded = documents(out)
    assert all(FIELD not in d for d in example_docs)
    assert all(len(d[FIELD]) == DIMS for d in embedded)
    volatile = (FIELD, "pipeline", "ingested_at", "@timestamp")
    assert [{k: v for k, v in d.items() if k not in volatile} for d in embedded] == \
        [{k: v for k, v in d.items() if k not in volatile} for d in example_docs]
    # The republished Irbid report's nearest document by meaning is the report it copies.
    copy = next(d for d in embedded if d["duplicate_of"])
    others = [d for d in embedded if d is not copy]
    nearest = max(others, key=lambda d: dot(d[FIELD], copy[FIELD]))
    assert nearest["id"] == copy["duplicate_of"]


@pytest.fixture
def indexed_examples(example_docs: list[dict[str, Any]]) -> Any:
    """The examples written to ElasticsearchDouble by the index stage's writer; all but the
    last embedded by the embed stage."""
    docs = example_docs
    with ElasticsearchDouble() as es:
        s = Settings(es_url=es.url)
        setup_elasticsearch(make_client(s), s)
        written = BulkWriter(make_client(s), s).write(docs).indexed
        Embedder(make_client(s), s).run([Indexed(id=i, index=x)
                                         for i, x in list(written.items())[:-1]])
        yield es, docs


def test_status_shows_the_embed_backlog(redis_db: Redis, redis_server: RedisServer,
                                        indexed_examples: Any) -> None:
    es, _ = indexed_examples
    redis_db.set(skipped_key("embed"), 3)
    env = {"AKHBAR_REDIS_URL": redis_server.url, "AKHBAR_ES_URL": es.url,
           "AKHBAR_ROUTE": ROUTE}
    status = akhbar("status", env=env)
    assert status.returncode == 0, status.stderr
    assert ["embed", "0", "0"] in [line.split() for line in status.stdout.splitlines()]
    assert ("embed: documents indexed but not sent to it (its queue at "
            "AKHBAR_EMBED_BACKLOG_MAX=40): 3") in status.stdout
    assert "embed: documents in the index without a vector: 1" in status.stdout
    down = akhbar("status", env={**env, "AKHBAR_ES_URL": f"http://127.0.0.1:{free_port()}"})
    assert down.returncode == 0 and "without a vector: unknown (" in down.stdout
    keyword_only = akhbar("status", env={**env, "AKHBAR_ROUTE": "normalize,enrich,index"})
    assert "embed" not in keyword_only.stdout


def test_similar_lists_the_nearest_articles_of_other_stories(indexed_examples: Any) -> None:
    es, docs = indexed_examples
    env = {"AKHBAR_ES_URL": es.url}
    first = docs[0]
    result = akhbar("similar", first["id"], "--json", "--size", "3", env=env)
    assert result.returncode == 0, result.stderr
    hits = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(hits) == 3
    assert all(h["_source"]["story_id"] != first["story_id"] for h in hits)
    scores = [dot(es.docs[first["id"]][FIELD], es.docs[h["_id"]][FIELD]) for h in hits]
    assert scores == sorted(scores, reverse=True)
    assert first["id"] not in [h["_id"] for h in hits]
    plain = akhbar("similar", first["id"], "--size", "3", env=env)
    assert plain.stdout.count("\n") == 3 and first["title"] not in plain.stdout


def test_similar_says_why_it_has_nothing(indexed_examples: Any) -> None:
    es, docs = indexed_examples
    env = {"AKHBAR_ES_URL": es.url}
    waiting = akhbar("similar", docs[-1]["id"], env=env)
    assert waiting.returncode == 1 and "has no vector yet" in waiting.stderr
    unknown = akhbar("similar", "0" * 32, env=env)
    assert unknown.returncode == 1 and "no document" in unknown.stderr


def test_run_starts_the_embed_worker_when_the_route_has_it(tmp_path: Path) -> None:
    children = {c.name: c.argv for c in plan(Settings(route=ROUTE.split(",")), {}, tmp_path)}
    argv = children["embed"]
    assert argv[argv.index("-A") + 1] == "akhbar_embed.tasks"
    assert argv[argv.index("-Q") + 1] == "embed"
    keyword_only = Settings(route=["normalize", "enrich", "index"])
    assert "embed" not in {c.name for c in plan(keyword_only, {}, tmp_path)}
