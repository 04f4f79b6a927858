"""Offline checks of the Kibana saved objects in infra/kibana/*.ndjson.

Checked here: every line is a saved object; ids are unique; every reference resolves to an object
of the files; every object leads to the `akhbar-articles` data view; every field the Lens and Maps
states name is mapped by the index template with an aggregatable type; Lens accessors, map layer
references and dashboard panel references resolve; attribute keys and migration versions are the
ones listed below, transcribed from Kibana 9.x's saved-object type definitions; and the five seed
articles, run through every stage, fall inside the dashboard's default time range on the time
field of the data view its panels use (dropped files are visible without touching the picker).

Not checked: that Kibana accepts, migrates or renders these objects. No Kibana runs here and no
schema of these attributes is published in a form a test can load, so the shapes are unverified
until a live Kibana imports them.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from akhbar.contract import utcnow
from akhbar.settings import Settings
from akhbar.stages import InProcessPipeline, StageContext
from akhbar_index.setup import kibana_files
from akhbar_ingest.formats import read_file
from akhbar_testkit.data import REPO

INFRA = REPO / "infra"
DATA_VIEW = "akhbar-articles"  # "Akhbar — arrivals": the dashboard's
DATA_VIEWS = {DATA_VIEW: "ingested_at", "akhbar-articles-by-publication": "@timestamp"}
AGGREGATABLE = {"keyword", "date", "geo_point", "integer"}
# Keys whose values name index fields, in Lens states and in map layer descriptors.
FIELD_KEYS = {"sourceField", "geoField", "sortField", "tooltipProperties", "topHitsSplitField"}
LENS_RECORDS = "___records___"  # Lens's pseudo-field of the count operation
# The field types each Lens operation used here accepts.
OPERATION_TYPES = {
    "count": set(),
    "date_histogram": {"date"},
    "terms": {"keyword", "integer"},
    "unique_count": {"keyword", "integer", "date"},
}
# Attribute keys of each type. Lens: lensItemAttributesSchema (v1); map: the maps content
# management mapAttributesSchema; dashboard: model versions 1-3; all three forbid unknown keys.
ATTRIBUTES = {
    "index-pattern": {"title", "name", "timeFieldName", "fieldFormatMap", "fields", "fieldAttrs",
                      "runtimeFieldMap", "sourceFilters", "typeMeta", "allowNoIndex"},
    "lens": {"title", "description", "visualizationType", "state", "version"},
    "map": {"title", "description", "mapStateJSON", "layerListJSON", "uiStateJSON"},
    "dashboard": {"title", "description", "kibanaSavedObjectMeta", "timeRestore", "timeFrom",
                  "timeTo", "refreshInterval", "controlGroupInput", "panelsJSON", "optionsJSON",
                  "hits", "version", "sections"},
}
# Without typeMigrationVersion Kibana runs every migration of the type from its first version
# (Lens's 7.10.0 one reads the pre-8.6 `indexpattern` datasource and would break these states), so
# each object declares the version its shape has: the last legacy migration of index-pattern,
# lens and map, and for dashboards the version of Kibana 9.x's own sample dashboards (later
# dashboard migrations only rewrite by-value panels; model versions add mappings).
MIGRATION_VERSIONS = {"index-pattern": "7.11.0", "lens": "8.9.0", "map": "8.4.0",
                      "dashboard": "8.7.0"}
CORE_MIGRATION_VERSION = "8.8.0"
GRID_COLUMNS = 48


def mapped_types(properties: dict[str, Any], prefix: str = "") -> dict[str, str]:
    """Dotted field path -> mapping type, sub-fields included."""
    types: dict[str, str] = {}
    for name, spec in properties.items():
        path = f"{prefix}{name}"
        if "properties" in spec:
            types |= mapped_types(spec["properties"], f"{path}.")
        else:
            types[path] = spec["type"]
        for sub, sub_spec in spec.get("fields", {}).items():
            types[f"{path}.{sub}"] = sub_spec["type"]
    return types


MAPPING = mapped_types(json.loads(
    (INFRA / "elasticsearch" / "index-template.json").read_text(encoding="utf-8")
)["template"]["mappings"]["properties"])


def load_lines() -> list[tuple[str, int, str]]:
    return [(f.name, number, line)
            for f in kibana_files(INFRA)
            for number, line in enumerate(f.read_text(encoding="utf-8").splitlines(), 1)]


OBJECTS = [json.loads(line) for _, _, line in load_lines()]
BY_KEY = {(o["type"], o["id"]): o for o in OBJECTS}


def of_type(kind: str) -> list[dict[str, Any]]:
    return [o for o in OBJECTS if o["type"] == kind]


def embedded(attributes: dict[str, Any], key: str) -> Any:
    """Kibana stores some states as JSON strings inside the attributes (panelsJSON, ...)."""
    return json.loads(attributes[key])


def named_fields(node: Any) -> Iterator[str]:
    """Every field name under FIELD_KEYS, looking inside *JSON string attributes too."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key in FIELD_KEYS:
                yield from [value] if isinstance(value, str) else value
            elif key.endswith("JSON") and isinstance(value, str):
                yield from named_fields(json.loads(value))
            else:
                yield from named_fields(value)
    elif isinstance(node, list):
        for item in node:
            yield from named_fields(item)


