"""``vettify up``: the whole engine on one machine with embedded defaults.

At this stage it starts PostgreSQL (embedded unless ``VETTIFY_DATABASE_URL`` is
set), applies migrations and serves the CRM core. SIGINT/SIGTERM stop the HTTP
server gracefully, then the database, then the process exits 0.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass

import uvicorn

from crm_core.core.config import Settings
from crm_core.db.bootstrap import DatabaseUrls, DsnFactory, prepare_embedded_database
from crm_core.db.embedded import EmbeddedPostgres
from crm_core.db.migrate import upgrade_async

logger = logging.getLogger("vettify.up")


class _Server(uvicorn.Server):
    """uvicorn without its own signal handling: :func:`run` owns the signals."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


@dataclass
class Engine:
    settings: Settings
    postgres: EmbeddedPostgres | None = None
    urls: DatabaseUrls | None = None

    async def start_database(self) -> DatabaseUrls:
        s = self.settings
        if s.database_url is None:
            s.data_dir.mkdir(parents=True, exist_ok=True)
            self.postgres = EmbeddedPostgres(data_dir=s.embedded_pg_dir, port=s.embedded_pg_port)
            await asyncio.to_thread(self.postgres.start)
            _say(f"embedded PostgreSQL 18 + pgvector on 127.0.0.1:{self.postgres.port} (data {s.embedded_pg_dir})")
            self.urls = await prepare_embedded_database(DsnFactory("127.0.0.1", self.postgres.port))
        else:
            admin = s.admin_database_url or s.database_url
            await upgrade_async(admin)
            self.urls = DatabaseUrls(admin=admin, app=s.database_url, worker=s.worker_database_url)
        _say("database migrated to head")
        return self.urls

    def stop_database(self) -> None:
        if self.postgres is not None:
            self.postgres.stop()
            _say("PostgreSQL stopped")
            self.postgres = None


def _say(message: str) -> None:
    print(f"[vettify] {message}", flush=True)


async def run(settings: Settings) -> int:
    from crm_core.api.app import create_app

    started = time.monotonic()
    engine = Engine(settings)
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        urls = await engine.start_database()
        app = create_app(settings, database_url=urls.app, worker_database_url=urls.worker)
        config = uvicorn.Config(
            app,
            host=settings.host,
            port=settings.http_port,
            log_level=settings.log_level.lower(),
            lifespan="on",
            timeout_graceful_shutdown=10,
        )
        server = _Server(config)
        serving = asyncio.create_task(server.serve())
        while not server.started and not serving.done():  # noqa: ASYNC110 - uvicorn exposes a flag, not an event
            await asyncio.sleep(0.05)
        if serving.done():
            serving.result()
            return 1
        base = f"http://{settings.host}:{settings.http_port}"
        _say(f"ready in {time.monotonic() - started:.1f}s")
        _say(f"CRM health   {base}/health")
        _say(f"API docs     {base}/docs")
        _say("press Ctrl-C to stop")
        stopper = asyncio.create_task(stop.wait())
        await asyncio.wait({serving, stopper}, return_when=asyncio.FIRST_COMPLETED)
        _say("shutting down")
        server.should_exit = True
        await serving
        stopper.cancel()
        return 0
    finally:
        await asyncio.to_thread(engine.stop_database)


def main(settings: Settings) -> int:
    logging.basicConfig(level=settings.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        return asyncio.run(run(settings))
    except KeyboardInterrupt:  # a second Ctrl-C before handlers were installed
        return 130
    except Exception as exc:
        logger.debug("startup failed", exc_info=True)
        print(f"[vettify] failed: {exc}", file=sys.stderr, flush=True)
        return 1
