"""The embed fields in indices created before them: the index template gives them to every new
index (infra/elasticsearch/index-template.json); an index already behind the alias gets them
by a mapping update (adding fields is allowed on a live index; the mapping is strict, so an
update of an unmapped field would be refused)."""

from __future__ import annotations

import json
from typing import Any

from elasticsearch import Elasticsearch

from akhbar.embedding import FAILED_FIELD, FIELD, SIMILAR_FIELD
from akhbar.es import ALIAS
from akhbar.settings import Settings

FIELDS = (FIELD, SIMILAR_FIELD, FAILED_FIELD)


def embed_properties(s: Settings) -> dict[str, Any]:
    """The embed fields' mappings, as the index template defines them."""
    file = s.infra_dir / "elasticsearch" / "index-template.json"
    template = json.loads(file.read_text(encoding="utf-8"))
    props: dict[str, Any] = template["template"]["mappings"]["properties"]
    return {name: props[name] for name in FIELDS}


def ensure_mapping(es: Elasticsearch, s: Settings) -> None:
    """Add the embed fields to every index behind the alias (idempotent)."""
    es.indices.put_mapping(index=ALIAS, properties=embed_properties(s))
