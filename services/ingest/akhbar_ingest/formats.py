"""Inbox file formats → articles. Pure: bytes in, articles and per-record errors out.

.txt and .html travel undecoded (normalize owns charsets and extraction), once checked to be
text (akhbar.charset, the test normalize decodes with): an undecodable, binary or empty file is
refused here, before it is filed. .json holds one article object and .jsonl one per line, with
the fields in `akhbar.contract.RECORD_FIELDS`, or other names mapped to them (`RecordOptions`).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from pydantic import ValidationError

from akhbar.charset import NotText, check_text
from akhbar.contract import (
    RECORD_FIELDS,
    Article,
    RawContent,
    Source,
    SourceError,
    article_id,
    utcnow,
)
from akhbar.settings import Settings
from akhbar.stages import traced

RAW_TYPES = {".txt": "text/plain", ".text": "text/plain", ".html": "text/html", ".htm": "text/html"}
SUFFIXES = (*RAW_TYPES, ".json", ".jsonl", ".ndjson")
JSON_TYPES = {list: "array", str: "string", int: "number", float: "number", bool: "boolean",
              type(None): "null"}


class FileRejected(SourceError):
    """The whole file is unusable; the message says why."""


@dataclass(frozen=True)
class RecordOptions:
    """How JSON article records are read."""

    # input name -> field in RECORD_FIELDS (checked by akhbar.settings.parse_field_map)
    field_map: Mapping[str, str] = field(default_factory=dict)
    # Unknown fields reject their record; when False they are ignored, named in one warning.
    strict: bool = False
    timezone: str = "UTC"  # of retrieved_at times without an offset

    @classmethod
    def from_settings(cls, s: Settings | None) -> RecordOptions:
        return cls(s.inbox_field_map, s.inbox_strict, s.default_timezone) if s else cls()


@dataclass
class ReadResult:
    articles: list[Article] = field(default_factory=list)
    errors: list[dict[str, Any]] = field(default_factory=list)  # {"line": n, "error": …, "text": …}
    warnings: list[str] = field(default_factory=list)  # about the file as a whole


def read_file(path: Path, *, source: Source | None = None, max_bytes: int | None = None,
              settings: Settings | None = None, name: str | None = None) -> ReadResult:
    """Parse one inbox file, stamping each article with the ingest trace step; JSON records
    are read as `settings` say (field map, strictness, time zone). `name` is the file's name
    as dropped, kept with raw content (default: the path's).

    Raises FileRejected when nothing in it can be used.
    """
    with traced("ingest") as step:
        result = parse_file(path, source=source, max_bytes=max_bytes,
                            records=RecordOptions.from_settings(settings), name=name)
    for article in result.articles:
        article.pipeline = list(step)
    return result


def parse_file(path: Path, data: bytes | None = None, *, source: Source | None = None,
               max_bytes: int | None = None, records: RecordOptions = RecordOptions(),
               name: str | None = None) -> ReadResult:
    suffix = path.suffix.lower()
    if suffix not in SUFFIXES:
        raise FileRejected(f"unsupported file type {suffix or '(none)'!r}; "
                           f"expected one of {', '.join(SUFFIXES)}")
    if data is None:
        size = path.stat().st_size
        if max_bytes is not None and size > max_bytes:
            raise FileRejected(f"file is {size} bytes, above the limit of {max_bytes} bytes "
                               "(AKHBAR_MAX_FILE_BYTES)")
        with path.open("rb") as f:
            # Bounded even if the file grows after the stat (a writer still holding it open).
            data = f.read() if max_bytes is None else f.read(max_bytes + 1)
        if max_bytes is not None and len(data) > max_bytes:
            raise FileRejected(f"file is more than {max_bytes} bytes, above the limit "
                               "(AKHBAR_MAX_FILE_BYTES)")
    if not data.strip():
        raise FileRejected("file is empty")
    source = source or Source(name="inbox", kind="inbox")
    if suffix in RAW_TYPES:
        return ReadResult([raw_article(data, RAW_TYPES[suffix], source, name or path.name)])
    if suffix == ".json":
        obj, ignored = mapped_fields(_json(data, "file"), records)
        return ReadResult([record_article(obj, source, records.timezone)],
                          warnings=_ignored_warning(ignored))
    return _read_lines(data, source, records)


def raw_article(data: bytes, media_type: str, source: Source, filename: str) -> Article:
    try:
        encoding = check_text(data, media_type)
    except NotText as exc:
        raise FileRejected(str(exc)) from None
    # Content-derived id; normalize refines it from the decoded text. The encoding found here
    # goes along as the charset hint, so that normalize need not detect it again.
    digest = hashlib.blake2b(data, digest_size=16).hexdigest()
    return Article(id=digest, source=source, ingested_at=utcnow(),
                   raw=RawContent.from_bytes(data, media_type, filename=filename,
                                             charset=encoding))


def mapped_fields(obj: Any, records: RecordOptions) -> tuple[dict[str, Any], set[str]]:
    """A JSON record's fields under their contract names (`records.field_map` applied), and the
    unknown names that were dropped; with `records.strict` an unknown name rejects it."""
    if not isinstance(obj, dict):
        kind = JSON_TYPES.get(type(obj), type(obj).__name__)
        raise FileRejected(f"an article must be a JSON object, got {kind}")
    out: dict[str, Any] = {}
    given_as: dict[str, str] = {}
    for name, value in obj.items():
        target = records.field_map.get(name, name)
        if target in out:
            raise FileRejected(f"field {target!r} is given twice (as {given_as[target]!r} and "
                               f"as {name!r})")
        out[target], given_as[target] = value, name
    unknown = set(out) - RECORD_FIELDS
    if unknown and records.strict:
        raise FileRejected(f"unknown field(s) {sorted(unknown)}; allowed: {sorted(RECORD_FIELDS)}")
    return {k: v for k, v in out.items() if k in RECORD_FIELDS}, unknown


def _ignored_warning(ignored: set[str]) -> list[str]:
    return [f"ignored unknown field(s) {sorted(ignored)}; known: {sorted(RECORD_FIELDS)} "
            "(other names can be mapped to them: AKHBAR_INBOX_FIELD_MAP, akhbar process --map)"
            ] if ignored else []


def record_article(obj: dict[str, Any], default_source: Source,
                   timezone: str = "UTC") -> Article:
    """One JSON article record, its fields named as in RECORD_FIELDS (`mapped_fields`) →
    Article."""
    try:  # "\ud800" alone is valid JSON but not text: nothing downstream could encode it
        json.dumps(obj, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError as exc:
        raise FileRejected(f"lone surrogate {exc.object[exc.start:exc.end]!r} in a string "
                           "(half of a UTF-16 pair, not a character)") from None
    title, body = obj.get("title") or "", obj.get("body") or ""
    if not isinstance(title, str) or not isinstance(body, str):
        raise FileRejected("title and body must be strings")
    if not (title.strip() or body.strip()):
        raise FileRejected("article has neither title nor body")
    src = obj.get("source")
    try:  # the source is validated as part of the Article, so errors name `source.…`
        source = (default_source if src is None else
                  {"name": src, "kind": default_source.kind} if isinstance(src, str) else src)
        published = obj.get("published_at")
        return Article(
            id=article_id(url=obj.get("url"), title=title, body=body),
            source=source, url=obj.get("url"), title=title, body=body,
            author=obj.get("author") or None, ingested_at=utcnow(),
            published_raw=None if published is None else str(published),
            retrieved_at=_time(obj.get("retrieved_at"), timezone),
        )
    except ValidationError as exc:
        first = exc.errors()[0]
        raise FileRejected(f"{'.'.join(map(str, first['loc']))}: {first['msg']}") from None


def _time(value: Any, timezone: str) -> datetime | None:
    """An ISO 8601 time (a crawler's or feed's, not free text: normalize parses those); one
    without an offset is read in `timezone`."""
    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(value.strip())
    except (AttributeError, ValueError):
        raise FileRejected(f"retrieved_at: {value!r} is not an ISO 8601 time") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=ZoneInfo(timezone))


def _json(data: bytes, where: str) -> Any:
    try:
        return json.loads(data)  # json detects UTF-8/16/32 itself (RFC 8259)
    except RecursionError:
        raise FileRejected(f"{where} is nested too deeply (arrays or objects inside one "
                           "another beyond Python's recursion limit)") from None
    except ValueError as exc:  # also undecodable bytes and integers of over 4300 digits
        raise FileRejected(f"{where} is not valid JSON: {exc}") from None


def _read_lines(data: bytes, source: Source, records: RecordOptions) -> ReadResult:
    encoding = json.detect_encoding(data)
    if encoding not in ("utf-8", "utf-8-sig"):  # UTF-16/32 cannot be split into lines as bytes
        try:
            data = data.decode(encoding).encode("utf-8")
        except UnicodeDecodeError as exc:
            raise FileRejected(f"file is not valid {encoding}: {exc}") from None
    result, ignored = ReadResult(), set()
    for n, line in enumerate(data.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            obj, unknown = mapped_fields(_json(line, f"line {n}"), records)
            result.articles.append(record_article(obj, source, records.timezone))
            ignored |= unknown
        except FileRejected as exc:
            result.errors.append({"line": n, "error": str(exc),
                                  "text": line[:10_000].decode("utf-8", "replace")})
    result.warnings = _ignored_warning(ignored)
    if not result.articles:
        first = result.errors[0]["error"] if result.errors else "no records"
        raise FileRejected(f"no valid article line ({len(result.errors)} bad); first: {first}")
    return result
