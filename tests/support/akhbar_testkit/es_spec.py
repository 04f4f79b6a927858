"""Check request bodies against the official Elasticsearch 9.5 API specification (no cluster).

A helper, not a test module: converts ../shared/data/es-spec (OpenAPI 3.0) to JSON Schema 2020-12,
tightened (unknown keys are errors) and relaxed (overlapping unions, open `_meta`, short forms)
as that folder's README measured.
"""

from __future__ import annotations

import json
from functools import lru_cache
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError, best_match

from akhbar_testkit.data import SHARED

SPEC_PATH = SHARED / "data/es-spec/elasticsearch-9.5-openapi.json"

_REF = "#/components/schemas/"
_DEFS = "#/$defs/"
# Documentation-only keys (and OpenAPI's `discriminator`, handled before stripping).
_ANNOTATIONS = {"description", "externalDocs", "examples", "discriminator", "deprecated",
                "default", "summary", "title"}
_OBJECT_KEYS = {"type", "properties", "required", "additionalProperties", "patternProperties",
                "minProperties", "maxProperties"}
# Query types whose per-field value has a scalar short form: {"term": {"language": "ar"}}.
_SHORT_FORM_QUERIES = ("term", "match", "match_phrase", "match_phrase_prefix",
                       "match_bool_prefix", "prefix", "wildcard", "regexp", "fuzzy", "span_term")


def spec_available() -> bool:
    return SPEC_PATH.is_file()


def _strip(node: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in node.items() if k not in _ANNOTATIONS and not k.startswith("x-")}


def _as_list(value: Any) -> list[Any]:
    return [value] if isinstance(value, str) else list(value or [])


def _patch(spec: dict[str, Any]) -> None:
    """Allowed short forms and free-key types that the spec does not model."""
    s = spec["components"]["schemas"]
    q = s["_types.query_dsl.QueryContainer"]["properties"]
    for name in _SHORT_FORM_QUERIES:
        full = q[name]["additionalProperties"]
        q[name]["additionalProperties"] = {"oneOf": [full, {"$ref": _REF + "_types.FieldValue"}]}
    # "_source": ["title", "url"] or "_source": "title" is accepted by every search endpoint.
    s["_global.search._types.SourceConfig"]["oneOf"].append({"$ref": _REF + "_types.Fields"})
    # Several fields in one highlight.fields object is the common form; the spec allows one.
    s["_global.search._types.Highlight"]["allOf"][1]["properties"]["fields"]["oneOf"][0].pop(
        "maxProperties")
    # Field sorts ({"published_at": "desc"} or {..: {"order": ..}}) are absent from the spec:
    # SortOptions lists only _score, _doc, _geo_distance and _script.
    s["_types.SortOptions"]["additionalProperties"] = {
        "oneOf": [{"$ref": _REF + "_types.SortOrder"}, {"type": "object"}]}
    # geo_distance takes the field name as a free key: {"distance": "5km", "location": [..]}.
    s["_types.query_dsl.GeoDistanceQuery"]["allOf"][1]["additionalProperties"] = {}
    # Flat dotted settings ("index.lifecycle.name") are free; undotted keys stay checked.
    s["indices._types.IndexSettings"]["patternProperties"] = {r"\.": {}}
    # "dynamic": false (a JSON boolean) is as valid as the string forms listed.
    s["_types.mapping.DynamicMapping"] = {"oneOf": [s["_types.mapping.DynamicMapping"],
                                                    {"type": "boolean"}]}