def field_problems(attributes: dict[str, Any]) -> list[str]:
    problems = []
    for field in named_fields(attributes):
        if field in ("", LENS_RECORDS):
            continue
        kind = MAPPING.get(field)
        if kind not in AGGREGATABLE:
            problems.append(f"{field}: {kind or 'not mapped'}")
    return problems


def reference(obj: dict[str, Any], name: str) -> dict[str, str]:
    [ref] = [r for r in obj["references"] if r["name"] == name]
    return ref


def ids(objects: list[dict[str, Any]]) -> list[str]:
    return [o["id"] for o in objects]


def object_id(obj: dict[str, Any]) -> str:
    return obj["id"]


# --------------------------------------------------------------------------- the files


def test_every_line_is_a_saved_object() -> None:
    lines = load_lines()
    assert {name for name, _, _ in lines} >= {"data-view.ndjson", "dashboard.ndjson"}
    for name, number, line in lines:
        obj = json.loads(line)
        assert isinstance(obj, dict), f"{name}:{number}"
        assert {"type", "id", "attributes", "references"} <= obj.keys(), f"{name}:{number}"
        assert isinstance(obj["references"], list), f"{name}:{number}"
        assert obj["attributes"].get("title"), f"{name}:{number} has no title"


def test_ids_are_unique() -> None:
    assert len(set(ids(OBJECTS))) == len(OBJECTS), sorted(ids(OBJECTS))


def test_migration_versions() -> None:
    for obj in OBJECTS:
        assert obj.get("coreMigrationVersion") == CORE_MIGRATION_VERSION, obj["id"]
        assert obj.get("typeMigrationVersion") == MIGRATION_VERSIONS[obj["type"]], obj["id"]


def test_attribute_keys_are_those_of_the_type() -> None:
    for obj in OBJECTS:
        unknown = obj["attributes"].keys() - ATTRIBUTES[obj["type"]]
        assert not unknown, f"{obj['id']}: {sorted(unknown)}"


def test_every_reference_resolves_within_the_files() -> None:
    for obj in OBJECTS:
        names = [r["name"] for r in obj["references"]]
        assert len(set(names)) == len(names), f"{obj['id']}: duplicate reference names"
        for ref in obj["references"]:
            assert (ref["type"], ref["id"]) in BY_KEY, f"{obj['id']} -> {ref}"


def test_every_object_leads_to_the_data_view() -> None:
    def reaches(key: tuple[str, str]) -> bool:
        return (key[0] == "index-pattern" and key[1] in DATA_VIEWS) or any(
            reaches((r["type"], r["id"])) for r in BY_KEY[key]["references"])

    assert ("index-pattern", DATA_VIEW) in BY_KEY
    for obj in OBJECTS:
        assert reaches((obj["type"], obj["id"])), obj["id"]
    for obj in of_type("lens") + of_type("map"):  # directly, not through another object
        assert {r["id"] for r in obj["references"]} == {DATA_VIEW}, obj["id"]


# --------------------------------------------------------------------------- fields


def test_data_views_time_fields_are_mapped_dates() -> None:
    views = {v["id"]: v["attributes"] for v in of_type("index-pattern")}
    assert {i: v["timeFieldName"] for i, v in views.items()} == DATA_VIEWS
    assert all(MAPPING[field] == "date" for field in DATA_VIEWS.values())
    assert {v["title"] for v in views.values()} == {"akhbar-articles"}  # both read the alias
    assert len({v["name"] for v in views.values()}) == len(views)


@pytest.mark.parametrize("obj", of_type("lens") + of_type("map"), ids=object_id)
def test_fields_are_mapped_and_aggregatable(obj: dict[str, Any]) -> None:
    assert list(named_fields(obj["attributes"])), f"{obj['id']} names no field"
    assert field_problems(obj["attributes"]) == []


def test_field_check_finds_fields_in_states_and_json_strings() -> None:
    """Negative control: a text field in a Lens column and an unmapped geo field in a layer
    list stored as a JSON string are both reported."""
    attributes = {
        "state": {"datasourceStates": {"formBased": {"layers": {"l": {"columns": {
            "c": {"operationType": "terms", "sourceField": "title"}}}}}}},
        "layerListJSON": json.dumps([{"sourceDescriptor": {
            "geoField": "places.point", "tooltipProperties": ["places.label"]}}]),
    }
    assert field_problems(attributes) == ["title: text", "places.point: not mapped"]


