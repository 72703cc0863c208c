"""``vettify events dead-letters``: a tenant's refused events, newest first, with why."""

from __future__ import annotations

import argparse
import asyncio
import json
from typing import Any

from serve.cli.common import settings_from


async def _dead_letters(args: argparse.Namespace) -> dict[str, Any]:
    from infra.db.pool import create_pool
    from infra.db.tenancy import TenantContext
    from streams.insights import dead_letters

    settings = settings_from(args)
    dsn = args.dsn or settings.database_url
    if dsn is None:
        raise SystemExit("vettify events dead-letters: pass --dsn or set VETTIFY_DATABASE_URL (the application role)")
    pool = await create_pool(dsn, settings, min_size=1, max_size=1)
    try:
        tenant = TenantContext(tid=args.tid, mid=args.mid, whid=args.whid)
        return await dead_letters(pool, tenant, limit=args.limit, cursor=args.cursor)
    finally:
        await pool.close()


def page_size(text: str) -> int:
    """``--limit``: 1 to 500 letters (``streams.insights.MAX_DEAD_LETTER_PAGE``), refused before connecting."""
    from streams.insights import MAX_DEAD_LETTER_PAGE

    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if not 1 <= value <= MAX_DEAD_LETTER_PAGE:
        raise argparse.ArgumentTypeError(f"{value} is outside 1-{MAX_DEAD_LETTER_PAGE}")
    return value


def _cmd_events(args: argparse.Namespace) -> int:
    page = asyncio.run(_dead_letters(args))
    if args.json:
        print(json.dumps(page, default=str, indent=2))
        return 0
    for letter in page["items"]:
        kind = letter["event_type"] or "?"
        print(f"{letter['seq']:>8}  {letter['received_at']:%Y-%m-%d %H:%M:%S}  {letter['source']:<16} {kind:<32}")
        print(f"          {letter['reason']}")
    if not page["items"]:
        print("no dead letters")
    if page["next_cursor"]:
        print(f"older: --cursor {page['next_cursor']}")
    return 0


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    events = sub.add_parser("events", help="the event streams: dead letters")
    actions = events.add_subparsers(dest="action", required=True)
    letters = actions.add_parser("dead-letters", help="a tenant's refused events, newest first, with why")
    letters.add_argument("--tid", required=True, help="tenant id")
    letters.add_argument("--mid", required=True, help="member organisation id")
    letters.add_argument("--whid", help="warehouse/branch id (default: tenant-wide)")
    letters.add_argument("--limit", type=page_size, default=50, help="letters per page (1-500, default 50)")
    letters.add_argument("--cursor", help="continue from an earlier page's 'older' cursor")
    letters.add_argument("--json", action="store_true", help="print the page as JSON (with each body's preview)")
    letters.add_argument("--dsn", help="application-role database URL (default VETTIFY_DATABASE_URL)")
    letters.set_defaults(func=_cmd_events)