class _Converter:
    """OpenAPI 3.0 schema -> JSON Schema 2020-12; every object listing properties is closed.

    Inheritance (`allOf: [{$ref: Parent}, {own properties}]`) is flattened first: a closed parent
    would reject its children's keys, and closing the allOf holder instead makes python-jsonschema
    re-validate each parent subtree per nesting level (30 s for our template). Every allOf in the
    9.5 spec merges cleanly. Discriminated unions (field types, analysis components) dispatch on
    `type`, so errors name the branch the body meant rather than 50 alternatives.
    """

    def __init__(self, schemas: dict[str, Any]) -> None:
        self.schemas = schemas

    def flat(self, node: dict[str, Any], seen: tuple[str, ...] = ()) -> dict[str, Any] | None:
        """The allOf chain merged into one plain object schema, or None if it is not one."""
        node = _strip(node)
        if set(node) == {"$ref"}:
            name = node["$ref"].removeprefix(_REF)
            return None if name in seen else self.flat(self.schemas[name], (*seen, name))
        if "allOf" not in node:
            return node if set(node) <= _OBJECT_KEYS else None
        parts = [self.flat(m, seen) for m in node["allOf"]]
        parts.append({k: v for k, v in node.items() if k != "allOf"})
        merged: dict[str, Any] = {}
        for part in parts:
            if part is None:
                return None
            for key, val in part.items():
                if key == "properties":
                    merged.setdefault(key, {}).update(val)
                elif key == "required":
                    merged[key] = sorted({*merged.get(key, ()), *val})
                elif merged.setdefault(key, val) != val:
                    return None
        return merged

    def dispatch(self, node: dict[str, Any]) -> dict[str, Any]:
        prop = node["discriminator"]["propertyName"]
        branches = {k: _DEFS + v.removeprefix(_REF)
                    for k, v in node["discriminator"]["mapping"].items()}
        return {
            "type": "object",
            "if": {"required": [prop]},
            "then": {"properties": {prop: {"enum": list(branches)}}, "allOf": [
                {"if": {"properties": {prop: {"const": k}}}, "then": {"$ref": ref}}
                for k, ref in branches.items()]},
            # Without the key (e.g. a mapping property holding only "properties"), any branch.
            "else": {"anyOf": [self(m) for m in node["oneOf"]]},
        }

    def __call__(self, node: Any) -> Any:
        if not isinstance(node, dict):
            return node
        if "discriminator" in node and "oneOf" in node:
            return self.dispatch(node)
        node = _strip(node)
        if node == {"type": "object"}:
            return {}  # an open object, e.g. the values of `_meta`: anything goes
        if "allOf" in node:
            if len(node["allOf"]) > 1:
                node = self.flat(node) or node
            elif set(node) == {"allOf"}:  # a $ref wrapped only to carry a description
                return self(node["allOf"][0])
        out: dict[str, Any] = {}
        for key, val in node.items():
            if key == "$ref":
                out[key] = _DEFS + val.removeprefix(_REF)
            elif key in ("properties", "patternProperties"):
                out[key] = {p: self(v) for p, v in val.items()}
                if "aggregations" in val:  # `aggs` is the usual alias wherever it is accepted
                    out[key].setdefault("aggs", out[key]["aggregations"])
            elif key in ("items", "additionalProperties") and isinstance(val, dict):
                out[key] = self(val)
            elif key in ("allOf", "oneOf", "anyOf"):
                # oneOf -> anyOf: TypeScript unions overlap (FieldValue lists `number` twice).
                out.setdefault("allOf" if key == "allOf" else "anyOf", []).extend(
                    self(m) for m in val)
            else:
                out[key] = val
        if "properties" in out:
            out["unevaluatedProperties"] = False
        return {"anyOf": [{"type": "null"}, out]} if out.pop("nullable", False) else out


@lru_cache(maxsize=1)
def _spec() -> tuple[dict[str, Any], dict[str, Any], _Converter]:
    """(raw spec, converted $defs, converter); loaded and converted once per process."""
    spec = json.loads(SPEC_PATH.read_text(encoding="utf-8"))
    _patch(spec)
    schemas = spec["components"]["schemas"]
    conv = _Converter(schemas)
    return spec, {name: conv(s) for name, s in schemas.items()}, conv


@lru_cache(maxsize=64)
def _validator(method: str, path_template: str) -> Draft202012Validator | str:
    """A validator for one operation's JSON body, or a message saying why there is none."""
    spec, defs, conv = _spec()
    body = spec["paths"].get(path_template, {}).get(method.lower(), {}).get("requestBody")
    if body is None:
        return f"the specification has no request body for {method.upper()} {path_template}"
    if "$ref" in body:
        body = spec["components"]["requestBodies"][body["$ref"].rsplit("/", 1)[-1]]
    schema = body["content"]["application/json"]["schema"]
    return _make(defs, conv(schema))


def _make(defs: dict[str, Any], schema: dict[str, Any]) -> Draft202012Validator:
    # $defs are shared by reference: building a validator copies nothing large.
    return Draft202012Validator({"$defs": defs, **schema})


def _describe(error: ValidationError) -> str:
    # For an anyOf failure, report the likeliest branch's error instead of "not valid under any
    # of the given schemas"; a branch of another JSON type (a union's string form) is unlikely.
    while error.context:
        error = best_match([e for e in error.context if e.validator != "type"] or error.context)
    where = "/".join(str(p) for p in error.absolute_path) or "(root)"
    msg = error.message if len(error.message) <= 240 else error.message[:237] + "..."
    return f"{where}: {msg}"


def _errors(validator: Draft202012Validator, instance: Any) -> list[str]:
    errs = sorted(validator.iter_errors(instance), key=lambda e: list(map(str, e.path)))
    return [_describe(e) for e in errs]


def request_body_errors(method: str, path_template: str, body: dict[str, Any]) -> list[str]:
    """Messages for everything in `body` the spec does not allow; [] means valid."""
    validator = _validator(method, path_template)
    return [validator] if isinstance(validator, str) else _errors(validator, body)


@lru_cache(maxsize=2)
def _bulk_validator(kind: str) -> Draft202012Validator:
    return _make(_spec()[1], {"$ref": _DEFS + "_global.bulk." + kind})


