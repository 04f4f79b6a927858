"""Bad and borderline inbox inputs, generated, each with the outcome it must have, and the
runner that drops them into an inbox and handles them with the real ingest code.

Nothing is shipped: each case's `make` writes its input at run time (large ones sparse). `run`
works as the deployment does, on a real Redis: `submit` (the watcher's scan and claim, one
ingest message per file), `file_jobs` (the ingest task's body) for each message, then every
stage's messages through `process_jobs` (what each stage worker runs) down the route; the jobs
the index stage passes are the documents that would be written. Whatever escapes that code is
recorded as a crash of its case, never raised.

    # starts its own redis-server; prints case → outcome
    .venv/bin/python -m akhbar_testkit.bad_inputs --table
"""

from __future__ import annotations

import argparse
import base64
import gzip
import hashlib
import json
import logging
import os
import resource
import signal
import sys
import tempfile
import time
import traceback
import zipfile
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass
from functools import cache, partial
from pathlib import Path
from typing import Any, cast

from akhbar_ingest.inbox import original_name, safe_name

MAX_FILE_BYTES = 2 * 1024 * 1024  # AKHBAR_MAX_FILE_BYTES of the run: over-limit files are cheap
SECRET = "OUTSIDE-THE-INBOX-7f3a9c"  # in the files outside the inbox: must appear nowhere
BOMB_MIB = 1024  # the gzip and zip bombs expand to 1 GiB
CASE_TIMEOUT_S = 120  # a case still running after this is stuck (e.g. blocked opening a FIFO)

TITLE = "أمطار غزيرة تغمر شوارع الرياض وتعطل الدراسة"
PARAS = [
    "شهدت العاصمة السعودية الرياض يوم الاثنين أمطارا غزيرة أدت إلى غمر عدد من الشوارع "
    "الرئيسية وتعطل حركة السير في أحياء عدة.",
    "وأعلنت وزارة التعليم تعليق الدراسة الحضورية في المدارس الحكومية والأهلية حفاظا على "
    "سلامة الطلاب والمعلمين.",
    "وقال الدفاع المدني إن فرقه تعاملت مع عشرات البلاغات خلال الساعات الماضية دون تسجيل "
    "إصابات.",
]
ARTICLE = TITLE + "\n" + "\n".join(PARAS) + "\n"
RU_ARTICLE = ("Сильные дожди затопили улицы Эр-Рияда\n"
              "В понедельник в саудовской столице прошли сильные дожди, затопившие несколько "
              "главных улиц.\nМинистерство образования приостановило занятия в школах.\n")
EN_TITLE = "Heavy rain floods the streets of Riyadh"
EN_PARAS = [
    "Heavy rain flooded several main streets of the Saudi capital on Monday and disrupted "
    "traffic across the city.",
    "The ministry of education suspended classes in public and private schools to keep pupils "
    "and teachers safe.",
]
FA_TITLE = "باران شدید خیابان‌های تهران را فرا گرفت"
FA_PARAS = [
    "باران شدید روز دوشنبه چندین خیابان اصلی تهران را آب گرفت و رفت‌وآمد در شهر مختل شد.",
    "مقامات شهری گفتند که گروه‌های امدادی تمام شب برای بازگشایی راه‌ها و وصل دوباره برق "
    "کار کردند.",
]


# Expected outcomes -------------------------------------------------------------------------

@dataclass(frozen=True)
class Processed:
    """Filed in processed/; `docs` documents pass every stage; `rejected` bad lines are
    listed in failed/<name>.error.json."""
    docs: int
    rejected: int = 0

    def __str__(self) -> str:
        lines = f", {self.rejected} line(s) rejected" if self.rejected else ""
        return f"processed → {self.docs} doc(s){lines}"


@dataclass(frozen=True)
class Failed:
    """Filed in failed/ with <name>.error.json whose reason contains `reason`."""
    reason: str

    def __str__(self) -> str:
        return f"failed: …{self.reason}…"


@dataclass(frozen=True)
class DeadLettered:
    """Ingest sent its job (filed in processed/); the job is dead-lettered at `stage`."""
    stage: str
    reason: str

    def __str__(self) -> str:
        return f"dead-lettered at {self.stage}: …{self.reason}…"


@dataclass(frozen=True)
class LeftAlone:
    """Not taken: still in the inbox, nothing filed, nothing sent."""

    def __str__(self) -> str:
        return "left in the inbox"


@dataclass(frozen=True)
class Vanished:
    """Removed while being handled: nothing filed, nothing sent, no crash."""

    def __str__(self) -> str:
        return "gone (nothing filed or sent)"


Expected = Processed | Failed | DeadLettered | LeftAlone | Vanished


# Cases -------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Ctx:
    root: Path  # the inbox
    outside: Path  # a directory beside it, whose files must not be read or changed


Maker = Callable[[Path, Ctx], object]  # what it returns is ignored


