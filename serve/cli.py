"""The ``vettify`` command. Imports stay cheap: subcommands import what they need."""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from crm_core.core.config import Settings
    from crm_core.services.audit_export import SignedExport


def _settings(args: argparse.Namespace) -> Settings:
    from crm_core.core.config import Settings

    overrides: dict[str, object] = {}
    if getattr(args, "host", None):
        overrides["host"] = args.host
    if getattr(args, "port", None) is not None:
        overrides["http_port"] = args.port
    if getattr(args, "data_dir", None):
        overrides["data_dir"] = Path(args.data_dir)
    return Settings(**overrides)  # type: ignore[arg-type]


def _cmd_up(args: argparse.Namespace) -> int:
    from serve.up import main as up_main

    return up_main(_settings(args))


def _admin_dsn(args: argparse.Namespace) -> str:
    settings = _settings(args)
    dsn = args.dsn or settings.admin_database_url or settings.database_url
    if dsn is None:
        raise SystemExit(
            "vettify db: no database given. Pass --dsn or set VETTIFY_ADMIN_DATABASE_URL "
            "(the embedded database is migrated by `vettify up`)."
        )
    return dsn


def _cmd_db(args: argparse.Namespace) -> int:
    from crm_core.db import migrate

    dsn = _admin_dsn(args)
    if args.action == "upgrade":
        migrate.upgrade(dsn, args.revision or "head")
    elif args.action == "downgrade":
        if not args.revision:
            raise SystemExit("vettify db downgrade: give a target revision, e.g. 'base' or '-1'")
        migrate.downgrade(dsn, args.revision)
    print(asyncio.run(migrate.current_revision(dsn)) or "base (no migrations applied)")
    return 0


def _cmd_token(args: argparse.Namespace) -> int:
    from crm_core.core.security import mint_token

    settings = _settings(args)
    scopes = args.scope or ["crm:read", "crm:write"]
    try:
        token = mint_token(
            settings, sub=args.sub, tid=args.tid, mid=args.mid, whid=args.whid, scopes=scopes, ttl_s=args.ttl
        )
    except ValueError as exc:
        raise SystemExit(f"vettify token: {exc}") from exc
    print(token)
    return 0


def _cmd_audit(args: argparse.Namespace) -> int:
    import json

    from crm_core.services.audit_export import SignatureMismatch, verify_export

    if args.action == "verify":
        csv_path = Path(args.file)
        sig_path = Path(args.signature or f"{args.file}.sig.json")
        try:
            verify_export(csv_path.read_bytes(), json.loads(sig_path.read_text()), Path(args.public_key).read_bytes())
        except (SignatureMismatch, OSError, ValueError) as exc:
            print(f"INVALID: {exc}", file=sys.stderr)
            return 1
        print(f"OK: {csv_path} is the signed export ({sig_path})")
        return 0
    from crm_core.services.audit_export import public_pem

    signed, key = asyncio.run(_audit_export(args))
    out = Path(args.out)
    out.write_bytes(signed.csv_bytes)
    Path(f"{out}.sig.json").write_bytes(signed.signature_json)
    Path(f"{out}.pub.pem").write_bytes(public_pem(key))
    print(f"wrote {out} ({signed.signature['rows']} rows), {out}.sig.json and {out}.pub.pem")
    return 0


async def _audit_export(args: argparse.Namespace) -> tuple[SignedExport, Ed25519PrivateKey]:
    from datetime import UTC, datetime, timedelta

    from crm_core.db.pool import create_pool
    from crm_core.db.tenancy import TenantContext, tenant_transaction
    from crm_core.services.audit_export import export_audit, load_or_create_key

    settings = _settings(args)
    dsn = args.dsn or settings.database_url
    if dsn is None:
        raise SystemExit("vettify audit export: pass --dsn or set VETTIFY_DATABASE_URL (the application role)")
    until = datetime.fromisoformat(args.until) if args.until else datetime.now(UTC)
    since = datetime.fromisoformat(args.since) if args.since else until - timedelta(days=30)
    key = load_or_create_key(settings.resolved_audit_key_path)
    pool = await create_pool(dsn, settings, min_size=1, max_size=1)
    try:
        async with tenant_transaction(pool, TenantContext(tid=args.tid, mid=args.mid), readonly=True) as conn:
            signed = await export_audit(
                conn, tenant=TenantContext(tid=args.tid, mid=args.mid), key=key, since=since, until=until
            )
    finally:
        await pool.close()
    return signed, key


