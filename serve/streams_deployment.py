"""The stream processors as a Ray Serve deployment, bound to the model deployments' handles.

The gateway forwards ``POST /v1/events`` and ``/v1/insights/*`` here
(:class:`HandleBackend`); model calls go through the same handles (and so the
same ``@serve.batch`` queues) as HTTP and gRPC traffic. When a RabbitMQ URL or
Kafka bootstrap address is configured, each replica also runs those sources
(competing consumers: more replicas, more consumers). A replica without a
database answers 503: the HTTP model routes keep working.
"""

from __future__ import annotations

import contextlib
import logging
from pathlib import Path
from typing import Any

from ray import serve

logger = logging.getLogger("ray.serve")


class StreamsUnavailable(RuntimeError):
    """Answered as 503: this replica cannot store events."""


@serve.deployment(
    name="Streams",
    ray_actor_options={"num_cpus": 0.1},
    max_ongoing_requests=64,
    max_queued_requests=256,
    health_check_period_s=10,
    graceful_shutdown_timeout_s=30,
)
class StreamsDeployment:
    async def __init__(  # type: ignore[misc]  # Serve awaits an async constructor
        self,
        embedding: Any,
        sentiment: Any,
        voice: Any,
        vision: Any,
        churn: Any,
        database_url: str | None = None,
        redis_url: str | None = None,
        amqp_url: str | None = None,
        kafka_bootstrap: str | None = None,
        media_root: str | None = None,
    ) -> None:
        from streams.models import ServeModels

        self.models = ServeModels(
            {"embedding": embedding, "sentiment": sentiment, "voice": voice, "vision": vision, "churn": churn}
        )
        self.backend: Any = None
        self.sources: list[Any] = []
        self._pool: Any = None
        self._redis: Any = None
        if database_url is None:
            logger.warning("Streams: no database configured; /v1/events and /v1/insights answer 503")
            return
        await self._start(database_url, redis_url, amqp_url, kafka_bootstrap, media_root)

    async def _start(
        self,
        database_url: str,
        redis_url: str | None,
        amqp_url: str | None,
        kafka_bootstrap: str | None,
        media_root: str | None,
    ) -> None:
        from crm_core.core.config import Settings
        from crm_core.db.pool import assert_rls_applies, create_pool
        from streams.core import StreamProcessor
        from streams.sources.http import LocalBackend

        settings = Settings()
        self._pool = await create_pool(database_url, settings, min_size=1, max_size=10)
        await assert_rls_applies(self._pool)
        from crm_core.core.redis import create_redis

        # No Redis URL: fakeredis in this replica (churn features are then per replica: set one to share them).
        self._redis = create_redis(settings.model_copy(update={"redis_url": redis_url or settings.redis_url}))
        processor = StreamProcessor(
            self._pool, self.models, redis=self._redis, media_root=Path(media_root) if media_root else None
        )
        self.backend = LocalBackend(processor, self.models)
        if amqp_url:
            from streams.sources.rabbitmq import RabbitMQSource

            rabbit = RabbitMQSource(amqp_url, processor)
            await rabbit.start()
            self.sources.append(rabbit)
        if kafka_bootstrap:
            from streams.sources.kafka import KafkaSource

            kafka = KafkaSource(kafka_bootstrap, processor)
            await kafka.start()
            self.sources.append(kafka)

    def _backend(self) -> Any:
        if self.backend is None:
            raise StreamsUnavailable("the streams have no database: set VETTIFY_DATABASE_URL")
        return self.backend

    async def ingest(self, bodies: list[bytes], source: str, tenant: dict[str, Any] | None) -> list[dict[str, Any]]:
        result: list[dict[str, Any]] = await self._backend().ingest(bodies, source, tenant)
        return result

    async def query(self, name: str, tenant: dict[str, Any], params: dict[str, Any]) -> Any:
        return await self._backend().query(name, tenant, params)

    async def ready(self) -> dict[str, str]:
        return {"model": "streams", "version": "database" if self.backend is not None else "no database"}

    async def check_health(self) -> None:
        if self._pool is not None:
            async with self._pool.acquire() as conn:
                await conn.fetchval("SELECT 1")

    async def __del__(self) -> None:
        for source in self.sources:
            with contextlib.suppress(Exception):
                await source.stop()
        if self._redis is not None:
            with contextlib.suppress(Exception):
                await self._redis.aclose()
        if self._pool is not None:
            with contextlib.suppress(Exception):
                await self._pool.close()


class HandleBackend:
    """The gateway's view of the Streams deployment (``StreamsBackend`` over a handle)."""

    def __init__(self, handle: Any) -> None:
        self.handle = handle

    async def ingest(self, bodies: list[bytes], source: str, tenant: dict[str, Any] | None) -> list[dict[str, Any]]:
        result: list[dict[str, Any]] = await self._call(self.handle.ingest.remote(bodies, source, tenant))
        return result

    async def query(self, name: str, tenant: dict[str, Any], params: dict[str, Any]) -> Any:
        return await self._call(self.handle.query.remote(name, tenant, params))

    @staticmethod
    async def _call(response: Any) -> Any:
        from fastapi import HTTPException

        from serve.gateway import classify_error

        try:
            return await response
        except Exception as exc:
            cause = getattr(exc, "cause", None) or exc
            if isinstance(cause, ValueError):
                raise cause from exc
            if isinstance(cause, StreamsUnavailable):
                raise HTTPException(503, str(cause), headers={"Retry-After": "30"}) from exc
            raise classify_error(exc) from exc
