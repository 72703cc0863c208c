"""``vettify audit``: signed exports and their verification."""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from crm_core.services.audit_export import SignedExport

from serve.cli.common import settings_from


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

    from crm_core.services.audit_export import export_audit, load_or_create_key
    from infra.db.pool import create_pool
    from infra.db.tenancy import TenantContext, tenant_transaction

    settings = settings_from(args)
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


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
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
