"""Outlet furniture found by akhbar_normalize.furniture on real articles of the SaudiNewsNet day.

The counting runs on the articles' lines as normalize splits them (clean_lines), before any
cleaning, so that it keeps seeing the furniture once normalize removes it."""

from __future__ import annotations

import json
import re
from collections import defaultdict

import pytest

from akhbar_normalize.cleaning import clean_lines
from akhbar_normalize.furniture import (
    MIN_COUNT,
    TITLE,
    line_shape,
    line_text,
    recurring_lines,
    section_prefix,
)
from akhbar_testkit.data import SHARED, need

NEWS = SHARED / "data" / "news" / "saudinewsnet-2015-08-10.jsonl"
# The agency's copy, the outlet closing with a link line, the one with an SMS block: 479 articles.
OUTLETS = ("was", "alweeam", "almadina")
Articles = list[tuple[str, list[str]]]


@pytest.fixture(scope="module")
def sample() -> dict[str, Articles]:
    by_outlet: dict[str, Articles] = defaultdict(list)
    for line in need(NEWS).read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        if row["source"] in OUTLETS:
            by_outlet[row["source"]].append((row["title"], clean_lines(row["content"])))
    return by_outlet


def test_agency_end_mark_and_time_stamp(sample: dict[str, Articles]) -> None:
    was = sample["was"]
    shapes = recurring_lines(was)
    assert shapes["// انتهى //"] >= 0.8 * len(was)
    assert shapes["#:# ت م"] >= 0.9 * len(was)
    # Only the shape sees the time stamps as one line: each minute alone is below 5%.
    exact = recurring_lines(was, line_text)
    assert "// انتهى //" in exact
    assert not any(re.fullmatch(r"\d+:\d+ ت م", k) for k in exact)


def test_link_line_repeating_the_title(sample: dict[str, Articles]) -> None:
    alweeam = sample["alweeam"]
    shapes = recurring_lines(alweeam)
    assert shapes[f"رابط الخبر بصحيفة الوئام: {TITLE}"] >= 0.8 * len(alweeam)
    assert not recurring_lines(alweeam, line_text)  # each link line names its own story


def test_subscription_block(sample: dict[str, Articles]) -> None:
    shapes = recurring_lines(sample["almadina"])
    for shape in ("# - Stc", "# - Mobily", "# - Zain", "للتواصل مع الكاتب ارسل رسالة SMS"):
        assert shape in shapes


@pytest.mark.parametrize("outlet", OUTLETS)
def test_story_lines_are_not_furniture(sample: dict[str, Articles], outlet: str) -> None:
    articles = sample[outlet]
    held = [{line_shape(x, t) for x in lines} for t, lines in articles]
    once = {k for i, keys in enumerate(held) for k in keys
            if not any(k in other for j, other in enumerate(held) if j != i)}
    assert len(once) > 100, "most story lines are an article's own"
    assert not once & recurring_lines(articles).keys()
    # However few the articles, a line must recur: at 5% of 20 one article would do.
    few = recurring_lines(articles[:20])
    assert all(n >= MIN_COUNT for n in few.values())
    assert not once & few.keys()

def test_shapes_fold_digits_of_any_script_and_the_title() -> None:
    assert line_shape("20:26  ت م") == line_shape("٢١:٠٣ ت م") == "#:# ت م"
    assert line_shape("رابط الخبر: عنوان 5", "عنوان 5") == f"رابط الخبر: {TITLE}"
    assert line_shape("عنوان", "عنوان") == "عنوان"  # the line that is the title stays itself


def test_title_section_prefixes(sample: dict[str, Articles]) -> None:
    sections = [section_prefix(t) for t, _ in sample["was"]]
    assert sum(s is not None for s in sections) >= 0.95 * len(sections)
    assert {"عام", "اقتصادي", "سياسي"} <= set(sections)
    assert not any(section_prefix(t) for o in ("alweeam", "almadina") for t, _ in sample[o])
    assert section_prefix("عام / خادم الحرمين يستقبل") == "عام"
    assert section_prefix("كاريكاتير 2015/8/10") is None
    assert section_prefix("2015/8/10 الأسهم") is None
