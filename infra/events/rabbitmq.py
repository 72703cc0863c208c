"""The one RabbitMQ consumer (aio-pika): ack after the handler committed, retry with back-off, dead-letter
with a reason. The CRM core's order consumer and the streams' sources both run on it.

Topology, declared at start (idempotent), per queue ``<name>``:

* ``<name>``: durable, bound on the topic exchange ``vettify.events`` to exact routing keys (other
  modules' events on the shared exchange are not ours), read with a prefetch window (back-pressure: at
  most ``prefetch`` unacked messages per consumer);
* ``<name>.retry``: messages that failed for a transient reason wait there (per-message TTL, doubling
  from ``retry_delay_s``) and then dead-letter back into ``<name>`` through the default exchange;
* ``<name>.dlq``: messages that cannot be handled as they are, with ``x-dead-letter-reason``.

Per message: the handler returns → ack. It raises :class:`~infra.errors.InvalidEvent` → the message goes to
``<name>.dlq`` with the reason (never retried). Anything else (database or model down) → republished to
``<name>.retry`` with ``x-attempt`` + 1, then the original is acked; after ``max_attempts`` it goes to
``<name>.dlq`` too. Every republish is confirmed before the ack, so a message is never lost; a crash
before the ack leaves it unacked and RabbitMQ redelivers it (handlers are idempotent by event id).
Attempts travel in the message, not in this process's memory, so they survive a consumer restart.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any

from opentelemetry.trace import SpanKind
from pydantic import ValidationError

from infra import tracing
from infra.errors import InvalidEvent
from infra.events.bus import EXCHANGE
from infra.events.envelope import Envelope

logger = logging.getLogger(__name__)

RawHandler = Callable[[bytes, str], Awaitable[object]]
"""Called with the message body and its original routing key (the event type)."""

ORIGINAL_KEY = "x-original-routing-key"


def envelope_handler(handler: Callable[[Envelope], Awaitable[object]]) -> RawHandler:
    """A :data:`RawHandler` that parses the envelope first; a body that is not one is an :class:`InvalidEvent`."""

    async def handle(body: bytes, routing_key: str) -> object:
        try:
            event = Envelope.from_json(body)
        except ValidationError as exc:
            raise InvalidEvent(f"invalid envelope: {exc.errors(include_url=False)}") from exc
        except ValueError as exc:
            raise InvalidEvent(f"not a JSON event envelope: {exc}") from exc
        return await handler(event)

    return handle


@dataclass
class ConsumerStats:
    handled: int = 0
    retried: int = 0
    dead_lettered: int = 0
    exhausted: int = 0  # dead-lettered after max_attempts transient failures


class RabbitMQConsumer:
    def __init__(
        self,
        url: str,
        *,
        queues: Mapping[str, Sequence[str]],
        handler: RawHandler,
        prefetch: int = 32,
        retry_delay_s: float = 1.0,
        max_attempts: int = 5,
        in_order: bool = False,
    ) -> None:
        """``queues``: queue name → the routing keys it binds. ``in_order``: one message at a time, in delivery
        order (when a message's effect depends on the one before it)."""
        self.url = url
        self.queues = {name: list(keys) for name, keys in queues.items()}
        self.handler = handler
        self.prefetch = prefetch
        self.retry_delay_s = retry_delay_s
        self.max_attempts = max_attempts
        self.stats = ConsumerStats()
        self._in_order = asyncio.Lock() if in_order else None
        self._connection: Any = None
        self._channel: Any = None

    async def start(self) -> None:
        import aio_pika

        self._connection = await aio_pika.connect_robust(self.url)
        self._channel = await self._connection.channel(publisher_confirms=True)
        await self._channel.set_qos(prefetch_count=self.prefetch)
        exchange = await self._channel.declare_exchange(EXCHANGE, aio_pika.ExchangeType.TOPIC, durable=True)
        for name, keys in self.queues.items():
            await self._channel.declare_queue(f"{name}.dlq", durable=True)
            await self._channel.declare_queue(
                f"{name}.retry",
                durable=True,
                arguments={"x-dead-letter-exchange": "", "x-dead-letter-routing-key": name},
            )
            queue = await self._channel.declare_queue(name, durable=True)
            for key in keys:
                await queue.bind(exchange, routing_key=key)
            await queue.consume(functools.partial(self._on_message, name))

    async def stop(self) -> None:
        if self._connection is not None:
            with contextlib.suppress(Exception):
                await self._connection.close()
        self._connection = self._channel = None

    async def _on_message(self, queue: str, message: Any) -> None:
        if self._in_order is None:
            await self._handle(queue, message)
            return
        async with self._in_order:  # asyncio.Lock is FIFO: delivery order
            await self._handle(queue, message)

    async def _handle(self, queue: str, message: Any) -> None:
        headers = dict(message.headers or {})
        routing_key = str(headers.get(ORIGINAL_KEY) or message.routing_key or "")
        try:
            with self._span(queue, routing_key, message, headers):
                await self.handler(message.body, routing_key)
        except asyncio.CancelledError:
            raise
        except InvalidEvent as exc:
            await self._republish(message, headers, routing_key, f"{queue}.dlq", reason=str(exc))
            self.stats.dead_lettered += 1
            logger.warning("dead-lettered message %s: %s", message.message_id, exc)
            return
        except Exception as exc:
            await self._retry_or_give_up(queue, message, headers, routing_key, exc)
            return
        await message.ack()
        self.stats.handled += 1

    @staticmethod
    def _span(queue: str, routing_key: str, message: Any, headers: dict[str, Any]) -> AbstractContextManager[Any]:
        """The handler's consumer span, continuing the publisher's ``traceparent`` header (tracing on)."""
        if not tracing.is_on():
            return contextlib.nullcontext()
        attributes: dict[str, str | int | float | bool] = {
            "messaging.system": "rabbitmq",
            "messaging.operation.type": "process",
            "messaging.destination.name": routing_key,
            "messaging.consumer.group.name": queue,
            "messaging.message.id": str(message.message_id or ""),
            "vettify.attempt": int(headers.get("x-attempt", 1)),
        }
        parent = tracing.context_from(headers)
        return tracing.span(f"process {routing_key}", kind=SpanKind.CONSUMER, parent=parent, attributes=attributes)

    async def _retry_or_give_up(
        self, queue: str, message: Any, headers: dict[str, Any], routing_key: str, exc: Exception
    ) -> None:
        attempt = int(headers.get("x-attempt", 1))
        headers["x-attempt"] = attempt + 1
        headers["x-last-error"] = f"{type(exc).__name__}: {exc}"[:1000]
        if attempt >= self.max_attempts:
            reason = f"gave up after {attempt} attempts: {exc}"
            await self._republish(message, headers, routing_key, f"{queue}.dlq", reason=reason)
            self.stats.dead_lettered += 1
            self.stats.exhausted += 1
            logger.error("giving up on message %s after %d attempts: %s", message.message_id, attempt, exc)
            return
        delay = self.retry_delay_s * 2 ** (attempt - 1)
        await self._republish(message, headers, routing_key, f"{queue}.retry", expiration=delay)
        self.stats.retried += 1
        logger.warning("message %s failed (attempt %d), retrying in %.1fs: %s", message.message_id, attempt, delay, exc)

    async def _republish(
        self,
        message: Any,
        headers: dict[str, Any],
        routing_key: str,
        target: str,
        *,
        reason: str | None = None,
        expiration: float | None = None,
    ) -> None:
        """Publish a copy to ``target`` (confirmed), then ack the original: never lost, never doubled in flight."""
        import aio_pika

        headers[ORIGINAL_KEY] = routing_key
        if reason is not None:
            headers["x-dead-letter-reason"] = reason[:4000]
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
