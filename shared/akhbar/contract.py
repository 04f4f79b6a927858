"""The one contract between stages: the Article document and the job envelope around it.

Everything crosses queues as JSON produced by `Envelope.to_message()` and is validated on
receipt by `Envelope.from_message()`; an unknown key or a wrong type is a contract error, never
silently carried along.

Errors: every error Akhbar raises is an `AkhbarError`, and its class says what becomes of it
(DESIGN.md, "Errors and what becomes of them"):

- `TransientError` (a service down, overloaded or slow; e.g. FetchFailed): a stage job is
  re-sent after a backoff, up to AKHBAR_RETRY_MAX times, then dead-lettered; a feed poll is
  left to the next one; the `akhbar` command exits 3. Connection errors and timeouts of Redis,
  kombu and the OS count as transient too (akhbar.worker.RETRYABLE).
- `ContractError` (a job or document the pipeline cannot carry; e.g. NoMainTextError): the job
  is dead-lettered at once with its reason. So is any other error a stage raises: a bug or bad
  data, which retrying cannot help.
- `SourceError` (an input that cannot become an article; e.g. FileRejected, NotText, Refused,
  HTTPStatusError, UnsafeXML): at ingest, an inbox file goes to failed/ with the reason in
  <name>.error.json, a feed item (or a whole poll) is skipped and logged;
  `akhbar process` counts the file as failed (exit 1). Raised within a stage (normalize finding
  no text in the bytes), it dead-letters the job.
- `ConfigError` (a setting, file or credential that is wrong; e.g. SetupError): nothing works
  until it is fixed; the index worker keeps its jobs (back on the queue, paused); the command
  exits 4.
- `CliError`: a command's failure already put into words, with its exit code.
"""

from __future__ import annotations

import base64
import hashlib
import uuid
from datetime import UTC, datetime
from typing import Any, Final, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError

from akhbar.orthography import search_form

SCHEMA_VERSION: Final = 1
PARAGRAPH_SEP = "\n\n"  # between the paragraphs of Article.body (normalize writes, enrich reads)
AUTHOR_SEP = "، "  # between the persons of one byline in Article.author (normalize, enrich)


class AkhbarError(Exception):
    """The root of Akhbar's errors: each subclass below is one outcome (module docstring)."""


class TransientError(AkhbarError, RuntimeError):
    """A failure that may pass (a service down, overloaded or slow): the job is retried."""


class ContractError(AkhbarError, ValueError):
    """A message or document that does not satisfy the contract (never worth retrying): the job
    is dead-lettered."""


class SourceError(AkhbarError, ValueError):
    """An input (file, feed item, page) that cannot become an article; the message says why.
    The input is refused: an inbox file goes to failed/, a feed item is skipped."""


class ConfigError(AkhbarError):
    """A setting, file or credential is wrong: nothing can work until it is fixed."""


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)


class Source(_Model):
    name: str = Field(min_length=1, max_length=200)
    kind: str = Field(min_length=1, max_length=50)  # inbox, rss, page, … (a source plugin's name)


class RawContent(_Model):
    """Bytes as they arrived, before decoding: normalize owns charset detection and extraction."""

    media_type: Literal["text/plain", "text/html"]
    data_b64: str
    # A hint only: declared (HTTP header) or already detected (inbox files, at ingest).
    charset: str | None = None
    filename: str | None = None

    @classmethod
    def from_bytes(cls, data: bytes, media_type: str, **kw: Any) -> RawContent:
        return cls(media_type=media_type, data_b64=base64.b64encode(data).decode("ascii"), **kw)

    def data(self) -> bytes:
        return base64.b64decode(self.data_b64)


class Step(_Model):
    """One stage's pass over an article, kept in the indexed document for tracing."""

    stage: str
    worker: str
    at: AwareDatetime
    duration_ms: float = Field(ge=0)


class Normalized(_Model):
    """Search-normalised forms (see akhbar.orthography) of the display text."""

    title: str = ""
    body: str = ""


EntityKind = Literal["persons", "organizations", "locations", "misc"]


