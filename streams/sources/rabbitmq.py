"""RabbitMQ source (aio-pika): one durable queue per processor group, ack after commit.

Topology, declared at start (idempotent):

* exchange ``vettify.events`` (topic, durable), shared with the CRM core's bus;
* per group ``streams.<group>`` bound to its event types (exact routing keys:
  other modules' events on the shared exchange are not ours to dead-letter), read with a prefetch
  window (back-pressure: at most ``prefetch`` unacked messages per consumer);
* ``streams.<group>.retry``: messages that failed for a transient reason wait
  there (per-message TTL, doubling from ``retry_delay_s``) and then dead-letter
  back into the main queue through the default exchange;
* ``streams.<group>.dlq``: messages that still fail after ``max_attempts``.

Per message: the core stores it, finds it a duplicate, or dead-letters it into
``ai.dead_letters`` (all three: ack). A transient failure (database or model
down) republishes it to the retry queue with ``x-attempt`` + 1 and acks the
original; the publish is confirmed first, so the message is never lost. A crash
before the ack leaves the message unacked: RabbitMQ redelivers it to the next
consumer and the ledger makes the redelivery a no-op if the first one committed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from crm_core.events.bus import EXCHANGE
from streams.core import StreamProcessor
from streams.schemas import SOCIAL_TYPES

logger = logging.getLogger(__name__)

GROUPS: dict[str, tuple[str, ...]] = {
    "social": SOCIAL_TYPES,
    "behavior": ("web.user.behavior.tracked", "social.facebook.pixel.event"),
    "calls": ("media.voice.call.recorded", "media.video.call.recorded"),
    "orders": ("sales.order.created", "wms.shipment.delivered"),
}


@dataclass
class ConsumerStats:
    handled: dict[str, int] = field(default_factory=dict)
    retried: int = 0
    exhausted: int = 0


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
        self.url = url
        self.processor = processor
        self.groups = list(groups)
        self.queue_prefix = queue_prefix
        self.prefetch = prefetch
        self.retry_delay_s = retry_delay_s
        self.max_attempts = max_attempts
        self.stats = ConsumerStats()
        self._connection: Any = None
        self._channel: Any = None

    def queue_name(self, group: str) -> str:
        return f"{self.queue_prefix}.{group}"

    async def start(self) -> None:
        import aio_pika

        self._connection = await aio_pika.connect_robust(self.url)
        self._channel = await self._connection.channel(publisher_confirms=True)
        await self._channel.set_qos(prefetch_count=self.prefetch)
        exchange = await self._channel.declare_exchange(EXCHANGE, aio_pika.ExchangeType.TOPIC, durable=True)
        for group in self.groups:
            name = self.queue_name(group)
            await self._channel.declare_queue(f"{name}.dlq", durable=True)
            await self._channel.declare_queue(
                f"{name}.retry",
                durable=True,
                arguments={"x-dead-letter-exchange": "", "x-dead-letter-routing-key": name},
            )
            queue = await self._channel.declare_queue(name, durable=True)
            for key in GROUPS[group]:
                await queue.bind(exchange, routing_key=key)
            await queue.consume(self._on_message)

    async def stop(self) -> None:
        if self._connection is not None:
            with contextlib.suppress(Exception):
                await self._connection.close()
        self._connection = self._channel = None

    async def _on_message(self, message: Any) -> None:
        try:
            result = await self.processor.handle_raw(message.body, f"rabbitmq:{message.routing_key or '?'}")
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            await self._retry_or_give_up(message, exc)
            return
        await message.ack()
        self.stats.handled[result.outcome.value] = self.stats.handled.get(result.outcome.value, 0) + 1

    async def _retry_or_give_up(self, message: Any, exc: Exception) -> None:
        import aio_pika

        headers = dict(message.headers or {})
        attempt = int(headers.get("x-attempt", 1))
        queue = self._queue_of(message)
        headers["x-attempt"] = attempt + 1
        headers["x-last-error"] = f"{type(exc).__name__}: {exc}"[:1000]
        if attempt >= self.max_attempts:
            target, expiration = f"{queue}.dlq", None
            self.stats.exhausted += 1
            logger.error("giving up on message %s after %d attempts: %s", message.message_id, attempt, exc)
        else:
            target, expiration = f"{queue}.retry", self.retry_delay_s * 2 ** (attempt - 1)
            self.stats.retried += 1
            logger.warning(
                "message %s failed (attempt %d), retrying in %.1fs: %s", message.message_id, attempt, expiration, exc
            )
        await self._channel.default_exchange.publish(
            aio_pika.Message(
                message.body,
                headers=headers,
                content_type=message.content_type,
                message_id=message.message_id,
                delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
                expiration=expiration,
            ),
            routing_key=target,
        )
        await message.ack()

    def _queue_of(self, message: Any) -> str:
        routing_key = message.routing_key or ""
        for group in self.groups:
            name = self.queue_name(group)
            if routing_key in GROUPS[group] or routing_key in (name, f"{name}.retry"):
                return name
        return self.queue_name(self.groups[0])
