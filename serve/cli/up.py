"""``vettify up``."""

from __future__ import annotations

import argparse
import os

from infra.net import cluster_address_problem
from serve.cli.common import settings_from


def _cmd_up(args: argparse.Namespace) -> int:
    from serve.up import main as up_main

    address = args.address or os.environ.get("RAY_ADDRESS") or None
    if address and (problem := cluster_address_problem(address)):
        raise SystemExit(
            f"vettify up: cannot join the Ray cluster at {address}: {problem}. Start its head first "
            "(`ray start --head`, cluster/README.md), or leave out --address and RAY_ADDRESS for a local Ray."
        )
    return up_main(settings_from(args), models=not args.no_models, ray_address=address)


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    up = sub.add_parser("up", help="start the engine with embedded defaults (Ctrl-C stops it)")
    up.add_argument("--host", help="bind address (default 127.0.0.1, VETTIFY_HOST)")
    up.add_argument("--port", type=int, help="HTTP port (default 8000, VETTIFY_HTTP_PORT)")
    up.add_argument("--data-dir", help="embedded services' data (default ~/.local/share/vettify)")
    up.add_argument("--grpc-port", type=int, help="gRPC port (default 9000, VETTIFY_GRPC_PORT)")
    up.add_argument("--no-models", action="store_true", help="serve the CRM core only (no model deployments)")
    up.add_argument(
        "--address",
        help="join this Ray cluster (host:port of its head, or auto) instead of starting a local Ray "
        "(default RAY_ADDRESS); its nodes must reach the database, Redis and SMTP URLs (cluster/README.md)",
    )
    up.set_defaults(func=_cmd_up)
