"""`akhbar setup`: the one-shot setup of Elasticsearch and Kibana, registered with the `akhbar`
command through the `akhbar.commands` entry-point group. Failures (Elasticsearch or Kibana
unreachable, a file or request refused) end it with one line and an exit code (akhbar.cli)."""

from __future__ import annotations

import argparse
from typing import Any

from akhbar.cli_errors import Exit
from akhbar.es import make_client
from akhbar.settings import Settings
from akhbar.terminal import log_to_stderr


def register(sub: Any) -> None:
    p = sub.add_parser("setup", help="apply the ILM policy, index template and write alias; "
                                     "import the Kibana data view and dashboard")
    p.add_argument("--no-kibana", action="store_true", help="skip the Kibana import")
    p.set_defaults(run=cmd_setup)


def cmd_setup(args: argparse.Namespace, s: Settings) -> int:
    from akhbar_index.setup import setup_elasticsearch, setup_kibana, wait_for
    log_to_stderr(s.log_level)
    es = make_client(s)
    wait_for(es)
    setup_elasticsearch(es, s)
    if not args.no_kibana:
        setup_kibana(s)
    return Exit.OK
