"""`akhbar-ingest watch`: the inbox watcher process."""

from __future__ import annotations

import argparse
import logging

from akhbar.settings import get_settings


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="akhbar-ingest")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("watch", help="watch AKHBAR_INBOX and send a job per finished file")
    parser.parse_args(argv)
    s = get_settings()
    logging.basicConfig(level=s.log_level.upper(),
                        format="%(asctime)s %(levelname)s %(name)s %(message)s")
    from akhbar_ingest.inbox import Inbox
    from akhbar_ingest.watcher import watch

    watch(Inbox(s.inbox, s.inbox_stable_seconds))
