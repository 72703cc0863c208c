"""``vettify up``: the whole engine on one machine with embedded defaults.

It starts PostgreSQL (embedded unless ``VETTIFY_DATABASE_URL`` is set) and
applies migrations, an in-memory Redis that every process shares (fakeredis's
TCP server, unless ``VETTIFY_REDIS_URL`` is set), a local SMTP sink for campaign
e-mail (a Maildir under the data dir, unless ``VETTIFY_SMTP_URL`` is set), starts
local Ray (or joins a cluster: ``--address`` / ``RAY_ADDRESS``) with Serve's HTTP and gRPC proxies, deploys
the CRM core (``/v1/crm``, ready in seconds) and then the model
application (gateway + model deployments; ready when the models are loaded).
SIGINT/SIGTERM shut Serve and Ray down, then the database, and exit 0.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import sys
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

from infra.db.bootstrap import DatabaseUrls, DsnFactory, prepare_embedded_database
from infra.db.embedded import EmbeddedPostgres
from infra.db.migrate import upgrade_async
from infra.net import free_port
from infra.settings import Settings
from serve import engine_file

if TYPE_CHECKING:
    from fakeredis import TcpFakeServer

    from infra.local_servers import RunningServer
    from serve.application import Endpoints

logger = logging.getLogger("vettify.up")


@dataclass
class Engine:
    settings: Settings
    postgres: EmbeddedPostgres | None = None
    urls: DatabaseUrls | None = None
    redis: TcpFakeServer | None = None
    smtp_sink: RunningServer | None = None

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

    def start_redis(self) -> str:
        """The URL every process shares: VETTIFY_REDIS_URL, or an in-memory fakeredis TCP server (DESIGN)."""
        if self.settings.redis_url:
            return self.settings.redis_url
        import threading

        from fakeredis import TcpFakeServer

        port = free_port()
        server = TcpFakeServer(("127.0.0.1", port))
        threading.Thread(target=server.serve_forever, name="fakeredis", daemon=True).start()
        self.redis = server
        url = f"redis://127.0.0.1:{port}"
        os.environ["VETTIFY_REDIS_URL"] = url  # inherited by the Ray workers started after this
        _say(f"in-memory Redis (fakeredis) on 127.0.0.1:{port}: churn features, caches, rate limits")
        return url

    def start_mail(self) -> None:
        """``VETTIFY_SMTP_URL``, or a local SMTP sink keeping every message in ``<data_dir>/mail`` (a Maildir).

        Also fixes the public URL tracking links use, unless set: this engine's own HTTP address."""
        s = self.settings
        if "public_url" not in s.model_fields_set and s.http_port:
            os.environ["VETTIFY_PUBLIC_URL"] = f"http://{s.host}:{s.http_port}"
        if s.smtp_url:
            from crm_core.delivery.smtp import SmtpTarget

            _say(f"campaign e-mail goes to {SmtpTarget.parse(s.smtp_url).redacted()}")
            return
        from crm_core.delivery.sink import start_sink

        self.smtp_sink = start_sink(s.data_dir / "smtp", maildir=s.maildir)
        os.environ["VETTIFY_SMTP_URL"] = self.smtp_sink.url  # inherited by the Ray workers started after this
        _say(f"local SMTP sink on {self.smtp_sink.url}: campaign e-mail lands in {s.maildir} (vettify mail ls)")

    def stop_mail(self) -> None:
        if self.smtp_sink is not None:
            self.smtp_sink.stop()
            self.smtp_sink = None

    def stop_redis(self) -> None:
        if self.redis is not None:
            self.redis.shutdown()
            self.redis.server_close()
            self.redis = None

    def stop_database(self) -> None:
        if self.postgres is not None:
            self.postgres.stop()
            _say("PostgreSQL stopped")
            self.postgres = None


def _say(message: str) -> None:
    print(f"[vettify] {message}", flush=True)


def _say_direct_ingress(app_name: str, host: str) -> None:
    from serve import direct_ingress

    try:
        http, grpc = direct_ingress.endpoints(app_name, host)
    except RuntimeError as exc:
        _say(f"direct ingress not available: {exc}")
        return
    _say(f"direct ingress (experimental, no proxy hop): HTTP {http}, gRPC {grpc}   (model routes)")


def _deploy_crm_and_dashboard(urls: DatabaseUrls, *, consumes_events: bool, redis_url: str) -> None:
    """The CRM and the dashboard, deployed side by side (each up in seconds), then waited for."""
    from serve.application import deploy_crm, deploy_dashboard, wait_running
    from serve.crm_app import APP_NAME as CRM_APP
    from serve.dashboard_app import APP_NAME as DASHBOARD_APP

    deploy_crm(urls.app, urls.worker, consumes_events=consumes_events, wait=False, redis_url=redis_url)
    deploy_dashboard(urls.app, wait=False)
    wait_running(CRM_APP)
    wait_running(DASHBOARD_APP)


def _say_joined(address: str, settings: Settings) -> None:
    import ray

    nodes = [node for node in ray.nodes() if node.get("Alive")]  # type: ignore[no-untyped-call]
    cpus = sum(float(node.get("Resources", {}).get("CPU", 0.0)) for node in nodes)
    hosts = {node.get("NodeManagerAddress") for node in nodes}
    embedded = [
        name
        for name, url in (("VETTIFY_DATABASE_URL", settings.database_url), ("VETTIFY_REDIS_URL", settings.redis_url))
        if not url
    ]
    if len(hosts) > 1 and embedded:
        _say(
            f"warning: the cluster spans {len(hosts)} hosts but the embedded services listen on 127.0.0.1 here; "
            f"replicas on other hosts cannot reach them: set {' and '.join(embedded)} (and VETTIFY_SMTP_URL)"
        )
    _say(
        f"joined the Ray cluster at {address}: {len(nodes)} nodes, {cpus:g} CPUs; a proxy runs on every node "
        "that holds a replica (cluster/README.md#a-cluster-on-one-machine)"
    )


