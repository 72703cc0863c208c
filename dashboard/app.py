"""The dashboard's FastAPI application: the page, its static files, sign-in and the live stream.

Served by ``vettify up`` as its own Serve application under ``/dashboard`` (``serve/dashboard_app.py``),
on the same origin as the APIs it calls (``/v1/...``, ``/v1/crm/...``, ``/metrics``). Its own routes:

* ``GET /dashboard/`` — the page (server-rendered shell; each view is an ES module);
* ``POST /dashboard/session`` — redeem a one-time sign-in ticket for a bearer token;
* ``GET /dashboard/events`` — the tenant's live insight events (server-sent events; ``insights:read``;
  ``Last-Event-ID`` resumes, ``backfill=N`` starts with the latest N);
* ``GET /dashboard/slo`` — the indicators of the deployed SLO spec as the System view's budget table reads
  them from the engine's metrics pages (``insights:read``).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Header, Query, Request
from fastapi.responses import HTMLResponse, StreamingResponse
from fastapi.staticfiles import StaticFiles
from jinja2 import Environment, FileSystemLoader, select_autoescape
from pydantic import BaseModel, Field

from crm_core import __version__
from dashboard.headers import SecurityHeadersMiddleware
from dashboard.live import MAX_BACKFILL, LiveHub, LiveOptions
from dashboard.login import redeem
from dashboard.views import VIEWS
from infra.db.pool import create_pool
from infra.errors import InvalidInput
from infra.http.auth import RequireScopes
from infra.http.correlation import CorrelationIdMiddleware
from infra.http.problems import install_error_handlers, problem_responses
from infra.http.tracing import FASTAPI_TELEMETRY, TracingMiddleware
from infra.redis import create_redis
from infra.security import Principal
from infra.settings import Settings, get_settings

HERE = Path(__file__).resolve().parent
INSIGHTS_SCOPE = "insights:read"
_templates = Environment(
    loader=FileSystemLoader(HERE / "templates"), autoescape=select_autoescape(["html"]), trim_blocks=True
)

Reader = Annotated[Principal, Depends(RequireScopes(INSIGHTS_SCOPE))]


class TicketIn(BaseModel):
    ticket: str = Field(min_length=20, max_length=4096)


class SessionOut(BaseModel):
    token: str
    expires_at: int = Field(description="Unix time the token expires at.")
    tid: str
    mid: str
    sub: str


def _base(request: Request) -> str:
    """The path the app is mounted at (``/dashboard`` behind Serve or a parent app)."""
    return str(request.scope.get("root_path", "")).rstrip("/")


def _last_event_id(header: str | None, query: int | None) -> int | None:
    raw = header if header is not None else (str(query) if query is not None else None)
    if raw is None or raw == "":
        return None
    try:
        value = int(raw)
    except ValueError as exc:
        raise InvalidInput(f"Last-Event-ID must be an event id this stream sent, not {raw[:40]!r}") from exc
    if value < 0:
        raise InvalidInput("Last-Event-ID must not be negative")
    return value


def create_app(
    settings: Settings | None = None, *, database_url: str | None = None, live: LiveOptions | None = None
) -> FastAPI:
    settings = settings or get_settings()
    dsn = database_url or settings.database_url
    if dsn is None:
        raise RuntimeError("the dashboard needs the engine's database: set VETTIFY_DATABASE_URL or run `vettify up`")

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        pool = await create_pool(dsn, settings, min_size=1, max_size=max(4, settings.db_pool_max_size))
        redis = create_redis(settings)
        hub = LiveHub(pool, dsn, live)
        await hub.start()
        app.state.pool, app.state.redis, app.state.hub = pool, redis, hub
        try:
            yield
        finally:
            await hub.close()
            await redis.aclose()
            await pool.close()

    app = FastAPI(
        telemetry=FASTAPI_TELEMETRY,
        title="Vettify dashboard",
        version=__version__,
        description="The engine's live dashboard: the page, sign-in and the live insight stream.",
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
        openapi_url="/openapi.json",
    )
    app.state.settings = settings
    install_error_handlers(app)
    app.add_middleware(SecurityHeadersMiddleware)
    app.add_middleware(CorrelationIdMiddleware)
    app.add_middleware(TracingMiddleware, service="dashboard")
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    async def page(request: Request) -> HTMLResponse:
        html = _templates.get_template("index.html").render(base=_base(request), views=VIEWS, version=__version__)
        return HTMLResponse(html, headers={"Cache-Control": "no-store"})

    @app.get("/healthz", include_in_schema=False)
    async def healthz(request: Request) -> dict[str, Any]:
        hub: LiveHub = request.app.state.hub
        return {"status": "ok", "listening": hub.listening, "streams": hub.streams}

    @app.get("/slo", responses=problem_responses(401, 403))
    async def slo(_: Reader) -> dict[str, Any]:
        """The error-budget indicators of the SLO spec (the same ones the alert rules use), with the metrics page
        each is counted on. A spec that cannot be read is reported in ``problem``; the rest works on."""
        from serve.slo.rules import live, slis
        from serve.slo.spec import DEFAULT_SPEC, SpecError, load_spec

        path = settings.slo_spec or DEFAULT_SPEC
        try:
            spec = load_spec(path)
        except SpecError as exc:
            return {"spec": path.name, "indicators": [], "measured_by_runs_only": [], "problem": str(exc)}
        watched = {o.name for o in live(spec.objectives)}
        return {
            "spec": path.name,
            "indicators": [sli.as_dict() for sli in slis(spec.objectives)],
            "measured_by_runs_only": [o.name for o in spec.objectives if o.name not in watched],
        }

    @app.post("/session", response_model=SessionOut, responses=problem_responses(401, 422))
    async def session(body: TicketIn, request: Request) -> SessionOut:
        """Redeem a one-time sign-in ticket (from ``vettify dashboard-login``) for a read-only bearer token."""
        opened = await redeem(settings, request.app.state.redis, body.ticket)
        return SessionOut(
            token=opened.token, expires_at=opened.expires_at, tid=opened.tid, mid=opened.mid, sub=opened.sub
        )

    @app.get("/events", responses=problem_responses(401, 403, 422))
    async def events(
        request: Request,
        principal: Reader,
        backfill: Annotated[int, Query(ge=0, le=MAX_BACKFILL, description="start with the latest N events")] = 0,
        last_event_id: Annotated[int | None, Query(ge=0, description="as the Last-Event-ID header")] = None,
        last_event_id_header: Annotated[str | None, Header(alias="Last-Event-ID", max_length=40)] = None,
    ) -> StreamingResponse:
        """The caller's tenant's insight events as they commit (``text/event-stream``): ``insight`` events
        (``data``: seq, type, occurred_at, payload and, for mentions, the mention), ``resync`` when the client
        fell too far behind (reload the views), ``bye`` before the server ends the stream (reconnect with
        ``Last-Event-ID``; rows may repeat, drop repeated ``seq``)."""
        hub: LiveHub = request.app.state.hub
        resume = _last_event_id(last_event_id_header, last_event_id)
        start = await hub.start_point(principal.tenant, last_event_id=resume, backfill=backfill)
        return StreamingResponse(
            hub.stream(principal.tenant, start, disconnected=request.is_disconnected),
            media_type="text/event-stream",
            headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
        )

    return app
