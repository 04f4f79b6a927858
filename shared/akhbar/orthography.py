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
_LETTERS: dict[str, str] = {
    "\u0670": "ا",  # dagger alef: a long a that modern spelling writes as ا (العٰلمين, السمٰوات)
    "ٱ": "ا",  # alef wasla
    "ٲ": "ا",  # alef with wavy hamza above
    "ٳ": "ا",  # alef with wavy hamza below
    "ک": "ك",  # Persian keheh
    "گ": "ك",  # Persian gaf
    "ڤ": "ف",  # veh, pe, tcheh, jeh: letters for foreign sounds, spelled ف ب ج ز by most writers
    "پ": "ب",
    "چ": "ج",
    "ژ": "ز",
    "ی": "ي",  # Farsi yeh
    "ے": "ي",  # Urdu yeh barree
    "ۀ": "ه",  # heh with yeh above
    "ہ": "ه",  # Urdu heh goal
    "ھ": "ه",  # heh doachashmee (Urdu keyboards)
    "ۃ": "ه",  # Urdu teh marbuta goal
    "ؤ": "ء",  # hamza seats fold to the bare hamza, so مسئول and مسؤول meet
    "ئ": "ء",
    "\u0640": "",  # tatweel
    "\u200c": "",  # zero-width non-joiner and joiner, LTR/RTL and Arabic letter marks:
    "\u200d": "",  # invisible, but they would split or glue tokens
    "\u200e": "",
    "\u200f": "",
    "\u061c": "",
}


def _is_mark(cp: int) -> bool:
    return unicodedata.category(chr(cp)) == "Mn"


def _presentation_form(cp: int) -> str:
    """The letters of an Arabic Presentation Forms-B character, folded ("" for harakat)."""
    letters = unicodedata.normalize("NFKC", chr(cp))
    return "".join(_LETTERS.get(c, c) for c in letters if unicodedata.category(c)[0] == "L")


CHAR_MAP: dict[str, str] = {
    **_LETTERS,
    # Marks arabic_normalization keeps (it removes U+064B-U+0652 only): maddah and hamza
    # above/below, further vowel signs, Quranic honorifics and annotation marks.
    **{chr(cp): "" for start, end in ((0x0610, 0x061A), (0x0653, 0x065F), (0x06D6, 0x06ED))
       for cp in range(start, end + 1) if _is_mark(cp)},
    # Contextual letter shapes and lam-alef ligatures of legacy encodings and PDF copies
    # (the normalize stage applies NFKC; the analyzer sees query text as typed).
    **{chr(cp): _presentation_form(cp) for cp in range(0xFE70, 0xFEFD)
       if unicodedata.name(chr(cp), "")},
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
