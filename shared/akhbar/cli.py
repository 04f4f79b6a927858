"""The `akhbar` command: process files in-process, run the pipeline, inspect queues and dead
letters, search.

Installed packages add subcommands through the `akhbar.commands` entry-point group: each entry
is a function `register(subparsers)` (akhbar.plugins.CommandRegistrar) whose parsers set a
`run(args, settings) -> int` default.
A command that fails raises; `main` prints one line and returns the exit code (cli_errors).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import traceback
from collections.abc import Iterable, Iterator
from dataclasses import asdict
from itertools import islice
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

from pydantic import ValidationError

from akhbar import plugins
from akhbar.cli_errors import CliError, Exit, explain
from akhbar.contract import Article, ConfigError, SourceError
from akhbar.settings import Settings, get_settings, parse_field_map
from akhbar.stages import InProcessPipeline, StageContext
from akhbar.terminal import Progress, print_table, say

if TYPE_CHECKING:
    from elasticsearch import Elasticsearch


class Parser(argparse.ArgumentParser):
    """argparse with a usage error on one line (exit code 2, as argparse's own)."""

    def error(self, message: str) -> NoReturn:
        self.exit(Exit.USAGE, f"{self.prog}: {message}; see `{self.prog} --help`\n")


def build_parser() -> Parser:
    parser = Parser(prog="akhbar", description="Akhbar, the Arabic news pipeline: process "
                    "files in-process, run the pipeline, inspect queues and dead letters, search.",
                    epilog="exit codes: 0 done; 1 some inputs failed, or the failure printed; "
                    "2 usage (bad option, unknown name, unusable path); 3 Redis, Elasticsearch or "
                    "Kibana unreachable or failing; 4 configuration (AKHBAR_* settings, feeds "
                    "file, credentials); 5 a process of `akhbar run` ended by itself; "
                    "130 interrupted.")
    parser.add_argument("--debug", action="store_true",
                        help="print the traceback of an error, not only its one-line summary")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
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
    p.add_argument("--embed", action="store_true",
                   help="add each document's vector (`embedding`) as the embed stage would "
                        "(needs akhbar-embed installed)")
    p.set_defaults(run=cmd_process)
    sub.add_parser("status", help="queue depths and dead-letter counts per stage, the embed "
                                  "backlog").set_defaults(run=cmd_status)
    d = sub.add_parser("dlq", help="dead-lettered jobs")
    d.add_argument("action", choices=["list", "replay"])
    d.add_argument("stage", help="a stage of the route (`akhbar status` lists them)")
    d.add_argument("--limit", type=int, default=None,
                   help="at most this many entries (list: 100 by default; replay: all)")
    d.set_defaults(run=cmd_dlq)
    q = sub.add_parser("search", help="search the index: Arabic keywords and meaning, in any "
                                      "language")
    q.add_argument("query")
    q.add_argument("--size", type=int, default=10)
    q.add_argument("--mode", choices=["bm25", "dense", "hybrid"], default="hybrid",
                   help="bm25: keywords through the Arabic analyzers; dense: nearest article "
                        "vectors (a question in any language); hybrid (default): both, fused")
    q.add_argument("--json", action="store_true",
                   help="print the raw hits, one JSON object per line")
    q.set_defaults(run=cmd_search)
    from akhbar.run import register as register_run
    register_run(sub)
    for name in plugins.installed(plugins.COMMAND_GROUP):
        register: plugins.CommandRegistrar = plugins.load(plugins.COMMAND_GROUP, name, "command")
        register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    debug, settings = False, None
    try:
        args = build_parser().parse_args(argv)
        debug = args.debug
        settings = load_settings()
        return int(args.run(args, settings))
    except KeyboardInterrupt:
        say("akhbar: interrupted")
        return Exit.INTERRUPTED
    except BrokenPipeError:  # the reader went away (`akhbar dlq list | head`): not an error
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return Exit.OK
    except Exception as exc:
        if debug:
            traceback.print_exc()
        failure = explain(exc, settings)
        say(f"akhbar: {failure.message}")
        return failure.code


def load_settings() -> Settings:
    try:
        return get_settings()
    except ValidationError as exc:
        problems = "; ".join(f"AKHBAR_{'_'.join(map(str, e['loc'])).upper()}: {e['msg']}"
                             for e in exc.errors())
        raise CliError(f"bad setting: {problems}", Exit.CONFIG) from exc
    except ValueError as exc:  # Settings.check: values that contradict each other
        raise CliError(str(exc), Exit.CONFIG) from exc


def check_stage(stage: str, s: Settings) -> str:
    from akhbar.queues import stage_queues
    stages = stage_queues(s)
    if stage not in stages:
        raise CliError(f"no stage {stage!r} on the route; the stages are {', '.join(stages)} "
                       "(ingest, then AKHBAR_ROUTE)", Exit.USAGE)
    return stage


def field_map(text: str) -> dict[str, str]:
    try:
        return parse_field_map(text)
    except ValueError as exc:  # argparse shows only this type of error's own message
        raise argparse.ArgumentTypeError(str(exc)) from None


def input_files(paths: list[Path]) -> Iterator[Path]:
    for path in paths:
        if not path.exists():
            raise CliError(f"{path}: no such file or directory", Exit.USAGE)
        if path.is_dir():
            yield from sorted(p for p in path.iterdir()
                              if p.is_file() and not p.name.startswith("."))
        else:
            yield path


def cmd_process(args: argparse.Namespace, s: Settings) -> int:
    s = s.model_copy(update={k: v for k, v in (("inbox_field_map", args.map),
                                               ("inbox_strict", args.strict)) if v is not None})
    files = list(input_files(args.paths))
    embed: plugins.DocumentStage | None = None
    if args.embed:
        embed = plugins.load(plugins.DOCUMENT_GROUP, "embed", "document stage",
                             error=ConfigError)
    with JsonlSink(args.out) as sink:  # opened first: a bad --out fails before any work
        from_file: plugins.Reader = plugins.load(plugins.READER_GROUP, "inbox", "reader")
        pipeline = InProcessPipeline(StageContext(s))
        with Progress("processed", len(files), "files", sink.detail) as progress:
            for path in files:
                try:
                    result = from_file(path, max_bytes=s.max_file_bytes, settings=s)
                except (SourceError, OSError) as exc:
                    sink.failed(f"{path}: {exc}")
                    progress.advance()
                    continue
                for warning in result.warnings:
                    say(f"warning {path}: {warning}")
                for e in result.errors:
                    say(f"skipped {path} line {e['line']}: {e['error']}")
                def failed(_article: Article, exc: Exception, p: Path = path) -> None:
                    sink.failed(f"{p}: {type(exc).__name__}: {exc}")

                docs = pipeline.documents(result.articles, failed)
                # The model encodes a batch of texts faster than each alone.
                while chunk := list(islice(docs, s.embed_batch_size if embed else 1)):
                    if embed is not None:
                        embed(chunk, s)
                    sink.write(chunk)
                    progress.advance(0)  # a large .jsonl is one file of many documents
                progress.advance()
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
        say(f"failed {what}")
        self.failures += 1

    def detail(self) -> str:
        return f"{self.written} documents, {self.failures} failures"

    def report(self) -> int:
        """Print the summary; the exit status (1 if anything failed)."""
        say(f"{self.written} document(s) written to {'stdout' if self.name == '-' else self.name}"
            f", {self.failures} failure(s)")
        return Exit.FAILED if self.failures else Exit.OK


def redis_client(s: Settings) -> Any:
    from redis import Redis
    # A short connect timeout: a command should say Redis is unreachable, not hang.
    return Redis.from_url(s.redis_url, socket_connect_timeout=5)


def cmd_status(args: argparse.Namespace, s: Settings) -> int:
    from akhbar.deadletter import count_dead
    from akhbar.queues import skipped_key, stage_queues
    r = redis_client(s)
    print_table(("stage", "queued", "dead-lettered"),
                [(stage, str(r.llen(stage)), str(count_dead(r, stage)))
                 for stage in stage_queues(s)])
    # Kombu keeps delivered, not yet acknowledged messages (running, or waiting for a retry
    # delay) in one hash for all queues.
    print(f"held by workers (unacknowledged, incl. delayed retries): {r.hlen('unacked')}")
    for stage in s.route[len(s.keyword_route):]:
        print(f"{stage}: documents indexed but not sent to it (its queue at "
              f"AKHBAR_EMBED_BACKLOG_MAX={s.embed_backlog_max}): "
              f"{int(r.get(skipped_key(stage)) or 0)}")
    if "embed" in s.route:
        print(f"embed: documents in the index without a vector: {missing_vectors(s)}")
    return Exit.OK


def missing_vectors(s: Settings) -> str:
    """The embed stage's durable backlog, or why it cannot be counted now."""
    from elasticsearch import ApiError, TransportError

    from akhbar.embedding import missing_query
    from akhbar.es import ALIAS, make_client
    try:
        resp = make_client(s).options(request_timeout=5).count(index=ALIAS,
                                                                 query=missing_query())
        return str(resp["count"])
    except (ApiError, TransportError) as exc:
        return f"unknown ({explain(exc, s).message})"


def cmd_dlq(args: argparse.Namespace, s: Settings) -> int:
    from akhbar.deadletter import count_dead, list_dead, replay
    from akhbar.queues import make_app, send_jobs
    stage = check_stage(args.stage, s)
    r = redis_client(s)
    if args.action == "list":
        for entry in list_dead(r, stage, args.limit or 100):
            print(json.dumps({k: v for k, v in asdict(entry).items() if k != "payload"},
                             ensure_ascii=False))
        return Exit.OK
    app = make_app("akhbar_cli", s)
    total = count_dead(r, stage)
    total = total if args.limit is None else min(total, args.limit)
    with Progress("replayed", total, "jobs") as progress:
        def send(st: str, job: Any) -> None:
            send_jobs(app, st, [job], 1)
            progress.advance()
        n = replay(r, stage, send, args.limit)
    say(f"replayed {n} job(s) to {stage}")
    return Exit.OK


def cmd_search(args: argparse.Namespace, s: Settings) -> int:
    from akhbar.es import ALIAS, make_client
    from akhbar.search import search_body
    es = make_client(s)
    if args.mode == "bm25":
        resp = es.search(index=ALIAS, body=search_body(args.query, args.size))
        hits, total = resp["hits"]["hits"], resp["hits"]["total"]["value"]
    else:
        hits = semantic_hits(es, ALIAS, args.query, args.size, args.mode)
        total = len(hits)
    if args.json:  # JSON lines, like every other command's data
        for h in hits:
            print(json.dumps(h, ensure_ascii=False))
        return Exit.OK
    for h in hits:
        src, hl = h["_source"], h.get("highlight", {})
        print(f"{src.get('title', '')}  ({h['_score']:.3g}) "
              f"{src.get('source', {}).get('name', '')} {src.get('published_at') or ''}")
        for frag in hl.get("body", [])[:2]:
            print(f"   … {frag} …")
    say(f"{total} hit(s)")
    return Exit.OK


def semantic_hits(es: Elasticsearch, index: str, query: str, size: int,
                  mode: str) -> list[dict[str, Any]]:
    """`--mode dense`: the kNN hits. `--mode hybrid`: the keyword and kNN requests fused in the
    client (akhbar.search.fuse: RRF in the cluster needs an Enterprise licence), or the keyword
    hits alone, said once on stderr, while the model or the vectors are missing."""
    from elasticsearch import BadRequestError

    from akhbar import embedding
    from akhbar.search import WINDOW, fuse, knn_body, search_body
    depth = size if mode == "dense" else max(size, WINDOW)
    try:
        vector = embedding.query(query)
    except embedding.EmbeddingUnavailable as exc:
        dense, why = [], str(exc)
    else:
        why = ("the index holds no article vectors yet (the embed stage adds them after "
               "indexing)")
        try:
            dense = es.search(index=index, body=knn_body(vector.tolist(), depth))["hits"]["hits"]
        except BadRequestError as exc:  # an index created before the vector field was mapped
            if f"[{embedding.FIELD}] does not exist in the mapping" not in str(exc.body):
                raise
            dense, why = [], (f"the index maps no vector field {embedding.FIELD!r} yet (an index "
                              "created before the embed stage's template)")
    if mode == "dense":
        if not dense:
            raise CliError(f"no dense search: {why}", Exit.FAILED)
        return list(dense)
    keyword = es.search(index=index, body=search_body(query, depth))["hits"]["hits"]
    if not dense:
        say(f"akhbar: keyword results only: {why}")
        return list(keyword[:size])
    by_id = {h["_id"]: h for h in dense} | {h["_id"]: h for h in keyword}  # with highlights
    fused = fuse(query, [(h["_id"], h["_score"]) for h in keyword],
                 [(h["_id"], h["_score"]) for h in dense], size)
    return [by_id[doc] | {"_score": score} for doc, score in fused]
