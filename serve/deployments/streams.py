"""The stream processors as a Ray Serve deployment, bound to the model deployments' handles.

The gateway serves ``POST /v1/events`` and ``/v1/insights/*`` (:mod:`streams.api`) over
:class:`StreamsHandle`, which has the methods of :class:`streams.service.Streams`; model calls go through
the same handles (and so the same batches) as HTTP and gRPC traffic. When a RabbitMQ URL or Kafka
bootstrap address is configured, each replica also runs those sources (competing consumers: more
replicas, more consumers). A replica without a database answers 503 ``unavailable``: the model routes
keep working.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar
from uuid import UUID

import asyncpg
from ray import serve
from redis.asyncio import Redis

from infra.db.pool import assert_rls_applies, create_pool
from infra.db.tenancy import TenantContext
from infra.redis import create_redis
from infra.settings import Settings
from serve.deployments.base import Handle
from serve.errors import as_error
from streams.brand_watch import Bucket as SovBucket
from streams.brand_watch import WatchList
from streams.core import Result, StreamProcessor
from streams.experiments import ExperimentOptimizer
from streams.insights import Bucket
from streams.pricing import Repricer
from streams.prospects import ProspectMatch, ProspectMatcher, ProspectQuery, ProspectUpkeep
from streams.recommendations import CatalogUpsert, InteractionBatch, RecommendationRequest, Recommendations
from streams.service import Streams, StreamsService
from streams.sources.rabbitmq import RabbitMQSource

if TYPE_CHECKING:
    from models.reach.scorer import ReachScorer
    from streams.sources.kafka import KafkaSource  # faust: imported only where Kafka is configured

logger = logging.getLogger("ray.serve")

T = TypeVar("T")


def _reach_scorer(artifacts_dir: Path, use_text: bool) -> ReachScorer | None:
    """The reach model (trained at the first start); without it posts are stored unscored, with the reason logged."""
    from models.reach.scorer import ensure

    try:
        return ensure(artifacts_dir, use_text=use_text)
    except Exception:
        logger.exception("Streams: no reach model; posts are stored without a reach score")
        return None


@serve.deployment(
    name="Streams",
    ray_actor_options={"num_cpus": 0.1},
    max_ongoing_requests=64,
    max_queued_requests=256,
    health_check_period_s=10,
    graceful_shutdown_timeout_s=30,
)
class StreamsDeployment(StreamsService):
    """The :class:`~streams.service.StreamsService` in a replica, with its pool, Redis and bus sources."""

    async def __init__(  # type: ignore[misc]  # Serve awaits an async constructor
        self,
        embedding: Handle,
        sentiment: Handle,
        voice: Handle,
        vision: Handle,
        churn: Handle,
        database_url: str | None = None,
        redis_url: str | None = None,
        amqp_url: str | None = None,
        kafka_bootstrap: str | None = None,
        media_root: str | None = None,
        worker_database_url: str | None = None,
        artifacts_dir: str | None = None,
        reach_use_text: bool = False,
    ) -> None:
        from streams.models import ServeModels

        models = ServeModels(
            {"embedding": embedding, "sentiment": sentiment, "voice": voice, "vision": vision, "churn": churn}
        )
        super().__init__(None, models)
        self.sources: list[RabbitMQSource | KafkaSource] = []
        self._pool: asyncpg.Pool | None = None
        self._redis: Redis | None = None
        self._scan_pool: asyncpg.Pool | None = None
        self.optimizer: ExperimentOptimizer | None = None
        self.repricer: Repricer | None = None
        self.matcher: ProspectMatcher | None = None
        if database_url is None:
            logger.warning("Streams: no database configured; /v1/events and /v1/insights answer 503")
            return
        artifacts = Path(artifacts_dir) if artifacts_dir else Settings().resolved_artifacts_dir
        reach = await asyncio.to_thread(_reach_scorer, artifacts, reach_use_text)
        await self._start(database_url, redis_url, amqp_url, kafka_bootstrap, media_root, reach)
        if worker_database_url:
            await self._start_optimizer(worker_database_url)

    async def _start(
        self,
        database_url: str,
        redis_url: str | None,
        amqp_url: str | None,
        kafka_bootstrap: str | None,
        media_root: str | None,
        reach: ReachScorer | None,
    ) -> None:
        settings = Settings(database_url=database_url, redis_url=redis_url)  # this replica's one settings object
        self._pool = await create_pool(database_url, settings, min_size=1, max_size=10)
        await assert_rls_applies(self._pool)
        # No Redis URL: fakeredis in this replica (churn features are then per replica: set one to share them).
        self._redis = create_redis(settings)
        processor = StreamProcessor(
            self._pool,
            self.models,
            redis=self._redis,
            media_root=Path(media_root) if media_root else None,
            reach=reach,
        )
        if amqp_url:
            rabbit = RabbitMQSource(amqp_url, processor)
            await rabbit.start()
            self.sources.append(rabbit)
        if kafka_bootstrap:
            from streams.sources.kafka import KafkaSource

            kafka = KafkaSource(kafka_bootstrap, processor)
            await kafka.start()
            self.sources.append(kafka)
        self.processor = processor

    async def _start_optimizer(self, worker_database_url: str) -> None:
        """The A/B optimiser and the repricer: work found with the worker role, done in its tenant."""
        assert self._pool is not None
        settings = Settings()
        self._scan_pool = await create_pool(worker_database_url, settings, min_size=1, max_size=2)
        self.optimizer = ExperimentOptimizer(
            self._pool,
            self._scan_pool,
            interval_s=settings.ab_check_interval_s,
            alpha=settings.ab_alpha,
            window_days=settings.conversion_window_days,
        )
        self.optimizer.start()
        self.repricer = Repricer(self._pool, self._scan_pool, interval_s=settings.pricing_scan_interval_s)
        self.repricer.start()
        self.matcher = ProspectMatcher(self._pool, self._scan_pool, every_s=settings.prospect_rematch_s)
        self.matcher.start()

    async def ready(self) -> dict[str, str]:
        return {"model": "streams", "version": "database" if self.processor is not None else "no database"}

    async def check_health(self) -> None:
        if self._pool is not None:
            async with self._pool.acquire() as conn:
                await conn.fetchval("SELECT 1")

    async def __del__(self) -> None:
        for loop in (self.optimizer, self.repricer, self.matcher):
            if loop is not None:
                with contextlib.suppress(Exception):
                    await loop.stop()
        if self._scan_pool is not None:
            with contextlib.suppress(Exception):
                await self._scan_pool.close()
        for source in self.sources:
            with contextlib.suppress(Exception):
                await source.stop()
        if self._redis is not None:
            with contextlib.suppress(Exception):
                await self._redis.aclose()
        if self._pool is not None:
            with contextlib.suppress(Exception):
                await self._pool.close()


class StreamsHandle(Streams):
    """:class:`~streams.service.Streams` over the Streams deployment's handle; errors come back as the engine's."""

    def __init__(self, handle: Handle) -> None:
        self.handle = handle

    @staticmethod
    async def _call(response: Awaitable[T]) -> T:
        try:
            return await response
        except Exception as exc:
            raise as_error(exc) from exc

    async def ingest(self, bodies: list[bytes], source: str, tenant: TenantContext | None) -> list[Result]:
        return await self._call(self.handle.ingest.remote(bodies, source, tenant))

    async def similar_mentions(
        self, tenant: TenantContext, *, text: str | None, vector: list[float] | None, k: int, brand: str | None
    ) -> list[dict[str, Any]]:
        return await self._call(self.handle.similar_mentions.remote(tenant, text=text, vector=vector, k=k, brand=brand))

    async def similar_patterns(
        self, tenant: TenantContext, *, text: str | None, vector: list[float] | None, k: int
    ) -> list[dict[str, Any]]:
        return await self._call(self.handle.similar_patterns.remote(tenant, text=text, vector=vector, k=k))

    async def similar_calls(
        self, tenant: TenantContext, *, text: str | None, vector: list[float] | None, k: int, account_id: UUID | None
    ) -> list[dict[str, Any]]:
        return await self._call(
            self.handle.similar_calls.remote(tenant, text=text, vector=vector, k=k, account_id=account_id)
        )

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
        return await self._call(
            self.handle.sentiment_timeline.remote(
                tenant, since=since, until=until, bucket=bucket, brand=brand, account_id=account_id
            )
        )

    async def latest_calls(self, tenant: TenantContext, *, account_id: UUID | None, limit: int) -> list[dict[str, Any]]:
        return await self._call(self.handle.latest_calls.remote(tenant, account_id=account_id, limit=limit))

    async def call_detail(self, tenant: TenantContext, call_analysis_id: UUID) -> dict[str, Any]:
        return await self._call(self.handle.call_detail.remote(tenant, call_analysis_id))

    async def decision(self, tenant: TenantContext, decision_id: UUID) -> dict[str, Any]:
        return await self._call(self.handle.decision.remote(tenant, decision_id))

    async def decisions_for(self, tenant: TenantContext, ref_id: UUID) -> list[dict[str, Any]]:
        return await self._call(self.handle.decisions_for.remote(tenant, ref_id))

    async def draft_reach(
        self, tenant: TenantContext, *, platform: str, author: str | None, text: str, publish_at: datetime
    ) -> dict[str, Any]:
        return await self._call(
            self.handle.draft_reach.remote(tenant, platform=platform, author=author, text=text, publish_at=publish_at)
        )

    async def brands(self, tenant: TenantContext, *, since: datetime) -> list[dict[str, Any]]:
        return await self._call(self.handle.brands.remote(tenant, since=since))

    async def brand_topics(
        self, tenant: TenantContext, brand: str, *, until: datetime, hours: float, baseline_days: float,
        min_size: int, limit: int,
    ) -> dict[str, Any]:  # fmt: skip
        return await self._call(self.handle.brand_topics.remote(tenant, brand, until=until, hours=hours,
                                baseline_days=baseline_days, min_size=min_size, limit=limit))  # fmt: skip

    async def watch_list(self, tenant: TenantContext) -> list[dict[str, Any]]:
        return await self._call(self.handle.watch_list.remote(tenant))

    async def replace_watch_list(self, tenant: TenantContext, body: WatchList) -> dict[str, Any]:
        return await self._call(self.handle.replace_watch_list.remote(tenant, body))

    async def share_of_voice(
        self, tenant: TenantContext, *, since: datetime, until: datetime, bucket: SovBucket
    ) -> dict[str, Any]:
        return await self._call(self.handle.share_of_voice.remote(tenant, since=since, until=until, bucket=bucket))

    async def crises(self, tenant: TenantContext, *, since: datetime) -> list[dict[str, Any]]:
        return await self._call(self.handle.crises.remote(tenant, since=since))

    async def prospects(self, tenant: TenantContext, query: ProspectQuery) -> dict[str, Any]:
        return await self._call(self.handle.prospects.remote(tenant, query))

    async def prospect(self, tenant: TenantContext, prospect_id: UUID) -> dict[str, Any]:
        return await self._call(self.handle.prospect.remote(tenant, prospect_id))

    async def relationships(
        self, tenant: TenantContext, *, account_id: UUID | None, user: str | None, days: int
    ) -> list[dict[str, Any]]:
        return await self._call(self.handle.relationships.remote(tenant, account_id=account_id, user=user, days=days))

    async def confirm_prospect(self, tenant: TenantContext, prospect_id: UUID, body: ProspectMatch) -> dict[str, Any]:
        return await self._call(self.handle.confirm_prospect.remote(tenant, prospect_id, body))

    async def prospect_upkeep(self, tenant: TenantContext, action: ProspectUpkeep) -> dict[str, Any]:
        return await self._call(self.handle.prospect_upkeep.remote(tenant, action))

    async def stream_lag(self, tenant: TenantContext, *, since: datetime) -> list[dict[str, Any]]:
        return await self._call(self.handle.stream_lag.remote(tenant, since=since))

    async def pixel_funnel(self, tenant: TenantContext, *, since: datetime) -> list[dict[str, Any]]:
        return await self._call(self.handle.pixel_funnel.remote(tenant, since=since))

    async def account_summary(self, tenant: TenantContext, account_id: UUID, *, since: datetime) -> dict[str, Any]:
        return await self._call(self.handle.account_summary.remote(tenant, account_id, since=since))

    async def dead_letters(self, tenant: TenantContext, *, limit: int, cursor: str | None) -> dict[str, Any]:
        return await self._call(self.handle.dead_letters.remote(tenant, limit=limit, cursor=cursor))

    async def campaign_experiment(self, tenant: TenantContext, campaign_id: UUID) -> dict[str, Any]:
        return await self._call(self.handle.campaign_experiment.remote(tenant, campaign_id))

    async def catalog_upsert(self, tenant: TenantContext, body: CatalogUpsert) -> dict[str, int]:
        return await self._call(self.handle.catalog_upsert.remote(tenant, body))

    async def catalog_interactions(self, tenant: TenantContext, body: InteractionBatch) -> dict[str, int]:
        return await self._call(self.handle.catalog_interactions.remote(tenant, body))

    async def recommend(self, tenant: TenantContext, body: RecommendationRequest) -> Recommendations:
        return await self._call(self.handle.recommend.remote(tenant, body))

    async def refresh_neighbours(self, tenant: TenantContext) -> dict[str, int]:
        return await self._call(self.handle.refresh_neighbours.remote(tenant))

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
        return await self._call(
            self.handle.attribution.remote(
                tenant,
                since=since,
                until=until,
                lookback_days=lookback_days,
                currency=currency,
                markov_order=markov_order,
            )
        )

    async def budget_plan(
        self, tenant: TenantContext, *, budget: float, weeks: int, currency: str, until: date
    ) -> dict[str, Any]:
        return await self._call(
            self.handle.budget_plan.remote(tenant, budget=budget, weeks=weeks, currency=currency, until=until)
        )
