"""Normalize on the seed articles, real pages and re-encoded text."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from akhbar.charset import UndecodableError, decode
from akhbar.contract import Article, ContractError, RawContent, Source, utcnow
from akhbar.orthography import search_form
from akhbar.settings import Settings
from akhbar_ingest.formats import read_file
from akhbar_normalize.stage import process
from akhbar_testkit.data import SHARED, need

SETTINGS = Settings()
BOILERPLATE = re.compile(r"^(طباعة|شارك|إعلان|التعليقات|المصدر\s*:)", re.M)


@pytest.fixture(scope="module")
def normalized(seeds: list[Path]) -> dict[str, Article]:
    return {p.name[:3]: process(read_file(p).articles[0], SETTINGS) for p in seeds}


def test_titles_are_the_first_line(normalized: dict[str, Article], seeds: list[Path]) -> None:
    for path in seeds:
        first = path.read_text(encoding="utf-8").splitlines()[0].strip()
        assert normalized[path.name[:3]].title == first


def test_boilerplate_lines_are_removed(normalized: dict[str, Article]) -> None:
    for key, a in normalized.items():
        assert not BOILERPLATE.search(a.body), key
    assert normalized["000"].credit == "رويترز + مواقع التواصل الاجتماعي"
    assert normalized["004"].credit == "الجزيرة + وكالات"


def test_repeated_lines_and_alt_text_are_removed(normalized: dict[str, Article]) -> None:
    for key, a in normalized.items():
        paragraphs = a.body.split("\n\n")
        assert len(paragraphs) == len(set(paragraphs)), key
        assert a.title not in paragraphs
    assert "عبارة" not in normalized["000"].body.split("\n\n")
    assert normalized["003"].body.count("الغارات الروسية مستمرة") == 1
    assert "الظواهري يطالب انصاره" not in normalized["003"].body.split("\n\n")


def test_captions_leave_the_body(normalized: dict[str, Article]) -> None:
    caps0, caps4 = normalized["000"].captions, normalized["004"].captions
    assert caps0[0].startswith("In this photo made from video released by Russian Defense")
    assert caps4[0].startswith("Russian President Vladimir Putin (C)")
    assert any(c.endswith("(الأوروبية)") for c in caps4)
    for a in normalized.values():
        assert "Putin" not in a.body and "(أسوشيتد برس)" not in a.body
    assert normalized["001"].captions == []


def test_publication_date_from_the_date_line(normalized: dict[str, Article]) -> None:
    a = normalized["003"]
    assert a.published_at is not None
    assert a.published_at.isoformat() == "2015-11-02T23:25:00+00:00"
    assert a.published_raw == "الإثنين 02/نوفمبر/2015 - 11:25 م"
    assert "11:25" not in a.body
    assert all(normalized[k].published_at is None for k in ("000", "001", "002", "004"))


def test_search_form_is_kept_beside_the_display_text(normalized: dict[str, Article]) -> None:
    a = normalized["004"]
    assert "كحليفيْن" in a.title and "كحليفين" in a.normalized.title  # sukun dropped
    assert a.normalized.body == search_form(a.body)


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "utf-16", "cp1256", "iso8859_6"])
def test_encodings_decode_to_the_same_article(seeds: list[Path], encoding: str) -> None:
    text = seeds[1].read_text(encoding="utf-8")
    data = text.encode(encoding, errors="ignore" if encoding == "iso8859_6" else "strict")
    decoded, found = decode(data)
    assert search_form(decoded).split()[:30] == search_form(
        data.decode(encoding)).split()[:30]
    assert found.replace("-", "_").startswith(encoding.replace("-", "_")[:5])


def test_same_text_in_two_encodings_is_one_document(seeds: list[Path]) -> None:
    text = seeds[2].read_text(encoding="utf-8")
    ids = {process(raw(text.encode(enc)), SETTINGS).id for enc in ("utf-8", "cp1256")}
    assert len(ids) == 1


def test_undecodable_bytes_are_a_clear_error() -> None:
    with pytest.raises(UndecodableError, match="not valid text"):
        decode(bytes(range(256)) * 8)


def test_presentation_forms_become_letters() -> None:
    a = process(raw("عنوان\nﻻ ﺑﺄﺱ".encode()), SETTINGS)
    assert a.body == "لا بأس"


def test_empty_after_cleaning_is_refused() -> None:
    with pytest.raises(ContractError, match="no text left"):
        process(raw("شارك\nطباعة\n".encode()), SETTINGS)


def test_html_page_main_text_and_metadata() -> None:
    html_dir = need(SHARED / "data" / "html")
    gold = json.loads((html_dir / "gold.json").read_text(encoding="utf-8"))
    name = "1691196862.html"
    a = process(raw((html_dir / name).read_bytes(), "text/html"), SETTINGS)
    assert a.title.startswith("وزير الرى يشهد توقيع عقد")
    assert a.body.startswith("شهد الدكتور محمد عبد العاطي وزير الموارد المائية")
    assert a.url and a.url.startswith("https://www.youm7.com/story/2020/8/24/")
    gold_date = next(g["gold_value"] for g in gold if g["file"] == name)
    assert a.published_at is not None and a.published_at.date().isoformat() == gold_date


def raw(data: bytes, media_type: str = "text/plain") -> Article:
    return Article(id="0" * 32, source=Source(name="t", kind="inbox"), ingested_at=utcnow(),
                   raw=RawContent.from_bytes(data, media_type))
