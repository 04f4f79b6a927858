"""The enrich stage: languages, then duplicate and story assignment against what was seen."""

from __future__ import annotations

from functools import partial

import numpy as np

from akhbar.contract import Article
from akhbar.stages import ProcessFn, StageContext
from akhbar_enrich.language import languages
from akhbar_enrich.similarity import (
    DUP,
    STORY,
    Space,
    band_keys,
    dup_features,
    hashed,
    jaccard,
    signature,
    story_features,
    words,
)
from akhbar_enrich.store import Known, MemoryStore, RedisStore, SimilarityStore

PARAGRAPH_SEP = "\n\n"
# Verified per space and article, most shared bands first: keeps the cost per article flat.
MAX_CANDIDATES = 10
WINDOW_S = 30 * 24 * 3600  # similarity state is kept this long in Redis


def make(ctx: StageContext) -> ProcessFn:
    store: SimilarityStore = (MemoryStore() if ctx.redis is None
                              else RedisStore(ctx.redis, ttl_s=WINDOW_S))
    return partial(process, store=store)


def process(article: Article, store: SimilarityStore) -> Article:
    a = article.model_copy(deep=True)
    paragraphs = [p for p in a.body.split(PARAGRAPH_SEP) if p.strip()]
    doc_lang, a.paragraph_languages = languages(paragraphs)
    a.language = doc_lang if paragraphs else languages([a.title])[0]
    a.story_id, a.duplicate_of = assign(a, store)
    return a


def assign(a: Article, store: SimilarityStore) -> tuple[str, str | None]:
    """(story_id, duplicate_of). A redelivered article gets back what it was given before."""
    seen = store.get([a.id]).get(a.id)
    if seen is not None:
        return seen.story_id, seen.duplicate_of
    body_words = words(a.normalized.body)
    feats = {DUP.name: hashed(dup_features(body_words)),
             STORY.name: hashed(story_features(words(a.normalized.title) + body_words))}
    feats = {name: f for name, f in feats.items() if len(f)}
    bands = {s.name: band_keys(signature(feats[s.name]), s) for s in (DUP, STORY)
             if s.name in feats}
    found = store.candidates(bands, MAX_CANDIDATES)  # one round trip for every space
    ids = sorted({i for c in found.values() for i in c if i != a.id})
    known = store.get(ids, tuple(bands))
    duplicate_of = _best(DUP, feats, found, known)
    story_hit = _best(STORY, feats, found, known)
    story_id = a.id
    if duplicate_of is not None:
        original = known[duplicate_of]
        duplicate_of = original.duplicate_of or duplicate_of  # point at the first copy
        story_id = original.story_id
    elif story_hit is not None:
        story_id = known[story_hit].story_id
    store.add(a.id, Known(story_id, duplicate_of, feats), bands)
    return story_id, duplicate_of


def _best(space: Space, feats: dict[str, np.ndarray], found: dict[str, list[str]],
          known: dict[str, Known]) -> str | None:
    """The most similar known article in `space` above its threshold, if any."""
    if space.name not in feats:
        return None
    scored = [(jaccard(feats[space.name], known[i].features[space.name]), i)
              for i in found.get(space.name, []) if i in known
              and space.name in known[i].features]
    best = max(scored, default=None)
    return best[1] if best is not None and best[0] >= space.threshold else None
