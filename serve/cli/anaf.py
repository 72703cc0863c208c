"""``vettify anaf recheck``: the compliance batch job."""

from __future__ import annotations

import argparse
import asyncio
import sys

from serve.cli.common import settings_from


def _cmd_anaf_recheck(args: argparse.Namespace) -> int:
    settings = settings_from(args)
    dsn = args.dsn or settings.worker_database_url
    if dsn is None:
        raise SystemExit(
            "vettify anaf recheck: pass --dsn or set VETTIFY_WORKER_DATABASE_URL "
            "(a member of vettify_worker; `vettify up` creates vettify_worker_api)"
        )

    def progress(done: int) -> None:
        print(f"[anaf] {done:,} accounts checked", file=sys.stderr, flush=True)

    async def run() -> int:
        from crm_core.anaf.client import AnafClient
        from crm_core.services.compliance import ComplianceWorker
        from infra.db.pool import create_pool
        from infra.redis import create_redis

        pool = await create_pool(dsn, settings, min_size=1, max_size=2)
        redis = create_redis(settings)
        client = AnafClient.from_settings(settings, redis)
        try:
            worker = ComplianceWorker(pool, client)
            older = args.older_than_days * 86400 if args.older_than_days is not None else None
            total = await worker.recheck(include_settled_older_than_s=older, progress=progress)
            print(f"[anaf] done: {total:,} checked, {worker.stats.unavailable:,} left pending (ANAF unavailable)")
            return 0 if worker.stats.unavailable == 0 else 3
        finally:
            await client.aclose()
            await redis.aclose()
            await pool.close()

    return asyncio.run(run())


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    anaf = sub.add_parser("anaf", help="ANAF company checks")
    anaf_sub = anaf.add_subparsers(dest="action", required=True)
    recheck = anaf_sub.add_parser("recheck", help="check pending/unchecked accounts of every tenant (batch job)")
    recheck.add_argument(
        "--older-than-days", type=float, help="also re-check settled results older than this many days"
    )
    recheck.add_argument("--dsn", help="background-jobs DSN (default VETTIFY_WORKER_DATABASE_URL)")
    recheck.set_defaults(func=_cmd_anaf_recheck)
