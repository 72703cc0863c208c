"""Consume events from RabbitMQ into a handler: ack after commit, dead-letter with a reason.

Queue ``<name>`` (durable, bound to the given routing keys on ``vettify.events``)
is read with a prefetch window (back-pressure). Per message:

* handled → ack (after the handler's transaction committed);
* :class:`InvalidEvent` or an unparseable body → published to ``<name>.dlq``
  with ``x-dead-letter-reason`` (confirmed), then acked: never lost, never retried;
* anything else (database down, …) → requeued after ``retry_delay_s``; after
  ``max_attempts`` deliveries it goes to the dead-letter queue too.

Messages are handled one at a time, in delivery order: a shipment that names
only its order finds the account through the link the order's event writes.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from pydantic import ValidationError

from crm_core.events.bus import EXCHANGE
from crm_core.events.consumers import InvalidEvent
from crm_core.events.envelope import Envelope

logger = logging.getLogger(__name__)

Handler = Callable[[Envelope], Awaitable[object]]


class RabbitMQConsumer:
    def __init__(
        self,
        url: str,
        *,
        queue: str,
        routing_keys: Sequence[str],
        handler: Handler,
        prefetch: int = 32,
        retry_delay_s: float = 1.0,
        max_attempts: int = 5,
    ) -> None:
        self.url = url
        self.queue_name = queue
        self.routing_keys = list(routing_keys)
        self.handler = handler
        self.prefetch = prefetch
        self.retry_delay_s = retry_delay_s
        self.max_attempts = max_attempts
        self._connection: Any = None
        self._channel: Any = None
        self._attempts: dict[str, int] = {}
        # aio-pika runs each delivery as its own task; a delivery's account is found through its order's
        # link, so messages are handled one at a time in delivery order (asyncio.Lock is FIFO).
        self._in_order = asyncio.Lock()
        self.handled = 0
        self.dead_lettered = 0

    async def start(self) -> None:
        import aio_pika

        self._connection = await aio_pika.connect_robust(self.url)
        self._channel = await self._connection.channel(publisher_confirms=True)
        await self._channel.set_qos(prefetch_count=self.prefetch)
        exchange = await self._channel.declare_exchange(EXCHANGE, aio_pika.ExchangeType.TOPIC, durable=True)
        await self._channel.declare_queue(f"{self.queue_name}.dlq", durable=True)
        queue = await self._channel.declare_queue(self.queue_name, durable=True)
        for key in self.routing_keys:
            await queue.bind(exchange, routing_key=key)
        await queue.consume(self._on_message)

    async def stop(self) -> None:
        if self._connection is not None:
            with contextlib.suppress(Exception):
                await self._connection.close()
        self._connection = self._channel = None

    async def _on_message(self, message: Any) -> None:
        async with self._in_order:
            await self._handle(message)

    async def _handle(self, message: Any) -> None:
        try:
            event = Envelope.from_json(message.body)
        except ValidationError as exc:
            await self._dead_letter(message, f"invalid envelope: {exc.errors(include_url=False)}")
            return
        try:
            await self.handler(event)
        except InvalidEvent as exc:
            await self._dead_letter(message, str(exc))
            return
        except Exception as exc:
            key = str(event.id)
            self._attempts[key] = self._attempts.get(key, 0) + 1
            if self._attempts[key] >= self.max_attempts:
                self._attempts.pop(key, None)
                await self._dead_letter(message, f"gave up after {self.max_attempts} attempts: {exc}")
                return
            logger.warning("event %s failed (attempt %d), requeueing: %s", key, self._attempts[key], exc)
            await asyncio.sleep(self.retry_delay_s)
            await message.nack(requeue=True)
            return
        self._attempts.pop(str(event.id), None)
        await message.ack()
        self.handled += 1

    async def _dead_letter(self, message: Any, reason: str) -> None:
        import aio_pika

        headers = dict(message.headers or {})
        headers["x-dead-letter-reason"] = reason[:4000]
        headers["x-original-routing-key"] = message.routing_key or ""
        await self._channel.default_exchange.publish(
            aio_pika.Message(
                message.body,
                headers=headers,
                content_type=message.content_type,
                message_id=message.message_id,
                delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
            ),
            routing_key=f"{self.queue_name}.dlq",
        )
        await message.ack()
        self.dead_lettered += 1
        logger.warning("dead-lettered message %s: %s", message.message_id, reason)
