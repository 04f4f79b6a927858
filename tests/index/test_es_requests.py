"""The Elasticsearch request bodies under infra/ (and the search body the CLI sends) against the
official Elasticsearch 9.5 API specification, with negative controls proving the checker fails.

Spec checks skip when ../shared is absent (a fresh clone); the analysis-name and mapping checks
need nothing outside the repository. Nothing here needs a cluster.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from datetime import datetime
from fnmatch import fnmatch
from pathlib import Path
from typing import Any

import pytest

from akhbar.embedding import DIMS, FAILED_FIELD, FIELD, SIMILAR_FIELD
from akhbar.orthography import CHAR_MAP
from akhbar.search import WINDOW, knn_body, search_body
from akhbar.settings import Settings
from akhbar.stages import InProcessPipeline, StageContext
from akhbar_index.bulk import bulk_body
from akhbar_ingest.formats import read_file
from akhbar_testkit.data import REPO, SEEDS, need
from akhbar_testkit.es_spec import (
    SPEC_PATH,
    analysis_name_errors,
    bulk_action_errors,
    request_body_errors,
    spec_available,
)

INFRA = REPO / "infra"
ALIAS = "akhbar-articles"
WRITE_INDEX = "akhbar-articles-000001"  # PUT /akhbar-articles-000001 with write-index.json

SEARCH_QUERY = "بوتين هولاند"
SEARCH_BODY: dict[str, Any] = search_body(SEARCH_QUERY)  # exactly what `akhbar search` sends


def load(name: str) -> dict[str, Any]:
    return json.loads((INFRA / "elasticsearch" / name).read_text(encoding="utf-8"))


@pytest.fixture
def template() -> dict[str, Any]:
    return load("index-template.json")


@pytest.fixture
def need_spec() -> None:
    if not spec_available():
        pytest.skip(f"Elasticsearch 9.5 API specification not found at {SPEC_PATH} "
                    "(../shared is absent): request bodies not checked against the spec")


# --- positive checks: what we send is valid ------------------------------------------------


@pytest.mark.usefixtures("need_spec")
@pytest.mark.parametrize(("method", "path", "file"), [
    ("PUT", "/_ilm/policy/{policy}", "ilm-policy.json"),
    ("PUT", "/_index_template/{name}", "index-template.json"),
    ("PUT", "/{index}", "write-index.json"),
])
def test_infra_bodies_match_spec(method: str, path: str, file: str) -> None:
    assert request_body_errors(method, path, load(file)) == []


@pytest.mark.usefixtures("need_spec")
def test_search_body_matches_spec() -> None:
    assert request_body_errors("POST", "/{index}/_search", SEARCH_BODY) == []


# What `akhbar search --mode dense` sends, and the two requests of hybrid (its keyword request is
# search_body at the fusion's rank window). A vector of the model's dimension; its values do not
# matter to the spec.
KNN_BODY: dict[str, Any] = knn_body([(-1) ** i / DIMS for i in range(DIMS)], 10)


@pytest.mark.usefixtures("need_spec")
@pytest.mark.parametrize("body", [KNN_BODY, knn_body(KNN_BODY["knn"]["query_vector"], WINDOW),
                                  search_body(SEARCH_QUERY, WINDOW)],
                         ids=["dense", "hybrid-knn", "hybrid-keyword"])
def test_dense_and_hybrid_requests_match_spec(body: dict[str, Any]) -> None:
    assert request_body_errors("POST", "/{index}/_search", body) == []


def test_knn_body_asks_the_embedding_field_for_k_of_enough_candidates() -> None:
    knn = KNN_BODY["knn"]
    assert knn["field"] == FIELD and len(knn["query_vector"]) == DIMS
    assert knn["k"] == KNN_BODY["size"] == 10 and knn["num_candidates"] >= knn["k"]
    assert knn_body(knn["query_vector"], WINDOW)["knn"]["num_candidates"] == 2 * WINDOW
    assert set(KNN_BODY["_source"]["includes"]) == set(SEARCH_BODY["_source"]["includes"])


@pytest.mark.usefixtures("need_spec")
def test_bulk_action_lines_match_spec() -> None:
    body = bulk_body([{"id": "a" * 32}, {"id": "b" * 32}], ALIAS, {"b" * 32: WRITE_INDEX})
    for action in body[::2]:
        assert bulk_action_errors(action) == []


@pytest.mark.usefixtures("need_spec")
def test_documented_short_forms_are_accepted() -> None:
    # The checker must not reject common valid forms the published spec does not model.
    body = {"query": {"bool": {"filter": [{"term": {"language": "ar"}},
                                          {"range": {"published_at": {"gte": "now-7d"}}}]}},
            "_source": ["title", "url"], "sort": [{"published_at": "desc"}, "_score"],
            "aggs": {"outlets": {"terms": {"field": "source.name"}}}}
    assert request_body_errors("POST", "/{index}/_search", body) == []


def test_analysis_names_resolve(template: dict[str, Any]) -> None:
    assert analysis_name_errors(template) == []


def test_bodies_agree_with_each_other(template: dict[str, Any]) -> None:
    ilm, write_index = load("ilm-policy.json"), load("write-index.json")
    index_settings = template["template"]["settings"]["index"]
    assert any(fnmatch(WRITE_INDEX, p) for p in template["index_patterns"])
    assert not any(fnmatch(ALIAS, p) for p in template["index_patterns"])
    assert index_settings["lifecycle"] == {"name": ALIAS, "rollover_alias": ALIAS}
    assert write_index["aliases"] == {ALIAS: {"is_write_index": True}}
    phases = ilm["policy"]["phases"]
    assert phases["hot"]["actions"]["rollover"] == {"max_primary_shard_size": "30gb",
                                                     "max_age": "30d"}
    assert "delete" not in phases  # news archives are kept


def test_orthography_rules_equal_the_shared_table(template: dict[str, Any]) -> None:
    # Index-time normalisation (akhbar.orthography) and the analyzer must fold alike.
    rules = template["template"]["settings"]["analysis"]["char_filter"]["akhbar_orthography"]
    table = dict(rule.split("=>") for rule in rules["mappings"])
    assert len(table) == len(rules["mappings"]) and all(len(k) == 1 for k in table)
    assert table == CHAR_MAP
    assert table["\u0640"] == "" and table["\u0670"] == "ا" and table["ک"] == "ك"
    assert [table[chr(0x0660 + d)] for d in range(10)] == [str(d) for d in range(10)]
    assert [table[chr(0x06F0 + d)] for d in range(10)] == [str(d) for d in range(10)]


# --- negative controls: the checker can fail ---------------------------------------------


def _mutated(body: dict[str, Any], change: Callable[[dict[str, Any]], None]) -> dict[str, Any]:
    body = copy.deepcopy(body)
    change(body)
    return body


def _misspell_analyzer(b: dict[str, Any]) -> None:
    title = b["template"]["mappings"]["properties"]["title"]
    title["anlyzer"] = title.pop("analyzer")


def _misspell_mappings(b: dict[str, Any]) -> None:
    b["template"]["mapings"] = b["template"].pop("mappings")


def _misspell_sub_field_param(b: dict[str, Any]) -> None:
    b["template"]["mappings"]["properties"]["body"]["fields"]["exact"]["term_vectr"] = "yes"


@pytest.mark.usefixtures("need_spec")
@pytest.mark.parametrize(("change", "culprit"), [
    (_misspell_analyzer, "anlyzer"),
    (_misspell_mappings, "mapings"),
    (_misspell_sub_field_param, "term_vectr"),
])
def test_template_typos_are_caught(template: dict[str, Any], change: Callable[..., None],
                                   culprit: str) -> None:
    errors = request_body_errors("PUT", "/_index_template/{name}", _mutated(template, change))
    assert errors and culprit in " ".join(errors)


@pytest.mark.usefixtures("need_spec")
def test_ilm_phases_without_policy_wrapper_are_caught() -> None:
    errors = request_body_errors("PUT", "/_ilm/policy/{policy}", load("ilm-policy.json")["policy"])
    assert errors and "phases" in " ".join(errors)


@pytest.mark.usefixtures("need_spec")
def test_misspelled_bulk_action_is_caught() -> None:
    errors = bulk_action_errors({"indx": {"_index": ALIAS, "_id": "abc"}})
    assert errors and "indx" in " ".join(errors)


def _misspell_query_type(b: dict[str, Any]) -> None:
    must = b["query"]["bool"]["must"][0]
    must["multi_mach"] = must.pop("multi_match")


@pytest.mark.usefixtures("need_spec")
@pytest.mark.parametrize(("change", "culprit"), [
    (_misspell_query_type, "multi_mach"),
    (lambda b: b["highlight"]["fields"]["body"].update(fragmnt_size=100), "fragmnt_size"),
    (lambda b: b["query"]["bool"]["must"][0]["multi_match"].update(type="best_field"),
     "best_field"),
])
def test_search_typos_are_caught(change: Callable[..., None], culprit: str) -> None:
    errors = request_body_errors("POST", "/{index}/_search", _mutated(SEARCH_BODY, change))
    assert errors and culprit in " ".join(errors)


@pytest.mark.usefixtures("need_spec")
@pytest.mark.parametrize(("change", "culprit"), [
    (lambda b: b["knn"].update(num_candidate=100), "num_candidate"),
    (lambda b: b["knn"].update(query_vector="0.1,0.2"), "0.1,0.2"),
    (lambda b: b.update(knn_query=b.pop("knn")), "knn_query"),
])
def test_knn_typos_are_caught(change: Callable[..., None], culprit: str) -> None:
    errors = request_body_errors("POST", "/{index}/_search", _mutated(KNN_BODY, change))
    assert errors and culprit in " ".join(errors)


def test_misspelled_filter_name_is_caught(template: dict[str, Any]) -> None:
    def change(b: dict[str, Any]) -> None:
        filters = b["template"]["settings"]["analysis"]["analyzer"]["akhbar_arabic"]["filter"]
        filters[filters.index("arabic_normalization")] = "arabic_normalisation"

    bad = _mutated(template, change)
    assert any("arabic_normalisation" in e for e in analysis_name_errors(bad))
    if spec_available():  # the spec itself cannot see it: filter names are plain strings
        assert request_body_errors("PUT", "/_index_template/{name}", bad) == []


def test_plugin_component_and_unknown_analyzer_are_caught(template: dict[str, Any]) -> None:
    def change(b: dict[str, Any]) -> None:
        b["template"]["settings"]["analysis"]["char_filter"]["akhbar_orthography"]["type"] = (
            "icu_normalizer")
        b["template"]["mappings"]["properties"]["body"]["fields"]["exact"]["analyzer"] = (
            "akhbar_exakt")

    errors = " ".join(analysis_name_errors(_mutated(template, change)))
    assert "icu_normalizer" in errors and "akhbar_exakt" in errors


# --- mapping <-> document contract --------------------------------------------------------


def _mapped_fields(properties: dict[str, Any], prefix: str = "") -> dict[str, str]:
    """Leaf field path -> mapping type (sub-fields under `fields` are not document keys)."""
    out: dict[str, str] = {}
    for name, mapping in properties.items():
        if "properties" in mapping:
            out |= _mapped_fields(mapping["properties"], f"{prefix}{name}.")
        else:
            out[prefix + name] = mapping["type"]
    return out


def _document_fields(doc: dict[str, Any], prefix: str = "") -> dict[str, list[Any]]:
    """Leaf field path -> the values found there (arrays of objects merge, as in Elasticsearch)."""
    out: dict[str, list[Any]] = {}
    for key, value in doc.items():
        items = value if isinstance(value, list) else [] if value is None else [value]
        if not items:
            continue  # null or an empty array adds no field
        if all(isinstance(v, dict) and set(v) != {"lat", "lon"} for v in items):
            for item in items:
                for path, values in _document_fields(item, f"{prefix}{key}.").items():
                    out.setdefault(path, []).extend(values)
        else:
            out.setdefault(prefix + key, []).extend(items)
    return out


def _fits(mapping_type: str, value: Any) -> bool:
    if value is None:
        return True
    if mapping_type in ("keyword", "text"):
        return isinstance(value, str)
    if mapping_type == "date":
        return isinstance(value, str) and datetime.fromisoformat(value).tzinfo is not None
    if mapping_type == "boolean":
        return isinstance(value, bool)
    if mapping_type == "integer":
        return isinstance(value, int) and not isinstance(value, bool)
    if mapping_type == "geo_point":
        return set(value) == {"lat", "lon"}
    return mapping_type == "float" and isinstance(value, int | float)


def produced_documents(tmp_path: Path) -> list[dict[str, Any]]:
    """Documents as the pipeline makes them: a JSON article with every optional field set
    (a section in its title, a dateline opening its body) and a republished copy of it, and
    the seed articles when ../shared is present."""
    article = {
        "title": "دولي / بوتين وهولاند يبحثان الأزمة السورية", "url": "https://example.com/a/1",
        "body": "باريس - أ ف ب: بحث الرئيس الروسي فلاديمير بوتين مع نظيره الفرنسي فرانسوا "
                "هولاند الوضع في سوريا.",
        "published_at": "2015-11-17T10:00:00+03:00", "retrieved_at": "2015-11-17T10:05:00+03:00",
        "author": "مراسلنا", "source": "example"}
    record = tmp_path / "two.jsonl"
    record.write_text("\n".join(json.dumps(a) for a in
                                [article, {**article, "url": "https://example.org/b/2"}]))
    paths = [record, *sorted(SEEDS.glob("*.txt"))]
    articles = [a for p in paths for a in read_file(p).articles]
    pipeline = InProcessPipeline(StageContext(Settings()))
    return [a.document() for a in pipeline.run(articles)]


def test_mapping_declares_exactly_the_document_fields(template: dict[str, Any],
                                                      tmp_path: Path) -> None:
    mapping = template["template"]["mappings"]
    assert mapping["dynamic"] == "strict"  # an unmapped key must fail indexing, not guess a type
    # The embed stage's fields come by partial updates (tests/embed/test_embed_requests.py).
    mapped = {k: v for k, v in _mapped_fields(mapping["properties"]).items()
              if k not in (FIELD, SIMILAR_FIELD, FAILED_FIELD)}
    docs = produced_documents(tmp_path)
    for doc in docs:
        found = _document_fields(doc)
        assert set(found) <= set(mapped)
        wrong = {path: values for path, values in found.items()
                 if not all(_fits(mapped[path], v) for v in values)}
        assert wrong == {}
    need(SEEDS)  # every mapped field filled by some document: the seeds name all entity kinds
    assert set().union(*(_document_fields(doc) for doc in docs)) == set(mapped)
