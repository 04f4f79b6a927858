"""Configuration, read from AKHBAR_* environment variables only (see .env.example)."""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from typing import Annotated
from urllib.parse import urlsplit, urlunsplit

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from akhbar.contract import RECORD_FIELDS

_REPO_ROOT = Path(__file__).resolve().parents[2]
_REPO_INFRA = _REPO_ROOT / "infra"
MAX_JOBS_PER_MESSAGE = 1000  # hard cap, also enforced on receipt (akhbar.queues.unpack)


def redact_url(url: str) -> str:
    """The URL with its password, if any, replaced by *** (for logs, messages, dead letters)."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    port = f":{parts.port}" if parts.port else ""
    netloc = f"{parts.username or ''}:***@{parts.hostname or ''}{port}"
    return urlunsplit(parts._replace(netloc=netloc))


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="AKHBAR_", extra="ignore")

    # Stage order after ingest: inserting a stage is one entry here plus its worker. Stages
    # after `index` (`embed`) take the documents index wrote and never hold it back.
    route: Annotated[list[str], NoDecode] = ["normalize", "enrich", "index", "embed"]

    log_level: str = "INFO"  # of the watcher and setup processes (workers: celery --loglevel)
    redis_url: str = "redis://localhost:6379/0"
    es_url: str = "http://localhost:9200"
    es_user: str | None = None
    es_password: str | None = None
    kibana_url: str = "http://localhost:5601"
    infra_dir: Path = _REPO_INFRA

    inbox: Path = Path("inbox")
    inbox_stable_seconds: float = Field(1.0, ge=0)  # size unchanged this long = fully written
    max_file_bytes: int = Field(20 * 1024 * 1024, gt=0)
    max_article_chars: int = Field(200_000, gt=0)
    max_title_chars: int = Field(1000, gt=0)  # a longer one is text without line breaks
    default_timezone: str = "UTC"  # for dates printed without an offset
    # JSON/JSONL records with other field names: "content=body,date_extracted=retrieved_at"
    # (input name=article field). Unknown fields are ignored with one warning per file, or
    # reject their record when strict.
    inbox_field_map: Annotated[dict[str, str], NoDecode] = {}
    inbox_strict: bool = False

    # Reliability: bounded retries with exponential backoff and jitter, a delivery cap for
    # messages that kill their worker, and a visibility timeout above the longest task + delay.
    retry_max: int = Field(6, ge=0)
    retry_backoff_s: float = Field(2.0, gt=0)
    retry_backoff_max_s: float = Field(300.0, gt=0)
    max_deliveries: int = Field(5, ge=1)
    task_time_limit_s: int = Field(300, gt=0)
    visibility_timeout_s: int = Field(3600, gt=0)

    # Backpressure: the producers (inbox watcher and sweep, feed polls) take no new input while
    # a stage queue holds this many messages or more, and a stage worker fetches nothing while
    # a queue after its own does (akhbar.queues.full_queues).
    queue_max_messages: int = Field(200, gt=0)

    # Enrich stage: how long an article's similarity state (features, bands, story) stays in
    # Redis, about 6–7 KB per article (bench/soak.py): at least the 72 h in which copies are
    # matched; longer also gives old articles arriving late, or redelivered, their story back.
    story_state_ttl_s: int = Field(7 * 24 * 3600, gt=0)
    # The country the news comes from (ISO 3166-1 alpha-2): what «المملكة» means when the
    # article's places do not tell which kingdom
    home_country: str | None = Field(None, pattern=r"^[A-Z]{2}$")

    task_events: bool = False  # Celery task events, for Flower's task list
    # articles carried by one message between stages (receivers refuse more than the cap)
    jobs_per_message: int = Field(25, ge=1, le=MAX_JOBS_PER_MESSAGE)

    # Index stage: one _bulk per batch, flushed at this size or after this interval.
    bulk_size: int = Field(500, gt=0)
    bulk_flush_s: float = Field(1.0, gt=0)
    bulk_max_bytes: int = Field(10 * 1024 * 1024, gt=0)
    es_request_timeout_s: float = Field(30.0, gt=0)
    # Waiting for an unavailable Elasticsearch (connection refused, timeouts, 429, 5xx): the
    # index stage pauses and probes it, and setup tries again, after es_backoff_s, doubling up
    # to es_backoff_max_s; setup gives up after setup_timeout_s in all.
    es_backoff_s: float = Field(1.0, gt=0)
    es_backoff_max_s: float = Field(30.0, gt=0)
    setup_timeout_s: float = Field(600.0, gt=0)

    # Embed stage (after index on the route): the index worker sends what it wrote to the embed
    # queue while it holds fewer than embed_backlog_max messages (jobs_per_message documents
    # each) and counts what it did not send; an idle embed worker looks every embed_catchup_s
    # for at most embed_catchup_batch documents without a vector (the durable backlog).
    embed_backlog_max: int = Field(40, gt=0)
    embed_catchup_s: float = Field(10.0, gt=0)
    embed_catchup_batch: int = Field(100, gt=0, le=MAX_JOBS_PER_MESSAGE)
    embed_batch_size: int = Field(2, gt=0)  # texts per model call (the keyword check between)
    embed_flush_s: float = Field(1.0, gt=0)
    embed_similar: int = Field(5, ge=0)  # ids of the nearest other stories kept per document
    embed_nice: int = Field(10, ge=0, le=19)  # added niceness: keyword stages come first
    # The embed worker fetches only while no keyword queue holds more than this many messages:
    # on shared cores the model's CPU would otherwise slow the keyword stages (niceness alone
    # does not stop that); it catches up when traffic falls.
    embed_yield_messages: int = Field(0, ge=0)
    embed_threads: int = Field(1, ge=1)  # model threads per worker process

    # Feeds and article pages (services/ingest/akhbar_ingest/sources).
    feeds_file: Path = _REPO_ROOT / "feeds.yaml"
    fetch_connect_timeout_s: float = Field(10.0, gt=0)
    fetch_read_timeout_s: float = Field(20.0, gt=0)
    fetch_max_bytes: int = Field(5 * 1024 * 1024, gt=0)  # per response, streamed and cut off
    fetch_max_redirects: int = Field(5, ge=0)
    fetch_retries: int = Field(3, ge=0)  # on connect errors, timeouts, 5xx and 429
    fetch_backoff_s: float = Field(1.0, ge=0)
    fetch_retry_after_max_s: float = Field(60.0, ge=0)  # a longer Retry-After is cut to this
    fetch_host_concurrency: int = Field(2, ge=1)  # requests in flight per host (per process)
    fetch_host_interval_s: float = Field(1.0, ge=0)  # minimum time between requests to a host
    fetch_max_items: int = Field(50, ge=1)  # new items taken from one feed poll
    fetch_seen_ttl_s: int = Field(90 * 24 * 3600, gt=0)  # how long a fetched URL stays "seen"
    fetch_robots_ttl_s: float = Field(3600.0, gt=0)  # robots.txt cache per host
    fetch_user_agent: str = "Akhbar/0.1"

    @property
    def es_auth(self) -> tuple[str, str] | None:
        """Basic-auth credentials for Elasticsearch and Kibana, when both are set."""
        return (self.es_user, self.es_password) if self.es_user and self.es_password else None

    @property
    def keyword_route(self) -> list[str]:
        """The route up to and including `index`: what makes an article keyword-searchable,
        under backpressure; the stages after it are fed from what index wrote."""
        if "index" not in self.route:
            return list(self.route)
        return self.route[:self.route.index("index") + 1]

    @field_validator("route", mode="before")
    @classmethod
    def _split_route(cls, v: object) -> object:
        return [s.strip() for s in v.split(",") if s.strip()] if isinstance(v, str) else v

    @field_validator("inbox_field_map", mode="before")
    @classmethod
    def _parse_field_map(cls, v: object) -> object:
        return parse_field_map(v) if isinstance(v, str) else v

    def check(self) -> Settings:
        if "embed" in self.route and "embed" in self.keyword_route:
            raise ValueError("AKHBAR_ROUTE: embed must come after index (it adds vectors to "
                             "the documents index wrote)")
        if self.visibility_timeout_s <= self.task_time_limit_s + self.retry_backoff_max_s:
            raise ValueError(
                "AKHBAR_VISIBILITY_TIMEOUT_S must exceed AKHBAR_TASK_TIME_LIMIT_S + "
                "AKHBAR_RETRY_BACKOFF_MAX_S, or Redis redelivers tasks that are still running"
            )
        return self


def parse_field_map(text: str) -> dict[str, str]:
    """"a=b,c=d" -> {"a": "b", "c": "d"}: input field name -> article record field."""
    pairs = [item.split("=") for item in text.split(",") if item.strip()]
    for item in pairs:
        if len(item) != 2 or not all(x.strip() for x in item):
            raise ValueError(f"field map entries are name=field, got {'='.join(item)!r}")
        if item[1].strip() not in RECORD_FIELDS:
            raise ValueError(f"{item[1].strip()!r} is not an article record field "
                             f"({', '.join(sorted(RECORD_FIELDS))})")
    return {src.strip(): dst.strip() for src, dst in pairs}


def stage_concurrency(stage: str) -> int:
    """Worker processes of a stage: AKHBAR_<STAGE>_CONCURRENCY (1 by default), one variable per
    stage, so it is read by name rather than declared in Settings."""
    return int(os.environ.get(f"AKHBAR_{stage.upper()}_CONCURRENCY") or 1)


@lru_cache
def get_settings() -> Settings:
    return Settings().check()
