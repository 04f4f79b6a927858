"""What is embedded of an article: its title and lead, cut to a token budget.

The model reads a news article's opening best (title and first lines carry the news) and its
cost grows with length (bench/embed.py): the title, then the body's lines in order, up to
PASSAGE_TOKENS tokens of the model's own tokenizer, cut at a word boundary.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from akhbar.contract import Article
from akhbar.embedding import token_count

PASSAGE_TOKENS = 128  # the "passage: " prefix and special tokens included
# Tokens are never shorter than one character: this many characters hold the budget and more,
# so the tokenizer is never asked about a whole long article.
_CHARS_PER_TOKEN_MAX = 8


def passage_text(article: Article | dict[str, Any], *, max_tokens: int = PASSAGE_TOKENS,
                 count: Callable[[str], int] = token_count) -> str:
    """Title and lead of an article (or of its indexed document), at most `max_tokens` tokens
    as `count` measures them; words are never split."""
    get = article.get if isinstance(article, dict) else lambda k: getattr(article, k, None)
    lines = [str(get("title") or "").strip(),
             *(ln.strip() for ln in str(get("body") or "").splitlines())]
    text = "\n".join(ln for ln in lines if ln)[:max_tokens * _CHARS_PER_TOKEN_MAX]
    if count(text) <= max_tokens:
        return text
    words = re.findall(r"\S+\s*", text)  # each word with the space or line break after it
    lo, hi = 0, len(words)  # the longest prefix of words within the budget, by bisection
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if count("".join(words[:mid]).rstrip()) <= max_tokens:
            lo = mid
        else:
            hi = mid - 1
    return "".join(words[:lo]).rstrip()
