"""The bad-input corpus (akhbar_testkit.bad_inputs) through the real ingest code on a real Redis:
each case ends as it must, no exception escapes the handling, nothing outside the inbox is
read, changed or created, nothing is left half done and no bomb is decompressed.

The corpus runs once, in a subprocess (the ingest task module reads its settings at import);
`pytest -s` prints the table case → outcome, as
`.venv/bin/python -m akhbar_testkit.bad_inputs --table` does.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from akhbar_ingest.inbox import safe_name
from akhbar_testkit.bad_inputs import (
    BOMB_MIB,
    CASES,
    SECRET,
    TITLE,
    Case,
    DeadLettered,
    observe,
    problems,
    table,
)
from akhbar_testkit.harness import RedisServer


@pytest.fixture(scope="module")
def corpus(redis_server: RedisServer, tmp_path_factory: pytest.TempPathFactory
           ) -> dict[str, Any]:
    base = tmp_path_factory.mktemp("bad-inputs")
    out = base.parent / f"{base.name}.json"  # beside it: everything under base is checked
    run = subprocess.run(
        [sys.executable, "-m", "akhbar_testkit.bad_inputs", "--dir", str(base),
         "--redis-url", redis_server.url, "--json", str(out)],
        capture_output=True, text=True, timeout=600)
    redis_server.client.flushall()
    assert run.returncode == 0, run.stderr[-5000:]
    results = json.loads(out.read_text(encoding="utf-8"))
    results["base"], results["root"] = base, base / "inbox"
    print("\n" + table(results, results["root"]))
    return results


def outcome(corpus: dict[str, Any], case: Case) -> dict[str, Any]:
    return {**corpus["outcomes"][case.name], **observe(case, corpus["root"])}


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_case_ends_as_expected(corpus: dict[str, Any], case: Case) -> None:
    o = outcome(corpus, case)
    assert problems(case, o) == [], f"{case.how}: expected {case.expect}"


def test_no_exception_escapes_the_handling(corpus: dict[str, Any]) -> None:
    assert corpus["errors"] == []
    assert {n: o["crash"] for n, o in corpus["outcomes"].items() if o["crash"]} == {}


def test_good_lines_of_a_partly_bad_jsonl_are_kept(corpus: dict[str, Any]) -> None:
    [case] = [c for c in CASES if c.name == "jsonl-partly-bad"]
    o = outcome(corpus, case)
    assert sorted(d["url"] for d in o["docs"]) == [
        f"https://example.com/{i}" for i in (1, 2, 3, 4)]
    assert {d["title"] for d in o["docs"]} == {TITLE, TITLE + " ٢", TITLE + " ٣"}
    assert not any("extra" in d for d in o["docs"])  # the unknown field was dropped
    rejected = o["sidecar"]["rejected"]
    assert [r["line"] for r in rejected] == [2, 4]
    assert "not valid JSON" in rejected[0]["error"] and rejected[0]["text"] == '{"title": "x",'
    assert "got array" in rejected[1]["error"]


def test_dead_letters_name_the_file_they_came_from(corpus: dict[str, Any]) -> None:
    """A person reading `akhbar dlq list` finds the input by its name as it was dropped."""
    dead = [c for c in CASES if isinstance(c.expect, DeadLettered)]
    assert dead
    for case in dead:
        [entry] = outcome(corpus, case)["dead"]
        assert entry["input"] == safe_name(case.filename), case.name


def test_nothing_outside_the_inbox_is_read_changed_or_created(corpus: dict[str, Any]) -> None:
    assert corpus["base_entries"] == ["inbox", "outside"]
    assert corpus["outside_after"] == corpus["outside_before"]
    # The secret behind the symlinks and the external entity is in no output: documents,
    # dead letters, sidecars or any file filed (symlinks are checked, not followed).
    assert SECRET not in json.dumps(corpus["outcomes"], ensure_ascii=False)
    outside = corpus["base"] / "outside"
    for dirpath, _dirs, files in os.walk(corpus["root"]):
        for name in files:
            path = Path(dirpath) / name
            if path.is_symlink():
                assert Path(os.readlink(path)).parent == outside, path
            elif path.is_file():
                assert SECRET.encode() not in path.read_bytes(), path


def test_nothing_is_left_half_done(corpus: dict[str, Any]) -> None:
    assert corpus["work_left"] == []


def test_bombs_are_not_decompressed(corpus: dict[str, Any]) -> None:
    bombs = [c for c in CASES if "bomb" in c.how]
    assert len(bombs) == 5
    assert all(not outcome(corpus, c)["docs"] for c in bombs)
    assert corpus["peak_rss_mb"] < BOMB_MIB  # each bomb expands to 1 GiB
