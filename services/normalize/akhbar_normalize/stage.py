"""The normalize stage: raw bytes or JSON fields → clean display text, captions, credit,
dateline, publication date and the search-normalised forms."""

from __future__ import annotations

from functools import partial

from akhbar.charset import decode
from akhbar.contract import PARAGRAPH_SEP, Article, ContractError, Normalized, article_id
from akhbar.orthography import search_form
from akhbar.settings import Settings
from akhbar.stages import ProcessFn, StageContext
from akhbar_normalize.cleaning import clean, clean_lines
from akhbar_normalize.datelines import read_byline
from akhbar_normalize.dates import looks_like_date, parse_date
from akhbar_normalize.furniture import (
    Furniture,
    MemoryFurniture,
    RedisFurniture,
    load_seed,
    strip,
)
from akhbar_normalize.html import extract
from akhbar_normalize.published import Candidate, choose, stamp, url_date


def make(ctx: StageContext) -> ProcessFn:
    seed = load_seed()
    furniture: Furniture = (MemoryFurniture(seed) if ctx.redis is None
                            else RedisFurniture(ctx.redis, seed))
    return partial(process, settings=ctx.settings, furniture=furniture)


def process(article: Article, settings: Settings, furniture: Furniture | None = None) -> Article:
    """`furniture`: the outlet furniture learner (akhbar_normalize.furniture); None removes
    only the hand-listed widget words and leaves a title's section prefix in place."""
    tz = settings.default_timezone
    a = article.model_copy(deep=True)
    # Relative dates count back from when the item was fetched, never from the clock.
    base = a.retrieved_at or a.ingested_at

    def date_line(line: str) -> Candidate | None:
        return stamp(line, "body", base, tz)

    title: str | None = a.title or None
    if a.raw is not None:
        text, _encoding = decode(a.raw.data(), a.raw.charset)
        if a.raw.media_type == "text/html":
            page = extract(text)
            text, title = page.text, page.title or title
            a.url = a.url or page.url
            a.author = a.author or page.author
            a.published_raw = a.published_raw or page.date
        a.raw = None
    else:
        text = a.body
    title_lines = clean_lines(title) if title else []
    # No title given: the first non-empty line is the title (the inbox .txt convention).
    cleaned = clean(clean_lines(text), title_lines[0] if title_lines else None, date_line)
    # The dateline: an opening dateline, else an author field that is a byline («الرياض - واس»,
    # «محمد داوود (جدة)»), which keeps its persons only.
    author = " ".join(clean_lines(a.author)) if a.author else ""  # «&quot;», «\xa0خلف الحربي»
    byline = read_byline(author) if author else None
    a.author = byline.author if byline else author or None
    dated = None
    if (found := cleaned.dateline or byline) is not None:
        a.dateline, a.author = found.dateline, a.author or found.author
        a.credit = found.dateline.agency or a.credit
        if found.date is not None and (at := parse_date(found.date, tz)) is not None:
            dated = Candidate(at, found.dateline.raw, "dateline")
    # The publication time: the most trusted candidate that is not after the retrieval.
    metadata = (Candidate(a.published_at, a.published_raw or a.published_at.isoformat(),
                          "metadata") if a.published_at is not None
                else stamp(a.published_raw, "metadata", base, tz) if a.published_raw else None)
    candidates = [c for c in (metadata, dated, url_date(a.url, tz), cleaned.date)
                  if c is not None]
    if (chosen := choose(candidates, a.retrieved_at, a.ingested_at)) is not None:
        a.published_at, a.published_raw = chosen.at, chosen.raw
        a.published_source = chosen.source
    else:
        a.published_at = a.published_source = None
    section, a.title, paragraphs = (  # outlet furniture, learned (akhbar_normalize.furniture)
        strip(cleaned.title, cleaned.paragraphs, a.source.name, furniture, looks_like_date)
        if furniture is not None else (None, cleaned.title, cleaned.paragraphs))
    a.section = section or a.section
    a.body = PARAGRAPH_SEP.join(paragraphs)
    a.captions, a.credit = cleaned.captions, cleaned.credit or a.credit
    if not (a.title or a.body):
        raise ContractError("no text left after cleaning")
    if len(a.body) > settings.max_article_chars:
        raise ContractError(f"body has {len(a.body)} characters, above the limit of "
                            f"{settings.max_article_chars} (AKHBAR_MAX_ARTICLE_CHARS)")
    if len(a.title) > settings.max_title_chars:
        raise ContractError(f"title has {len(a.title)} characters, above the limit of "
                            f"{settings.max_title_chars} (AKHBAR_MAX_TITLE_CHARS)")
    a.normalized = Normalized(title=search_form(a.title), body=search_form(a.body))
    if a.url is None:  # content id from the decoded, cleaned text, whatever its encoding was
        a.id = article_id(url=None, title=a.title, body=a.body)
    return a
