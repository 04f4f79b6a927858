"""What is embedded: title and lead within the token budget, on the seed articles (real data)
and on made-up edge cases, counted by the model's own tokenizer."""

from __future__ import annotations

from pathlib import Path

import pytest

from akhbar.contract import Article, Source, article_id, utcnow
from akhbar.embedding import token_count
from akhbar_embed.text import PASSAGE_TOKENS, passage_text


def seed(path: Path) -> dict[str, str]:
    title, _, body = path.read_text(encoding="utf-8").partition("\n")
    return {"title": title, "body": body}


def test_seed_passages_are_title_and_lead_within_the_budget(seeds: list[Path]) -> None:
    for path in seeds:
        doc = seed(path)
        text = passage_text(doc)
        whole = "\n".join(ln.strip() for ln in [doc["title"], *doc["body"].splitlines()]
                          if ln.strip())
        assert text.startswith(doc["title"].strip()), path.name
        assert whole.startswith(text), path.name  # the opening, cut between words
        assert whole[len(text)].isspace(), path.name
        # Full: one more word would not fit (the seeds are all longer than the budget).
        assert PASSAGE_TOKENS - 8 < token_count(text) <= PASSAGE_TOKENS, path.name
        assert token_count(whole[:len(text) + 1] + whole[len(text) + 1:].split()[0]) \
            > PASSAGE_TOKENS, path.name


def test_a_short_article_is_embedded_whole_and_articles_read_as_documents() -> None:
    article = Article(id=article_id(url=None, title="عنوان", body="x"), title=" مياه إربد ",
                      body="خط جديد\n\n  للمياه في إربد  \n", source=Source(name="t", kind="inbox"),
                      ingested_at=utcnow())
    assert passage_text(article) == "مياه إربد\nخط جديد\nللمياه في إربد"
    assert passage_text(article.document()) == passage_text(article)
    assert passage_text({"title": "", "body": ""}) == ""


@pytest.mark.parametrize("budget", [1, 10, 40])
def test_the_budget_is_kept_whatever_it_is(budget: int) -> None:
    doc = {"title": "عنوان الخبر", "body": "كلمة " * 500}
    text = passage_text(doc, max_tokens=budget)
    assert token_count(text) <= budget or text == ""
    assert text == "" or doc["title"].startswith(text) or text.startswith(doc["title"])
