"""`akhbar similar ID`: the articles nearest to one by meaning, from other stories (kNN with the
document's own vector), registered through the `akhbar.commands` entry-point group."""

from __future__ import annotations

import argparse
import json
from typing import Any

from akhbar.cli_errors import CliError, Exit
from akhbar.embedding import FIELD
from akhbar.settings import Settings


def register(sub: Any) -> None:
    p = sub.add_parser("similar", help="the articles of other stories nearest in meaning to a "
                                       "document (it needs its vector: see `akhbar status`)")
    p.add_argument("id", help="the document's id")
    p.add_argument("--size", type=int, default=10)
    p.add_argument("--json", action="store_true",
                   help="print the raw hits, one JSON object per line")
    p.set_defaults(run=cmd_similar)


def cmd_similar(args: argparse.Namespace, s: Settings) -> int:
    from akhbar.es import ALIAS, make_client
    from akhbar_embed.stage import similar_body
    es = make_client(s)
    # Since 9.2 a response leaves vectors out of _source unless asked for them.
    found = es.search(index=ALIAS, query={"ids": {"values": [args.id]}}, size=1,
                      source_includes=[FIELD, "story_id"],
                      source_exclude_vectors=False)["hits"]["hits"]
    if not found:
        raise CliError(f"no document {args.id!r} in {ALIAS}", Exit.FAILED)
    doc = found[0]["_source"]
    if not doc.get(FIELD):
        raise CliError(f"document {args.id} has no vector yet: the embed stage has not reached "
                       "it (`akhbar status` shows its backlog)", Exit.FAILED)
    resp = es.search(index=ALIAS, body=similar_body(doc[FIELD], args.id, doc.get("story_id"),
                                                     args.size, ids_only=False))
    for h in resp["hits"]["hits"]:
        if args.json:
            print(json.dumps(h, ensure_ascii=False))
            continue
        src = h["_source"]
        print(f"{h['_id']}  {src.get('title', '')}  ({h['_score']:.3f}) "
              f"{src.get('source', {}).get('name', '')} {src.get('published_at') or ''}")
    return Exit.OK