# --------------------------------------------------------------------------- Lens


@pytest.mark.parametrize("lens", of_type("lens"), ids=object_id)
def test_lens_layers_columns_and_accessors_resolve(lens: dict[str, Any]) -> None:
    state = lens["attributes"]["state"]
    assert state["datasourceStates"].keys() == {"formBased"}
    layers = state["datasourceStates"]["formBased"]["layers"]
    for layer_id, layer in layers.items():
        ref = reference(lens, f"indexpattern-datasource-layer-{layer_id}")
        assert (ref["type"], ref["id"]) == ("index-pattern", DATA_VIEW)
        assert sorted(layer["columnOrder"]) == sorted(layer["columns"])
        for column in layer["columns"].values():
            allowed = OPERATION_TYPES[column["operationType"]]
            field = column["sourceField"]
            assert MAPPING.get(field) in allowed if allowed else field == LENS_RECORDS, column
    vis = state["visualization"]
    if lens["attributes"]["visualizationType"] == "lnsXY":
        accessors = [(layer["layerId"], a) for layer in vis["layers"]
                     for a in [layer["xAccessor"], *layer["accessors"],
                               *filter(None, [layer.get("splitAccessor")])]]
    else:
        assert lens["attributes"]["visualizationType"] == "lnsDatatable"
        accessors = [(vis["layerId"], c["columnId"]) for c in vis["columns"]]
    for layer_id, accessor in accessors:
        assert accessor in layers[layer_id]["columns"], (lens["id"], accessor)


EXPECTED_LENS_FIELDS = {
    "akhbar-articles-over-time": {"ingested_at", "source.name"},
    "akhbar-top-persons": {"entities.persons.name.keyword"},
    "akhbar-top-organizations": {"entities.organizations.name.keyword"},
    "akhbar-top-places": {"places.label"},
    "akhbar-largest-stories": {"story_id", "source.name"},
    "akhbar-top-credits": {"credit.keyword"},
    "akhbar-top-sections": {"section"},
    "akhbar-top-dateline-places": {"dateline.place"},
}


def test_lens_panels_show_what_the_dashboard_promises() -> None:
    shown = {o["id"]: set(named_fields(o["attributes"])) - {LENS_RECORDS}
             for o in of_type("lens")}
    assert shown == EXPECTED_LENS_FIELDS


# --------------------------------------------------------------------------- map


@pytest.mark.parametrize("place_map", of_type("map"), ids=object_id)
def test_map_has_a_base_map_and_a_documents_layer_on_places(place_map: dict[str, Any]) -> None:
    layers = embedded(place_map["attributes"], "layerListJSON")
    for key in ("mapStateJSON", "uiStateJSON"):
        assert isinstance(embedded(place_map["attributes"], key), dict)
    sources = [layer["sourceDescriptor"] for layer in layers]
    assert sources[0]["type"] == "EMS_TMS" and layers[0]["type"] == "EMS_VECTOR_TILE"
    documents = [(i, s) for i, s in enumerate(sources) if s["type"] == "ES_SEARCH"]
    assert documents, "no documents layer"
    for index, source in documents:
        assert source["indexPatternRefName"] == f"layer_{index}_source_index_pattern"
        ref = reference(place_map, source["indexPatternRefName"])
        assert (ref["type"], ref["id"]) == ("index-pattern", DATA_VIEW)
        assert MAPPING[source["geoField"]] == "geo_point"
        assert "places.label" in source["tooltipProperties"]
    used = {s["indexPatternRefName"] for s in sources if "indexPatternRefName" in s}
    assert used == {r["name"] for r in place_map["references"]}


# --------------------------------------------------------------------------- dashboard


def test_dashboard_panels_resolve_and_tile_the_grid() -> None:
    [dashboard] = of_type("dashboard")
    assert dashboard["id"] == "akhbar-dashboard"
    assert dashboard["attributes"]["title"] == "Akhbar — Arabic news"
    panels = embedded(dashboard["attributes"], "panelsJSON")
    names = {r["name"]: r for r in dashboard["references"]
             if not r["name"].startswith(CONTROL_PREFIX)}
    cells: set[tuple[int, int]] = set()
    for panel in panels:
        grid = panel["gridData"]
        assert panel["panelIndex"] == grid["i"]
        ref = names.pop(f"{panel['panelIndex']}:{panel['panelRefName']}")
        assert ref["type"] == panel["type"] and (ref["type"], ref["id"]) in BY_KEY
        assert 0 <= grid["x"] and grid["x"] + grid["w"] <= GRID_COLUMNS, panel["panelIndex"]
        area = {(x, y) for x in range(grid["x"], grid["x"] + grid["w"])
                for y in range(grid["y"], grid["y"] + grid["h"])}
        assert not area & cells, f"{panel['panelIndex']} overlaps another panel"
        cells |= area
    assert not names, f"references no panel uses: {sorted(names)}"
    shown = {ref["id"] for ref in dashboard["references"] if ref["type"] != "index-pattern"}
    assert shown == set(ids(of_type("lens") + of_type("map")))