class Mention(_Model):
    """A named entity of an article: its id (the same in every article, see
    akhbar_enrich.canonical), its canonical name (the fullest form, without titles), the forms
    the article writes it in and how many times it does."""

    # Set by enrich for every entity; None only for a name built outside recognition (the
    # dateline place places.geocode weighs).
    id: str | None = Field(default=None, pattern=r"^[0-9a-f]{16}$")
    name: str = Field(min_length=1, max_length=200)
    aliases: list[str] = Field(default_factory=list, max_length=20)
    count: int = Field(ge=1)


class Entities(_Model):
    """Named entities by kind, one entry per entity, most mentioned first."""

    persons: list[Mention] = Field(default_factory=list)
    organizations: list[Mention] = Field(default_factory=list)
    locations: list[Mention] = Field(default_factory=list)
    misc: list[Mention] = Field(default_factory=list)


class GeoPoint(_Model):
    lat: float = Field(ge=-90, le=90)
    lon: float = Field(ge=-180, le=180)


class Place(_Model):
    """A location mention resolved against the gazetteer."""

    name: str = Field(min_length=1, max_length=200)  # its most mentioned form, normalised
    label: str  # the gazetteer's one Arabic name of the place: what it is counted by
    # Every form the article names it by (السعودية, المملكة العربية السعودية…), most mentioned
    # first, the dateline's as written
    aliases: list[str] = Field(default_factory=list)
    geonames_id: str | None = None  # None for countries and regions without one
    location: GeoPoint
    country_code: str | None = Field(default=None, pattern=r"^[A-Z]{2}$")
    kind: Literal["city", "region", "country"]
    count: int = Field(ge=1)
    dateline: bool = False  # the place the report is filed from (Article.dateline.place)


class Dateline(_Model):
    """The opening line that says where, and from which agency or outlet, a report comes
    («بريدة 25 شوال 1436 هـ الموافق 10 اغسطس 2015 م واس», «دمشق-سانا», «(أ ف ب)»): kept as
    written and read into its parts. Its date, when it states one, is `published_at`."""

    raw: str = Field(min_length=1, max_length=300)
    place: str | None = Field(default=None, max_length=100)  # as written
    agency: str | None = Field(default=None, max_length=100)  # canonical name, also `credit`


# How a publication time was found, most trustworthy first: the item's metadata (feed, page
# meta, record field), the dateline or byline, the URL (/2015/08/10/), a relative date («أمس»)
# resolved against when the item was retrieved, a date in the opening lines.
PublishedSource = Literal["metadata", "dateline", "url", "relative", "body"]
# Where a document's `@timestamp` comes from: how its publication time was found, else when it
# was retrieved, else when it was ingested. A keyword in the index.
DateSource = Literal[PublishedSource, "retrieved", "ingested"]
TIME_FIELDS = ("published_at", "retrieved_at", "ingested_at")
DERIVED_FIELDS = ("@timestamp", "date_source")  # added by Article.document(), not stored


class Article(_Model):
    schema_version: Literal[1] = SCHEMA_VERSION
    id: str = Field(pattern=r"^[0-9a-f]{32}$")
    source: Source
    url: str | None = Field(default=None, max_length=2048)
    title: str = ""
    body: str = ""
    captions: list[str] = Field(default_factory=list)
    credit: str | None = None
    author: str | None = None
    section: str | None = Field(default=None, max_length=100)  # «عام / …» in a title: «عام»
    dateline: Dateline | None = None
    published_at: AwareDatetime | None = None
    published_raw: str | None = None
    # How published_at was found; None with a published_at means metadata.
    published_source: PublishedSource | None = None
    retrieved_at: AwareDatetime | None = None  # when the item was fetched or crawled
    language: str | None = None
    paragraph_languages: list[str] = Field(default_factory=list)
    normalized: Normalized = Field(default_factory=Normalized)
    entities: Entities = Field(default_factory=Entities)
    places: list[Place] = Field(default_factory=list)
    story_id: str | None = None
    duplicate_of: str | None = None
    ingested_at: AwareDatetime
    pipeline: list[Step] = Field(default_factory=list)
    # Transport-only: the undecoded input; normalize consumes it and it is never indexed.
    raw: RawContent | None = None

    def document(self) -> dict[str, Any]:
        """The JSON document that is indexed (and written by `akhbar process`).

        It adds `@timestamp`, never null (the publication time when known, else when the item
        was retrieved, else when it was ingested), and `date_source` naming which. Computed
        here, from the final article, so that whatever stage sets a time, on whatever route,
        the two can never disagree with the times in the document."""
        doc = self.model_dump(mode="json", exclude={"raw"})
        doc["@timestamp"] = doc[self._time_field()]
        doc["date_source"] = self.date_source()
        return doc

    def timestamp(self) -> datetime:
        """The document's `@timestamp`: when the article was published, else retrieved, else
        ingested (the time it is placed at, e.g. for matching copies of one story)."""
        when: datetime = getattr(self, self._time_field())
        return when

    def date_source(self) -> DateSource:
        """Where `@timestamp` comes from (DateSource)."""
        field = self._time_field()
        if field == "published_at":
            return self.published_source or "metadata"
        return "retrieved" if field == "retrieved_at" else "ingested"

    def _time_field(self) -> str:
        return next(f for f in TIME_FIELDS if getattr(self, f) is not None)

    @classmethod
    def from_document(cls, doc: dict[str, Any]) -> Article:
        """The article back from an indexed (or `akhbar process`) document."""
        try:
            return cls.model_validate({k: v for k, v in doc.items() if k not in DERIVED_FIELDS})
        except ValidationError as exc:
            raise ContractError(_short_errors(exc)) from None