def _cmd_leads_import(args: argparse.Namespace) -> int:
    import json
    import time

    from crm_core.services.lead_import import ImportFormatError, ImportReport, LeadImporter, load_mapping

    settings = _settings(args)
    dsn = args.dsn or settings.database_url
    if dsn is None:
        raise SystemExit("vettify leads import: pass --dsn or set VETTIFY_DATABASE_URL (the application role)")
    started = time.monotonic()

    def progress(report: ImportReport) -> None:
        rate = report.rows / max(time.monotonic() - started, 1e-6)
        print(
            f"[import] {report.rows:,} rows · {report.inserted:,} new · {report.duplicates:,} duplicates · "
            f"{report.invalid:,} invalid · {rate:,.0f} rows/s",
            file=sys.stderr,
            flush=True,
        )

    async def run() -> ImportReport:
        from crm_core.db.pool import create_pool
        from crm_core.db.tenancy import TenantContext

        pool = await create_pool(dsn, settings, min_size=1, max_size=2)
        try:
            importer = LeadImporter(pool, TenantContext(tid=args.tid, mid=args.mid, whid=args.whid), actor=args.actor)
            return await importer.import_file(
                Path(args.file),
                mapping=load_mapping(args.mapping),
                source=args.source,
                dry_run=args.dry_run,
                progress=progress,
            )
        finally:
            await pool.close()

    try:
        report = asyncio.run(run())
    except (ImportFormatError, OSError) as exc:
        print(f"vettify leads import: {exc}", file=sys.stderr)
        return 2
    print(json.dumps(report.as_dict(), indent=2))
    return 0


def _cmd_version(_: argparse.Namespace) -> int:
    from crm_core import __version__

    print(f"vettify {__version__}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="vettify", description="Vettify Engine: real-time AI analytics for CRM.")
    sub = parser.add_subparsers(dest="command", required=True)

    up = sub.add_parser("up", help="start the engine with embedded defaults (Ctrl-C stops it)")
    up.add_argument("--host", help="bind address (default 127.0.0.1, VETTIFY_HOST)")
    up.add_argument("--port", type=int, help="HTTP port (default 8000, VETTIFY_HTTP_PORT)")
    up.add_argument("--data-dir", help="embedded services' data (default ~/.local/share/vettify)")
    up.set_defaults(func=_cmd_up)

    db = sub.add_parser("db", help="database migrations")
    db.add_argument("action", choices=["upgrade", "downgrade", "current"])
    db.add_argument("revision", nargs="?", help="target revision (upgrade: default head)")
    db.add_argument("--dsn", help="owner DSN (default VETTIFY_ADMIN_DATABASE_URL or VETTIFY_DATABASE_URL)")
    db.set_defaults(func=_cmd_db)

    token = sub.add_parser("token", help="mint a development JWT (HS256 with VETTIFY_JWT_SECRET)")
    token.add_argument("--tid", default="demo", help="tenant id (default demo)")
    token.add_argument("--mid", default="main", help="member organisation id (default main)")
    token.add_argument("--whid", help="warehouse/branch id (default: tenant-wide)")
    token.add_argument("--sub", default="dev-user", help="subject (user id)")
    token.add_argument("--scope", action="append", help="repeat for several; default crm:read and crm:write")
    token.add_argument("--ttl", type=int, default=3600, help="lifetime in seconds (default 3600)")
    token.set_defaults(func=_cmd_token)

    audit = sub.add_parser("audit", help="export the audit log as signed CSV, or verify an export")
    audit_sub = audit.add_subparsers(dest="action", required=True)
    export = audit_sub.add_parser("export", help="CSV + Ed25519 signature for one tenant")
    export.add_argument("--tid", required=True)
    export.add_argument("--mid", required=True)
    export.add_argument("--out", required=True, help="CSV path; .sig.json and .pub.pem are written beside it")
    export.add_argument("--since", help="ISO time, inclusive (default 30 days before --until)")
    export.add_argument("--until", help="ISO time, exclusive (default now)")
    export.add_argument("--dsn", help="application-role DSN (default VETTIFY_DATABASE_URL)")
    verify = audit_sub.add_parser("verify", help="check a CSV against its signature and public key")
    verify.add_argument("file")
    verify.add_argument("--signature", help="default FILE.sig.json")
    verify.add_argument("--public-key", required=True, help="PEM public key (GET /v1/crm/audit/public-key)")
    audit.set_defaults(func=_cmd_audit)

    leads = sub.add_parser("leads", help="lead tools")
    leads_sub = leads.add_subparsers(dest="action", required=True)
    importer = leads_sub.add_parser("import", help="import leads from a CSV file (streamed, idempotent)")
    importer.add_argument("file")
    importer.add_argument("--tid", required=True)
    importer.add_argument("--mid", required=True)
    importer.add_argument("--whid")
    importer.add_argument("--mapping", help='JSON {"CSV column": "lead field"}; default: by header names')
    importer.add_argument("--source", default="import")
    importer.add_argument("--actor", default="cli-import")
    importer.add_argument("--dry-run", action="store_true", help="validate and count, insert nothing")
    importer.add_argument("--dsn", help="application-role DSN (default VETTIFY_DATABASE_URL)")
    importer.set_defaults(func=_cmd_leads_import)

    version = sub.add_parser("version", help="print the version")
    version.set_defaults(func=_cmd_version)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    result: int = args.func(args)
    return result


if __name__ == "__main__":
    sys.exit(main())