# Filter controls: options lists on the canonical names (keyword sub-fields) and place labels.
CONTROL_PREFIX = "controlGroup_"
EXPECTED_CONTROL_FIELDS = {"entities.persons.name.keyword", "entities.organizations.name.keyword",
                           "places.label", "entities.misc.name.keyword"}


def test_dashboard_filter_controls_are_on_canonical_names() -> None:
    """Each control is an options list on a mapped keyword field, with the data view reference
    Kibana resolves its dataViewId from (controlGroup_<id>:optionsListDataView)."""
    [dashboard] = of_type("dashboard")
    group = dashboard["attributes"]["controlGroupInput"]
    controls = embedded(group, "panelsJSON")
    assert isinstance(embedded(group, "ignoreParentSettingsJSON"), dict)
    refs = {r["name"]: r for r in dashboard["references"]
            if r["name"].startswith(CONTROL_PREFIX)}
    fields = set()
    for control_id, control in controls.items():
        explicit = control["explicitInput"]
        assert control["type"] == "optionsListControl" and explicit["id"] == control_id
        assert MAPPING.get(explicit["fieldName"]) == "keyword", explicit["fieldName"]
        ref = refs.pop(f"{CONTROL_PREFIX}{control_id}:optionsListDataView")
        assert (ref["type"], ref["id"]) == ("index-pattern", DATA_VIEW)
        fields.add(explicit["fieldName"])
    assert not refs, f"control references no control uses: {sorted(refs)}"
    assert fields == EXPECTED_CONTROL_FIELDS
    assert sorted(c["order"] for c in controls.values()) == list(range(len(controls)))


# --------------------------------------------------------------------------- time range

RELATIVE = re.compile(r"^now-(\d+)([mhdwy])$")
UNITS = {"m": timedelta(minutes=1), "h": timedelta(hours=1), "d": timedelta(days=1),
         "w": timedelta(weeks=1), "y": timedelta(days=365)}


def default_range(dashboard: dict[str, Any], now: datetime) -> tuple[datetime, datetime]:
    """The range the dashboard opens on; only the "now-<n><unit>" .. "now" form is read."""
    attributes = dashboard["attributes"]
    assert attributes["timeRestore"] is True and attributes["timeTo"] == "now"
    found = RELATIVE.match(attributes["timeFrom"])
    assert found, f"unreadable timeFrom {attributes['timeFrom']!r}"
    return now - int(found[1]) * UNITS[found[2]], now


def panel_time_fields(dashboard: dict[str, Any]) -> set[str]:
    """The time field of the data view behind each panel of the dashboard."""
    fields = set()
    for ref in dashboard["references"]:
        panel = BY_KEY[(ref["type"], ref["id"])]
        for view_ref in panel["references"]:
            view = BY_KEY.get(("index-pattern", view_ref["id"]))
            assert view is not None, f"{panel['id']} uses a data view not provisioned: {view_ref}"
            fields.add(view["attributes"]["timeFieldName"])
    return fields


def test_dropped_seeds_show_in_the_dashboard_default_range(seeds: list[Path]) -> None:
    """The five seeds (four without a publication date, one from 2015) dropped now are all
    inside the range the dashboard opens on, on the time field its panels filter by."""
    [dashboard] = of_type("dashboard")
    articles = [a for path in seeds for a in read_file(path).articles]
    docs = list(InProcessPipeline(StageContext(Settings())).documents(
        articles, lambda a, exc: pytest.fail(f"{a.id}: {exc}")))
    start, end = default_range(dashboard, utcnow())
    [field] = panel_time_fields(dashboard)
    assert len(docs) == len(seeds) == 5
    for doc in docs:
        assert doc[field] is not None, f"{doc['title']}: no {field}"
        assert start <= datetime.fromisoformat(doc[field]) <= end, (doc["title"], doc[field])


def test_time_histograms_count_on_their_data_view_time_field() -> None:
    """A date histogram on another date field would leave out documents the time filter keeps
    (a null field) or draw ones outside the range."""
    for lens in of_type("lens"):
        layers = lens["attributes"]["state"]["datasourceStates"]["formBased"]["layers"]
        for layer_id, layer in layers.items():
            ref = reference(lens, f"indexpattern-datasource-layer-{layer_id}")
            time_field = BY_KEY[("index-pattern", ref["id"])]["attributes"]["timeFieldName"]
            for column in layer["columns"].values():
                if column["operationType"] == "date_histogram":
                    assert column["sourceField"] == time_field, lens["id"]
