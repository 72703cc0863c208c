"""``vettify db``: migrations."""

from __future__ import annotations

import argparse
import asyncio

from serve.cli.common import settings_from


def _admin_dsn(args: argparse.Namespace) -> str:
    settings = settings_from(args)
    dsn = args.dsn or settings.admin_database_url or settings.database_url
    if dsn is None:
        raise SystemExit(
            "vettify db: no database given. Pass --dsn or set VETTIFY_ADMIN_DATABASE_URL "
            "(the embedded database is migrated by `vettify up`)."
        )
    return dsn


def _cmd_db(args: argparse.Namespace) -> int:
    from infra.db import migrate

    dsn = _admin_dsn(args)
    if args.action == "upgrade":
        migrate.upgrade(dsn, args.revision or "head")
    elif args.action == "downgrade":
        if not args.revision:
            raise SystemExit("vettify db downgrade: give a target revision, e.g. 'base' or '-1'")
        migrate.downgrade(dsn, args.revision)
    print(asyncio.run(migrate.current_revision(dsn)) or "base (no migrations applied)")
    return 0


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    db = sub.add_parser("db", help="database migrations")
    db.add_argument("action", choices=["upgrade", "downgrade", "current"])
    db.add_argument("revision", nargs="?", help="target revision (upgrade: default head)")
    db.add_argument("--dsn", help="owner DSN (default VETTIFY_ADMIN_DATABASE_URL or VETTIFY_DATABASE_URL)")
    db.set_defaults(func=_cmd_db)
