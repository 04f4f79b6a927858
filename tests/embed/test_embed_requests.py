"""The embed stage's requests against the Elasticsearch 9.5 API specification (no cluster), and
its fields against the index template: the mapping of each, the values the stage writes."""

from __future__ import annotations

import json
from typing import Any

import pytest

from akhbar.embedding import DIMS, FAILED_FIELD, FIELD, SIMILAR_FIELD, missing_query, passages
from akhbar.settings import Settings
from akhbar_embed.mapping import embed_properties
from akhbar_embed.stage import catch_up_body, failure_update, similar_body, vector_update
from akhbar_testkit.data import REPO
from akhbar_testkit.es_spec import (
    SPEC_PATH,
    bulk_action_errors,
    request_body_errors,
    spec_available,
)

INDEX = "akhbar-articles-000002"
VECTOR = [float(x) for x in passages(["بوتين وهولاند يبحثان الأزمة السورية"])[0]]


@pytest.fixture
def need_spec() -> None:
    if not spec_available():
        pytest.skip(f"Elasticsearch 9.5 API specification not found at {SPEC_PATH} "
                    "(../shared is absent): request bodies not checked against the spec")


def template_properties() -> dict[str, Any]:
    template = json.loads((REPO / "infra/elasticsearch/index-template.json").read_text())
    props: dict[str, Any] = template["template"]["mappings"]["properties"]
    return props


def test_the_vector_field_fits_the_model() -> None:
    vector = template_properties()[FIELD]
    assert vector["type"] == "dense_vector" and vector["dims"] == DIMS == len(VECTOR)
    assert vector["index"] is True and vector["index_options"]["type"] == "int8_hnsw"
    # dot_product requires unit vectors: the model's are.
    assert vector["similarity"] == "dot_product"
    assert abs(sum(x * x for x in VECTOR) - 1) < 1e-4
    assert template_properties()[SIMILAR_FIELD]["type"] == "keyword"
    assert template_properties()[FAILED_FIELD]["type"] == "keyword"


def test_updates_write_only_mapped_fields_with_fitting_values() -> None:
    props = template_properties()
    done = vector_update(INDEX, "a" * 32, VECTOR, ["b" * 32])[1]["doc"]
    failed = failure_update(INDEX, "a" * 32, "ContractError: no title or body to embed")[1]["doc"]
    assert set(done) | set(failed) <= set(props)
    assert len(done[FIELD]) == DIMS and all(isinstance(x, float) for x in done[FIELD])
    assert all(isinstance(i, str) for i in done[SIMILAR_FIELD]) and done[FAILED_FIELD] is None
    assert isinstance(failed[FAILED_FIELD], str)
    assert len(failed[FAILED_FIELD]) <= props[FAILED_FIELD]["ignore_above"]


@pytest.mark.usefixtures("need_spec")
def test_bulk_update_lines_match_spec() -> None:
    lines = [*vector_update(INDEX, "a" * 32, VECTOR, ["b" * 32]),
             *failure_update(INDEX, "c" * 32, "reason")]
    for line in lines:
        assert bulk_action_errors(line) == [], line


@pytest.mark.usefixtures("need_spec")
@pytest.mark.parametrize("story", ["s1", None])
@pytest.mark.parametrize("ids_only", [True, False])
def test_similar_search_matches_spec(story: str | None, ids_only: bool) -> None:
    body = similar_body(VECTOR, "a" * 32, story, 5, ids_only)
    assert request_body_errors("POST", "/{index}/_search", body) == []


@pytest.mark.usefixtures("need_spec")
def test_catch_up_search_count_and_mapping_update_match_spec() -> None:
    assert request_body_errors("POST", "/{index}/_search", catch_up_body(100)) == []
    assert request_body_errors("POST", "/{index}/_count", {"query": missing_query()}) == []
    body = {"properties": embed_properties(Settings())}
    assert request_body_errors("PUT", "/{index}/_mapping", body) == []
    assert request_body_errors("POST", "/_mget", {"docs": [
        {"_index": INDEX, "_id": "a" * 32, "_source": ["title", "body", "story_id"]}]}) == []


@pytest.mark.usefixtures("need_spec")
def test_a_misspelled_update_or_vector_option_is_caught() -> None:
    line = vector_update(INDEX, "a" * 32, VECTOR, [])[0]
    line["update"]["retry_on_conflicts"] = line["update"].pop("retry_on_conflict")
    assert bulk_action_errors(line) != []
    props = embed_properties(Settings())
    props[FIELD]["index_options"]["type"] = "int8_hnws"
    assert request_body_errors("PUT", "/{index}/_mapping", {"properties": props}) != []
