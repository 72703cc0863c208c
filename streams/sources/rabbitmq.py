"""RabbitMQ source: the streams' processor groups on the engine's one consumer (:mod:`infra.events.rabbitmq`).

One durable queue per processor group, ``streams.<group>``, bound to its event types, with its
``.retry`` and ``.dlq`` queues. The core stores each message, finds it a duplicate, or dead-letters it into
``ai.dead_letters`` (all three: ack); a transient failure (database or model down) raises, and the
consumer retries it with back-off. The ledger makes a redelivery a no-op if the first one committed.
"""

from __future__ import annotations

from collections.abc import Sequence

from infra.events.rabbitmq import ConsumerStats, RabbitMQConsumer
from streams.core import StreamProcessor
from streams.schemas import SOCIAL_TYPES

GROUPS: dict[str, tuple[str, ...]] = {
    "social": (*SOCIAL_TYPES, "social.post.engagement", "social.linkedin.signal"),
    "behavior": ("web.user.behavior.tracked", "social.facebook.pixel.event"),
    "calls": ("media.voice.call.recorded", "media.video.call.recorded"),
    "orders": ("sales.order.created", "wms.shipment.delivered"),
}
"""``orders`` is the one queue that applies ``sales.order.created`` when the streams run: the CRM core's own
consumer is not started then (``Settings.crm_consumes_events``)."""


class RabbitMQSource:
    def __init__(
        self,
        url: str,
        processor: StreamProcessor,
        *,
        groups: Sequence[str] = tuple(GROUPS),
        queue_prefix: str = "streams",
        prefetch: int = 64,
        retry_delay_s: float = 1.0,
        max_attempts: int = 5,
    ) -> None:
        unknown = set(groups) - set(GROUPS)
        if unknown:
            raise ValueError(f"unknown processor groups {sorted(unknown)}; known: {', '.join(GROUPS)}")
        self.processor = processor
        self.consumer = RabbitMQConsumer(
            url,
            queues={f"{queue_prefix}.{group}": GROUPS[group] for group in groups},
            handler=self._handle,
            prefetch=prefetch,
            retry_delay_s=retry_delay_s,
            max_attempts=max_attempts,
        )

    @property
    def stats(self) -> ConsumerStats:
        return self.consumer.stats

    async def _handle(self, body: bytes, routing_key: str) -> None:
        await self.processor.handle_raw(body, f"rabbitmq:{routing_key or '?'}")

    async def start(self) -> None:
        await self.consumer.start()

    async def stop(self) -> None:
        await self.consumer.stop()
