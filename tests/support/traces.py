"""Reading the spans this test process recorded (the suite's in-memory exporter, tests/conftest.py)."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import asyncpg
from opentelemetry.sdk.trace import ReadableSpan

from infra.events.bus import RabbitMQBus
from infra.events.rabbitmq import RabbitMQConsumer
from infra.events.relay import envelope_of, publish_span
from tests.conftest import SPANS


def hex_id(value: int, width: int) -> str:
    return format(value, f"0{width}x")


def new_traceparent() -> tuple[str, str, str]:
    """(trace id, the caller's span id, a sampled ``traceparent`` naming both)."""
    trace_id, span_id = uuid.uuid4().hex, uuid.uuid4().hex[:16]
    return trace_id, span_id, f"00-{trace_id}-{span_id}-01"


def of_trace(trace_id: str) -> list[ReadableSpan]:
    return [s for s in SPANS.get_finished_spans() if hex_id(s.context.trace_id, 32) == trace_id]


def chain(spans: list[ReadableSpan], span: ReadableSpan) -> list[str]:
    """The names from ``span`` up to the trace's root, as far as the spans were recorded here."""
    by_id = {s.context.span_id: s for s in spans}
    names, current = [span.name], span
    while current.parent is not None and current.parent.span_id in by_id:
        current = by_id[current.parent.span_id]
        names.append(current.name)
    return names


async def publish_and_consume(row: asyncpg.Record, amqp_url: str) -> dict[str, Any]:
    """The relay's publish step for one outbox row, onto RabbitMQ, and a consumer that receives it."""
    received: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()

    async def handler(body: bytes, routing_key: str) -> None:
        if not received.done():
            received.set_result({"key": routing_key, "body": body})

    queue = f"test.trace.{uuid.uuid4().hex[:6]}"
    consumer = RabbitMQConsumer(amqp_url, queues={queue: [row["event_type"]]}, handler=handler)
    await consumer.start()
    bus = RabbitMQBus(amqp_url)
    try:
        with publish_span(row):
            await bus.publish(envelope_of(row))
        message = await asyncio.wait_for(received, timeout=30)
        await asyncio.sleep(0.2)  # the consumer's span ends once the handler returned
        return message
    finally:
        await bus.close()
        await consumer.stop()
