"""Ingest: inbox formats and the inbox directory protocol."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

from akhbar.settings import Settings
from akhbar_ingest.formats import FileRejected, read_file
from akhbar_ingest.inbox import Inbox, safe_name
from akhbar_testkit.data import SHARED, need
from akhbar_testkit.harness import BIN

SAUDINEWSNET = SHARED / "data" / "news" / "saudinewsnet-2015-08-10.jsonl"
# A real executable: its ELF header and machine code, with NUL bytes throughout.
ELF = Path(sys.executable).resolve().read_bytes()[:65536]
RUSSIAN = ("Москва. Сегодня в столице прошли переговоры министров иностранных дел, "
           "посвящённые ситуации в Сирии.\nСтороны договорились продолжить встречи.\n")


def test_seed_text_files_become_raw_articles(seeds: list[Path]) -> None:
    for path in seeds:
        [article] = read_file(path).articles
        assert article.raw is not None and article.raw.data() == path.read_bytes()
        assert article.raw.media_type == "text/plain" and article.pipeline[0].stage == "ingest"
        assert article.raw.charset == "utf_8"  # found at ingest, a hint for normalize
        assert article.retrieved_at is None  # a dropped file does not say when it was fetched


def test_jsonl_keeps_good_lines_and_reports_bad_ones(tmp_path: Path) -> None:
    path = tmp_path / "batch.jsonl"
    path.write_text("\n".join([
        json.dumps({"title": "خبر أول", "body": "نص", "url": "https://a/1", "source": "spa"}),
        "{not json",
        json.dumps(["a", "list"]),
        json.dumps({"title": "خبر ثان", "body": "نص", "published_at": "2015-08-10 18:52:49"}),
    ]), encoding="utf-8")
    result = read_file(path)
    assert [a.title for a in result.articles] == ["خبر أول", "خبر ثان"]
    assert result.articles[0].source.name == "spa"
    assert result.articles[1].published_raw == "2015-08-10 18:52:49"
    assert [e["line"] for e in result.errors] == [2, 3]
    assert "not valid JSON" in result.errors[0]["error"]
    assert "must be a JSON object" in result.errors[1]["error"]


@pytest.mark.parametrize("name, data, reason", [
    ("empty.txt", b"", "file is empty"),
    ("blank.txt", b" \n\t\n", "file is empty"),
    ("photo.png", b"\x89PNG", "unsupported file type '.png'"),
    ("program.txt", ELF, "not valid text in any supported encoding"),
    ("empty.html", b"", "file is empty"),
    ("empty.html", b"<!DOCTYPE html><html><head><title> </title><script>var news = 1;"
                   b"</script></head><body>\n<div></div></body></html>",
     "no text once decoded (only markup)"),
    ("koi8r.txt", RUSSIAN.encode("koi8_r"), "not valid text in any supported encoding"),
    ("utf16-blank.txt", "  \n\t ".encode("utf-16"), "no text once decoded"),
    ("one.json", b'{"title": "", "body": ""}', "neither title nor body"),
    ("one.json", b"[1, 2]", "must be a JSON object"),
    ("bad.jsonl", b"{\n[]\n", "no valid article line (2 bad)"),
])
def test_unusable_files_are_rejected_with_a_reason(tmp_path: Path, name: str, data: bytes,
                                                   reason: str) -> None:
    path = tmp_path / name
    path.write_bytes(data)
    with pytest.raises(FileRejected) as info:
        read_file(path)
    assert reason in str(info.value)


def test_size_limit_is_checked_before_reading(tmp_path: Path) -> None:
    path = tmp_path / "big.txt"
    path.write_bytes(b"x" * 2000)
    with pytest.raises(FileRejected, match="above the limit of 1000 bytes"):
        read_file(path, max_bytes=1000)


def test_inbox_claims_quiet_files_once_and_files_them(tmp_path: Path) -> None:
    box = Inbox(tmp_path / "inbox", stable_seconds=0)
    (box.root / "a.txt").write_text("عنوان\nنص", encoding="utf-8")
    (box.root / "b.txt.part").write_text("still being written", encoding="utf-8")
    [claimed] = list(box.sweep())
    assert claimed.parent == box.work and list(box.sweep()) == []
    assert box.claimed(claimed.name) == claimed
    done = box.finish(claimed, [{"line": 3, "error": "bad", "text": "{"}])
    assert done == box.processed / "a.txt"
    sidecar = json.loads((box.failed / "a.txt.error.json").read_text())
    assert sidecar["rejected"][0]["line"] == 3


def test_recent_files_wait_until_quiet(tmp_path: Path) -> None:
    box = Inbox(tmp_path, stable_seconds=60)
    (box.root / "fresh.txt").write_text("x", encoding="utf-8")
    assert list(box.sweep()) == []
    os.utime(box.root / "fresh.txt", (0, 0))
    assert [p.name.split("__")[1] for p in box.sweep()] == ["fresh.txt"]


def test_failed_files_get_an_error_sidecar(tmp_path: Path) -> None:
    box = Inbox(tmp_path, stable_seconds=0)
    (box.root / "x.txt").write_text("x", encoding="utf-8")
    [claimed] = list(box.sweep())
    dest = box.fail(claimed, "file is empty")
    assert json.loads(dest.with_name("x.txt.error.json").read_text())["error"] == "file is empty"


def test_symlinks_and_escapes_are_refused(tmp_path: Path) -> None:
    outside = tmp_path / "secret.txt"
    outside.write_text("secret", encoding="utf-8")
    box = Inbox(tmp_path / "inbox", stable_seconds=0)
    (box.root / "link.txt").symlink_to(outside)
    assert list(box.sweep()) == []
    assert "symbolic links" in (box.failed / "link.txt.error.json").read_text()
    assert outside.read_text() == "secret"
    with pytest.raises(ValueError):
        box.claimed("../../secret.txt")


def test_safe_names() -> None:
    assert safe_name("../../etc/passwd") == "_.._etc_passwd"
    assert safe_name("a\u202egnp.txt") == "a_gnp.txt"
    assert safe_name("line\nbreak.json") == "line_break.json"
    long = safe_name("ع" * 300 + ".jsonl")
    assert long.endswith(".jsonl") and len(long.encode()) <= 200


def test_unknown_fields_are_ignored_with_one_warning_per_file(tmp_path: Path) -> None:
    path = tmp_path / "dump.jsonl"
    path.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in [
        {"id": 1, "title": "خبر أول", "body": "نص", "lang": "ar"},
        {"id": 2, "title": "خبر ثان", "body": "نص", "section": "محليات"},
    ]), encoding="utf-8")
    result = read_file(path)
    assert [a.title for a in result.articles] == ["خبر أول", "خبر ثان"] and not result.errors
    [warning] = result.warnings
    assert "ignored unknown field(s) ['id', 'lang', 'section']" in warning

    with pytest.raises(FileRejected, match=r"no valid article line \(2 bad\); first: "
                                           r"unknown field\(s\) \['id', 'lang'\]"):
        read_file(path, settings=Settings(inbox_strict=True))


def test_strict_rejects_records_with_unknown_fields(tmp_path: Path) -> None:
    path = tmp_path / "one.json"
    path.write_bytes(b'{"title": "x", "content": "y"}')
    with pytest.raises(FileRejected, match=r"unknown field\(s\) \['content'\]"):
        read_file(path, settings=Settings(inbox_strict=True))
    [article] = read_file(path).articles  # not strict: the unknown field alone is dropped
    assert (article.title, article.body) == ("x", "")


def test_field_map_renames_and_reads_retrieval_times(tmp_path: Path) -> None:
    settings = Settings(inbox_field_map="content=body,date_extracted=retrieved_at,by=author",
                        default_timezone="Asia/Riyadh")
    path = tmp_path / "crawl.jsonl"
    path.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in [
        {"title": "خبر", "content": "نص الخبر", "date_extracted": "2015-08-10 18:52:49",
         "by": ""},
        {"title": "خبر آخر", "content": "نص", "date_extracted": "2015-08-10T18:52:49+00:00"},
        {"title": "خبر ثالث", "content": "نص", "date_extracted": "أمس"},
        {"title": "خبر رابع", "content": "نص", "body": "نص آخر"},
    ]), encoding="utf-8")
    result = read_file(path, settings=settings)
    first, second = result.articles
    assert (first.body, first.author) == ("نص الخبر", None)
    assert first.retrieved_at == datetime(2015, 8, 10, 18, 52, 49,
                                          tzinfo=timezone(timedelta(hours=3)))
    assert second.retrieved_at == datetime(2015, 8, 10, 18, 52, 49, tzinfo=UTC)
    assert [(e["line"], e["error"]) for e in result.errors] == [
        (3, "retrieved_at: 'أمس' is not an ISO 8601 time"),
        (4, "field 'body' is given twice (as 'content' and as 'body')")]
    assert result.warnings == []


@pytest.mark.parametrize("text, message", [
    ("content=bodyy", "'bodyy' is not an article record field"),
    ("content", "field map entries are name=field, got 'content'"),
])
def test_field_map_names_only_record_fields(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Settings(inbox_field_map=text)


def test_saudinewsnet_dump_goes_in_as_it_is() -> None:
    """The real SaudiNewsNet day, fields id, source, url, date_extracted, title, author,
    content: every line with any text is an article with its body and retrieval time."""
    path = need(SAUDINEWSNET)
    lines = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    settings = Settings(inbox_field_map="content=body,date_extracted=retrieved_at")
    result = read_file(path, settings=settings)
    # `id` is the line's number in that day's dump, not an identity: ids come from the URL.
    assert result.warnings == [
        "ignored unknown field(s) ['id']; known: ['author', 'body', 'published_at', "
        "'retrieved_at', 'source', 'title', 'url'] (other names can be mapped to them: "
        "AKHBAR_INBOX_FIELD_MAP, akhbar process --map)"]
    # Two lines have no title and a blank body: nothing to read, reported as bad lines.
    empty = [n for n, r in enumerate(lines, 1) if not (r["title"].strip() or r["content"].strip())]
    assert len(lines) == 1700 and empty == [553, 600]
    assert [(e["line"], e["error"]) for e in result.errors] == [
        (n, "article has neither title nor body") for n in empty]
    kept = [r for n, r in enumerate(lines, 1) if n not in empty]
    assert len(result.articles) == len(kept) == 1698
    for article, record in zip(result.articles, kept, strict=True):
        assert (article.url, article.title, article.body) == (
            record["url"], record["title"], record["content"])
        assert article.source.name == record["source"] and article.source.kind == "inbox"
        assert article.retrieved_at == datetime.fromisoformat(
            record["date_extracted"]).replace(tzinfo=UTC)
        assert article.author == (record["author"] or None)


def test_process_command_maps_fields_and_names_unreadable_files(tmp_path: Path) -> None:
    """`akhbar process --map` reads a SaudiNewsNet excerpt as it is; a program, an empty page
    and KOI8-R text are named on stderr and nothing is written for them."""
    lines = need(SAUDINEWSNET).read_text(encoding="utf-8").splitlines()[:20]
    inputs = tmp_path / "in"
    inputs.mkdir()
    (inputs / "day.jsonl").write_text("\n".join(lines), encoding="utf-8")
    (inputs / "program.txt").write_bytes(ELF)
    (inputs / "empty.html").write_bytes(b"")
    (inputs / "russian.txt").write_bytes(RUSSIAN.encode("koi8_r"))
    out, wide = tmp_path / "docs.jsonl", {**os.environ, "COLUMNS": "400"}  # no line wrapping
    run = subprocess.run([str(BIN / "akhbar"), "process", str(inputs), "--out", str(out),
                          "--map", "content=body,date_extracted=retrieved_at"],
                         capture_output=True, text=True, timeout=300, env=wide)
    assert run.returncode == 1, run.stderr  # three files failed
    failed = {line.split()[1].rstrip(":") for line in run.stderr.splitlines()
              if line.startswith("failed ")}
    assert failed == {str(inputs / n) for n in ("program.txt", "empty.html", "russian.txt")}
    assert run.stderr.count("ignored unknown field(s) ['id']") == 1
    docs = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    records = [json.loads(line) for line in lines]
    assert [d["url"] for d in docs] == [r["url"] for r in records]
    for doc, record in zip(docs, records, strict=True):
        assert doc["date_source"] == "retrieved" and doc["@timestamp"] == doc["retrieved_at"]
        assert doc["retrieved_at"] == record["date_extracted"].replace(" ", "T") + "Z"

    strict = subprocess.run([str(BIN / "akhbar"), "process", str(inputs / "day.jsonl"),
                             "--out", str(out), "--strict", "--map", "content=body"],
                            capture_output=True, text=True, timeout=300, env=wide)
    assert strict.returncode == 1 and "unknown field(s) ['date_extracted', 'id']" in strict.stderr
    assert out.read_text(encoding="utf-8") == ""
