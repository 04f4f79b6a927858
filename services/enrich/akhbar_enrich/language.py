"""Language per paragraph and per document.

Arabic-script text without a letter of the Persian, Urdu or other extended alphabets is Arabic:
that decides most paragraphs of Arabic news at no cost. Everything else goes to lingua,
restricted to the languages news in this region is written in (fewer models, less memory,
fewer confusions) and in its low-accuracy mode, which is reliable on paragraph-length text and
holds a fraction of the memory; models load on first use."""

from __future__ import annotations

import re
from functools import lru_cache

from lingua import Language, LanguageDetector, LanguageDetectorBuilder

LANGUAGES = [Language.ARABIC, Language.ENGLISH, Language.FRENCH, Language.PERSIAN,
             Language.URDU, Language.TURKISH, Language.HEBREW]
UNDETERMINED = "und"
_ARABIC_LETTER = re.compile("[\u0621-\u064A]")
# Letters outside the Arabic alphabet proper (Persian, Urdu, Kurdish, …) and Latin letters.
_OTHER_LETTER = re.compile("[\u0671-\u06D3\u06FA-\u06FFA-Za-z\u00C0-\u024F]")
ARABIC_SHARE = 0.97


@lru_cache(maxsize=1)
def detector() -> LanguageDetector:
    return LanguageDetectorBuilder.from_languages(*LANGUAGES).with_low_accuracy_mode().build()


def plainly_arabic(text: str) -> bool:
    if _OTHER_LETTER.search(text) is None:  # most paragraphs: one scan, nothing to count
        return _ARABIC_LETTER.search(text) is not None
    arabic = len(_ARABIC_LETTER.findall(text))
    return arabic > 0 and arabic >= ARABIC_SHARE * (arabic + len(_OTHER_LETTER.findall(text)))


def detect(text: str) -> str:
    """ISO 639-1 code of `text`, or 'und' when it has no letters or lingua cannot tell."""
    if not any(c.isalpha() for c in text):
        return UNDETERMINED
    if plainly_arabic(text):
        return "ar"
    lang = detector().detect_language_of(text)
    return lang.iso_code_639_1.name.lower() if lang is not None else UNDETERMINED


def languages(paragraphs: list[str]) -> tuple[str, list[str]]:
    """(document language by share of characters, language of each paragraph)."""
    per = [detect(p) for p in paragraphs]
    weight: dict[str, int] = {}
    for lang, p in zip(per, paragraphs, strict=True):
        if lang != UNDETERMINED:
            weight[lang] = weight.get(lang, 0) + len(p)
    return (max(weight, key=weight.__getitem__) if weight else UNDETERMINED), per
