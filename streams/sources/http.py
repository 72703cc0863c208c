"""HTTP source and insight queries: ``POST /v1/events`` and ``GET /v1/insights/...``.

The routes talk to a :class:`StreamsBackend`: in-process (:class:`LocalBackend`,
a :class:`~streams.core.StreamProcessor` in this process) or a Ray Serve
deployment handle (the gateway under ``vettify up``). Callers authenticate with
a bearer token; events must belong to the token's tenant (an event for another
tenant is dead-lettered, not stored), and queries run inside it (RLS).

``POST /v1/events`` takes one envelope or a JSON array of them (at most
``max_batch`` and ``max_body_bytes``) and answers ``202`` with one result per
event: ``stored``, ``duplicate`` or ``dead_lettered`` with the reason. A body
that is not JSON is dead-lettered whole and answered ``400``.
"""

# No ``from __future__ import annotations``: FastAPI resolves the ``Annotated[..., Depends(writer)]``
# annotations at definition time, and ``writer``/``reader`` are locals of ``events_router``.
import json
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Literal, Protocol
from uuid import UUID

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from crm_core.core.config import Settings
from crm_core.core.security import Principal, Unauthorized, verify_token
from crm_core.db.tenancy import TenantContext

EVENTS_SCOPE = "events:write"
INSIGHTS_SCOPE = "insights:read"
DEFAULT_MAX_BODY = 8 * 1024 * 1024
DEFAULT_MAX_BATCH = 500


class StreamsBackend(Protocol):
    async def ingest(self, bodies: list[bytes], source: str, tenant: dict[str, Any] | None) -> list[dict[str, Any]]: ...

    async def query(self, name: str, tenant: dict[str, Any], params: dict[str, Any]) -> Any: ...


class LocalBackend:
    """A :class:`~streams.core.StreamProcessor` and the insight queries in this process."""

    def __init__(self, processor: Any, models: Any) -> None:
        self.processor = processor
        self.models = models

    async def ingest(self, bodies: list[bytes], source: str, tenant: dict[str, Any] | None) -> list[dict[str, Any]]:
        context = TenantContext(**tenant) if tenant else None
        return [r.as_dict() for r in await self.processor.handle_many(bodies, source, tenant=context)]

    async def query(self, name: str, tenant: dict[str, Any], params: dict[str, Any]) -> Any:
        from streams import insights

        context = TenantContext(**tenant)
        pool = self.processor.pool
        if name in ("similar_mentions", "similar_patterns"):
            vector = params.pop("vector", None)
            text = params.pop("text", None)
            if vector is None:
                vector = (await self.models.embed([text]))[0]
            search = insights.similar_mentions if name == "similar_mentions" else insights.similar_patterns
            return await search(pool, context, vector, **params)
        if name == "sentiment_timeline":
            return await insights.sentiment_timeline(pool, context, **params)
        if name == "latest_calls":
            return await insights.latest_calls(pool, context, **params)
        if name == "account_summary":
            return await insights.account_summary(pool, context, **params)
        raise ValueError(f"unknown insight query {name!r}")


class EventResult(BaseModel):
    id: str | None
    type: str | None
    outcome: Literal["stored", "duplicate", "dead_lettered"]
    reason: str | None


class IngestResponse(BaseModel):
    stored: int
    duplicate: int
    dead_lettered: int
    results: list[EventResult]


class SimilarRequest(BaseModel):
    text: str | None = Field(default=None, min_length=1, max_length=10_000)
    vector: list[float] | None = Field(default=None, min_length=384, max_length=384)
    k: int = Field(default=10, ge=1, le=100)
    brand: str | None = Field(default=None, max_length=200)

    def query(self) -> dict[str, Any]:
        if (self.text is None) == (self.vector is None):
            raise HTTPException(400, "give exactly one of text or vector")
        return {"text": self.text, "vector": self.vector, "k": self.k}


def principal_dependency(settings: Settings, scope: str) -> Callable[[Request], Principal]:
    def principal(request: Request) -> Principal:
        header = request.headers.get("authorization", "")
        if not header.lower().startswith("bearer "):
            raise HTTPException(401, "send a bearer token (vettify token --scope events:write …)")
        try:
            found = verify_token(settings, header[7:].strip())
        except Unauthorized as exc:
            raise HTTPException(401, str(exc)) from exc
        if not found.has(scope):
            raise HTTPException(403, f"the token lacks the {scope} scope")
        return found

    return principal


def _tenant(principal: Principal) -> dict[str, Any]:
    t = principal.tenant
    return {"tid": t.tid, "mid": t.mid, "whid": t.whid}


