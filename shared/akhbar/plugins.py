"""The plugin protocols: what an installed package registers, under which entry-point group.

- `akhbar.stages`: a `StageFactory`, called with a StageContext, returning the stage's pure
  `process(article) -> article` (akhbar.stages).
- `akhbar.sources`: a `Source` kind, named by a feed's `kind`: `fetch(feed, ctx) -> SourceResult`
  (akhbar_ingest.sources; feeds declared in AKHBAR_FEEDS_FILE).
- `akhbar.readers`: a `Reader` of inbox files, `read_file(path, …) -> ReadResult`: the inbox
  worker and `akhbar process` use the one named `inbox` (akhbar_ingest.formats).
- `akhbar.workers`: the Celery module (`celery -A`) of a stage with glue of its own (ingest,
  index); a stage without one runs in the generic `akhbar.stage_app` (akhbar.stages).
- `akhbar.documents`: a `DocumentStage`, the in-process form of a stage after index (embed):
  it adds its fields to the documents `akhbar process` writes (`--embed`).
- `akhbar.commands`: a `CommandRegistrar` adding subcommands to the `akhbar` command
  (akhbar.cli).
"""

from __future__ import annotations

import argparse
from importlib.metadata import entry_points
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from akhbar.contract import Article
from akhbar.settings import Settings

if TYPE_CHECKING:  # the types of the packages that implement the protocols
    from akhbar.stages import ProcessFn, StageContext
    from akhbar_ingest.sources import FeedConfig, SourceContext, SourceResult

STAGE_GROUP = "akhbar.stages"
SOURCE_GROUP = "akhbar.sources"
READER_GROUP = "akhbar.readers"
WORKER_GROUP = "akhbar.workers"
COMMAND_GROUP = "akhbar.commands"
DOCUMENT_GROUP = "akhbar.documents"


class StageFactory(Protocol):
    def __call__(self, ctx: StageContext, /) -> ProcessFn: ...


class Source(Protocol):
    def __call__(self, feed: FeedConfig, ctx: SourceContext, /) -> SourceResult: ...


class ReadResult(Protocol):
    """The articles of a file, its bad records ({"line": n, "error": …}), its warnings."""

    articles: list[Article]
    errors: list[dict[str, Any]]
    warnings: list[str]


class Reader(Protocol):
    """Raises SourceError (the file goes to failed/ with the reason) when nothing is usable."""

    def __call__(self, path: Path, /, *, max_bytes: int | None = None,
                 settings: Settings | None = None, name: str | None = None) -> ReadResult: ...


class DocumentStage(Protocol):
    """Adds a stage's fields to documents, in place, in one batch."""

    def __call__(self, docs: list[dict[str, Any]], settings: Settings, /) -> None: ...


class CommandRegistrar(Protocol):
    def __call__(self, subparsers: argparse._SubParsersAction[Any], /) -> None: ...


def installed(group: str) -> list[str]:
    return sorted(ep.name for ep in entry_points(group=group))


def registered(group: str, name: str) -> str | None:
    """What `name` is registered as in `group` (its object reference), not loaded; None if
    nothing is."""
    found = entry_points(group=group, name=name)
    return next(iter(found)).value if found else None


def load(group: str, name: str, what: str, error: type[Exception] = LookupError) -> Any:
    """The object registered as `name` in `group`; else `error` naming the `what`s installed."""
    found = entry_points(group=group, name=name)
    if not found:
        raise error(f"no {what} {name!r} installed (installed: {installed(group)})")
    return next(iter(found)).load()
