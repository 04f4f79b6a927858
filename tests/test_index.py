"""Index: bulk writing against ElasticsearchDouble (the HTTP boundary), retries, rejections."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from elasticsearch import Elasticsearch

from akhbar.contract import Article, ContractError, Source, utcnow
from akhbar.es import make_client
from akhbar.settings import Settings
from akhbar_index.bulk import BulkWriter, bulk_body
from akhbar_index.setup import setup_elasticsearch
from akhbar_index.stage import process

from es_double import ElasticsearchDouble

SETTINGS = Settings(retry_max=3, bulk_max_bytes=2000)


@pytest.fixture
def double() -> Iterator[ElasticsearchDouble]:
    with ElasticsearchDouble() as d:
        yield d


@pytest.fixture
def es(double: ElasticsearchDouble) -> Elasticsearch:
    return make_client(Settings(es_url=double.url))


def docs(n: int) -> list[dict[str, object]]:
    return [{"id": f"{i:032x}", "title": f"خبر {i}", "body": "نص " * 50} for i in range(n)]


def writer(es: Elasticsearch, sleeps: list[float]) -> BulkWriter:
    return BulkWriter(es, SETTINGS, sleep=sleeps.append)


def test_setup_is_idempotent(double: ElasticsearchDouble, es: Elasticsearch) -> None:
    setup_elasticsearch(es, SETTINGS)
    setup_elasticsearch(es, SETTINGS)
    creations = [r for r in double.requests if r == ("PUT", "/akhbar-articles-000001")]
    assert len(creations) == 1 and double.aliases == {"akhbar-articles": "akhbar-articles-000001"}


def test_batches_are_bulk_requests_split_by_bytes(double: ElasticsearchDouble,
                                                  es: Elasticsearch) -> None:
    setup_elasticsearch(es, SETTINGS)
    outcome = writer(es, []).write(docs(12))
    assert len(outcome.indexed) == 12 and not outcome.rejected
    assert 1 < len(double.bulk_bodies) < 12  # a few requests, never one per document


def test_bulk_requests_carry_at_most_bulk_size_documents(double: ElasticsearchDouble) -> None:
    s = Settings(es_url=double.url, bulk_size=5)
    es = make_client(s)
    setup_elasticsearch(es, s)
    outcome = BulkWriter(es, s, sleep=lambda _: None).write(docs(12))
    assert len(outcome.indexed) == 12
    assert [len(body) // 2 for body in double.bulk_bodies] == [5, 5, 2]  # action + source


def test_overload_is_retried_with_backoff(double: ElasticsearchDouble, es: Elasticsearch) -> None:
    setup_elasticsearch(es, SETTINGS)
    double.fail_next = [429, 503]
    sleeps: list[float] = []
    outcome = writer(es, sleeps).write(docs(2))
    assert sorted(outcome.indexed) == [d["id"] for d in docs(2)]
    assert len(sleeps) == 2 and all(0 <= s <= SETTINGS.retry_backoff_max_s for s in sleeps)


def test_retries_are_bounded(double: ElasticsearchDouble, es: Elasticsearch) -> None:
    setup_elasticsearch(es, SETTINGS)
    double.fail_next = [503] * 10
    sleeps: list[float] = []
    outcome = writer(es, sleeps).write(docs(2))
    assert sorted(outcome.unavailable) == [d["id"] for d in docs(2)]
    assert len(sleeps) == SETTINGS.retry_max and "503" in outcome.last_error


def test_unreachable_cluster_leaves_documents_unavailable() -> None:
    es = make_client(Settings(es_url="http://127.0.0.1:9", es_request_timeout_s=1))
    outcome = writer(es, []).write(docs(1))
    assert outcome.unavailable == [docs(1)[0]["id"]] and "Connection" in outcome.last_error


def test_missing_alias_is_not_auto_created(double: ElasticsearchDouble,
                                           es: Elasticsearch) -> None:
    outcome = writer(es, []).write(docs(1))
    assert outcome.unavailable and "does not exist" in outcome.last_error
    assert double.bulk_bodies == []


def test_per_document_rejections_carry_the_reason(double: ElasticsearchDouble,
                                                  es: Elasticsearch) -> None:
    setup_elasticsearch(es, SETTINGS)
    bad = docs(3)[1]["id"]
    double.reject_ids[bad] = "failed to parse field [published_at]"
    outcome = writer(es, []).write(docs(3))
    assert outcome.rejected == {bad: "document_parsing_exception: failed to parse field "
                                     "[published_at]"}
    assert len(outcome.indexed) == 2


def test_documents_after_rollover_are_overwritten_where_they_live(
        double: ElasticsearchDouble, es: Elasticsearch) -> None:
    setup_elasticsearch(es, SETTINGS)
    writer(es, []).write(docs(1))
    double.aliases["akhbar-articles"] = "akhbar-articles-000002"  # rolled over
    writer(es, []).write(docs(2))
    actions = [a["index"] for a in double.bulk_bodies[-1][::2]]
    assert actions[0] == {"_index": "akhbar-articles-000001", "_id": docs(1)[0]["id"]}
    assert actions[1]["_index"] == "akhbar-articles"


def test_bulk_body_pairs_actions_and_documents() -> None:
    body = bulk_body(docs(2), "akhbar-articles", {})
    assert body[0] == {"index": {"_index": "akhbar-articles", "_id": docs(2)[0]["id"]}}
    assert body[1] == docs(2)[0] and len(body) == 4


def test_index_stage_refuses_unfinished_articles() -> None:
    a = Article(id="0" * 32, source=Source(name="t", kind="inbox"), ingested_at=utcnow(),
                title="x")
    with pytest.raises(ContractError, match="story_id, language"):
        process(a)
