"""Index: bulk writing against ElasticsearchDouble (the HTTP boundary): batches, documents left
unavailable by an outage, rejections, the write alias required."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from elasticsearch import Elasticsearch

from akhbar.contract import Article, ContractError, Source, utcnow
from akhbar.es import make_client
from akhbar.settings import Settings
from akhbar_index.bulk import BulkWriter, bulk_body
from akhbar_index.setup import setup_elasticsearch
from akhbar_index.stage import process
from akhbar_testkit.es_double import ElasticsearchDouble
from akhbar_testkit.es_spec import SPEC_PATH, bulk_action_errors, spec_available

SETTINGS = Settings(bulk_max_bytes=2000)


@pytest.fixture
def double() -> Iterator[ElasticsearchDouble]:
    with ElasticsearchDouble() as d:
        yield d


@pytest.fixture
def es(double: ElasticsearchDouble) -> Elasticsearch:
    return make_client(Settings(es_url=double.url))


def docs(n: int) -> list[dict[str, object]]:
    return [{"id": f"{i:032x}", "title": f"خبر {i}", "body": "نص " * 50} for i in range(n)]


def writer(es: Elasticsearch) -> BulkWriter:
    return BulkWriter(es, SETTINGS)


def test_setup_is_idempotent(double: ElasticsearchDouble, es: Elasticsearch) -> None:
    setup_elasticsearch(es, SETTINGS)
    setup_elasticsearch(es, SETTINGS)
    creations = [r for r in double.requests if r == ("PUT", "/akhbar-articles-000001")]
    assert len(creations) == 1 and double.aliases == {"akhbar-articles": "akhbar-articles-000001"}


def test_batches_are_bulk_requests_split_by_bytes(double: ElasticsearchDouble,
                                                  es: Elasticsearch) -> None:
    setup_elasticsearch(es, SETTINGS)
    outcome = writer(es).write(docs(12))
    assert len(outcome.indexed) == 12 and not outcome.rejected
    assert 1 < len(double.bulk_bodies) < 12  # a few requests, never one per document


def test_bulk_requests_carry_at_most_bulk_size_documents(double: ElasticsearchDouble) -> None:
    s = Settings(es_url=double.url, bulk_size=5)
    es = make_client(s)
    setup_elasticsearch(es, s)
    outcome = BulkWriter(es, s).write(docs(12))
    assert len(outcome.indexed) == 12
    assert [len(body) // 2 for body in double.bulk_bodies] == [5, 5, 2]  # action + source


@pytest.mark.parametrize("status", [429, 503])
def test_an_overloaded_cluster_leaves_the_batch_unavailable_untried(
        double: ElasticsearchDouble, es: Elasticsearch, status: int) -> None:
    """No retry here (the worker pauses instead): the request that failed is the only one, and
    the chunks after it are not tried."""
    setup_elasticsearch(es, SETTINGS)
    double.fail_next = [status]
    outcome = writer(es).write(docs(12))
    assert sorted(outcome.unavailable) == [d["id"] for d in docs(12)]
    assert len(double.bulk_bodies) == 1 and f"{status} double_failure" in outcome.why
    assert not outcome.indexed and not outcome.rejected


def test_items_refused_for_load_are_unavailable_the_others_indexed(
        double: ElasticsearchDouble, es: Elasticsearch) -> None:
    setup_elasticsearch(es, SETTINGS)
    busy = docs(3)[1]["id"]
    double.busy_ids.add(busy)
    outcome = writer(es).write(docs(3))
    assert outcome.unavailable == [busy] and "429 es_rejected_execution_exception" in outcome.why
    assert sorted(outcome.indexed) == sorted({d["id"] for d in docs(3)} - {busy})
    assert not outcome.rejected


def test_unreachable_cluster_leaves_documents_unavailable() -> None:
    es = make_client(Settings(es_url="http://127.0.0.1:9", es_request_timeout_s=1))
    outcome = writer(es).write(docs(1))
    assert outcome.unavailable == [docs(1)[0]["id"]] and "ConnectionError" in outcome.why


def test_missing_alias_is_not_auto_created(double: ElasticsearchDouble,
                                           es: Elasticsearch) -> None:
    """With require_alias, the write fails (the alias is missing: wait for setup) instead of
    creating an index named like the alias with a default mapping."""
    outcome = writer(es).write(docs(2))
    assert sorted(outcome.unavailable) == sorted(d["id"] for d in docs(2))
    assert "404 index_not_found_exception" in outcome.why and "require_alias" in outcome.why
    assert double.docs == {} and double.indices == set()


def test_per_document_rejections_carry_the_reason_and_the_node(double: ElasticsearchDouble,
                                                               es: Elasticsearch) -> None:
    setup_elasticsearch(es, SETTINGS)
    bad = docs(3)[1]["id"]
    double.reject_ids[bad] = "failed to parse field [published_at]"
    outcome = writer(es).write(docs(3))
    assert outcome.rejected == {bad: f"Elasticsearch at {double.url} rejected the document: "
                                     "400 document_parsing_exception: failed to parse field "
                                     "[published_at]"}
    assert len(outcome.indexed) == 2 and not outcome.unavailable


def test_documents_after_rollover_are_overwritten_where_they_live(
        double: ElasticsearchDouble, es: Elasticsearch) -> None:
    setup_elasticsearch(es, SETTINGS)
    writer(es).write(docs(1))
    double.aliases["akhbar-articles"] = "akhbar-articles-000002"  # rolled over
    outcome = writer(es).write(docs(2))
    actions = [a["index"] for a in double.bulk_bodies[-1][::2]]
    assert actions[0] == {"_index": "akhbar-articles-000001", "_id": docs(1)[0]["id"],
                          "require_alias": False}
    assert actions[1] == {"_index": "akhbar-articles", "_id": docs(2)[1]["id"]}
    assert len(outcome.indexed) == 2
    assert double.copies[docs(1)[0]["id"]] == {"akhbar-articles-000001"}
    assert double.copies[docs(2)[1]["id"]] == {"akhbar-articles-000002"}


def test_every_bulk_request_requires_the_alias(double: ElasticsearchDouble,
                                               es: Elasticsearch) -> None:
    """`require_alias=true` on every _bulk request (the spec's query parameter), lifted only by
    the action that names the concrete index a document already lives in."""
    setup_elasticsearch(es, SETTINGS)
    writer(es).write(docs(3))
    double.aliases["akhbar-articles"] = "akhbar-articles-000002"
    writer(es).write(docs(12))
    assert len(double.bulk_params) > 2
    assert all(params.get("require_alias") == "true" for params in double.bulk_params)
    lifted = {a["index"]["_id"] for body in double.bulk_bodies for a in body[::2]
              if a["index"].get("require_alias") is False}
    assert lifted == {d["id"] for d in docs(3)}


def test_require_alias_is_what_the_spec_defines(double: ElasticsearchDouble,
                                               es: Elasticsearch) -> None:
    """The query parameter on POST /_bulk (the request's default), and the per-action flag of
    the spec's WriteOperation that overrides it."""
    if not spec_available():
        pytest.skip(f"Elasticsearch API specification not found at {SPEC_PATH} (../shared is "
                    "absent): require_alias not checked against the spec")
    spec = json.loads(SPEC_PATH.read_text(encoding="utf-8"))
    bulk = spec["paths"]["/_bulk"]["post"]
    params = {ref["$ref"].rsplit("/", 1)[-1] for ref in bulk["parameters"]}
    assert "bulk-require_alias" in params
    assert spec["components"]["parameters"]["bulk-require_alias"]["schema"]["type"] == "boolean"
    setup_elasticsearch(es, SETTINGS)
    writer(es).write(docs(1))
    writer(es).write(docs(2))
    for action in double.bulk_bodies[-1][::2]:
        assert bulk_action_errors(action) == []


def test_bulk_body_pairs_actions_and_documents() -> None:
    body = bulk_body(docs(2), "akhbar-articles", {})
    assert body[0] == {"index": {"_index": "akhbar-articles", "_id": docs(2)[0]["id"]}}
    assert body[1] == docs(2)[0] and len(body) == 4


def test_index_stage_refuses_unfinished_articles() -> None:
    a = Article(id="0" * 32, source=Source(name="t", kind="inbox"), ingested_at=utcnow(),
                title="x")
    with pytest.raises(ContractError, match="story_id, language"):
        process(a)
