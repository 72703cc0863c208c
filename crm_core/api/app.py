"""The CRM core's FastAPI application.

Runs alone under uvicorn (``uvicorn crm_core.api.app:create_app --factory``,
with ``VETTIFY_DATABASE_URL`` set) or inside ``vettify up``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from crm_core import __version__
from crm_core.anaf.client import AnafClient
from crm_core.api.background import background_services
from crm_core.api.routes import (
    accounts,
    audit,
    campaigns,
    contacts,
    health,
    lead_scoring,
    leads,
    mail,
    opportunities,
    pricing,
    privacy,
    sequences,
    spend,
    tracking,
)
from crm_core.delivery.personalise import Personaliser
from crm_core.delivery.worker import DeliveryConfig
from crm_core.privacy.subject import hash_key
from crm_core.services.audit_export import load_or_create_key
from infra.db.pool import assert_rls_applies, create_pool
from infra.http.correlation import CorrelationIdMiddleware
from infra.http.limits import BodySizeLimitMiddleware
from infra.http.metrics import HttpMetrics, HttpMetricsMiddleware
from infra.http.problems import install_error_handlers, problem_responses
from infra.http.tracing import FASTAPI_TELEMETRY, TracingMiddleware
from infra.redis import create_redis
from infra.settings import Settings, get_settings

API_PREFIX = "/v1/crm"
IMPORT_PREFIX = f"{API_PREFIX}/leads/import"
MAX_IMPORT_BYTES = 512 << 20


def create_app(
    settings: Settings | None = None,
    *,
    database_url: str | None = None,
    worker_database_url: str | None = None,
    api_prefix: str = API_PREFIX,
    personaliser: Personaliser | None = None,
) -> FastAPI:
    """Build the app; the URLs override the settings' (``vettify up`` passes the embedded ones).

    ``api_prefix=""`` serves the resources at the root, for a host that mounts the whole
    app under ``/v1/crm`` itself (Ray Serve's ``route_prefix``). ``personaliser`` fills the campaigns'
    ``recommendations`` (:mod:`crm_core.delivery.personalise`); without one they are empty.
    """
    settings = settings or get_settings()
    dsn = database_url or settings.database_url
    worker_dsn = worker_database_url or settings.worker_database_url
    if dsn is None:
        raise RuntimeError(
            "the CRM core needs a database: set VETTIFY_DATABASE_URL, or run `vettify up`, "
            "which starts an embedded PostgreSQL"
        )

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        pool = await create_pool(dsn, settings)
        redis = create_redis(settings)
        anaf = AnafClient.from_settings(settings, redis)
        try:
            await assert_rls_applies(pool)
            app.state.pool, app.state.redis, app.state.anaf = pool, redis, anaf
            async with background_services(
                settings, pool, worker_dsn, anaf, redis, personaliser, audit_key=app.state.audit_key
            ) as bus:
                app.state.bus = bus
                yield
        finally:
            await anaf.aclose()
            await redis.aclose()
            await pool.close()

    app = FastAPI(
        telemetry=FASTAPI_TELEMETRY,
        title="Vettify CRM core",
        version=__version__,
        description="Accounts, contacts, leads, opportunities and campaigns; multi-tenant with row-level security.",
        lifespan=lifespan,
    )
    app.state.settings = settings
    install_error_handlers(app)
    app.add_middleware(BodySizeLimitMiddleware, overrides={IMPORT_PREFIX: MAX_IMPORT_BYTES})
    app.add_middleware(CorrelationIdMiddleware)
    app.add_middleware(TracingMiddleware, service="crm")
    app.state.http_metrics = HttpMetrics("crm")
    app.add_middleware(HttpMetricsMiddleware, metrics=app.state.http_metrics)
    app.include_router(health.router)
    app.state.audit_key = load_or_create_key(settings.resolved_audit_key_path)
    app.state.subject_hash_key = hash_key(app.state.audit_key)
    app.state.delivery_config = DeliveryConfig.from_settings(settings)
    for module in (
        accounts,
        contacts,
        leads,
        opportunities,
        campaigns,
        sequences,
        audit,
        mail,
        tracking,
        spend,
        pricing,
        privacy,
        lead_scoring,
    ):
        app.include_router(module.router, prefix=api_prefix, responses=problem_responses(404, 409, 412))
    return app