@dataclass(frozen=True)
class Case:
    name: str
    filename: str  # in the inbox (undecodable bytes as os.fsdecode gives them)
    how: str
    make: Maker
    expect: Expected
    # "drop": made before the scan; "race": `mutate` runs between the scan and the claim;
    # "claimed": `mutate` runs on the claimed file before the ingest task handles it.
    when: str = "drop"
    mutate: Maker | None = None
    title: str | None = None  # of the first document
    body_has: str | None = None
    language: str | None = None


def data(raw: bytes) -> Maker:
    return lambda path, ctx: path.write_bytes(raw)


def text(s: str, encoding: str = "utf-8") -> Maker:
    return data(s.encode(encoding))


def record(**fields: Any) -> dict[str, Any]:
    return {"title": TITLE, "body": "\n\n".join(PARAS), "source": "spa", **fields}


def jsonl(*lines: Any) -> bytes:
    return b"\n".join(ln if isinstance(ln, bytes) else json.dumps(ln, ensure_ascii=False).encode()
                      for ln in lines) + b"\n"


def html(body: str, head: str = "", doctype: str = "<!DOCTYPE html>") -> str:
    return (f'{doctype}<html lang="ar" dir="rtl"><head><meta charset="utf-8">{head}</head>'
            f"<body>{body}</body></html>")


ARTICLE_HTML = ("<nav>الرئيسية | سياسة | اقتصاد</nav><article><h1>" + TITLE + "</h1>"
                + "".join(f"<p>{p}</p>" for p in PARAS) + "</article><footer>شارك طباعة</footer>")


def long_text(size: int) -> bytes:
    """Distinct Arabic lines (repeated lines are dropped by normalize), exactly `size` bytes."""
    line = "السطر رقم {} من تقرير طويل جدا عن الأمطار والسيول في مناطق المملكة\n"
    out, i = bytearray((TITLE + "\n").encode()), 0
    while len(out) < size:
        out += line.format(i).encode()
        i += 1
    del out[out.rindex(b"\n", 0, size) + 1:]
    return bytes(out.ljust(size, b" "))


def sparse(size: int) -> Maker:
    def make(path: Path, ctx: Ctx) -> None:
        with path.open("wb") as f:
            f.truncate(size)  # no data blocks written
    return make


@cache
def zip_bomb() -> bytes:
    out = Path(tempfile.mkdtemp()) / "bomb.zip"
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as z, \
            z.open("news.txt", "w", force_zip64=True) as f:
        for _ in range(BOMB_MIB):
            f.write(bytes(1 << 20))
    raw = out.read_bytes()
    out.unlink()
    out.parent.rmdir()
    return raw


def gzip_bomb() -> bytes:
    # Concatenated members are one gzip stream: 1 GiB of zeros in ~1 MB, made in a millisecond.
    return gzip.compress(bytes(1 << 20), compresslevel=9) * BOMB_MIB


def lazy(make_bytes: Callable[[], bytes]) -> Maker:
    return lambda path, ctx: path.write_bytes(make_bytes())


def folder_with_a_file(path: Path, ctx: Ctx) -> None:
    path.mkdir()
    (path / "a.txt").write_text(ARTICLE)


def symlink(target: Callable[[Ctx], Path]) -> Maker:
    return lambda path, ctx: path.symlink_to(target(ctx))


def future_mtime(path: Path, ctx: Ctx) -> None:
    path.write_text(ARTICLE, encoding="utf-8")
    later = time.time() + 86400
    os.utime(path, (later, later))


def swap_for_symlink(path: Path, ctx: Ctx) -> None:
    path.unlink()
    path.symlink_to(ctx.outside / "secret.txt")


def swap_for_fifo(path: Path, ctx: Ctx) -> None:
    path.unlink()
    os.mkfifo(path)


def remove(path: Path, ctx: Ctx) -> None:
    path.unlink()


def make_outside(ctx: Ctx) -> None:
    ctx.outside.mkdir(parents=True, exist_ok=True)
    (ctx.outside / "secret.txt").write_text(f"{TITLE}\n{SECRET}\n", encoding="utf-8")
    (ctx.outside / "linked.txt").write_text(ARTICLE, encoding="utf-8")
    os.mkfifo(ctx.outside / "fifo")


def elf() -> bytes:
    """The start of a real executable: ELF header and machine code, NUL bytes throughout."""
    return Path(sys.executable).resolve().read_bytes()[:65536]


XXE = ('<!DOCTYPE html [<!ENTITY xxe SYSTEM "file://{secret}"><!ENTITY a "AAAAAAAAAA">'
       '<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;"><!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">]>')
MIXED = (TITLE + "\n" + PARAS[0] + "\n").encode() + "\n".join(PARAS[1:]).encode("cp1256")
CUT = ARTICLE.encode()[:-3]  # ends inside the last letter (…إصابات. → …إصاب + half a letter)
BAD_BYTES = os.fsdecode(b"bad-\xff\xfe")
NO_SYMLINKS = Failed("symbolic links are not followed")

