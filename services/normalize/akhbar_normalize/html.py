"""Main text and metadata from an HTML page (trafilatura: no navigation, comments or widgets)."""

from __future__ import annotations

from dataclasses import dataclass

import trafilatura
from trafilatura.settings import Document

from akhbar.contract import ContractError


class NoMainTextError(ContractError):
    """The page has no extractable article text: the job is dead-lettered."""


@dataclass(frozen=True)
class Page:
    title: str | None
    text: str
    date: str | None
    author: str | None
    url: str | None


def extract(html: str) -> Page:
    doc = trafilatura.bare_extraction(html, with_metadata=True, include_comments=False,
                                      include_tables=False, favor_precision=True)
    # A Document: without as_dict, bare_extraction never returns its dict form.
    if not isinstance(doc, Document) or not doc.text or not doc.text.strip():
        raise NoMainTextError("no main text found in the HTML page")
    return Page(title=doc.title, text=doc.text, date=doc.date, author=doc.author, url=doc.url)