# The fields of an article record in an inbox .json/.jsonl file (other names are mapped to
# them by AKHBAR_INBOX_FIELD_MAP); normalize parses published_at, retrieved_at is ISO 8601.
RECORD_FIELDS = frozenset({"title", "body", "url", "published_at", "retrieved_at", "source",
                           "author"})


def article_id(*, url: str | None, title: str, body: str) -> str:
    """Deterministic id: the URL when there is one, else the search form of the content.

    Redelivered jobs and re-dropped files therefore overwrite one document instead of adding one.
    """
    key = f"url:{url}" if url else "text:" + search_form(title) + "\n" + search_form(body)
    return hashlib.blake2b(key.encode("utf-8"), digest_size=16).hexdigest()


class Failure(_Model):
    stage: str
    error_class: str
    message: str
    at: AwareDatetime


class Envelope(_Model):
    """A job: the article plus what the pipeline needs to move and account for it."""

    schema_version: Literal[1] = SCHEMA_VERSION
    job_id: str = Field(default_factory=lambda: uuid.uuid4().hex)
    route: list[str] = Field(min_length=1)
    article: Article
    attempts: dict[str, int] = Field(default_factory=dict)
    errors: list[Failure] = Field(default_factory=list)

    def next_stage(self, current: str) -> str | None:
        """The stage after `current` on this job's route (None at the end)."""
        try:
            i = self.route.index(current)
        except ValueError as exc:
            raise ContractError(f"stage {current!r} is not on route {self.route}") from exc
        return self.route[i + 1] if i + 1 < len(self.route) else None

    def to_message(self) -> dict[str, Any]:
        return self.model_dump(mode="json")

    @classmethod
    def from_message(cls, message: Any) -> Envelope:
        if not isinstance(message, dict):
            raise ContractError(f"job must be a JSON object, got {type(message).__name__}")
        version = message.get("schema_version")
        if version != SCHEMA_VERSION:
            raise ContractError(
                f"unsupported schema_version {version!r} (expected {SCHEMA_VERSION})")
        try:
            return cls.model_validate(message)
        except ValidationError as exc:
            raise ContractError(_short_errors(exc)) from None


class Indexed(_Model):
    """A job of a stage after index (embed): a document index wrote, and the concrete index it
    was written to (an update through the alias could miss it after an ILM rollover)."""

    id: str = Field(pattern=r"^[0-9a-f]{32}$")
    index: str = Field(min_length=1)
    catch_up: bool = False  # found missing by the catch-up, not sent by index

    @classmethod
    def from_message(cls, message: Any) -> Indexed:
        try:
            return cls.model_validate(message)
        except ValidationError as exc:
            raise ContractError(_short_errors(exc)) from None


def _short_errors(exc: ValidationError, limit: int = 5) -> str:
    parts = [
        f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()[:limit]
    ]
    more = exc.error_count() - limit
    return "invalid job: " + "; ".join(parts) + (f" (+{more} more)" if more > 0 else "")


def utcnow() -> datetime:
    return datetime.now(UTC)
