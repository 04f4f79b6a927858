"""The enrich stage: languages, named entities and places, then duplicate and story assignment
against what was seen."""

from __future__ import annotations

from functools import partial

from akhbar.contract import PARAGRAPH_SEP, Article
from akhbar.stages import ProcessFn, StageContext
from akhbar_enrich.bylines import settle_byline
from akhbar_enrich.entities import entities
from akhbar_enrich.language import detect, languages
from akhbar_enrich.places import geocode
from akhbar_enrich.similarity import (
    Features,
    band_keys,
    features,
    is_duplicate,
    jaccard,
    page_key,
    same_story,
    signature,
)
from akhbar_enrich.store import (
    MATCH_WINDOW_S,
    Decision,
    Known,
    MemoryStore,
    RedisStore,
    SimilarityStore,
)

# Verified per article, most shared bands first: keeps the cost per article flat. The
# calibration pairs gain a little story recall with 20 rather than 10, nothing with 40.
MAX_CANDIDATES = 20
# Commits refused because a similar article was committed meanwhile, before storing regardless:
# each retry needs a new arrival within one round trip, so more than a few means a stampede.
MAX_COMMIT_ATTEMPTS = 4
# A story is the reports of one event within a day of its first: an article joins no story
# opened earlier, or stories chain from day to day through articles that each resemble the
# next. The day's labelled pairs after three crawl days (bench/dedup.py --after-days 3), story
# P / R: 0.742 / 0.806 without the span, 0.847 / 0.789 with it (0.791 / 0.823 the day alone).
# A later report of the event opens a new story.
STORY_SPAN_S = 24 * 3600


def make(ctx: StageContext) -> ProcessFn:
    ttl = ctx.settings.story_state_ttl_s
    if ttl < MATCH_WINDOW_S:
        raise ValueError(f"AKHBAR_STORY_STATE_TTL_S={ttl} is below the {MATCH_WINDOW_S} s "
                         "window in which copies are matched: copies would be missed")
    store: SimilarityStore = (MemoryStore() if ctx.redis is None
                              else RedisStore(ctx.redis, ttl_s=ttl))
    return partial(process, store=store, home=ctx.settings.home_country)


def process(article: Article, store: SimilarityStore, home: str | None = None) -> Article:
    a = article.model_copy(deep=True)
    paragraphs = [p for p in a.body.split(PARAGRAPH_SEP) if p.strip()]
    doc_lang, a.paragraph_languages = languages(paragraphs)
    a.language = doc_lang if paragraphs else languages([a.title])[0]
    a.entities = entities(*entity_texts(a), home=home)
    a.dateline, a.author = settle_byline(a.dateline, a.author)
    a.places = geocode(a.entities.locations, a.dateline.place if a.dateline else None,
                       home=home)
    a.story_id, a.duplicate_of = assign(a, store)
    return a


def entity_texts(a: Article) -> tuple[list[str], list[str]]:
    """The Arabic and the English texts of an article (title, paragraphs, captions), by the
    languages detected (paragraph_languages set)."""
    paragraphs = [p for p in a.body.split(PARAGRAPH_SEP) if p.strip()]
    texts = [(detect(a.title), a.title), *zip(a.paragraph_languages, paragraphs, strict=True),
             *((detect(c), c) for c in a.captions)]
    return [t for lang, t in texts if lang == "ar"], [t for lang, t in texts if lang == "en"]


def assign(a: Article, store: SimilarityStore) -> Decision:
    """(story_id, duplicate_of). A redelivered article gets back what it was given before."""
    feats = features(a.normalized.title, a.normalized.body)
    at = a.timestamp().timestamp()
    bands = band_keys(signature(feats.story)) if len(feats.story) else []
    page = page_key(a.url)
    found = store.lookup(a.id, bands, at, page, MAX_CANDIDATES)  # one round trip
    if found.seen:
        return found.seen
    since = found.seq
    known = dict(found.candidates)
    for attempt in range(MAX_COMMIT_ATTEMPTS):
        decision = decide(a.id, feats, at, known, found.page_owner)
        story_at = next((k.story_at for k in known.values() if k.story_id == decision[0]), at)
        last = attempt == MAX_COMMIT_ATTEMPTS - 1
        result = store.commit(a.id, Known(*decision, at, story_at, feats), bands, page,
                              None if last else since)
        if result.status != "moved":
            break
        known |= store.get(list(result.arrivals))  # re-decide with what arrived meanwhile
        since = result.seq
    return result.seen or decision  # seen: a redelivery of this article was stored meanwhile


def decide(article_id: str, feats: Features, at: float, known: dict[str, Known],
           page_owner: str | None) -> Decision:
    """(story_id, duplicate_of) of an article at time `at` given the known articles it is
    compared with: a copy of the same page, else of the closest duplicate (in its story), else
    in the closest story opened within STORY_SPAN_S."""
    if page_owner in known:
        return _copy_of(page_owner, known[page_owner])
    copies = [(jaccard(feats.dup, k.features.dup), i) for i, k in known.items()
              if is_duplicate(feats, k.features)]
    if copies:
        best = max(copies)[1]
        return _copy_of(best, known[best])
    stories = [(jaccard(feats.story, k.features.story), i) for i, k in known.items()
               if k.story_at >= at - STORY_SPAN_S and same_story(feats, k.features)]
    return (known[max(stories)[1]].story_id if stories else article_id), None


def _copy_of(i: str, original: Known) -> tuple[str, str]:
    return original.story_id, original.duplicate_of or i  # point at the first copy