async def answer(call: Awaitable[Any]) -> Any:
    """Await a backend call; a bad query (``ValueError``, also behind Ray's wrapper) is a 400."""
    try:
        return await call
    except Exception as exc:
        cause = getattr(exc, "cause", None) or exc
        if isinstance(cause, ValueError):
            raise HTTPException(400, str(cause).splitlines()[0]) from exc
        raise


def split_body(raw: bytes) -> list[bytes]:
    """One envelope, or a JSON array of them, as one serialized body per event."""
    data = json.loads(raw)  # ValueError → the caller dead-letters the whole body
    if isinstance(data, list):
        return [json.dumps(item, separators=(",", ":")).encode() for item in data]
    return [raw]


def events_router(
    backend: Callable[[], StreamsBackend],
    settings: Settings,
    *,
    max_body_bytes: int = DEFAULT_MAX_BODY,
    max_batch: int = DEFAULT_MAX_BATCH,
) -> APIRouter:
    router = APIRouter()
    writer = principal_dependency(settings, EVENTS_SCOPE)
    reader = principal_dependency(settings, INSIGHTS_SCOPE)

    @router.post("/v1/events", response_model=IngestResponse, status_code=202, tags=["streams"])
    async def ingest(request: Request, principal: Annotated[Principal, Depends(writer)]) -> Any:
        """Ingest one event envelope or a JSON array of them (DESIGN.md, *Events*)."""
        declared = int(request.headers.get("content-length") or 0)
        if declared > max_body_bytes:
            raise HTTPException(413, f"the body is {declared} bytes; the limit is {max_body_bytes}")
        raw = await request.body()
        if len(raw) > max_body_bytes:
            raise HTTPException(413, f"the body is {len(raw)} bytes; the limit is {max_body_bytes}")
        try:
            bodies = split_body(raw)
        except ValueError as exc:
            result = (await backend().ingest([raw], "http", _tenant(principal)))[0]
            return JSONResponse({"detail": f"the body is not JSON: {exc}", "result": result}, status_code=400)
        if len(bodies) > max_batch:
            raise HTTPException(413, f"{len(bodies)} events in one request; the limit is {max_batch}")
        results = await backend().ingest(bodies, "http", _tenant(principal))
        counts = {k: sum(1 for r in results if r["outcome"] == k) for k in ("stored", "duplicate", "dead_lettered")}
        return IngestResponse(**counts, results=[EventResult(**r) for r in results])

    @router.post("/v1/insights/mentions/similar", tags=["insights"])
    async def similar_mentions(body: SimilarRequest, principal: Annotated[Principal, Depends(reader)]) -> Any:
        """Mentions nearest to a text or a 384-d vector (cosine, pgvector HNSW), optionally for one brand."""
        params = body.query() | {"brand": body.brand}
        return await answer(backend().query("similar_mentions", _tenant(principal), params))

    @router.post("/v1/insights/patterns/similar", tags=["insights"])
    async def similar_patterns(body: SimilarRequest, principal: Annotated[Principal, Depends(reader)]) -> Any:
        """Web sessions whose journey is nearest to a text (e.g. ``page_view:/pricing > click:demo``) or vector."""
        return await answer(backend().query("similar_patterns", _tenant(principal), body.query()))

    @router.get("/v1/insights/sentiment", tags=["insights"])
    async def sentiment_timeline(
        principal: Annotated[Principal, Depends(reader)],
        brand: str | None = None,
        account_id: UUID | None = None,
        bucket: Literal["hour", "day", "week"] = "day",
        days: Annotated[int, Query(ge=1, le=366)] = 30,
    ) -> Any:
        """Mentions per sentiment and mean score over time, for a brand, an account, or the whole tenant."""
        until = datetime.now(UTC) + timedelta(minutes=1)
        params = {"since": until - timedelta(days=days), "until": until, "bucket": bucket, "brand": brand}
        return await answer(
            backend().query("sentiment_timeline", _tenant(principal), params | {"account_id": account_id})
        )

    @router.get("/v1/insights/calls", tags=["insights"])
    async def latest_calls(
        principal: Annotated[Principal, Depends(reader)],
        account_id: UUID | None = None,
        limit: Annotated[int, Query(ge=1, le=200)] = 20,
    ) -> Any:
        """The latest analysed calls, newest first."""
        return await answer(
            backend().query("latest_calls", _tenant(principal), {"account_id": account_id, "limit": limit})
        )

    @router.get("/v1/insights/accounts/{account_id}", tags=["insights"])
    async def account_summary(
        account_id: UUID,
        principal: Annotated[Principal, Depends(reader)],
        days: Annotated[int, Query(ge=1, le=366)] = 90,
    ) -> Any:
        """One account's insight summary: mentions and sentiment, calls, web sessions, churn risk."""
        since = datetime.now(UTC) - timedelta(days=days)
        return await answer(
            backend().query("account_summary", _tenant(principal), {"account_id": account_id, "since": since})
        )

    return router
