"""``vettify token``: development JWTs."""

from __future__ import annotations

import argparse

from serve.cli.common import settings_from


def _cmd_token(args: argparse.Namespace) -> int:
    from infra.security import mint_token

    settings = settings_from(args)
    scopes = args.scope or ["crm:read", "crm:write"]
    try:
        token = mint_token(
            settings, sub=args.sub, tid=args.tid, mid=args.mid, whid=args.whid, scopes=scopes, ttl_s=args.ttl
        )
    except ValueError as exc:
        raise SystemExit(f"vettify token: {exc}") from exc
    print(token)
    return 0


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    token = sub.add_parser("token", help="mint a development JWT (HS256 with VETTIFY_JWT_SECRET)")
    token.add_argument("--tid", default="demo", help="tenant id (default demo)")
    token.add_argument("--mid", default="main", help="member organisation id (default main)")
    token.add_argument("--whid", help="warehouse/branch id (default: tenant-wide)")
    token.add_argument("--sub", default="dev-user", help="subject (user id)")
    token.add_argument("--scope", action="append", help="repeat for several; default crm:read and crm:write")
    token.add_argument("--ttl", type=int, default=3600, help="lifetime in seconds (default 3600)")
    token.set_defaults(func=_cmd_token)
