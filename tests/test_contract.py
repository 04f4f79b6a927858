"""The contract: JSON envelopes validated on receipt, routing from configuration."""

from __future__ import annotations

import pytest

from akhbar.contract import Article, ContractError, Envelope, Source, article_id, utcnow
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
