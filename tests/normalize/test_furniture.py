"""Outlet furniture: what akhbar_normalize.furniture counts on real articles of the SaudiNewsNet
day, and the learner's rules (in memory and in a real Redis).

The counting runs on the articles' lines as normalize splits them (clean_lines), before any
cleaning, so that it keeps seeing the furniture once normalize removes it."""

from __future__ import annotations

import json
import re
from collections import defaultdict

import pytest
from redis import Redis

from akhbar_normalize.cleaning import clean_lines
from akhbar_normalize.furniture import (
    HEAD_LINES,
    MAX_WORDS,
    MIN_COUNT,
    MIN_SHARE,
    SEED,
    TAIL_KEY,
    TAIL_LINES,
    TITLE,
    Furniture,
    MemoryFurniture,
    RedisFurniture,
    candidates,
    line_shape,
    line_text,
    load_seed,
    recurring_lines,
    split_section,
    strip,
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
    sections = [split_section(t)[0] for t, _ in sample["was"]]
    assert sum(s is not None for s in sections) >= 0.95 * len(sections)
    assert {"عام", "اقتصادي", "سياسي"} <= set(sections)
    assert not any(split_section(t)[0] for o in ("alweeam", "almadina") for t, _ in sample[o])
    assert split_section("2015/8/10 الأسهم") == (None, "2015/8/10 الأسهم")
    assert split_section("اقتصادي / الأسهم ترتفع") == ("اقتصادي", "الأسهم ترتفع")
    assert split_section("كاريكاتير 2015/8/10") == (None, "كاريكاتير 2015/8/10")


# The learner's rules, on made-up bodies: a story of long paragraphs between short edge lines.
STORY = [f"الفقرة {w} من القصة وفيها كلمات كثيرة تزيد على حد السطر القصير بكثير جدا جدا جدا"
         for w in ("الأولى", "الثانية", "الثالثة", "الرابعة", "الخامسة", "السادسة", "السابعة",
                   "الثامنة", "التاسعة", "العاشرة")]
END = "// انتهى //"


def no_dateline(line: str) -> bool:
    return False


def body(i: int, *edges: str) -> tuple[str, list[str]]:
    """Article i of an outlet: its own title, its own story, then `edges`."""
    return f"عنوان الخبر رقم {i}", [f"{p} في الخبر {i}" for p in STORY] + list(edges)


def test_only_short_edge_lines_are_candidates() -> None:
    assert len(STORY[0].split()) > MAX_WORDS
    title, lines = body(1, "قصير في الوسط")
    lines = ["سطر أول", *lines[:4], "سطر قصير في الوسط", *lines[4:]]
    found = candidates(title, lines, no_dateline)
    # The middle short line is no candidate (TAIL_KEY: the last line is also a run-on tail).
    assert set(found.shapes) == {0, len(lines) - 1, TAIL_KEY}
    assert len(lines) > HEAD_LINES + TAIL_LINES + 1
    dated = candidates(title, ["الرياض 25 شوال 1436 هـ واس", *lines], lambda x: "شوال" in x)
    assert 0 not in dated.shapes  # the opening dateline is the dateline reader's


def test_a_run_on_tail_goes_once_its_first_word_recurs() -> None:
    """3alyoum's tags run on after the story's last sentence: each list differs, its first word
    recurs. A last paragraph ending in a sentence, or one with a mark in its tail, keeps it."""
    learner = MemoryFurniture()

    def last(i: int, tail: str) -> str:
        return strip(*body(i), "o", learner, no_dateline)[2][-1] if not tail else strip(
            body(i)[0], [*body(i)[1][:-1], body(i)[1][-1] + ". " + tail], "o", learner,
            no_dateline)[2][-1]

    # A first word is a weak mark: it counts once the outlet has enough articles for 5%.
    enough = round(MIN_COUNT / MIN_SHARE)
    ends = [last(i, f"سمات وسم{i} دبي جدة") for i in range(enough)]
    assert all(e.endswith(f"وسم{i} دبي جدة") for i, e in enumerate(ends[:-1]))
    assert ends[-1] == f"{STORY[-1]} في الخبر {enough - 1}."  # the story's end stays
    assert last(9, "سمات قالها. وانتهى").endswith("وانتهى")  # a sentence: no tail
    assert last(8, "") == f"{STORY[-1]} في الخبر 8"  # a story line with no tail


def test_a_shape_is_furniture_after_min_count_new_articles() -> None:
    learner = MemoryFurniture()
    kept = [strip(*body(i, END), "o", learner, no_dateline)[2] for i in range(MIN_COUNT)]
    assert all(k[-1] == END for k in kept[:-1])  # seen in fewer articles: kept
    assert END not in kept[-1]
    assert all(k[:len(STORY)] == [f"{p} في الخبر {i}" for p in STORY]
               for i, k in enumerate(kept))
    # Another outlet learns on its own.
    assert strip(*body(0, END), "other", learner, no_dateline)[2][-1] == END


def test_copies_of_one_story_do_not_teach() -> None:
    learner = MemoryFurniture()
    title, lines = body(1, "حرر بواسطة فلان")
    for _ in range(10):  # the same article over and over
        assert strip(title, lines, "o", learner, no_dateline)[2] == lines
    # The same title with a changed body, the same body under another title: copies too.
    assert strip(title, lines[1:], "o", learner, no_dateline)[2] == lines[1:]
    assert strip("عنوان آخر", lines, "o", learner, no_dateline)[2] == lines
    assert learner.outlets["o"].articles == 1


def test_past_min_count_a_shape_needs_min_share_of_the_outlet() -> None:
    learner = MemoryFurniture()
    n = int(4 * MIN_COUNT / MIN_SHARE)
    for i in range(n):  # articles without the line
        strip(*body(i), "o", learner, no_dateline)[2]
    rare = "سطر يتكرر قليلا"
    out = [strip(*body(n + i, rare), "o", learner, no_dateline)[2][-1]
           for i in range(MIN_COUNT + 2)]
    assert out == [rare] * len(out)  # in MIN_COUNT + 2 articles, but far below 5%


def test_a_seeded_shape_is_furniture_from_the_first_article() -> None:
    learner = MemoryFurniture({"was": frozenset({"#:# ت م"})})
    assert strip(*body(1, "20:26 ت م"), "was", learner, no_dateline)[2] == body(1)[1]
    assert strip(*body(1, "20:26 ت م"), "okaz", learner, no_dateline)[2][-1] == "20:26 ت م"


def test_a_title_prefix_is_a_section_unless_the_outlet_rarely_prints_one() -> None:
    learner = MemoryFurniture()
    title = "بالصور / قوارب الموت ما زالت تنقل المهاجرين"
    # An outlet not yet known: the «word /» form is a section.
    assert strip(title, [], "new", learner, no_dateline)[:2] == (
        "بالصور", "قوارب الموت ما زالت تنقل المهاجرين")
    for i in range(int(MIN_COUNT / MIN_SHARE)):
        strip(*body(i), "plain", learner, no_dateline)
        strip(f"عام / {body(i)[0]}", body(i)[1], "sections", learner, no_dateline)
    # Known: one with sections on every title, one that prints none.
    assert strip(title, [], "sections", learner, no_dateline)[0] == "بالصور"
    assert strip(title, [], "plain", learner, no_dateline)[:2] == (None, title)


def test_the_shape_cap_keeps_the_frequent_shapes() -> None:
    learner = MemoryFurniture(shape_cap=8)
    for i in range(200):  # a frequent end mark among ever new short lines
        strip(*body(i, f"سطر وحيد {'ب' * (i + 1)}", END), "o", learner, no_dateline)
    counts = learner.outlets["o"].counts
    assert len(counts) == 8
    assert counts[END] >= 200 - 1  # never evicted: at most its first count is shared


def test_the_seed_records_its_command_and_data() -> None:
    data = json.loads(SEED.read_text(encoding="utf-8"))
    assert data["command"].startswith("make learn-furniture")
    assert data["data"]["articles_per_file"]
    seed = load_seed()
    assert "// انتهى //" in seed["was"] and "#:# ت م" in seed["was"]
    assert f"رابط الخبر بصحيفة الوئام: {TITLE}" in seed["alweeam"]
    for shapes in seed.values():
        assert all(len(s.split()) <= MAX_WORDS for s in shapes)


def test_redis_learner_decides_as_the_memory_one(sample: dict[str, Articles],
                                                 redis_db: Redis) -> None:
    """The same stream through both learners: the same lines removed, article by article; and
    the Redis state is bounded (a TTL on every key)."""
    learners: list[Furniture] = [MemoryFurniture(), RedisFurniture(redis_db)]
    removed = 0
    for outlet in OUTLETS:
        for title, lines in sample[outlet]:
            got = [strip(title, lines, outlet, f, no_dateline) for f in learners]
            assert got[0] == got[1], (outlet, title)
            removed += len(lines) - len(got[0][2])
    assert removed > 2 * len(sample["was"])  # learnt cold: the end mark and time stamp go
    keys = redis_db.keys("akhbar:furniture:*")
    assert len(keys) == 3 * len(OUTLETS)
    assert all(0 < redis_db.ttl(k) for k in keys)
    shapes = {k.decode(): redis_db.zcard(k) for k in keys if k.endswith(b":shapes")}
    assert all(n <= 1000 for n in shapes.values())
