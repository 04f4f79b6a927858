"""`akhbar-index setup`: the one-shot setup of Elasticsearch and Kibana."""

from __future__ import annotations

import argparse
import logging

from akhbar.es import make_client
from akhbar.settings import get_settings
from akhbar_index.setup import setup_elasticsearch, setup_kibana, wait_for


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="akhbar-index")
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("setup", help="apply ILM policy, index template and alias; import the "
                                     "Kibana data view and dashboard")
    p.add_argument("--no-kibana", action="store_true", help="skip the Kibana import")
    args = parser.parse_args(argv)
    s = get_settings()
    logging.basicConfig(level=s.log_level.upper(), format="%(asctime)s %(levelname)s %(message)s")
    es = make_client(s)
    wait_for(es)
    setup_elasticsearch(es, s)
    if not args.no_kibana:
        setup_kibana(s)
