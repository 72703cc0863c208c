"""``vettify leads import``."""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

from serve.cli.common import settings_from


def _cmd_leads_import(args: argparse.Namespace) -> int:
    import json
    import time

    from crm_core.services.lead_import import ImportFormatError, ImportReport, LeadImporter, load_mapping

    settings = settings_from(args)
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
        from infra.db.pool import create_pool
        from infra.db.tenancy import TenantContext

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


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
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
