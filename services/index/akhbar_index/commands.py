"""`akhbar setup`: the one-shot setup of Elasticsearch and Kibana, registered with the `akhbar`
command through the `akhbar.commands` entry-point group. Failures (Elasticsearch or Kibana
unreachable, a file or request refused) end it with one line and an exit code (akhbar.cli)."""

from __future__ import annotations

import argparse
import logging
from typing import Any

from akhbar.cli_errors import CliError, Exit, explain
from akhbar.settings import Settings
from akhbar.terminal import log_to_stderr


def register(sub: Any) -> None:
    p = sub.add_parser("setup", help="apply the ILM policy, index template and write alias; "
                                     "import the Kibana data view and dashboard")
    p.add_argument("--no-kibana", action="store_true", help="skip the Kibana import")
    p.set_defaults(run=cmd_setup)


def cmd_setup(args: argparse.Namespace, s: Settings) -> int:
    from akhbar_index.setup import SetupError, SetupTimeout, run_setup
    log_to_stderr(s.log_level)
    # Each try that fails is logged once by the setup itself, not per request by the client.
    logging.getLogger("elastic_transport").setLevel(logging.ERROR)
    try:
        run_setup(s, kibana=not args.no_kibana)
    except SetupTimeout as exc:  # what was still failing, in the command's own words
        cause = explain(exc.__cause__ or exc, s)
        raise CliError(f"setup gave up after AKHBAR_SETUP_TIMEOUT_S={s.setup_timeout_s:g} s: "
                       f"{cause.message}", Exit.UNREACHABLE) from exc
    except SetupError as exc:
        raise CliError(f"setup: {exc}", Exit.CONFIG) from exc
    return Exit.OK
