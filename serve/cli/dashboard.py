"""``vettify dashboard-login``: a one-time sign-in link to the dashboard for a tenant."""

from __future__ import annotations

import argparse

from serve.cli.common import settings_from


def _cmd_login(args: argparse.Namespace) -> int:
    from dashboard.login import login_link, mint_ticket

    settings = settings_from(args)
    if args.url:
        settings = settings.model_copy(update={"public_url": args.url})
    try:
        ticket = mint_ticket(
            settings,
            tid=args.tid,
            mid=args.mid,
            whid=args.whid,
            sub=args.sub,
            ttl_s=args.ttl,
            session_ttl_s=args.session_ttl,
        )
    except ValueError as exc:
        raise SystemExit(f"vettify dashboard-login: {exc}") from exc
    print(login_link(settings, ticket))
    print(f"(opens once, within {args.ttl // 60} min; the session lasts {args.session_ttl // 3600} h, read-only)")
    return 0


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    login = sub.add_parser("dashboard-login", help="print a one-time sign-in link to the dashboard")
    login.add_argument("--tid", required=True, help="tenant id")
    login.add_argument("--mid", required=True, help="member organisation id")
    login.add_argument("--whid", help="warehouse/branch id (default: tenant-wide)")
    login.add_argument("--sub", default="dashboard-user", help="who signs in (user id)")
    login.add_argument("--url", help="the engine's base URL (default VETTIFY_PUBLIC_URL, http://127.0.0.1:8000)")
    login.add_argument("--ttl", type=int, default=600, help="seconds the link stays valid (default 600)")
    login.add_argument("--session-ttl", type=int, default=8 * 3600, help="session lifetime in seconds (default 8 h)")
    login.set_defaults(func=_cmd_login)
