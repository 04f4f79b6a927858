"""The inbox directory: claiming finished files, and filing them as processed or failed.

    inbox/            drop files here (write to a .part name and rename, or just write: a file
                      is taken once it has not been modified for `stable_seconds`)
    inbox/.work/      claimed, being ingested
    inbox/processed/  every job of the file was enqueued
    inbox/failed/     unusable, with <name>.error.json giving the reason

A file is claimed by an atomic rename into .work/, so two watchers or a watcher and the periodic
scan never ingest it twice. Only regular files directly in the inbox are considered: no
subdirectories, no hidden or partial files, no symlinks (which could point outside it).
"""

from __future__ import annotations

import json
import os
import stat
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from akhbar.contract import utcnow

PARTIAL_SUFFIXES = (".part", ".tmp", ".crdownload", ".partial", ".swp")
MAX_NAME_BYTES = 200
SYMLINK_REASON = ("symbolic links are not followed (the inbox only reads files that are "
                  "inside it)")


class Inbox:
    def __init__(self, root: Path, stable_seconds: float = 1.0) -> None:
        self.root = root.resolve()
        self.work, self.processed, self.failed = (self.root / d for d in
                                                  (".work", "processed", "failed"))
        self.stable_seconds = stable_seconds
        for d in (self.root, self.work, self.processed, self.failed):
            d.mkdir(parents=True, exist_ok=True)

    def candidates(self) -> Iterator[Path]:
        with os.scandir(self.root) as it:
            for entry in it:
                name = entry.name
                if name.startswith(".") or name.endswith(PARTIAL_SUFFIXES):
                    continue
                if entry.is_symlink():
                    self.fail_unclaimed(Path(entry.path), SYMLINK_REASON)
                    continue
                if entry.is_file(follow_symlinks=False):
                    yield Path(entry.path)

    def quiet(self, path: Path) -> bool:
        """True once the file has not been modified for `stable_seconds` (fully written)."""
        try:
            st = path.stat()
        except FileNotFoundError:
            return False
        now = time.time()
        # An mtime ahead of our clock (a copy keeping the times of a machine whose clock is
        # ahead) says nothing about when the file was written here; its inode change time does.
        changed = st.st_mtime if st.st_mtime <= now else st.st_ctime
        return now - changed >= self.stable_seconds

    def sweep(self, admit: Callable[[], bool] = lambda: True) -> Iterator[Path]:
        """Claim quiet candidates one at a time, each only if `admit()` says there is room
        (backpressure); stops at the first refusal. Yields each claimed path."""
        for path in self.candidates():
            if self.quiet(path):
                if not admit():
                    return
                if claimed := self.claim(path):
                    yield claimed

    def unclaim(self, claimed: Path) -> None:
        """Put a claimed file back (its job could not be sent)."""
        os.replace(claimed, _free(self.root / original_name(claimed)))

    def claim(self, path: Path) -> Path | None:
        """Move a finished file into .work/; None if someone else took it first, or if it is
        no longer a regular file (then it is filed as failed)."""
        target = self.work / f"{uuid.uuid4().hex[:12]}__{safe_name(path.name)}"
        try:
            os.rename(path, target)
        except FileNotFoundError:
            return None
        # Checked again once in .work/, where only ingest writes: the file may have been
        # replaced by a symlink (to anywhere) or a FIFO between the scan and the rename.
        if not stat.S_ISREG(os.lstat(target).st_mode):
            self.fail(target, SYMLINK_REASON if target.is_symlink() else "not a regular file")
            return None
        return target

    def claimed(self, name: str) -> Path:
        """Resolve a claimed file's name from a job; refuses anything outside .work/."""
        path = (self.work / name).resolve()
        if path.parent != self.work or not path.name:
            raise ValueError(f"{name!r} is not a file in the inbox work directory")
        return path

    def finish(self, claimed: Path, errors: list[dict[str, Any]] | None = None) -> Path:
        """File as processed; bad records of a partly good file are kept in failed/."""
        dest = _free(self.processed / original_name(claimed))
        os.replace(claimed, dest)
        if errors:
            _write_json(_free(self.failed / f"{dest.name}.error.json"), {
                "file": dest.name, "filed_as": "processed", "at": utcnow().isoformat(),
                "error": f"{len(errors)} record(s) rejected; the others were ingested",
                "rejected": errors})
        return dest

    def fail(self, claimed: Path, reason: str, name: str | None = None) -> Path:
        dest = _free(self.failed / (name or original_name(claimed)))
        os.replace(claimed, dest)
        _write_json(dest.with_name(dest.name + ".error.json"),
                    {"file": dest.name, "error": reason, "at": utcnow().isoformat()})
        return dest

    def fail_unclaimed(self, path: Path, reason: str) -> None:
        try:  # its name is still the one it was dropped with: made safe here
            self.fail(path, reason, safe_name(path.name))
        except FileNotFoundError:
            pass


def safe_name(name: str) -> str:
    """A name that is safe to show and to create: no control or bidi-override characters,
    no path separators, bounded length (the suffix is kept so the format stays known)."""
    # Bytes that are not UTF-8 (os.fsdecode keeps them as lone surrogates) become U+FFFD:
    # a surrogate cannot be encoded into the name, a log line or the error sidecar.
    name = os.fsencode(name).decode("utf-8", "replace")
    cleaned = "".join("_" if (ord(c) < 32 or c in "/\\\x7f" or 0x202A <= ord(c) <= 0x202E
                              or 0x2066 <= ord(c) <= 0x2069) else c for c in name)
    cleaned = cleaned.lstrip(".") or "unnamed"
    stem, dot, suffix = cleaned.rpartition(".")
    if not dot or len(suffix) > 10:
        stem, suffix = cleaned, ""
    while len((stem + dot + suffix).encode("utf-8")) > MAX_NAME_BYTES:
        stem = stem[:-1]
    return stem + (dot + suffix if suffix else "")


def original_name(claimed: Path) -> str:
    return claimed.name.split("__", 1)[-1]


def _free(path: Path) -> Path:
    """`path`, or `path` with a numeric suffix if that name is taken."""
    n, candidate = 1, path
    while candidate.exists():
        candidate = path.with_name(f"{path.stem}.{n}{path.suffix}")
        n += 1
    return candidate


def _write_json(path: Path, obj: Any) -> None:
    tmp = path.with_name("." + path.name + ".tmp")
    tmp.write_text(json.dumps(obj, ensure_ascii=False, indent=2), encoding="utf-8")
    os.replace(tmp, path)
