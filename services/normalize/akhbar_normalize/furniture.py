"""Outlet furniture learned from the data: body lines that recur across many articles of one
outlet (link lines, agency end marks and timestamps, subscription blocks), and the «قسم / …»
section prefix of titles. Pure functions over an outlet's cleaned articles."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Sequence

_SPACES = re.compile(r"\s+")
_DIGITS = re.compile(r"\d+")  # any Unicode decimal digits: 0-9, ٠-٩, ۰-۹
DIGITS = "#"
TITLE = "[title]"
MIN_SHARE = 0.05
# A line recurs when at least this many articles carry it, whatever the outlet's size: a line
# seen once is never furniture.
MIN_COUNT = 2
# «عام / …», «اقتصادي / …»: one word of letters, a slash, then the headline.
SECTION_PREFIX = re.compile(r"^\s*(?P<section>[^\W\d_]+)\s*/\s*(?=\S)")

LineKey = Callable[[str, str], str]  # (line, the article's title) -> key


def line_text(line: str, title: str = "") -> str:
    """The line with its whitespace folded: the exact variant (the title plays no part)."""
    return _SPACES.sub(" ", line).strip()


def line_shape(line: str, title: str = "") -> str:
    """The line with its whitespace folded, the article's own title as TITLE and every run of
    digits as DIGITS, so that «20:26 ت م» and «9:03 ت م» are one shape, and so are the link
    lines that repeat the headline («رابط الخبر بصحيفة الوئام: <title>»)."""
    text, title = line_text(line), line_text(title)
    if title and title != text:
        text = text.replace(title, TITLE)
    return _DIGITS.sub(DIGITS, text)


def recurring_lines(articles: Sequence[tuple[str, Sequence[str]]], key: LineKey = line_shape,
                    min_share: float = MIN_SHARE) -> Counter[str]:
    """The line keys found in at least `min_share` of one outlet's `articles` (each its title
    and its body's paragraphs) and in at least MIN_COUNT of them, with the number of articles
    holding each (a line repeated within one body counts once)."""
    counts = Counter(k for title, lines in articles
                     for k in {key(line, title) for line in lines} if k)
    need = max(MIN_COUNT, min_share * len(articles))
    return Counter({k: n for k, n in counts.items() if n >= need})


def section_prefix(title: str) -> str | None:
    """The section a title begins with («عام / …» → «عام»), or None."""
    m = SECTION_PREFIX.match(title)
    return m["section"] if m else None
