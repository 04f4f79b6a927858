"""The contract: JSON envelopes validated on receipt, routing from configuration."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from redis import Redis

from akhbar.contract import (
    Article,
    ContractError,
    Envelope,
    RawContent,
    Source,
    article_id,
    utcnow,
)
from akhbar.deadletter import dead_letter, list_dead
from akhbar.queues import make_app
from akhbar.settings import Settings


def article(**kw: object) -> Article:
    return Article(id="0" * 32, source=Source(name="t", kind="inbox"), ingested_at=utcnow(),
                   title="عنوان", **kw)


def test_envelope_round_trips_through_json() -> None:
    env = Envelope(route=["normalize", "enrich", "index"], article=article(url="https://x.y/1"))
    again = Envelope.from_message(env.to_message())
    assert again == env and again.next_stage("enrich") == "index"
    assert again.next_stage("index") is None


@pytest.mark.parametrize("message, fragment", [
    ("a string", "JSON object"),
    ({"schema_version": 99}, "unsupported schema_version 99"),
    ({"schema_version": 1, "route": ["x"], "article": {"id": "nope"}}, "article.id"),
])
def test_invalid_messages_are_contract_errors(message: object, fragment: str) -> None:
    with pytest.raises(ContractError, match=fragment):
        Envelope.from_message(message)


def test_unknown_article_fields_are_refused() -> None:
    msg = Envelope(route=["index"], article=article()).to_message()
    msg["article"]["surprise"] = 1
    with pytest.raises(ContractError, match="surprise"):
        Envelope.from_message(msg)


def test_inserting_a_stage_is_configuration() -> None:
    s = Settings(route="normalize, translate ,enrich,index")
    env = Envelope(route=s.route, article=article())
    assert env.next_stage("normalize") == "translate" and env.next_stage("translate") == "enrich"
    app = make_app("t", s)
    assert app.conf.task_routes["akhbar.translate"] == {"queue": "translate"}


def test_celery_accepts_json_only_and_acks_late() -> None:
    conf = make_app("t", Settings()).conf
    assert conf.accept_content == ["json"] and conf.task_serializer == "json"
    assert conf.task_acks_late and conf.task_reject_on_worker_lost
    assert conf.broker_transport_options["visibility_timeout"] > conf.task_time_limit
    with pytest.raises(ValueError, match="VISIBILITY_TIMEOUT"):
        Settings(visibility_timeout_s=100, task_time_limit_s=300).check()


def test_ids_are_deterministic_and_orthography_insensitive() -> None:
    a = article_id(url=None, title="الرقة", body="نص")
    assert a == article_id(url=None, title="الرقّة", body="نص")  # shadda is not content
    assert a != article_id(url=None, title="الرقة", body="نص آخر")
    assert article_id(url="https://a/1", title="x", body="y") == article_id(
        url="https://a/1", title="z", body="w")


T_PUBLISHED = datetime(2015, 11, 2, 23, 25, tzinfo=UTC)
T_RETRIEVED = datetime(2015, 11, 3, 8, 0, tzinfo=UTC)


@pytest.mark.parametrize("times, expected, source", [
    ({"published_at": T_PUBLISHED, "retrieved_at": T_RETRIEVED}, "2015-11-02T23:25:00Z",
     "metadata"),
    ({"published_at": T_PUBLISHED, "published_source": "dateline"}, "2015-11-02T23:25:00Z",
     "dateline"),
    ({"retrieved_at": T_RETRIEVED}, "2015-11-03T08:00:00Z", "retrieved"),
    ({}, None, "ingested"),
])
def test_documents_carry_the_best_known_time(times: dict[str, datetime], expected: str | None,
                                             source: str) -> None:
    doc = article(**times).document()
    assert doc["date_source"] == source
    assert doc["@timestamp"] == (expected or doc["ingested_at"]) and doc["@timestamp"]


def test_dead_letters_name_the_input_and_title(redis_db: Redis) -> None:
    raw = RawContent.from_bytes(b"\x00", "text/plain", filename="report.txt")
    from_file = Envelope(route=["normalize"], article=article(raw=raw)).to_message()
    from_url = Envelope(route=["index"], article=article(url="https://x.y/2")).to_message()
    for payload in (from_file, from_url, {"schema_version": 1, "article": "not an article"},
                    "not even an object"):
        dead_letter(redis_db, "normalize", payload, ContractError("bad"), "w")
    entries = [(e.input, e.title) for e in list_dead(redis_db, "normalize")]
    assert entries == [("report.txt", "عنوان"), ("https://x.y/2", "عنوان"), (None, None),
                       (None, None)]
