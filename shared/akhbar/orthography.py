"""Arabic orthography for matching: one definition shared by index time and query time.

`CHAR_MAP` is the same table as the `akhbar_orthography` mapping char filter in
infra/elasticsearch/index-template.json (a test keeps the two equal); `search_form` applies it
plus what Elasticsearch's `lowercase`, `decimal_digit` and `arabic_normalization` filters do,
so the normalize stage produces exactly the text the analyzer would match on.
"""

from __future__ import annotations

import re
import unicodedata

# Letters Elasticsearch's arabic_normalization leaves alone, folded before tokenising.
CHAR_MAP: dict[str, str] = {
    "\u0670": "ا",  # dagger (superscript) alef
    "ٱ": "ا",  # alef wasla
    "ک": "ك",  # Persian keheh
    "گ": "ك",  # Persian gaf
    "ی": "ي",  # Farsi yeh
    "ے": "ي",  # Urdu yeh barree
    "ۀ": "ه",  # heh with yeh above
    "ہ": "ه",  # Urdu heh goal
    "ۃ": "ه",  # Urdu teh marbuta goal
    "ؤ": "ء",  # hamza seats fold to the bare hamza, so مسئول and مسؤول meet
    "ئ": "ء",
    "\u0640": "",  # tatweel
    **{chr(0x0660 + d): str(d) for d in range(10)},  # Arabic-Indic digits
    **{chr(0x06F0 + d): str(d) for d in range(10)},  # Eastern Arabic-Indic digits
}

# What arabic_normalization does (Lucene ArabicNormalizer).
_ALEF_FORMS = str.maketrans({"أ": "ا", "إ": "ا", "آ": "ا", "ى": "ي", "ة": "ه"})
_HARAKAT = re.compile("[\u064b-\u0652]")
_CHAR_TABLE = str.maketrans(CHAR_MAP)
_SPACES = re.compile(r"[^\S\n]+")
_OTHER_DIGITS = re.compile(r"(?![0-9])\d")  # decimal digits of other scripts


def search_form(text: str) -> str:
    """The search-normalised form of `text` (display text stays untouched elsewhere)."""
    text = unicodedata.normalize("NFKC", text).translate(_CHAR_TABLE)
    text = _HARAKAT.sub("", text).translate(_ALEF_FORMS).lower()
    text = _OTHER_DIGITS.sub(lambda m: str(unicodedata.decimal(m[0])), text)
    return _SPACES.sub(" ", text).strip()