CASES: list[Case] = [
    # Unusable as a whole, whatever the format.
    Case("empty-txt", "empty.txt", "0 bytes", data(b""), Failed("file is empty")),
    Case("whitespace-txt", "blank.txt", "spaces, tabs, CRLFs", data(b" \t\r\n \n\t"),
         Failed("file is empty")),
    Case("empty-json", "empty.json", "0 bytes", data(b""), Failed("file is empty")),
    Case("blank-lines-jsonl", "blank.jsonl", "only blank lines", data(b"\n\n  \n"),
         Failed("file is empty")),
    Case("no-extension", "README", "Arabic text, no suffix", text(ARTICLE),
         Failed("unsupported file type '(none)'")),
    Case("unsupported-png", "photo.png", "PNG signature", data(b"\x89PNG\r\n\x1a\n" + bytes(64)),
         Failed("unsupported file type '.png'")),
    Case("real-gzip", "news.txt.gz", "gzip bomb with its own .gz suffix", lazy(gzip_bomb),
         Failed("unsupported file type '.gz'")),
    Case("over-limit", "big.txt", f"valid Arabic text, {MAX_FILE_BYTES} + 1 bytes",
         data(long_text(MAX_FILE_BYTES + 1)),
         Failed(f"above the limit of {MAX_FILE_BYTES} bytes (AKHBAR_MAX_FILE_BYTES)")),
    Case("sparse-200mb-txt", "huge.txt", "200 MB sparse file (truncate: no data written)",
         sparse(200_000_000), Failed("file is 200000000 bytes, above the limit")),
    Case("sparse-200mb-jsonl", "huge.jsonl", "200 MB sparse file", sparse(200_000_000),
         Failed("file is 200000000 bytes, above the limit")),
    # .json: one article object.
    Case("json-array", "array.json", "[{…article…}]", data(json.dumps([record()]).encode()),
         Failed("an article must be a JSON object, got array")),
    Case("json-string", "string.json", '"text"', data(b'"\xd8\xae\xd8\xa8\xd8\xb1"'),
         Failed("an article must be a JSON object, got string")),
    Case("json-number", "number.json", "42", data(b"42"),
         Failed("an article must be a JSON object, got number")),
    Case("json-null", "null.json", "null", data(b"null"),
         Failed("an article must be a JSON object, got null")),
    Case("json-invalid", "invalid.json", "truncated object", data(b'{"title": "x", "body":'),
         Failed("file is not valid JSON: Expecting value")),
    # Unknown fields are dropped (named in one warning per file; AKHBAR_INBOX_STRICT rejects).
    Case("json-unknown-field", "unknown.json", "a `content` field beside title and body",
         data(json.dumps(record(content="x"), ensure_ascii=False).encode()), Processed(1),
         title=TITLE, body_has=PARAS[1]),
    Case("json-no-text", "notext.json", "title and body blank",
         data(b'{"title": " ", "body": ""}'), Failed("article has neither title nor body")),
    Case("json-title-number", "titlenum.json", "title is a number",
         data(b'{"title": 7, "body": "x"}'), Failed("title and body must be strings")),
    Case("json-bad-source", "source.json", "source object without kind",
         data(json.dumps(record(source={"name": "spa"})).encode()),
         Failed("source.kind: Field required")),
    Case("json-long-url", "longurl.json", "url of 3000 characters",
         data(json.dumps(record(url="https://example.com/" + "a" * 3000)).encode()),
         Failed("url: String should have at most 2048 characters")),
    Case("json-deep-nesting", "deep.json", "100k nested arrays",
         data(b"[" * 100_000 + b"]" * 100_000), Failed("file is nested too deeply")),
    Case("json-huge-integer", "bigint.json", "author is a 5000-digit number",
         data(b'{"title": "x", "author": ' + b"7" * 5000 + b"}"),
         Failed("file is not valid JSON: Exceeds the limit (4300 digits)")),
    Case("json-lone-surrogate", "surrogate.json", 'title with the escape "\\ud800"',
         data(b'{"title": "\\ud800 x", "body": "y"}'), Failed("lone surrogate")),
    Case("json-cp1256", "cp1256.json", "an article object in Windows-1256",
         data(json.dumps(record(), ensure_ascii=False).encode("cp1256")),
         Failed("file is not valid JSON: 'utf-8' codec can't decode")),
    Case("json-gzip-bomb", "bomb.json", "gzip bomb (1 GiB of zeros) renamed .json",
         lazy(gzip_bomb), Failed("file is not valid JSON")),
    Case("json-utf16", "utf16.json", "article object in UTF-16 with BOM",
         data(json.dumps(record(), ensure_ascii=False).encode("utf-16")), Processed(1),
         title=TITLE),
    Case("json-bom", "bom.json", "UTF-8 with BOM", data(b"\xef\xbb\xbf" + json.dumps(
        record(), ensure_ascii=False).encode()), Processed(1), title=TITLE),
    Case("json-title-only", "titleonly.json", "only a title",
         data(json.dumps({"title": TITLE}, ensure_ascii=False).encode()), Processed(1),
         title=TITLE),
    # .jsonl: one object per line; bad lines reported, good ones kept.
    Case("jsonl-partly-bad", "batch.jsonl",
         "6 lines: 3 good, invalid JSON, an array, one with an unknown field (dropped)",
         data(jsonl(record(url="https://example.com/1"), b'{"title": "x",',
                    record(url="https://example.com/2", title=TITLE + " ٢"), [record()],
                    record(url="https://example.com/3", title=TITLE + " ٣"),
                    record(url="https://example.com/4", extra=1))),
         Processed(4, rejected=2), title=TITLE),
    Case("jsonl-all-bad", "allbad.jsonl", "two bad lines", data(b"{\n[]\n"),
         Failed("no valid article line (2 bad)")),
    Case("jsonl-deep-line", "deepline.jsonl", "a good line, then 100k nested arrays",
         data(jsonl(record(url="https://example.com/5"), b"[" * 100_000 + b"]" * 100_000)),
         Processed(1, rejected=1), title=TITLE),
    Case("jsonl-utf16", "utf16.jsonl", "two lines in UTF-16 with BOM",
         data(jsonl(record(url="https://example.com/6"), record(url="https://example.com/7"))
              .decode().encode("utf-16")), Processed(2), title=TITLE),
    Case("jsonl-crlf", "crlf.jsonl", "two lines, CRLF endings",
         data(jsonl(record(url="https://example.com/8"), record(url="https://example.com/9"))
              .replace(b"\n", b"\r\n")), Processed(2), title=TITLE),
    Case("jsonl-zip-bomb", "bomb.jsonl", "zip bomb (1 GiB of zeros) renamed .jsonl",
         lazy(zip_bomb), Failed("no valid article line")),
    # .txt: checked to be text at ingest (refused there, before filing, when it is not);
    # normalize decodes and cleans.
    Case("arabic-txt", "arabic.txt", "UTF-8 Arabic article", text(ARTICLE), Processed(1),
         title=TITLE, body_has=PARAS[2], language="ar"),
    Case("uppercase-suffix", "ARABIC2.TXT", "suffix in capitals", text(ARTICLE + "٢\n"),
         Processed(1), title=TITLE),
    Case("cp1256-txt", "cp1256.txt", "Windows-1256 Arabic", text(ARTICLE, "cp1256"),
         Processed(1), title=TITLE, body_has=PARAS[1]),
    Case("iso8859-6-txt", "iso.txt", "ISO-8859-6 Arabic", text(ARTICLE + "ا\n", "iso8859_6"),
         Processed(1), title=TITLE),
    Case("utf8-bom-txt", "bom.txt", "UTF-8 with BOM", data(b"\xef\xbb\xbf" + ARTICLE.encode()),
         Processed(1), title=TITLE),
    Case("utf16-bom-txt", "utf16.txt", "UTF-16 with BOM", text(ARTICLE, "utf-16"),
         Processed(1), title=TITLE),
    Case("utf16-no-bom-txt", "utf16le.txt", "UTF-16-LE without BOM", text(ARTICLE, "utf-16-le"),
         Processed(1), title=TITLE, body_has=PARAS[0]),
    Case("crlf-txt", "crlf.txt", "CRLF line endings", text(ARTICLE.replace("\n", "\r\n")),
         Processed(1), title=TITLE, body_has=PARAS[1]),
    Case("title-only-txt", "titleonly.txt", "one line", text(TITLE + " فقط"), Processed(1),
         title=TITLE + " فقط"),
    Case("english-txt", "english.txt", "an English article",
         text("\n".join([EN_TITLE, *EN_PARAS])), Processed(1), title=EN_TITLE,
         body_has=EN_PARAS[1], language="en"),
    Case("persian-txt", "persian.txt", "a Persian article", text("\n".join([FA_TITLE, *FA_PARAS])),
         Processed(1), title=FA_TITLE, body_has=FA_PARAS[1], language="fa"),
    Case("truncated-utf8", "cut.txt", "UTF-8 cut inside its last character", data(CUT),
         Processed(1), title=TITLE, body_has=PARAS[2][:-5]),
    Case("mixed-encodings", "mixed.txt", "UTF-8 lines, then Windows-1256 lines", data(MIXED),
         Failed("not valid text in any supported encoding")),
    Case("binary-txt", "garbage.txt", "8 KB of random bytes",
         data(hashlib.shake_256(b"garbage").digest(8192)),
         Failed("not valid text in any supported encoding")),
    Case("nul-bytes", "nul.txt", "UTF-8 Arabic with NUL bytes inside",
         data(ARTICLE.encode().replace(b"\n", b"\x00\x00\n", 1)),
         Failed("binary content (NUL characters")),
    Case("control-chars", "ctrl.txt", "every ASCII byte incl. controls, repeated",
         data(bytes(range(128)) * 16), Failed("binary content")),
    Case("txt-gzip-bomb", "bomb.txt", "gzip bomb (1 GiB of zeros) renamed .txt", lazy(gzip_bomb),
         Failed("not valid text in any supported encoding")),
    Case("one-line-txt", "oneline.txt", "3,000 characters of words on one line, no line break",
         text(" ".join(["كلمة"] * 600)),
         DeadLettered("normalize", "title has 2999 characters, above the limit of 1000")),
    Case("boilerplate-only", "furniture.txt", "only share/print/ad lines",
         text("شارك\nطباعة\nإعلان\n"), DeadLettered("normalize", "no text left after cleaning")),
    Case("bom-only", "bomonly.txt", "a UTF-8 BOM and nothing else", data(b"\xef\xbb\xbf"),
         Failed("no text once decoded")),
    Case("elf-txt", "program.txt", "an executable (ELF) named .txt", lazy(elf),
         Failed("not valid text in any supported encoding")),
    Case("koi8r-txt", "russian.txt", "Russian in KOI8-R (an 8-bit encoding not supported)",
         text(RU_ARTICLE, "koi8_r"), Failed("not valid text in any supported encoding")),
    Case("at-limit", "atlimit.txt", f"exactly {MAX_FILE_BYTES} bytes of distinct lines",
         data(long_text(MAX_FILE_BYTES)),
         DeadLettered("normalize", "above the limit of 200000 (AKHBAR_MAX_ARTICLE_CHARS)")),
    # .html: main text extracted by normalize.
    Case("article-html", "article.html", "an Arabic article page", text(html(
        ARTICLE_HTML, f"<title>{TITLE}</title>")), Processed(1), title=TITLE,
        body_has=PARAS[1]),
    Case("cp1256-html", "cp1256.html", "the page in Windows-1256 (meta charset)", text(html(
        ARTICLE_HTML, f"<title>{TITLE}</title>").replace("utf-8", "windows-1256"), "cp1256"),
        Processed(1), title=TITLE),
    Case("html-entities", "entities.html", "DOCTYPE declaring an external entity to a file "
         "outside the inbox and nested entities", lambda path, ctx: path.write_text(html(
             ARTICLE_HTML.replace("</article>", "<p>&xxe; &c;</p></article>"),
             f"<title>{TITLE}</title>", XXE.format(secret=ctx.outside / "secret.txt")),
             encoding="utf-8"), Processed(1), title=TITLE),
    Case("script-style-only", "scripts.html", "only <script> and <style>", text(html(
        "<script>document.write('خبر عاجل عن الأمطار')</script>",
        "<style>p{color:red}</style><script>var x = 1;</script>")),
        Failed("no text once decoded (only markup)")),
    Case("empty-html", "empty.html", "0 bytes", data(b""), Failed("file is empty")),
    Case("markup-only-html", "blank.html", "a page skeleton without any text", text(html(
        "<div class='content'>\n  <p></p>\n</div>", "<title> </title>")),
        Failed("no text once decoded (only markup)")),
    Case("nested-divs", "nested.html", "100k nested <div>", text(html(
        "<div>" * 100_000 + "".join(f"<p>{p}</p>" for p in PARAS) + "</div>" * 100_000)),
        DeadLettered("normalize", "no main text found in the HTML page")),
    Case("html-zip-bomb", "bomb.html", "zip bomb (1 GiB of zeros) renamed .html", lazy(zip_bomb),
         Failed("not valid text in any supported encoding")),
    # Names.
    Case("name-dot-dot", "..\\..\\escape.txt", "'..\\..\\' ('/' cannot be in a name): hidden",
         text(ARTICLE + "١\n"), LeftAlone()),
    Case("name-backslash-dots", "x\\..\\..\\escape.txt", "'x\\..\\..\\escape.txt'",
         text(ARTICLE + "٨\n"), Processed(1), title=TITLE),
    Case("name-newline", "line\nbreak.txt", "a newline in the name", text(ARTICLE + "٢\n"),
         Processed(1)),
    Case("name-long", "ع" * 124 + ".txt", "252-byte name", text(ARTICLE + "٣\n"), Processed(1)),
    Case("name-rtl-override", "invoice\u202etxt.exe.txt", "U+202E in the name",
         text(ARTICLE + "٤\n"), Processed(1)),
    Case("name-double-underscore", "a__b.txt", "the claim separator '__' in the name",
         text(ARTICLE + "٥\n"), Processed(1)),
    Case("name-undecodable", BAD_BYTES + ".txt", "bytes 0xff 0xfe (not UTF-8) in the name",
         text(ARTICLE + "٦\n"), Processed(1)),
    Case("name-undecodable-failed", BAD_BYTES + ".png", "undecodable name, unsupported type",
         data(b"\x89PNG"), Failed("unsupported file type '.png'")),
    # Links, special files and timing.
    Case("symlink-outside", "link.txt", "symlink to a file outside the inbox",
         symlink(lambda ctx: ctx.outside / "secret.txt"), NO_SYMLINKS),
    Case("symlink-fifo", "fifo-link.txt", "symlink to a FIFO outside (opening it would block)",
         symlink(lambda ctx: ctx.outside / "fifo"), NO_SYMLINKS),
    Case("symlink-dangling", "dangling.txt", "symlink to nothing",
         symlink(lambda ctx: ctx.outside / "absent.txt"), NO_SYMLINKS),
    Case("symlink-odd-name", "evil__\nlink.txt", "symlink whose name has '__' and a newline",
         symlink(lambda ctx: ctx.outside / "secret.txt"), NO_SYMLINKS),
    Case("swapped-for-symlink", "swapped.txt", "regular at the scan, a symlink to outside at the "
         "claim", text(ARTICLE + "٧\n"), NO_SYMLINKS, when="race",
         mutate=swap_for_symlink),
    Case("swapped-for-fifo", "swapped2.txt", "regular at the scan, a FIFO at the claim "
         "(reading it would block)", text(ARTICLE + "٩\n"), Failed("not a regular file"),
         when="race", mutate=swap_for_fifo),
    Case("hardlink", "hardlink.txt", "hard link to a file outside (the same file, not a "
         "reference)", lambda path, ctx: os.link(ctx.outside / "linked.txt", path), Processed(1),
         title=TITLE),
    Case("removed-before-claim", "gone1.txt", "deleted between the scan and the claim",
         text(ARTICLE), Vanished(), when="race", mutate=remove),
    Case("removed-while-handled", "gone2.txt", "deleted after the claim, before ingest reads it",
         text(ARTICLE), Vanished(), when="claimed", mutate=remove),
    Case("future-mtime", "future.txt", "mtime a day ahead (copied from a clock ahead of ours)",
         future_mtime, Processed(1), title=TITLE),
    Case("hidden", ".hidden.txt", "hidden name", text(ARTICLE), LeftAlone()),
    Case("partial", "upload.txt.part", ".part suffix", text(ARTICLE), LeftAlone()),
    Case("partial-crdownload", "page.html.crdownload", ".crdownload suffix", text(ARTICLE),
         LeftAlone()),
    Case("fifo", "pipe.txt", "a FIFO in the inbox", lambda path, ctx: os.mkfifo(path),
         LeftAlone()),
    Case("directory", "folder.txt", "a directory with a file inside",
         folder_with_a_file, LeftAlone()),
]

