"""Event buses: in-process (embedded default) and RabbitMQ (aio-pika).

Both deliver at least once and in publish order per publisher. RabbitMQ uses a
durable topic exchange with the event type as routing key, persistent messages,
publisher confirms, ``message_id`` = event id, ``x-corr-id`` and (tracing on) ``traceparent`` as headers.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import Protocol

from infra import tracing
from infra.events.envelope import CORR_HEADER, Envelope

logger = logging.getLogger(__name__)

EXCHANGE = "vettify.events"
Handler = Callable[[Envelope], Awaitable[object]]


class EventBus(Protocol):
    async def publish(self, event: Envelope) -> None: ...

    async def close(self) -> None: ...


def topic_matches(pattern: str, event_type: str) -> bool:
    """AMQP topic semantics: ``*`` is one word, ``#`` is zero or more."""
    words, parts = pattern.split("."), event_type.split(".")

    def match(i: int, j: int) -> bool:
        if i == len(words):
            return j == len(parts)
        if words[i] == "#":
            return any(match(i + 1, k) for k in range(j, len(parts) + 1))
        return j < len(parts) and words[i] in ("*", parts[j]) and match(i + 1, j + 1)

    return match(0, 0)


class InProcessBus:
    """Fan-out to subscribers in this process; a failing handler is logged, others still run."""

    def __init__(self) -> None:
        self._subscribers: list[tuple[str, Handler]] = []
        self.published: int = 0

    def subscribe(self, pattern: str, handler: Handler) -> None:
        self._subscribers.append((pattern, handler))

    async def publish(self, event: Envelope) -> None:
        self.published += 1
        for pattern, handler in self._subscribers:
            if topic_matches(pattern, event.type):
                try:
                    await handler(event)
                except Exception:
                    logger.exception("in-process handler for %s failed on event %s", pattern, event.id)

    async def close(self) -> None:
        self._subscribers.clear()


class RabbitMQBus:
    """Publishes to the durable topic exchange ``vettify.events`` with confirms."""

    def __init__(self, url: str, exchange: str = EXCHANGE) -> None:
        self.url = url
        self.exchange_name = exchange
        self._connection: object | None = None
        self._exchange: object | None = None
        self._lock = asyncio.Lock()

    async def _ensure(self) -> object:
        import aio_pika

        async with self._lock:
            if self._exchange is None:
                connection = await aio_pika.connect_robust(self.url)
                channel = await connection.channel(publisher_confirms=True)
                self._exchange = await channel.declare_exchange(
                    self.exchange_name, aio_pika.ExchangeType.TOPIC, durable=True
                )
                self._connection = connection
            return self._exchange

    async def publish(self, event: Envelope) -> None:
        import aio_pika

        exchange = await self._ensure()
        headers = {CORR_HEADER: event.corr_id or "", "x-event-type": event.type, "x-tid": event.tid}
        headers.update(tracing.carrier())  # traceparent: the consumer's span continues the publisher's trace
        message = aio_pika.Message(
            event.to_json(),
            content_type="application/json",
            message_id=str(event.id),
            timestamp=event.occurred_at,
            headers=headers,  # type: ignore[arg-type]
            delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
        )
        await exchange.publish(message, routing_key=event.type, mandatory=False)  # type: ignore[attr-defined]

    async def close(self) -> None:
        if self._connection is not None:
            with contextlib.suppress(Exception):
                await self._connection.close()  # type: ignore[attr-defined]
        self._connection = self._exchange = None
