"""The sample articles in examples/ (the project's own text, so no ../shared needed): what the
README's "First steps" promises of `akhbar process examples` and of dropping them into the inbox
of the real Redis + Celery pipeline."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from akhbar.contract import Article
from akhbar.queues import keyword_queues, stage_queues
from akhbar.settings import Settings
from akhbar_ingest.formats import SUFFIXES
from akhbar_testkit.data import REPO
from akhbar_testkit.es_double import ElasticsearchDouble
from akhbar_testkit.harness import BIN, RedisServer, Workers, wait_until

EXAMPLES = REPO / "examples"
FORMATS = {".txt", ".html", ".htm", ".json", ".jsonl"}  # the README's "Dropping files" table
STAGES = stage_queues(Settings())  # ingest, then the route
CP1256 = "02-irbid-water-republished-windows-1256.txt"

# Each sample file and the titles of its documents, in file order (the order of the output).
SAMPLES = {
    "01-irbid-water.txt": {"irbid": "إربد: خط مياه جديد يزيد أيام التزويد في الأحياء الشرقية"},
    CP1256: {"irbid copy": "تشغيل خط مياه جديد في إربد يزيد أيام التزويد للأحياء الشرقية"},
    "03-sharjah-reading-festival.html": {"sharjah": "الشارقة تعلن برنامج مهرجان القراءة للطفل"},
    "04-casablanca-derby.htm": {
        "derby": "الوداد يحسم ديربي الدار البيضاء بهدف في الوقت بدل الضائع"},
    "05-riyadh-dust-warning.json": {
        "dust": "الأرصاد تنبه من موجة غبار تحجب الرؤية في الرياض والمنطقة الشرقية"},
    "06-wire.jsonl": {
        "rates": "المركزي المصري يبقي أسعار الفائدة دون تغيير للاجتماع الثالث على التوالي",
        "beirut": "بيروت: ساعات التغذية بالكهرباء ترتفع إلى عشر ساعات يوميا",
        "rates report": "القاهرة: تثبيت الفائدة للمرة الثالثة والأسواق تترقب خفضها في الصيف"},
}
TITLES = {key: title for titles in SAMPLES.values() for key, title in titles.items()}
# Page furniture written into the samples: whole lines that must not reach any body.
FURNITURE = ["طباعة", "شارك", "إعلان", "التعليقات", "اقرأ أيضا", "تابعونا", "شارك الخبر",
             "التعليقات (0)", "أضف تعليق"]
# Navigation, related links and footers of the two saved pages.
PAGE_CHROME = ["الرئيسية", "كرة السلة", "جائزة للترجمة في القاهرة", "جميع الحقوق محفوظة",
               "ملاعب اليوم ©"]
# (name, country code) of every place geocoded per document. طرابلس is Lebanon's, not Libya's
# capital, and عمّان the Jordanian capital, not عُمان: the other places decide.
PLACES = {
    "irbid": {("إربد", "JO"), ("الأردن", "JO"), ("عمان", "JO")},
    "irbid copy": {("إربد", "JO"), ("عمان", "JO")},
    "sharjah": {("الشارقة", "AE"), ("القاهرة", "EG"), ("بيروت", "LB"), ("الدار البيضاء", "MA"),
                ("بغداد", "IQ")},
    "derby": {("الدار البيضاء", "MA"), ("الرباط", "MA")},
    "dust": {("الرياض", "SA"), ("الدمام", "SA"), ("العراق", "IQ")},
    "rates": {("القاهرة", "EG")},
    "beirut": {("بيروت", "LB"), ("طرابلس", "LB"), ("صيدا", "LB"), ("لبنان", "LB")},
    "rates report": {("القاهرة", "EG")},
}
PERSONS = {"irbid": {"سامر العمري", "خالد الزعبي"}, "sharjah": {"سلمى الشامسي"},
           "derby": {"عادل بنموسى", "يوسف البقالي"}, "dust": {"فهد الدوسري"},
           "rates": {"منى عبد الحميد"}}


def sample_files() -> list[Path]:
    return sorted(p for p in EXAMPLES.iterdir() if p.is_file())


def by_key(docs: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    keys = {title: key for key, title in TITLES.items()}
    return {keys[d["title"]]: d for d in docs}


@pytest.fixture(scope="module")
def processed(tmp_path_factory: pytest.TempPathFactory
              ) -> tuple[subprocess.CompletedProcess[str], list[dict[str, Any]]]:
    """The README's command, run from the repository root."""
    out = tmp_path_factory.mktemp("examples") / "docs.jsonl"
    result = subprocess.run([str(BIN / "akhbar"), "process", "examples", "--out", str(out)],
                            cwd=REPO, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    return result, [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]


@pytest.fixture(scope="module")
def docs(processed: tuple[Any, list[dict[str, Any]]]) -> dict[str, dict[str, Any]]:
    return by_key(processed[1])


def test_examples_hold_only_inbox_files_of_every_format() -> None:
    # Nothing else: the user copies the whole folder into the inbox.
    assert sorted(p.name for p in EXAMPLES.iterdir()) == list(SAMPLES)
    assert {Path(name).suffix for name in SAMPLES} == FORMATS and FORMATS <= set(SUFFIXES)
    raw = (EXAMPLES / CP1256).read_bytes()
    with pytest.raises(UnicodeDecodeError):
        raw.decode("utf-8")
    assert raw.decode("cp1256").splitlines()[0] == TITLES["irbid copy"]


def test_each_file_gives_its_documents_in_order(
        processed: tuple[Any, list[dict[str, Any]]]) -> None:
    result, docs = processed
    summary = " ".join(result.stderr.split())  # as printed, wrapped to the terminal width
    assert summary.startswith("8 document(s) written to") and summary.endswith("0 failure(s)")
    assert [d["title"] for d in docs] == list(TITLES.values())
    for d in docs:  # exactly what the index stage would receive
        assert Article.from_document(d).document() == d
        assert d["language"] == "ar"


def test_furniture_and_page_chrome_are_gone(docs: dict[str, dict[str, Any]]) -> None:
    written = "\n".join(p.read_bytes().decode("cp1256" if p.name == CP1256 else "utf-8")
                        for p in sample_files())
    lines = {line.strip() for line in re.sub(r"<[^>]*>", "\n", written).splitlines()}
    assert set(FURNITURE) <= lines  # the samples do carry it
    for d in docs.values():
        body_lines = set(d["body"].splitlines())
        assert not body_lines & set(FURNITURE), d["title"]
        assert not any(line.startswith("المصدر") for line in body_lines), d["title"]
        assert not any(chrome in d["body"] for chrome in PAGE_CHROME), d["title"]
    assert docs["irbid"]["credit"] == "صدى الشمال"
    assert docs["dust"]["credit"] == "النشرة"


def test_captions_leave_the_body(docs: dict[str, dict[str, Any]]) -> None:
    english, arabic = docs["irbid"]["captions"]
    assert english.startswith("Workers lay a new water main along a street")
    # Printed twice in the sample, kept once.
    assert arabic == "عمال يمدون الخط الجديد في أحد شوارع إربد الشرقية (أرشيف)"
    assert docs["irbid copy"]["captions"] == [
        "مشهد من أعمال تمديد الخط في شارع الحصن بإربد (مواقع التواصل)"]
    for d in docs.values():
        assert not any(c in d["body"] for c in d["captions"])
    assert "Workers" not in docs["irbid"]["body"] and "عمال يمدون" not in docs["irbid"]["body"]


def test_dates(docs: dict[str, dict[str, Any]]) -> None:
    def at(key: str) -> datetime:
        return datetime.fromisoformat(docs[key]["published_at"])

    # Date lines of the .txt files (no offset printed: AKHBAR_DEFAULT_TIMEZONE, UTC).
    assert at("irbid") == datetime(2026, 3, 15, 10, 40, tzinfo=UTC)
    assert docs["irbid"]["published_raw"] == "الأحد 15/مارس/2026 - 10:40 ص"
    assert at("irbid copy") == datetime(2026, 3, 15, tzinfo=UTC)
    assert docs["irbid copy"]["published_raw"] == "15 مارس 2026"
    # Saved pages: the day of article:published_time / <time datetime> (extraction gives the day).
    assert at("sharjah").date() == date(2026, 3, 17)
    assert at("derby").date() == date(2026, 3, 14)
    # JSON fields, offsets kept.
    gulf, cairo = timezone(timedelta(hours=3)), timezone(timedelta(hours=2))
    assert at("dust") == datetime(2026, 3, 16, 6, 30, tzinfo=gulf)
    assert at("rates") == datetime(2026, 3, 19, 19, 5, tzinfo=cairo)
    assert at("beirut") == datetime(2026, 3, 18, 12, 0, tzinfo=cairo)
    assert at("rates report") == datetime(2026, 3, 20, 8, 40, tzinfo=cairo)


def test_republished_copy_and_story(docs: dict[str, dict[str, Any]]) -> None:
    first, copy = docs["irbid"], docs["irbid copy"]
    assert copy["duplicate_of"] == first["id"] and first["duplicate_of"] is None
    assert copy["story_id"] == first["story_id"] == first["id"]
    # Two reports of one decision in different words: one story, not a copy.
    assert docs["rates report"]["story_id"] == docs["rates"]["story_id"] == docs["rates"]["id"]
    assert docs["rates report"]["duplicate_of"] is None
    for key in ("sharjah", "derby", "dust", "beirut"):
        assert docs[key]["story_id"] == docs[key]["id"] and docs[key]["duplicate_of"] is None


def test_places_and_persons(docs: dict[str, dict[str, Any]]) -> None:
    for key, expected in PLACES.items():
        assert {(p["name"], p["country_code"]) for p in docs[key]["places"]} == expected, key
    amman = next(p for p in docs["irbid"]["places"] if p["name"] == "عمان")
    assert amman["kind"] == "city"
    assert round(amman["location"]["lat"], 1) == 32.0 and round(amman["location"]["lon"], 1) == 35.9
    for key, names in PERSONS.items():
        assert names <= {e["name"] for e in docs[key]["entities"]["persons"]}, key
    assert {(e["name"], e["count"]) for e in docs["irbid"]["entities"]["organizations"]} >= {
        ("الاتحاد الأوروبي", 1)}


@pytest.fixture(scope="module")
def indexed(redis_server: RedisServer, tmp_path_factory: pytest.TempPathFactory
            ) -> Iterator[tuple[Path, dict[str, dict[str, Any]]]]:
    """`cp examples/* inbox/` with the stage workers and the watcher running; Elasticsearch is
    ElasticsearchDouble at its HTTP boundary. The inbox and the documents that reached it."""
    redis_server.client.flushall()
    root = tmp_path_factory.mktemp("examples-pipeline")
    inbox, logs = root / "inbox", root / "logs"
    logs.mkdir()
    with ElasticsearchDouble() as es:
        workers = Workers({**os.environ, "AKHBAR_REDIS_URL": redis_server.url,
                           "AKHBAR_ES_URL": es.url, "AKHBAR_INBOX": str(inbox),
                           "AKHBAR_INBOX_STABLE_SECONDS": "0.3", "AKHBAR_BULK_FLUSH_S": "0.3"},
                          logs)
        try:
            workers.start_pipeline(STAGES, inbox)
            for path in sample_files():
                shutil.copyfile(path, inbox / path.name)
            try:
                wait_until(lambda: len(es.docs) >= len(TITLES), 180, "every sample indexed")
            except AssertionError:
                raise AssertionError(workers.logs()) from None
            yield inbox, es.docs
        finally:
            workers.stop()
            redis_server.client.flushall()


def test_dropped_into_the_inbox_they_reach_the_index(
        indexed: tuple[Path, dict[str, dict[str, Any]]], docs: dict[str, dict[str, Any]]) -> None:
    inbox, sent = indexed
    got = by_key(list(sent.values()))
    assert sorted(got) == sorted(TITLES)
    assert sorted(p.name for p in (inbox / "processed").iterdir()) == list(SAMPLES)
    assert not (inbox / "failed").exists() or not any((inbox / "failed").iterdir())
    same = ("id", "url", "source", "title", "body", "captions", "credit", "author",
            "published_at", "published_raw", "language", "entities", "places")
    for key, d in got.items():
        assert [s["stage"] for s in d["pipeline"]] == keyword_queues(Settings())
        assert {f: d[f] for f in same} == {f: docs[key][f] for f in same}, key
    # The files arrive in any order: whichever copy came second points at the other.
    first, copy = got["irbid"], got["irbid copy"]
    assert (copy["duplicate_of"], first["duplicate_of"]) in ((first["id"], None),
                                                             (None, copy["id"]))
    assert first["story_id"] == copy["story_id"]
    assert got["rates"]["story_id"] == got["rates report"]["story_id"]