assert len({c.name for c in CASES}) == len(CASES)
assert len({safe_name(c.filename) for c in CASES}) == len(CASES), "filed names must not collide"


# Running -----------------------------------------------------------------------------------

class Stuck(BaseException):
    """Raised by the watchdog alarm; a BaseException so that no handler swallows it."""


def _on_alarm(signum: int, frame: Any) -> None:
    raise Stuck(f"still running after {CASE_TIMEOUT_S}s (blocked?)")


def pop_all(redis: Any, queue: str) -> list[Any]:
    """The task argument of every message waiting in `queue` (kombu's JSON envelope)."""
    out = []
    while (raw := redis.rpop(queue)) is not None:
        out.append(json.loads(base64.b64decode(json.loads(raw)["body"]))[0][0])
    return out


def snapshot(base: Path, skip: Path) -> dict[str, list[Any]]:
    """Every path under `base` except `skip`: kind, size, mtime and content hash (no reads
    of anything that is not a regular file)."""
    out: dict[str, list[Any]] = {}
    for dirpath, dirnames, filenames in os.walk(base):
        if Path(dirpath) == skip:
            dirnames.clear()
            continue
        for name in dirnames + filenames:
            p = Path(dirpath) / name
            if p == skip:
                continue
            st = p.lstat()
            digest = (hashlib.sha256(p.read_bytes()).hexdigest()
                      if p.is_file() and not p.is_symlink() else None)
            out[str(p.relative_to(base))] = [st.st_mode, st.st_size, st.st_mtime_ns, digest]
    return out


