"""Language per paragraph and per document (lingua, restricted to the languages news in this
region is written in: fewer models, less memory, fewer confusions)."""

from __future__ import annotations

from functools import lru_cache

from lingua import Language, LanguageDetector, LanguageDetectorBuilder

LANGUAGES = [Language.ARABIC, Language.ENGLISH, Language.FRENCH, Language.PERSIAN,
             Language.URDU, Language.TURKISH, Language.HEBREW]
UNDETERMINED = "und"


@lru_cache(maxsize=1)
def detector() -> LanguageDetector:
    return LanguageDetectorBuilder.from_languages(*LANGUAGES).build()


def detect(text: str) -> str:
    """ISO 639-1 code of `text`, or 'und' when it has no letters or lingua cannot tell."""
    if not any(c.isalpha() for c in text):
        return UNDETERMINED
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
