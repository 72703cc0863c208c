"""The ``vettify`` command. Imports stay cheap: each subcommand imports what it needs when run."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from serve.cli import anaf, audit, batch, dashboard, db, events, leads, mail, serve_config, slo, text, token, up


def _cmd_version(_: argparse.Namespace) -> int:
    from crm_core import __version__

    print(f"vettify {__version__}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="vettify", description="Vettify Engine: real-time AI analytics for CRM.")
    sub = parser.add_subparsers(dest="command", required=True)
    for command in (up, db, token, dashboard, audit, leads, anaf, events, mail, serve_config, text, slo, batch):
        command.register(sub)
    version = sub.add_parser("version", help="print the version")
    version.set_defaults(func=_cmd_version)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    result: int = args.func(args)
    return result


if __name__ == "__main__":
    sys.exit(main())
