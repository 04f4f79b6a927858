"""Enrich: languages, near-duplicates and stories, in memory and in a real Redis."""

from __future__ import annotations

from pathlib import Path

import pytest
from redis import Redis

from akhbar.contract import Article
from akhbar.settings import Settings
from akhbar_enrich.similarity import STORY, hashed, jaccard, story_features, words
from akhbar_enrich.stage import WINDOW_S, process
from akhbar_enrich.store import MemoryStore, RedisStore, SimilarityStore
from akhbar_ingest.formats import read_file
from akhbar_normalize.stage import process as normalize

SETTINGS = Settings()


@pytest.fixture(scope="module")
def articles(seeds: list[Path]) -> dict[str, Article]:
    return {p.name[:3]: normalize(read_file(p).articles[0], SETTINGS) for p in seeds}


def enrich_all(articles: dict[str, Article], store: SimilarityStore) -> dict[str, Article]:
    return {k: process(a, store) for k, a in sorted(articles.items())}


def assert_seed_stories(done: dict[str, Article]) -> None:
    story = {k: a.story_id for k, a in done.items()}
    assert story["001"] == story["002"] == story["004"] == done["001"].id
    assert story["000"] == done["000"].id and story["003"] == done["003"].id
    assert all(a.duplicate_of is None for a in done.values())


def test_seed_stories_in_memory(articles: dict[str, Article]) -> None:
    assert_seed_stories(enrich_all(articles, MemoryStore()))


def test_seed_story_margin(articles: dict[str, Article]) -> None:
    """The threshold sits between the same-story and different-story similarities."""
    f = {k: hashed(story_features(words(a.normalized.title) + words(a.normalized.body)))
         for k, a in articles.items()}
    same = [jaccard(f[x], f[y]) for x, y in [("001", "002"), ("001", "004"), ("002", "004")]]
    other = [jaccard(f[x], f[y]) for x in ("000", "003") for y in f if y != x]
    assert min(same) >= STORY.threshold > max(other)


def test_workers_sharing_redis_agree(articles: dict[str, Article], redis_db: Redis) -> None:
    one, two = RedisStore(redis_db, WINDOW_S), RedisStore(redis_db, WINDOW_S)
    done = {k: process(a, one if k in ("000", "001", "003") else two)
            for k, a in sorted(articles.items())}
    assert_seed_stories(done)
    again = process(articles["002"], one)  # a redelivered job gets the same answer
    assert (again.story_id, again.duplicate_of) == (done["002"].story_id, None)


def test_republished_copy_is_a_duplicate(articles: dict[str, Article]) -> None:
    store = MemoryStore()
    original = process(articles["001"], store)
    paragraphs = articles["001"].body.split("\n\n")
    copy = articles["001"].model_copy(update={
        "id": "c" * 32, "title": "عام / " + articles["001"].title,
        "body": "\n\n".join(paragraphs[:-1]),
        "normalized": articles["001"].normalized.model_copy(
            update={"body": "\n\n".join(articles["001"].normalized.body.split("\n\n")[:-1])})})
    dup = process(copy, store)
    assert dup.duplicate_of == original.id and dup.story_id == original.story_id


def test_languages_per_paragraph(articles: dict[str, Article]) -> None:
    a = articles["000"].model_copy(update={
        "body": articles["000"].body + "\n\nRussian President Vladimir Putin has called for a "
                "closer international cooperation in the fight against the Islamic State."})
    done = process(a, MemoryStore())
    assert done.language == "ar"
    assert done.paragraph_languages[-1] == "en"
    assert set(done.paragraph_languages[:-1]) == {"ar"}
