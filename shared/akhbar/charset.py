"""Decoding input bytes: BOMs, strict UTF-8, then charset-normalizer restricted to the
encodings Arabic news actually arrives in.

Ingest calls `check_text` on every file before filing it (an undecodable, binary or empty file
is refused there, with the reason); normalize calls `decode` to get the text. Both live here so
that the two agree on what text is.
"""

from __future__ import annotations

import codecs
from html.parser import HTMLParser

from charset_normalizer import from_bytes

from akhbar.contract import SourceError

# Order matters only for ties; UTF-8 is tried strictly first anyway.
SUPPORTED = ["utf_8", "utf_16_le", "utf_16_be", "cp1256", "iso8859_6"]
_BOMS = [(codecs.BOM_UTF8, "utf_8_sig"), (codecs.BOM_UTF32_LE, "utf_32"),
         (codecs.BOM_UTF32_BE, "utf_32"), (codecs.BOM_UTF16_LE, "utf_16"),
         (codecs.BOM_UTF16_BE, "utf_16")]


class NotText(SourceError):
    """The bytes hold no text a reader could see; the message says why."""


class UndecodableError(NotText):
    """The bytes are not text in any supported encoding."""


def decode(data: bytes, declared: str | None = None) -> tuple[str, str]:
    """Return (text, encoding). `declared` (HTTP header, meta) is tried after BOMs and UTF-8."""
    for bom, enc in _BOMS:
        if data.startswith(bom):
            return _text(_strict(data, enc)), enc
    text = _utf8(data)
    if text is not None and "\x00" not in text:  # with NULs: UTF-16 without a BOM, or binary
        return text, "utf_8"
    if declared:
        try:
            return _text(data.decode(codecs.lookup(declared).name)), codecs.lookup(declared).name
        except (LookupError, UnicodeDecodeError):
            pass
    best = from_bytes(data, cp_isolation=SUPPORTED).best()
    if best is None or best.encoding not in SUPPORTED:
        raise UndecodableError(
            f"bytes are not valid text in any supported encoding ({', '.join(SUPPORTED)})")
    return _text(str(best)), best.encoding


def _utf8(data: bytes) -> str | None:
    """`data` as UTF-8, None if it is not. A last character cut off (a truncated copy) is
    dropped rather than the whole text decoded in another encoding."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        if exc.reason == "unexpected end of data":  # raised only for the final bytes
            return data[:exc.start].decode("utf-8")
        return None


def _text(text: str) -> str:
    if "\x00" in text:
        raise UndecodableError("binary content (NUL characters after decoding)")
    return text


def _strict(data: bytes, enc: str) -> str:
    try:
        return data.decode(enc)
    except UnicodeDecodeError as exc:
        raise UndecodableError(f"invalid {enc} after its byte-order mark: {exc}") from None


def check_text(data: bytes, media_type: str, declared: str | None = None) -> str:
    """The encoding `decode` finds for `data`; raises NotText when the bytes are not text or
    hold none once decoded (only whitespace, or for HTML only markup, scripts and styles)."""
    text, encoding = decode(data, declared)
    if not text.strip():
        raise NotText("no text once decoded")
    if media_type == "text/html" and not _html_has_text(text):
        raise NotText("no text once decoded (only markup)")
    return encoding


HTML_CHUNK = 8 * 1024  # parsed at a time: text usually shows in a page's first kilobytes


class _VisibleText(HTMLParser):
    """Notes character data outside <script>, <style> and <template> elements."""

    HIDDEN = {"script", "style", "template"}

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.hidden = 0
        self.found = False

    def handle_starttag(self, tag: str, attrs: object) -> None:
        self.hidden += tag in self.HIDDEN

    def handle_endtag(self, tag: str) -> None:
        if tag in self.HIDDEN and self.hidden:
            self.hidden -= 1

    def handle_data(self, data: str) -> None:
        self.found = self.found or (not self.hidden and not data.isspace())


def _html_has_text(text: str) -> bool:
    parser = _VisibleText()
    for start in range(0, len(text), HTML_CHUNK):
        parser.feed(text[start:start + HTML_CHUNK])
        if parser.found:
            return True
    parser.close()
    return parser.found