def bulk_action_errors(action_line: dict[str, Any]) -> list[str]:
    """Check one `_bulk` line: an operation ({"index": {...}}) or an update payload.

    The spec types the `_bulk` body as an array with a free-object branch, so lines are checked
    one by one; document source lines are free and not checked here.
    """
    update_keys = _spec()[0]["components"]["schemas"]["_global.bulk.UpdateAction"]["properties"]
    kind = "UpdateAction" if action_line.keys() & update_keys.keys() else "OperationContainer"
    return _errors(_bulk_validator(kind), action_line)


# Components built into Elasticsearch 9 (modules analysis-common and server); plugin
# components (icu_*, kuromoji_*, nori_*, phonetic, smartcn, stempel...) are deliberately absent.
BUILTIN_TOKENIZERS = frozenset("""
    standard letter lowercase whitespace uax_url_email classic thai ngram edge_ngram keyword
    pattern simple_pattern simple_pattern_split char_group path_hierarchy""".split())
BUILTIN_CHAR_FILTERS = frozenset({"html_strip", "mapping", "pattern_replace"})
BUILTIN_TOKEN_FILTERS = frozenset("""
    apostrophe arabic_normalization arabic_stem asciifolding bengali_normalization brazilian_stem
    cjk_bigram cjk_width classic common_grams condition czech_stem decimal_digit delimited_payload
    dictionary_decompounder dutch_stem edge_ngram elision fingerprint flatten_graph french_stem
    german_normalization german_stem hindi_normalization hunspell hyphenation_decompounder
    indic_normalization keep keep_types keyword_marker keyword_repeat kstem length limit lowercase
    min_hash multiplexer ngram pattern_capture pattern_replace persian_normalization persian_stem
    porter_stem predicate_token_filter remove_duplicates reverse russian_stem scandinavian_folding
    scandinavian_normalization serbian_normalization shingle snowball sorani_normalization stemmer
    stemmer_override stop synonym synonym_graph trim truncate unique uppercase word_delimiter
    word_delimiter_graph""".split())
BUILTIN_ANALYZERS = frozenset("""
    standard simple whitespace stop keyword pattern fingerprint arabic armenian basque bengali
    brazilian bulgarian catalan cjk czech danish dutch english estonian finnish french galician
    german greek hindi hungarian indonesian irish italian latvian lithuanian norwegian persian
    portuguese romanian russian serbian sorani spanish swedish thai turkish""".split())
_BUILTIN = {"tokenizer": BUILTIN_TOKENIZERS, "char_filter": BUILTIN_CHAR_FILTERS,
            "filter": BUILTIN_TOKEN_FILTERS}


def analysis_name_errors(template_body: dict[str, Any]) -> list[str]:
    """Cross-check names the spec types as plain strings (template or create-index body).

    Components an analyzer/normalizer names must be built in or defined in the same analysis
    section; defined components must have a built-in type; analyzers/normalizers a mapping
    names must exist.
    """
    index = template_body.get("template", template_body)
    settings = index.get("settings", {})
    analysis = settings.get("analysis") or settings.get("index", {}).get("analysis", {})
    errors: list[str] = []
    known = {kind: _BUILTIN[kind] | set(analysis.get(kind, {})) for kind in _BUILTIN}
    for kind, builtin in _BUILTIN.items():
        for name, spec in analysis.get(kind, {}).items():
            if spec.get("type") not in builtin:
                errors.append(f"{kind} {name!r}: type {spec.get('type')!r} is not a built-in")
            for sub in ("filter", "filters"):  # condition / multiplexer chains
                for chain in _as_list(spec.get(sub)):
                    errors += [f"{kind} {name!r}: unknown filter {f.strip()!r}"
                               for f in chain.split(",") if f.strip() not in known["filter"]]
    for section, types in (("analyzer", BUILTIN_ANALYZERS), ("normalizer", {"lowercase"})):
        for name, spec in analysis.get(section, {}).items():
            if spec.get("type", "custom") not in types | {"custom"}:
                errors.append(f"{section} {name!r}: type {spec['type']!r} is not a built-in")
            for kind in _BUILTIN:
                errors += [f"{section} {name!r}: unknown {kind} {ref!r}"
                           for ref in _as_list(spec.get(kind)) if ref not in known[kind]]
    analyzers = BUILTIN_ANALYZERS | set(analysis.get("analyzer", {}))
    normalizers = {"lowercase"} | set(analysis.get("normalizer", {}))
    stack = [("", index.get("mappings", {}).get("properties", {}))]
    while stack:
        prefix, props = stack.pop()
        for field, mapping in props.items():
            path = prefix + field
            for key in ("analyzer", "search_analyzer", "search_quote_analyzer", "normalizer"):
                allowed = normalizers if key == "normalizer" else analyzers
                if key in mapping and mapping[key] not in allowed:
                    errors.append(f"mapping {path!r}: unknown {key} {mapping[key]!r}")
            stack += [(path + ".", mapping.get(k, {})) for k in ("properties", "fields")]
    return errors
