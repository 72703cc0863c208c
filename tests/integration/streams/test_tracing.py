"""One trace from ``POST /v1/events`` to the stored insight and its published event (SDK in-memory exporter).

The routes, the Streams service and its processor run in this process on the real database; the models are
the Serve stack's. The published event goes through the relay's publish step and a real RabbitMQ queue to a
consumer, whose span continues the same trace.
"""

from __future__ import annotations

import asyncio
import uuid

import asyncpg
import httpx
import pytest
from aiokafka import AIOKafkaProducer
from fastapi import FastAPI
from opentelemetry.trace import SpanKind

from infra.http.correlation import CorrelationIdMiddleware
from infra.http.problems import install_error_handlers
from infra.http.tracing import FASTAPI_TELEMETRY, TracingMiddleware
from infra.local_servers import RunningServer
from infra.security import mint_token
from streams import api as streams_api
from streams.core import StreamProcessor
from streams.models import ServeModels
from streams.service import StreamsService
from streams.sources.kafka import KafkaSource
from tests.conftest import SPANS
from tests.integration.conftest import ServeStack
from tests.integration.streams.conftest import Tweet, count, eventually, mention
from tests.support.traces import chain, hex_id, new_traceparent, of_trace, publish_and_consume

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def streams_app(stack: ServeStack, processor: StreamProcessor, models: ServeModels) -> FastAPI:
    app = FastAPI(telemetry=FASTAPI_TELEMETRY)
    app.state.settings = stack.settings
    app.state.streams = StreamsService(processor, models)
    install_error_handlers(app)
    app.add_middleware(CorrelationIdMiddleware)
    app.add_middleware(TracingMiddleware, service="gateway")
    app.include_router(streams_api.router)
    return app


async def test_an_event_is_one_trace_from_the_request_to_its_consumer(
    serve_stack: ServeStack,
    processor: StreamProcessor,
    serve_models: ServeModels,
    admin_pool: asyncpg.Pool,
    rabbitmq_server: RunningServer,
    labeled_tweets: list[Tweet],
    tenant: dict[str, str],
) -> None:
    SPANS.clear()
    trace_id, client_span, header = new_traceparent()
    event = mention(labeled_tweets[0], tenant, 0)
    token = mint_token(serve_stack.settings, sub="producer", scopes=("events:write",), **tenant)
    transport = httpx.ASGITransport(app=streams_app(serve_stack, processor, serve_models))
    async with httpx.AsyncClient(transport=transport, base_url="http://gateway.test", timeout=120) as http:
        answer = await http.post(
            "/v1/events",
            content=event.to_json(),
            headers={"authorization": f"Bearer {token}", "traceparent": header},
        )
    assert answer.status_code == 202 and answer.json()["stored"] == 1, answer.text
    assert answer.headers["traceparent"].startswith(f"00-{trace_id}-")

    spans = of_trace(trace_id)
    (server,) = [s for s in spans if s.kind is SpanKind.SERVER]
    assert server.name == "POST /v1/events" and server.parent is not None
    assert hex_id(server.parent.span_id, 16) == client_span
    (handled,) = [s for s in spans if s.name == "handle social.twitter.mention"]
    assert dict(handled.attributes or {})["vettify.outcome"] == "stored"
    assert chain(spans, handled)[-1] == "POST /v1/events"
    # The sentiment and embedding pass the event shared (with a link back to it), then the stored rows.
    (analysis,) = [s for s in spans if s.name == "mention analysis"]
    assert handled.context.span_id in {link.context.span_id for link in analysis.links}
    assert dict(analysis.attributes or {})["batch.size"] == 1
    statements = [s for s in spans if "db.statement" in (s.attributes or {})]
    insight = [s for s in statements if "ai.social_insights" in str((s.attributes or {})["db.statement"])]
    queued = [s for s in statements if "INSERT INTO crm.outbox" in str((s.attributes or {})["db.statement"])]
    assert insight and queued
    for statement in [*insight, *queued]:
        assert chain(spans, statement)[-1] == "POST /v1/events", chain(spans, statement)

    # The outbox row carries the trace; publishing it continues the trace into the consumer's span.
    row = await admin_pool.fetchrow(
        "SELECT * FROM crm.outbox WHERE tid = $1 AND event_type = 'crm.sentiment.detected'", tenant["tid"]
    )
    assert row is not None and row["traceparent"] is not None
    _, stored_trace, writer_span, _ = row["traceparent"].split("-")
    assert stored_trace == trace_id and writer_span in {hex_id(s.context.span_id, 16) for s in spans}

    message = await publish_and_consume(row, rabbitmq_server.url)
    assert message["key"] == "crm.sentiment.detected"

    spans = of_trace(trace_id)
    (publish,) = [s for s in spans if s.kind is SpanKind.PRODUCER]
    (process,) = [s for s in spans if s.kind is SpanKind.CONSUMER]
    assert publish.name == "publish crm.sentiment.detected"
    assert process.name == "process crm.sentiment.detected"
    assert chain(spans, process)[:2] == ["process crm.sentiment.detected", "publish crm.sentiment.detected"]
    assert chain(spans, process)[-1] == "POST /v1/events"
    assert dict(process.attributes or {})["messaging.message.id"] == str(row["id"])


async def test_a_kafka_event_continues_its_producers_trace(
    kafka_broker: RunningServer,
    processor: StreamProcessor,
    admin_pool: asyncpg.Pool,
    labeled_tweets: list[Tweet],
    tenant: dict[str, str],
) -> None:
    """A producer that traces sends ``traceparent`` as a Kafka header; the source's span continues it."""
    SPANS.clear()
    trace_id, producer_span, header = new_traceparent()
    event = mention(labeled_tweets[1], tenant, 1)
    producer = AIOKafkaProducer(bootstrap_servers=kafka_broker.url, acks="all")
    await producer.start()
    source = KafkaSource(
        kafka_broker.url, processor, app_id=f"vettify-trace-{uuid.uuid4().hex[:6]}", fast_rebalance=True
    )
    await source.start()
    try:
        await producer.send_and_wait(
            event.type, event.to_json(), key=b"acme", headers=[("traceparent", header.encode())]
        )
        await eventually(lambda: _stored(admin_pool, tenant), what="the traced mention")
        await asyncio.sleep(0.5)  # the consumer's span ends after the store
    finally:
        await source.stop()
        await producer.stop()
    spans = of_trace(trace_id)
    (process,) = [s for s in spans if s.kind is SpanKind.CONSUMER]
    assert process.name == "process social.twitter.mention"
    assert process.parent is not None and hex_id(process.parent.span_id, 16) == producer_span
    (handled,) = [s for s in spans if s.name == "handle social.twitter.mention"]
    assert chain(spans, handled) == ["handle social.twitter.mention", "process social.twitter.mention"]


async def _stored(admin_pool: asyncpg.Pool, tenant: dict[str, str]) -> bool:
    return await count(admin_pool, "ai.social_insights", tenant) == 1
