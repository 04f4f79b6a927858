"""The `akhbar` command: process files in-process, inspect queues and dead letters, search.

Installed packages add subcommands through the `akhbar.commands` entry-point group: each entry
is a function `register(subparsers)` whose parsers set a `run(args, settings) -> int` default.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterable, Iterator
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import Progress
from rich.table import Table

from akhbar.contract import SourceError
from akhbar.settings import Settings, get_settings, parse_field_map
from akhbar.stages import SOURCE_GROUP, InProcessPipeline, StageContext

COMMAND_GROUP = "akhbar.commands"
err = Console(stderr=True)
out = Console()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="akhbar", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("process", help="run every stage in-process (no Redis, no Elasticsearch) "
                                       "and write the documents that would be indexed")
    p.add_argument("paths", nargs="+", type=Path, help="files or directories of inbox files")
    p.add_argument("--out", type=Path, required=True, help="output JSONL file ('-' = stdout)")
    p.add_argument("--map", type=field_map, default=None, metavar="NAME=FIELD,…",
                   help="JSON/JSONL field names to article fields, e.g. "
                        "content=body,date_extracted=retrieved_at (default: "
                        "AKHBAR_INBOX_FIELD_MAP)")
    p.add_argument("--strict", action="store_true", default=None,
                   help="reject records with unknown fields instead of ignoring the fields "
                        "(default: AKHBAR_INBOX_STRICT)")
    p.set_defaults(run=cmd_process)
    sub.add_parser("status", help="queue depths and dead-letter counts per stage").set_defaults(
        run=cmd_status)
    d = sub.add_parser("dlq", help="dead-lettered jobs")
    d.add_argument("action", choices=["list", "replay"])
    d.add_argument("stage")
    d.add_argument("--limit", type=int, default=None)
    d.set_defaults(run=cmd_dlq)
    q = sub.add_parser("search", help="search the index (Arabic-aware)")
    q.add_argument("query")
    q.add_argument("--size", type=int, default=10)
    q.add_argument("--json", action="store_true", help="print the raw hits as JSON")
    q.set_defaults(run=cmd_search)
    for ep in sorted(entry_points(group=COMMAND_GROUP), key=lambda ep: ep.name):
        ep.load()(sub)
    args = parser.parse_args(argv)
    s = get_settings()
    return int(args.run(args, s))


def field_map(text: str) -> dict[str, str]:
    try:
        return parse_field_map(text)
    except ValueError as exc:  # argparse shows only this type of error's own message
        raise argparse.ArgumentTypeError(str(exc)) from None


def input_files(paths: list[Path]) -> Iterator[Path]:
    for path in paths:
        if path.is_dir():
            yield from sorted(p for p in path.iterdir()
                              if p.is_file() and not p.name.startswith("."))
        else:
            yield path


def cmd_process(args: argparse.Namespace, s: Settings) -> int:
    from_file = next(iter(entry_points(group=SOURCE_GROUP, name="inbox"))).load()
    s = s.model_copy(update={k: v for k, v in (("inbox_field_map", args.map),
                                               ("inbox_strict", args.strict)) if v is not None})
    pipeline = InProcessPipeline(StageContext(s))
    files = list(input_files(args.paths))
    sink = JsonlSink(args.out)
    with sink, Progress(console=err, disable=not err.is_terminal, transient=True) as bar:
        task = bar.add_task("processing", total=len(files))
        for path in files:
            bar.advance(task)
            try:
                result = from_file(path, max_bytes=s.max_file_bytes, settings=s)
            except (SourceError, OSError) as exc:
                sink.failed(f"{path}: {exc}")
                continue
            for warning in result.warnings:
                err.print(f"[yellow]warning[/] {path}: {warning}")
            for e in result.errors:
                err.print(f"[yellow]skipped[/] {path} line {e['line']}: {e['error']}")
            sink.write(pipeline.documents(
                result.articles,
                lambda _a, exc, p=path: sink.failed(f"{p}: {type(exc).__name__}: {exc}")))
    return sink.report()


class JsonlSink:
    """Documents as JSON lines to a file or stdout ('-'), counting what failed on the way."""

    def __init__(self, out: Path | str) -> None:
        self.name, self.written, self.failures = str(out), 0, 0
        self.file = (sys.stdout if self.name == "-"
                     else open(self.name, "w", encoding="utf-8"))

    def __enter__(self) -> JsonlSink:
        return self

    def __exit__(self, *exc: object) -> None:
        if self.file is not sys.stdout:
            self.file.close()

    def write(self, docs: Iterable[dict[str, Any]]) -> None:
        for doc in docs:
            self.file.write(json.dumps(doc, ensure_ascii=False) + "\n")
            self.written += 1

    def failed(self, what: str) -> None:
        err.print(f"[red]failed[/] {what}")
        self.failures += 1

    def report(self) -> int:
        """Print the summary; the exit status (1 if anything failed)."""
        err.print(f"{self.written} document(s) written to {self.name}, "
                  f"{self.failures} failure(s)")
        return 1 if self.failures else 0


def _redis(s: Settings) -> Any:
    from redis import Redis
    return Redis.from_url(s.redis_url)


def cmd_status(args: argparse.Namespace, s: Settings) -> int:
    from akhbar.deadletter import count_dead
    from akhbar.queues import stage_queues
    r = _redis(s)
    table = Table("stage", "queued", "dead-lettered")
    for stage in stage_queues(s):
        table.add_row(stage, str(r.llen(stage)), str(count_dead(r, stage)))
    out.print(table)
    # Kombu keeps delivered, not yet acknowledged messages (running, or waiting for a retry
    # delay) in one hash for all queues.
    out.print(f"held by workers (unacknowledged, incl. delayed retries): {r.hlen('unacked')}")
    return 0


def cmd_dlq(args: argparse.Namespace, s: Settings) -> int:
    from akhbar.deadletter import list_dead, replay
    from akhbar.queues import make_app, send_jobs
    r = _redis(s)
    if args.action == "list":
        for entry in list_dead(r, args.stage, args.limit or 100):
            out.print(json.dumps({k: v for k, v in entry.__dict__.items() if k != "payload"},
                                 ensure_ascii=False))
        return 0
    app = make_app("akhbar_cli", s)
    n = replay(r, args.stage, lambda stage, job: send_jobs(app, stage, [job], 1), args.limit)
    out.print(f"replayed {n} job(s) to {args.stage}")
    return 0


def cmd_search(args: argparse.Namespace, s: Settings) -> int:
    from akhbar.es import ALIAS, make_client
    from akhbar.search import search_body
    resp = make_client(s).search(index=ALIAS, body=search_body(args.query, args.size))
    hits = resp["hits"]["hits"]
    if args.json:
        out.print_json(data=hits)
        return 0
    for h in hits:
        src, hl = h["_source"], h.get("highlight", {})
        out.print(f"[bold]{src.get('title', '')}[/]  ({h['_score']:.2f}) "
                  f"{src.get('source', {}).get('name', '')} {src.get('published_at') or ''}")
        for frag in hl.get("body", [])[:2]:
            out.print(f"   … {frag} …")
    out.print(f"{resp['hits']['total']['value']} hit(s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
