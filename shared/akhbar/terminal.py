"""Output of the `akhbar` command. Data goes to stdout as plain text or JSON lines, never wrapped
or styled (it is read by programs as often as by people); messages go to stderr, one line each;
long work shows a progress bar on a terminal and a periodic one-line summary otherwise."""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Callable, Sequence
from types import TracebackType

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, TextColumn, TimeRemainingColumn
from rich.progress import Progress as Bar

PROGRESS_EVERY_S = 10.0


def say(message: str) -> None:
    """One message line on stderr."""
    print(message, file=sys.stderr, flush=True)


def print_table(head: Sequence[str], rows: Sequence[Sequence[str]]) -> None:
    """Left-aligned columns separated by two spaces, on stdout."""
    widths = [max(len(r[i]) for r in [head, *rows]) for i in range(len(head))]
    for r in [head, tuple("-" * w for w in widths), *rows]:
        print("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip())


def log_to_stderr(level: str) -> None:
    """Logging of the long-running commands (`akhbar watch`, `akhbar setup`)."""
    logging.basicConfig(level=level.upper(), stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s %(message)s")


class Progress:
    """`with Progress("processed", total, "files", detail) as p: … p.advance()`.

    On a terminal, a bar on stderr; otherwise a line such as `processed 340/1700 files, 5210
    documents, 2 failures` on stderr every `every_s` seconds. `detail()` gives the text after
    the count. The command prints its own summary at the end."""

    def __init__(self, verb: str, total: int, unit: str, detail: Callable[[], str] = lambda: "",
                 every_s: float | None = None) -> None:
        self.verb, self.total, self.unit, self.detail = verb, total, unit, detail
        self.every_s = PROGRESS_EVERY_S if every_s is None else every_s
        self.done = 0
        self.bar: Bar | None = None
        self.next_at = time.monotonic() + self.every_s

    def __enter__(self) -> Progress:
        if sys.stderr.isatty():
            # stdout is left alone: it may carry the command's data (`--out -`).
            self.bar = Bar(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                           TextColumn("{task.fields[detail]}"), TimeRemainingColumn(),
                           console=Console(stderr=True), transient=True,
                           redirect_stdout=False)
            self.bar.start()
            self.bar.add_task(self.verb, total=self.total, detail=self.detail())
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        if self.bar is not None:
            self.bar.stop()

    def advance(self, n: int = 1) -> None:
        """`n` more units done; 0 shows the detail's news (documents written within a file)."""
        self.done += n
        if self.bar is not None:
            self.bar.update(self.bar.task_ids[0], advance=n, detail=self.detail())
        elif time.monotonic() >= self.next_at:
            self.next_at = time.monotonic() + self.every_s
            say(self.line())

    def line(self) -> str:
        detail = self.detail()
        return (f"{self.verb} {self.done}/{self.total} {self.unit}"
                + (f", {detail}" if detail else ""))
