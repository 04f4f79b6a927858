"""The normalize stage: raw bytes or JSON fields → clean display text, captions, credit,
dateline, publication date and the search-normalised forms."""

from __future__ import annotations

from datetime import datetime
from functools import partial

from akhbar.charset import decode
from akhbar.contract import PARAGRAPH_SEP, Article, ContractError, Normalized, article_id
from akhbar.orthography import search_form
from akhbar.settings import Settings
from akhbar.stages import ProcessFn, StageContext
from akhbar_normalize.cleaning import clean, clean_lines
from akhbar_normalize.datelines import read_byline
from akhbar_normalize.dates import looks_like_date, parse_date
from akhbar_normalize.html import extract


def make(ctx: StageContext) -> ProcessFn:
    return partial(process, settings=ctx.settings)


def process(article: Article, settings: Settings) -> Article:
    tz = settings.default_timezone

    def date_line(line: str) -> datetime | None:
        return parse_date(line, tz) if looks_like_date(line) else None

    a = article.model_copy(deep=True)
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
    if a.published_raw and a.published_at is None:
        a.published_at = parse_date(a.published_raw, tz)
    # The dateline: its date ranks after metadata and before a date in the opening lines. An
    # author field that is a byline («الرياض - واس», «محمد داوود (جدة)») keeps its persons
    # only, and is the dateline when the body has none.
    byline = read_byline(a.author) if a.author else None
    if a.author:
        a.author = byline.author if byline else a.author.strip() or None  # «\xa0خلف الحربي»
    if (found := cleaned.dateline or byline) is not None:
        a.dateline, a.author = found.dateline, a.author or found.author
        a.credit = found.dateline.agency or a.credit
        if a.published_at is None and found.date is not None:
            a.published_at = parse_date(found.date, tz)
            a.published_raw, a.published_source = found.dateline.raw, "dateline"
    if a.published_at is None and cleaned.date is not None:
        a.published_at, a.published_raw = cleaned.date, cleaned.date_raw
        a.published_source = "body"
    a.title = cleaned.title
    a.body = PARAGRAPH_SEP.join(cleaned.paragraphs)
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