def run(base: Path) -> dict[str, Any]:
    """Generate every case under base/inbox and handle it; the observed outcomes. Needs the
    AKHBAR_* environment `main` sets."""
    from akhbar.queues import INGEST, make_app
    from akhbar.settings import get_settings
    from akhbar.worker import StageRuntime, forward, process_jobs
    from akhbar_ingest import jobs

    s, root = get_settings(), base / "inbox"
    if s.inbox != root or s.max_file_bytes != MAX_FILE_BYTES or s.inbox_stable_seconds:
        raise RuntimeError("run() needs the environment set by main() (see its docstring)")
    ctx = Ctx(root=root, outside=base / "outside")
    make_outside(ctx)
    root.mkdir(parents=True)
    outside_before = snapshot(base, root)
    for case in CASES:
        if case.when != "race":
            case.make(root / case.filename, ctx)
    app, ingest_rt = make_app("bad_inputs", s), StageRuntime(INGEST, s)
    box, redis = jobs.inbox(s), ingest_rt.redis
    runtimes = {stage: StageRuntime(stage, s) for stage in s.keyword_route}
    dlq_stages = ["ingest", *s.keyword_route]
    outcomes: dict[str, dict[str, Any]] = {
        c.name: {"docs": [], "dead": [], "crash": None, "seconds": 0.0} for c in CASES}
    errors: list[str] = []  # exceptions that belong to no single case

    def downstream() -> list[dict[str, Any]]:
        docs = []
        for stage in s.keyword_route:
            for message in pop_all(redis, stage):
                done, failed = process_jobs(runtimes[stage], message)
                if failed:
                    raise RuntimeError(f"transient failure at {stage}: {failed[0][1]!r}")
                forward(app, runtimes[stage], done)
                if stage == s.keyword_route[-1]:
                    docs += [env.article.document() for _, env in done]
        return docs

    def handle(case: Case, action: Callable[[], None]) -> None:
        o, t0 = outcomes[case.name], time.perf_counter()
        dead_before = {st: cast(int, redis.llen(f"akhbar:dlq:{st}")) for st in dlq_stages}
        signal.alarm(CASE_TIMEOUT_S)
        try:
            action()
            o["docs"] += downstream()
        except (Exception, Stuck):
            o["crash"] = traceback.format_exc()
        finally:
            signal.alarm(0)
        for st, n in dead_before.items():
            o["dead"] += [{k: v for k, v in json.loads(raw).items() if k != "payload"}
                          for raw in cast(list[bytes], redis.lrange(f"akhbar:dlq:{st}", n, -1))]
        o["seconds"] = round(o["seconds"] + time.perf_counter() - t0, 3)

    def race(case: Case) -> None:
        path = root / case.filename
        case.make(path, ctx)
        scanned = [p for p in box.candidates() if p.name == case.filename]  # Inbox.sweep…
        assert case.mutate is not None
        case.mutate(path, ctx)  # …meanwhile the file changes…
        for p in scanned:  # …then the claim, as Inbox.sweep does
            if box.quiet(p) and (claimed := box.claim(p)):
                jobs.file_jobs(app, ingest_rt, {"file": claimed.name})

    def ingest(case: Case, message: dict[str, Any]) -> None:
        if case.when == "claimed" and case.mutate is not None:
            case.mutate(box.work / message["file"], ctx)
        jobs.file_jobs(app, ingest_rt, message)

    signal.signal(signal.SIGALRM, _on_alarm)
    by_filed = {safe_name(c.filename): c for c in CASES}
    try:
        # the watcher: claim every quiet file, one ingest message each
        jobs.submit(app, box, lambda: jobs.room_for(redis, s, "inbox sweep"))
    except Exception:
        errors.append("submit: " + traceback.format_exc())
    for message in pop_all(redis, "ingest"):
        filed = by_filed.get(original_name(Path(message["file"])))
        if filed is None:
            errors.append(f"an ingest message for no case: {message!r}")
            continue
        handle(filed, partial(ingest, filed, message))
    for case in CASES:
        if case.when == "race":
            handle(case, partial(race, case))
    return {"outcomes": outcomes, "errors": errors,
            "outside_before": outside_before, "outside_after": snapshot(base, root),
            "base_entries": sorted(os.listdir(base)),
            "work_left": sorted(os.listdir(box.work)),
            "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024}


# Judging -----------------------------------------------------------------------------------

def observe(case: Case, root: Path) -> dict[str, Any]:
    """Where the case's file is now, and its sidecar."""
    filed = safe_name(case.filename)
    sidecar = root / "failed" / f"{filed}.error.json"
    return {"in_inbox": os.path.lexists(root / case.filename),
            "processed": os.path.lexists(root / "processed" / filed),
            "failed": os.path.lexists(root / "failed" / filed),
            "in_work": any(original_name(p) == filed for p in (root / ".work").iterdir()),
            "sidecar": json.loads(sidecar.read_text(encoding="utf-8"))
            if sidecar.exists() else None}


def problems(case: Case, o: dict[str, Any]) -> list[str]:
    """How the observed outcome `o` (run's record merged with observe()) differs from the
    expected one; empty when the case ends as it must."""
    if o["crash"]:
        return [f"an exception escaped: {o['crash'].strip().splitlines()[-1]}"]
    e, docs, dead, side = case.expect, o["docs"], o["dead"], o["sidecar"]
    place = ("in_inbox" if isinstance(e, LeftAlone) else "failed" if isinstance(e, Failed)
             else None if isinstance(e, Vanished) else "processed")
    out = [f"{k} is {o[k]}, expected {k == place}" for k in
           ("in_inbox", "processed", "failed", "in_work") if o[k] != (k == place)]
    if isinstance(e, Failed):
        if side is None:
            out.append("no .error.json sidecar")
        elif e.reason not in side["error"]:
            out.append(f"sidecar reason {side['error']!r} lacks {e.reason!r}")
    elif isinstance(e, Processed) and e.rejected:
        if len((side or {}).get("rejected", [])) != e.rejected:
            out.append(f"expected {e.rejected} rejected line(s) in the sidecar, got {side}")
    elif side is not None:
        out.append(f"unexpected sidecar: {side['error']!r}")
    want_docs = e.docs if isinstance(e, Processed) else 0
    if len(docs) != want_docs:
        out.append(f"{len(docs)} document(s), expected {want_docs}")
    if isinstance(e, DeadLettered):
        if len(dead) != 1 or dead[0]["stage"] != e.stage or e.reason not in dead[0]["message"]:
            out.append(f"dead letters {[(d['stage'], d['message']) for d in dead]}, expected "
                       f"one at {e.stage} with {e.reason!r}")
    elif dead:
        out.append(f"unexpected dead letter at {dead[0]['stage']}: {dead[0]['message']!r}")
    if docs:
        doc = docs[0]
        if case.title is not None and doc["title"] != case.title:
            out.append(f"title {doc['title'][:80]!r}, expected {case.title!r}")
        if case.body_has is not None and case.body_has not in doc["body"]:
            out.append(f"body lacks {case.body_has[:40]!r}…: {doc['body'][:120]!r}")
        if case.language is not None and doc["language"] != case.language:
            out.append(f"language {doc['language']!r}, expected {case.language!r}")
    return out


def describe(o: dict[str, Any]) -> str:
    side = o["sidecar"]
    if o["crash"]:
        return "CRASH: " + str(o["crash"]).strip().splitlines()[-1]
    if o["failed"]:
        return f"failed: {side['error'] if side else '(no sidecar)'}"
    if o["dead"]:
        d = o["dead"][0]
        return f"dead-lettered at {d['stage']}: {d['error_class']}: {d['message']}"
    if o["processed"]:
        rejected = f", {len(side['rejected'])} line(s) rejected" if side else ""
        return f"processed → {len(o['docs'])} doc(s){rejected}"
    if o["in_inbox"]:
        return "left in the inbox"
    return "stuck in .work/" if o["in_work"] else "gone (nothing filed or sent)"


def table(results: dict[str, Any], root: Path, width: int = 110) -> str:
    """Markdown table: case | made by | expected | observed | ok."""
    rows = ["| case | made by | expected | observed | |", "|---|---|---|---|---|"]
    bad = 0
    for case in CASES:
        o = {**results["outcomes"][case.name], **observe(case, root)}
        wrong = problems(case, o)
        bad += bool(wrong)
        seen = describe(o).replace("\n", " ").replace("|", "/")
        seen = seen if len(seen) <= width else seen[:width - 1] + "…"
        mark = "ok" if not wrong else "**" + "; ".join(wrong).replace("|", "/")[:200] + "**"
        rows.append(f"| {case.name} | {case.how.replace('|', '/')} | {case.expect} | {seen} "
                    f"| {mark} |")
    rows.append(f"\n{len(CASES)} cases, {bad} not as expected; peak RSS of the run "
                f"{results['peak_rss_mb']} MB")
    return "\n".join(rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--table", action="store_true", help="print case → outcome")
    parser.add_argument("--json", type=Path, help="write the observed outcomes to this file")
    parser.add_argument("--redis-url", help="a Redis to use (flushed); default: start one")
    parser.add_argument("--dir", type=Path, help="where to generate (default: a temporary "
                        "directory); must not hold an inbox/ or outside/ yet")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.ERROR)  # dead-lettering warnings are the expected ones
    with ExitStack() as stack:
        tmp = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="akhbar-bad-")))
        base = (args.dir or tmp / "corpus").resolve()
        url = args.redis_url
        if url is None:
            from akhbar_testkit.harness import RedisServer
            server = RedisServer(tmp / "redis")
            stack.callback(server.stop)
            url = server.url
        base.mkdir(parents=True, exist_ok=True)
        os.environ.update(AKHBAR_REDIS_URL=url, AKHBAR_INBOX=str(base / "inbox"),
                          AKHBAR_INBOX_STABLE_SECONDS="0",
                          AKHBAR_MAX_FILE_BYTES=str(MAX_FILE_BYTES))
        from redis import Redis
        Redis.from_url(url).flushall()
        results = run(base)
        if args.json:
            args.json.write_text(json.dumps(results), encoding="utf-8")
        if args.table or not args.json:
            print(table(results, base / "inbox"))
            for error in results["errors"]:
                print(error)
    return 0


if __name__ == "__main__":
    sys.exit(main())