def _front(settings: Settings, *, joined: bool = False) -> str:
    """What answers on the HTTP and gRPC ports. On a joined cluster the nodes' own environment decides."""
    if joined:
        return "Ray Serve's front on each node (HAProxy where the nodes run HAProxy mode: cluster/README.md)"
    return "HAProxy (Ray Serve's HAProxy mode)" if settings.serve_haproxy else "Ray Serve proxies"


async def _serve_models(
    settings: Settings, urls: DatabaseUrls, redis_url: str, endpoints: Endpoints, stop: asyncio.Event, started: float
) -> None:
    """Deploy the model application, wait for it (Ctrl-C cancels) and for the fronts to route to it; say where."""
    from serve.application import APP_NAME, app_args, deploy_models, wait_running
    from serve.front_probe import wait_routed

    try:
        args = app_args(settings).model_copy(
            update={"database_url": urls.app, "worker_database_url": urls.worker, "redis_url": redis_url}
        )
        await asyncio.to_thread(deploy_models, args, wait=False)
        loaded = await asyncio.to_thread(
            wait_running,
            APP_NAME,
            900,
            cancelled=stop.is_set,  # Ctrl-C while models load
            progress=lambda waited: _say(f"loading models … {waited:.0f}s"),
        )
    except Exception as exc:  # the CRM keeps serving; the reason is printed
        _say(f"model application failed: {exc}; the CRM keeps serving")
        return
    if not loaded:
        return
    base = endpoints.http
    # Serve says RUNNING before each front has learnt its routes from the controller (serve/front_probe.py).
    not_routed = await asyncio.to_thread(
        wait_routed, base, endpoints.grpc, APP_NAME, timeout_s=60, cancelled=stop.is_set
    )
    if stop.is_set():
        return
    if not_routed is not None:
        _say(f"models deployed, but a front does not route to them yet: {not_routed}")
    _say(f"models ready in {time.monotonic() - started:.1f}s")
    _say(f"model docs   {base}/docs   (POST /v1/sentiment, /v1/embed, /v1/churn/score, …)")
    _say(f"events       POST {base}/v1/events   insights {base}/v1/insights/…")
    _say(f"readiness    {base}/readyz   metrics {base}/metrics")
    _say(f"gRPC         {endpoints.grpc}   (vettify.analytics.v1.Analytics, protos/inference.proto)")
    if settings.serve_direct_ingress and not settings.serve_haproxy:  # HAProxy fronts those ports
        await asyncio.to_thread(_say_direct_ingress, APP_NAME, settings.host)


async def run(settings: Settings, *, models: bool = True, ray_address: str | None = None) -> int:
    from serve.application import start_serve
    from serve.application import stop as stop_serve

    started = time.monotonic()
    engine = Engine(settings)
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        urls = await engine.start_database()
        redis_url = engine.start_redis()
        engine_file.write(
            settings.data_dir, engine_file.EngineFile(urls.app, urls.worker, redis_url, os.getpid())
        )  # for `vettify batch …` beside this engine
        await asyncio.to_thread(engine.start_mail)
        endpoints = await asyncio.to_thread(start_serve, settings, ray_address=ray_address)
        if ray_address:
            await asyncio.to_thread(_say_joined, ray_address, settings)
        for sig in (signal.SIGINT, signal.SIGTERM):  # Ray's core worker installs its own; ours must win
            loop.add_signal_handler(sig, stop.set)
        _say(f"{_front(settings, joined=bool(ray_address))}: HTTP {endpoints.http}, gRPC {endpoints.grpc}")
        await asyncio.to_thread(_deploy_crm_and_dashboard, urls, consumes_events=not models, redis_url=redis_url)
        base = endpoints.http
        _say(f"CRM ready in {time.monotonic() - started:.1f}s")
        _say(f"CRM health   {base}/v1/crm/health")
        _say(f"CRM docs     {base}/v1/crm/docs")
        _say(f"dashboard    {base}/dashboard/   (sign in: vettify dashboard-login --tid TENANT --mid ORG)")
        if models and not stop.is_set():
            await _serve_models(settings, urls, redis_url, endpoints, stop, started)
        _say("press Ctrl-C to stop")
        await stop.wait()
        _say("shutting down")
        return 0
    finally:
        await asyncio.to_thread(stop_serve)
        _say("Ray Serve stopped")
        engine_file.remove(settings.data_dir)
        engine.stop_redis()
        await asyncio.to_thread(engine.stop_mail)
        await asyncio.to_thread(engine.stop_database)


def main(settings: Settings, *, models: bool = True, ray_address: str | None = None) -> int:
    logging.basicConfig(level=settings.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        return asyncio.run(run(settings, models=models, ray_address=ray_address))
    except KeyboardInterrupt:  # a second Ctrl-C before handlers were installed
        return 130
    except Exception as exc:
        logger.debug("startup failed", exc_info=True)
        print(f"[vettify] failed: {exc}", file=sys.stderr, flush=True)
        return 1
