"""Line-level cleaning of scraped article text: what is body, what is caption, credit or date,
and what is page furniture. Pure functions over decoded text."""

from __future__ import annotations

import html
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field

from akhbar.orthography import search_form
from akhbar_normalize.datelines import Found, read_dateline
from akhbar_normalize.published import Candidate

# Whole lines that are page furniture (share/print/comment/ad widgets), compared on search form.
BOILERPLATE_LINES = {search_form(s) for s in [
    "شارك", "شارك الخبر", "مشاركة", "طباعة", "إعلان", "اعلان", "التعليقات", "تعليقات",
    "أضف تعليق", "أضف تعليقك", "اقرأ أيضا", "اقرأ أيضاً", "إقرأ أيضا", "اقرأ المزيد",
    "تابعونا", "تابعنا على", "أرسل لصديق", "حفظ", "تكبير الخط", "تصغير الخط", "المزيد",
    "Share", "Print", "Comments", "Advertisement",
]}
# Lines that start with a widget label followed by image alt text («طباعة روسيا تلاحق…»).
BOILERPLATE_PREFIX = re.compile(r"^(?:طباعة|شارك|Print|Share)\s+\S")
CREDIT = re.compile(r"^(?:المصدر|المصادر|Source)\s*[:：]\s*(?P<credit>.+)$")
# Photo credits that close an Arabic caption line: «… (أسوشيتد برس)», «… (الجزيرة)».
PHOTO_CREDITS = {search_form(s) for s in [
    "أسوشيتد برس", "أسوشيتدبرس", "رويترز", "الأوروبية", "الفرنسية", "الجزيرة", "غيتي",
    "غيتي إيميجز", "الأناضول", "أ ف ب", "أ.ف.ب", "الألمانية", "أرشيف", "الجزيرة نت",
    "مواقع التواصل", "مواقع التواصل الاجتماعي", "سانا", "واس", "EPA", "AP", "AFP", "Reuters",
    "Getty", "Getty Images",
]}
CAPTION_CREDIT = re.compile(r"\((?P<credit>[^()]{1,40})\)\s*$")
MAX_CAPTION_CHARS = 400
MAX_ALT_PREFIX_WORDS = 8
LATIN_SHARE = 0.8  # of letters, for a paragraph to count as an English caption
MIN_LATIN_WORDS = 5
_SPACES = re.compile(r"\s+")


@dataclass
class Cleaned:
    title: str
    paragraphs: list[str] = field(default_factory=list)
    captions: list[str] = field(default_factory=list)
    credit: str | None = None
    date: Candidate | None = None  # the opening lines' date stamp, taken out of the body
    dateline: Found | None = None


def clean_lines(text: str) -> list[str]:
    """NFKC (presentation forms → letters), HTML entities left by a scraper («&quot;», «&#39;»)
    read and stray byte-order marks (U+FEFF) dropped; one stripped line per non-empty line."""
    text = unicodedata.normalize("NFKC", html.unescape(text)).replace("\ufeff", "")
    return [ln for ln in (_SPACES.sub(" ", raw).strip() for raw in text.splitlines()) if ln]


def latin_share(line: str) -> float:
    letters = [c for c in line if c.isalpha()]
    if not letters:
        return 0.0
    return sum(1 for c in letters if c.isascii()) / len(letters)


def is_english_caption(line: str) -> bool:
    return latin_share(line) >= LATIN_SHARE and len(line.split()) >= MIN_LATIN_WORDS


def is_arabic_caption(line: str) -> bool:
    m = CAPTION_CREDIT.search(line)
    return (m is not None and len(line) <= MAX_CAPTION_CHARS
            and search_form(m["credit"]) in PHOTO_CREDITS)


def is_boilerplate(line: str) -> bool:
    return search_form(line).rstrip(":.،") in BOILERPLATE_LINES or bool(
        BOILERPLATE_PREFIX.match(line))


def clean(lines: list[str], title: str | None,
          date_of: Callable[[str], Candidate | None], date_lines: int = 5) -> Cleaned:
    """Split body lines into paragraphs, captions, credit, date and dateline.

    `title` None: the first non-boilerplate line is the title. `date_of` reads a line that is
    a date stamp (None for any other line, such as a sentence that mentions a date, which stays
    in the body); only the first `date_lines` lines after the title are tried (dates sit at the
    top of a page). A dateline is read only before the first paragraph: it leaves the body,
    and an inline one («… - سبق - جدة: ذكرت …») leaves its sentence as the first paragraph.
    """
    if title is None:  # the first line that is not page furniture
        while lines and is_boilerplate(lines[0]):
            lines = lines[1:]
        title, lines = (lines[0], lines[1:]) if lines else ("", [])
    out = Cleaned(title=title)
    seen = {search_form(title)}
    # English paragraphs are photo captions in an Arabic article, the text of an English one.
    english_captions = latin_share(title) < LATIN_SHARE
    for i, line in enumerate(lines):
        key = search_form(line)
        if key in seen or is_boilerplate(line):
            continue
        nxt = lines[i + 1] if i + 1 < len(lines) else ""
        # Image alt text followed by its full caption: «عبارة» then «عبارة "من أجل…" …».
        if (len(line.split()) <= MAX_ALT_PREFIX_WORDS and nxt != line
                and search_form(nxt).startswith(key + " ")):
            continue
        seen.add(key)
        if (out.dateline is None and not out.paragraphs and i < date_lines
                and (found := read_dateline(line)) is not None):
            out.dateline = found
            if found.rest:
                out.paragraphs.append(found.rest)
        elif m := CREDIT.match(line):
            out.credit = m["credit"].strip()
        elif out.date is None and i < date_lines and (d := date_of(line)) is not None:
            out.date = d
        elif (english_captions and is_english_caption(line)) or is_arabic_caption(line):
            out.captions.append(line)
        else:
            out.paragraphs.append(line)
    return out
