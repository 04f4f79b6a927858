"""Ingest: inbox formats and the inbox directory protocol."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from akhbar_ingest.formats import FileRejected, read_file
from akhbar_ingest.inbox import Inbox, safe_name


def test_seed_text_files_become_raw_articles(seeds: list[Path]) -> None:
    for path in seeds:
        [article] = read_file(path).articles
        assert article.raw is not None and article.raw.data() == path.read_bytes()
        assert article.raw.media_type == "text/plain" and article.pipeline[0].stage == "ingest"


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
    ("one.json", b'{"title": "x", "content": "y"}', "unknown field(s) ['content']"),
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
