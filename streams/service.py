"""What the streams offer callers: ingest events, and one method per insight query.

:class:`StreamsService` runs them in this process (a :class:`~streams.core.StreamProcessor` and its pool);
the Streams deployment hosts one, and the gateway reaches it through a handle with the same methods
(:class:`serve.deployments.streams.StreamsHandle`). The tenant crosses as a
:class:`~infra.db.tenancy.TenantContext`; every query runs inside it (RLS).
"""

from __future__ import annotations

import asyncio
import logging
import time
from datetime import UTC, date, datetime
from typing import Any, Protocol
from uuid import UUID

from infra import decisions
from infra.db.tenancy import TenantContext, tenant_transaction
from infra.errors import InvalidInput, Unavailable
from infra.settings import Settings
from streams import brand_watch, crisis, insights, prospects, recommendations, topics
from streams.brand_watch import Bucket as SovBucket
from streams.brand_watch import WatchList
from streams.core import Result, StreamProcessor
from streams.insights import Bucket
from streams.models import ModelClient
from streams.prospects import ProspectMatch, ProspectQuery, ProspectUpkeep
from streams.recommendations import CatalogUpsert, InteractionBatch, RecommendationRequest, Recommendations

logger = logging.getLogger(__name__)
NEIGHBOUR_REFRESH_S = 300.0  # a tenant's item neighbours are recomputed at most this often per process
EMBEDDING_VERSION = "all-MiniLM-L6-v2"  # the vectors items are stored with (models.registry's embedding)


class Streams(Protocol):
    async def ingest(self, bodies: list[bytes], source: str, tenant: TenantContext | None) -> list[Result]: ...

    async def similar_mentions(
        self, tenant: TenantContext, *, text: str | None, vector: list[float] | None, k: int, brand: str | None
    ) -> list[dict[str, Any]]: ...

    async def similar_patterns(
        self, tenant: TenantContext, *, text: str | None, vector: list[float] | None, k: int
    ) -> list[dict[str, Any]]: ...

    async def similar_calls(
        self, tenant: TenantContext, *, text: str | None, vector: list[float] | None, k: int, account_id: UUID | None
    ) -> list[dict[str, Any]]: ...

    async def sentiment_timeline(
        self,
        tenant: TenantContext,
        *,
        since: datetime,
        until: datetime,
        bucket: Bucket,
        brand: str | None,
        account_id: UUID | None,
    ) -> list[dict[str, Any]]: ...

    async def latest_calls(
        self, tenant: TenantContext, *, account_id: UUID | None, limit: int
    ) -> list[dict[str, Any]]: ...

    async def call_detail(self, tenant: TenantContext, call_analysis_id: UUID) -> dict[str, Any]: ...

    async def decision(self, tenant: TenantContext, decision_id: UUID) -> dict[str, Any]: ...

    async def decisions_for(self, tenant: TenantContext, ref_id: UUID) -> list[dict[str, Any]]: ...

    async def brands(self, tenant: TenantContext, *, since: datetime) -> list[dict[str, Any]]: ...

    async def draft_reach(
        self, tenant: TenantContext, *, platform: str, author: str | None, text: str, publish_at: datetime
    ) -> dict[str, Any]: ...

    async def brand_topics(
        self, tenant: TenantContext, brand: str, *, until: datetime, hours: float, baseline_days: float,
        min_size: int, limit: int,
    ) -> dict[str, Any]: ...  # fmt: skip

    async def watch_list(self, tenant: TenantContext) -> list[dict[str, Any]]: ...

    async def replace_watch_list(self, tenant: TenantContext, body: WatchList) -> dict[str, Any]: ...

    async def share_of_voice(
        self, tenant: TenantContext, *, since: datetime, until: datetime, bucket: SovBucket
    ) -> dict[str, Any]: ...

    async def crises(self, tenant: TenantContext, *, since: datetime) -> list[dict[str, Any]]: ...

    async def prospects(self, tenant: TenantContext, query: ProspectQuery) -> dict[str, Any]: ...

    async def prospect(self, tenant: TenantContext, prospect_id: UUID) -> dict[str, Any]: ...

    async def relationships(
        self, tenant: TenantContext, *, account_id: UUID | None, user: str | None, days: int
    ) -> list[dict[str, Any]]: ...

    async def confirm_prospect(
        self, tenant: TenantContext, prospect_id: UUID, body: ProspectMatch
    ) -> dict[str, Any]: ...

    async def prospect_upkeep(self, tenant: TenantContext, action: ProspectUpkeep) -> dict[str, Any]: ...

    async def stream_lag(self, tenant: TenantContext, *, since: datetime) -> list[dict[str, Any]]: ...

    async def pixel_funnel(self, tenant: TenantContext, *, since: datetime) -> list[dict[str, Any]]: ...

    async def account_summary(self, tenant: TenantContext, account_id: UUID, *, since: datetime) -> dict[str, Any]: ...

    async def dead_letters(self, tenant: TenantContext, *, limit: int, cursor: str | None) -> dict[str, Any]: ...

    async def campaign_experiment(self, tenant: TenantContext, campaign_id: UUID) -> dict[str, Any]: ...

    async def catalog_upsert(self, tenant: TenantContext, body: CatalogUpsert) -> dict[str, int]: ...

    async def catalog_interactions(self, tenant: TenantContext, body: InteractionBatch) -> dict[str, int]: ...

    async def recommend(self, tenant: TenantContext, body: RecommendationRequest) -> Recommendations: ...

    async def refresh_neighbours(self, tenant: TenantContext) -> dict[str, int]: ...

    async def attribution(
        self,
        tenant: TenantContext,
        *,
        since: datetime,
        until: datetime,
        lookback_days: int,
        currency: str,
        markov_order: int,
    ) -> dict[str, Any]: ...

    async def budget_plan(
        self, tenant: TenantContext, *, budget: float, weeks: int, currency: str, until: date
    ) -> dict[str, Any]: ...


