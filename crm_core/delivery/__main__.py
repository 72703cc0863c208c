"""Run a campaign delivery worker on its own: ``python -m crm_core.delivery [--once]``.

The CRM application runs one in the background already; start more of these (on any host) to share a large
send — they split the due rows with ``FOR UPDATE SKIP LOCKED`` and one per-tenant rate in Redis. Reads
``VETTIFY_DATABASE_URL`` (application role), ``VETTIFY_WORKER_DATABASE_URL`` (``vettify_worker`` member),
``VETTIFY_SMTP_URL`` and ``VETTIFY_REDIS_URL`` (without it the rate limit is per process).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys
import time

from crm_core.delivery.worker import build_worker
from infra.db.pool import assert_rls_applies, create_pool
from infra.redis import create_redis
from infra.settings import Settings


async def run(settings: Settings, *, once: bool, report_every_s: float) -> int:
    if not settings.database_url or not settings.worker_database_url or not settings.smtp_url:
        print(
            "set VETTIFY_DATABASE_URL, VETTIFY_WORKER_DATABASE_URL and VETTIFY_SMTP_URL to run a delivery worker",
            file=sys.stderr,
        )
        return 2
    pool = await create_pool(settings.database_url, settings, min_size=1, max_size=4)
    scan_pool = await create_pool(settings.worker_database_url, settings, min_size=1, max_size=1)
    redis = create_redis(settings)
    worker = build_worker(settings, pool, scan_pool, redis)
    try:
        await assert_rls_applies(pool)
        if once:
            await worker.drain(timeout_s=24 * 3600)
        else:
            stop = asyncio.Event()
            loop = asyncio.get_running_loop()
            for sig in (signal.SIGINT, signal.SIGTERM):
                loop.add_signal_handler(sig, stop.set)
            worker.start()
            started = time.monotonic()
            while not stop.is_set():
                try:
                    await asyncio.wait_for(stop.wait(), report_every_s)
                except TimeoutError:
                    s = worker.stats
                    print(
                        f"[delivery] {time.monotonic() - started:.0f}s sent {s.sent} deferred {s.deferred} "
                        f"bounced {s.bounced} failed {s.failed} suppressed {s.suppressed}",
                        flush=True,
                    )
            await worker.stop()
        s = worker.stats
        print(
            f"[delivery] done: sent {s.sent} deferred {s.deferred} bounced {s.bounced} failed {s.failed} "
            f"suppressed {s.suppressed}",
            flush=True,
        )
        return 0
    finally:
        await worker.smtp.close()
        await redis.aclose()
        await scan_pool.close()
        await pool.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m crm_core.delivery", description=__doc__.split("\n")[0])
    parser.add_argument("--once", action="store_true", help="deliver what is due, then exit")
    parser.add_argument("--report-every", type=float, default=10.0, metavar="SECONDS")
    args = parser.parse_args(argv)
    settings = Settings()
    logging.basicConfig(level=settings.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    return asyncio.run(run(settings, once=args.once, report_every_s=args.report_every))


if __name__ == "__main__":
    sys.exit(main())