class StreamsService:
    """:class:`Streams` in this process. Without a processor (no database configured) every call is 503."""

    def __init__(self, processor: StreamProcessor | None, models: ModelClient) -> None:
        self.processor = processor
        self.models = models
        self._refreshes: dict[tuple[str, str], asyncio.Task[None]] = {}
        self._refreshed_at: dict[tuple[str, str], float] = {}

    def _processor(self) -> StreamProcessor:
        if self.processor is None:
            raise Unavailable("the streams have no database: set VETTIFY_DATABASE_URL")
        return self.processor

    async def ingest(self, bodies: list[bytes], source: str, tenant: TenantContext | None) -> list[Result]:
        return await self._processor().handle_many(bodies, source, tenant=tenant)

    async def _vector(self, text: str | None, vector: list[float] | None) -> list[float]:
        if (text is None) == (vector is None):
            raise InvalidInput("give exactly one of text or vector")
        if vector is not None:
            return vector
        assert text is not None
        return (await self.models.embed([text]))[0]

    async def similar_mentions(
        self, tenant: TenantContext, *, text: str | None, vector: list[float] | None, k: int, brand: str | None
    ) -> list[dict[str, Any]]:
        query = await self._vector(text, vector)
        return await insights.similar_mentions(self._processor().pool, tenant, query, k=k, brand=brand)

    async def similar_patterns(
        self, tenant: TenantContext, *, text: str | None, vector: list[float] | None, k: int
    ) -> list[dict[str, Any]]:
        query = await self._vector(text, vector)
        return await insights.similar_patterns(self._processor().pool, tenant, query, k=k)

    async def similar_calls(
        self, tenant: TenantContext, *, text: str | None, vector: list[float] | None, k: int, account_id: UUID | None
    ) -> list[dict[str, Any]]:
        query = await self._vector(text, vector)
        return await insights.similar_calls(self._processor().pool, tenant, query, k=k, account_id=account_id)

    async def sentiment_timeline(
        self,
        tenant: TenantContext,
        *,
        since: datetime,
        until: datetime,
        bucket: Bucket,
        brand: str | None,
        account_id: UUID | None,
    ) -> list[dict[str, Any]]:
        return await insights.sentiment_timeline(
            self._processor().pool, tenant, since=since, until=until, bucket=bucket, brand=brand, account_id=account_id
        )

    async def latest_calls(self, tenant: TenantContext, *, account_id: UUID | None, limit: int) -> list[dict[str, Any]]:
        return await insights.latest_calls(self._processor().pool, tenant, account_id=account_id, limit=limit)

    async def call_detail(self, tenant: TenantContext, call_analysis_id: UUID) -> dict[str, Any]:
        return await insights.call_detail(self._processor().pool, tenant, call_analysis_id)

    async def decision(self, tenant: TenantContext, decision_id: UUID) -> dict[str, Any]:
        return await decisions.get(self._processor().pool, tenant, decision_id)

    async def decisions_for(self, tenant: TenantContext, ref_id: UUID) -> list[dict[str, Any]]:
        return await decisions.for_ref(self._processor().pool, tenant, ref_id)

    async def brands(self, tenant: TenantContext, *, since: datetime) -> list[dict[str, Any]]:
        return await insights.brands(self._processor().pool, tenant, since=since)

    async def draft_reach(
        self, tenant: TenantContext, *, platform: str, author: str | None, text: str, publish_at: datetime
    ) -> dict[str, Any]:
        return await self._processor().social.draft_reach(
            tenant, platform=platform, author=author, text=text, publish_at=publish_at
        )

    async def brand_topics(
        self, tenant: TenantContext, brand: str, *, until: datetime, hours: float, baseline_days: float,
        min_size: int, limit: int,
    ) -> dict[str, Any]:  # fmt: skip
        return await topics.brand_topics(self._processor().pool, tenant, brand, until=until, hours=hours,
                                         baseline_days=baseline_days, min_size=min_size, limit=limit)  # fmt: skip

    async def watch_list(self, tenant: TenantContext) -> list[dict[str, Any]]:
        return await brand_watch.watch_list(self._processor().pool, tenant)

    async def replace_watch_list(self, tenant: TenantContext, body: WatchList) -> dict[str, Any]:
        return await brand_watch.replace_watch_list(self._processor().pool, tenant, body, now=datetime.now(UTC))

    async def share_of_voice(
        self, tenant: TenantContext, *, since: datetime, until: datetime, bucket: SovBucket
    ) -> dict[str, Any]:
        return await brand_watch.share_of_voice(self._processor().pool, tenant, since=since, until=until, bucket=bucket)

    async def crises(self, tenant: TenantContext, *, since: datetime) -> list[dict[str, Any]]:
        return await crisis.crises(self._processor().pool, tenant, since=since)

    async def prospects(self, tenant: TenantContext, query: ProspectQuery) -> dict[str, Any]:
        async with tenant_transaction(self._processor().pool, tenant, readonly=True) as conn:
            return await prospects.listing(conn, tenant, **query.model_dump())

    async def prospect(self, tenant: TenantContext, prospect_id: UUID) -> dict[str, Any]:
        async with tenant_transaction(self._processor().pool, tenant, readonly=True) as conn:
            return await prospects.detail(conn, tenant, prospect_id)

    async def relationships(
        self, tenant: TenantContext, *, account_id: UUID | None, user: str | None, days: int
    ) -> list[dict[str, Any]]:
        async with tenant_transaction(self._processor().pool, tenant, readonly=True) as conn:
            return await prospects.relationships(conn, tenant, account_id=account_id, user=user, days=days)

    async def confirm_prospect(self, tenant: TenantContext, prospect_id: UUID, body: ProspectMatch) -> dict[str, Any]:
        async with tenant_transaction(self._processor().pool, tenant) as conn:
            return await prospects.confirm(conn, tenant, prospect_id, contact_id=body.contact_id, lead_id=body.lead_id)

    async def prospect_upkeep(self, tenant: TenantContext, action: ProspectUpkeep) -> dict[str, Any]:
        async with tenant_transaction(self._processor().pool, tenant) as conn:
            if action == "rematch":
                return await prospects.rematch(conn, tenant)
            return await prospects.retrain(conn, tenant)

    async def stream_lag(self, tenant: TenantContext, *, since: datetime) -> list[dict[str, Any]]:
        return await insights.stream_lag(self._processor().pool, tenant, since=since)

    async def pixel_funnel(self, tenant: TenantContext, *, since: datetime) -> list[dict[str, Any]]:
        return await insights.pixel_funnel(self._processor().pool, tenant, since=since)

    async def account_summary(self, tenant: TenantContext, account_id: UUID, *, since: datetime) -> dict[str, Any]:
        return await insights.account_summary(self._processor().pool, tenant, account_id, since=since)

    async def dead_letters(self, tenant: TenantContext, *, limit: int, cursor: str | None) -> dict[str, Any]:
        return await insights.dead_letters(self._processor().pool, tenant, limit=limit, cursor=cursor)

    async def catalog_upsert(self, tenant: TenantContext, body: CatalogUpsert) -> dict[str, int]:
        """Store items, embedding only those whose text is new or changed (64 texts per model call)."""
        pool = self._processor().pool
        async with tenant_transaction(pool, tenant, readonly=True) as conn:
            same = await recommendations.unchanged(conn, tenant, body.items)
        todo = [i for i in body.items if i.external_id not in same]
        vectors: dict[str, list[float]] = {}
        for start in range(0, len(todo), 64):
            chunk = todo[start : start + 64]
            for item, vector in zip(chunk, await self.models.embed([i.text() for i in chunk]), strict=True):
                vectors[item.external_id] = vector
        async with tenant_transaction(pool, tenant) as conn:
            await recommendations.store_items(conn, tenant, body.items, vectors, EMBEDDING_VERSION)
        return {"stored": len(body.items), "embedded": len(todo)}

    async def catalog_interactions(self, tenant: TenantContext, body: InteractionBatch) -> dict[str, int]:
        async with tenant_transaction(self._processor().pool, tenant) as conn:
            stored = await recommendations.add_interactions(conn, tenant, body)
        self._schedule_refresh(tenant)
        return {"stored": stored}

    async def refresh_neighbours(self, tenant: TenantContext) -> dict[str, int]:
        """Recompute the tenant's item neighbours now (the collaborative signal of recommendations)."""
        async with tenant_transaction(self._processor().pool, tenant) as conn:
            pairs = await recommendations.refresh_neighbours(conn, tenant)
        self._refreshed_at[(tenant.tid, tenant.mid)] = time.monotonic()
        return {"pairs": pairs}

    def _schedule_refresh(self, tenant: TenantContext) -> None:
        """New interactions: recompute the neighbours in the background, at most once per
        NEIGHBOUR_REFRESH_S per tenant in this process (one pending refresh at a time)."""
        key = (tenant.tid, tenant.mid)
        pending = self._refreshes.get(key)
        if pending is not None and not pending.done():
            return
        wait = max(0.0, self._refreshed_at.get(key, -NEIGHBOUR_REFRESH_S) + NEIGHBOUR_REFRESH_S - time.monotonic())

        async def later() -> None:
            await asyncio.sleep(wait)
            try:
                await self.refresh_neighbours(tenant)
            except Exception:  # logged; the next interactions schedule another
                logger.exception("refreshing item neighbours of tenant %s failed", tenant.tid)

        self._refreshes[key] = asyncio.create_task(later(), name=f"neighbours-{tenant.tid}")

    async def recommend(self, tenant: TenantContext, body: RecommendationRequest) -> Recommendations:
        async with tenant_transaction(self._processor().pool, tenant) as conn:
            return await recommendations.recommend(conn, tenant, body)

    async def attribution(
        self,
        tenant: TenantContext,
        *,
        since: datetime,
        until: datetime,
        lookback_days: int,
        currency: str,
        markov_order: int,
    ) -> dict[str, Any]:
        from streams import marketing

        async with tenant_transaction(self._processor().pool, tenant, readonly=True) as conn:
            return await marketing.attribution(
                conn,
                tenant,
                since=since,
                until=until,
                lookback_days=lookback_days,
                currency=currency,
                markov_order=markov_order,
            )

    async def budget_plan(
        self, tenant: TenantContext, *, budget: float, weeks: int, currency: str, until: date
    ) -> dict[str, Any]:
        from streams import marketing

        async with tenant_transaction(self._processor().pool, tenant, readonly=True) as conn:
            return await marketing.budget_plan(conn, tenant, budget=budget, weeks=weeks, currency=currency, until=until)

    async def campaign_experiment(self, tenant: TenantContext, campaign_id: UUID) -> dict[str, Any]:
        from streams.experiments import campaign_experiment

        settings = Settings()
        async with tenant_transaction(self._processor().pool, tenant, readonly=True) as conn:
            return await campaign_experiment(
                conn,
                tenant=tenant,
                campaign_id=campaign_id,
                alpha=settings.ab_alpha,
                window_days=settings.conversion_window_days,
            )
