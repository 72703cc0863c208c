"""RabbitMQ (aio-pika) and Kafka (faust over the tansu broker) sources: exactly once, restarts, dead letters."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import aio_pika
import asyncpg
import pytest
from aiokafka import AIOKafkaProducer

from infra.events.bus import EXCHANGE, RabbitMQBus
from infra.events.envelope import Envelope
from infra.local_servers import RunningServer
from streams.core import Result, StreamProcessor
from streams.sources.kafka import KafkaSource
from streams.sources.rabbitmq import RabbitMQSource
from tests.integration.streams.conftest import Tweet, count, envelope, eventually, mention

pytestmark = [pytest.mark.integration, pytest.mark.slow]


class FlakyOnce:
    """The real processor, but the first attempt at ``event_id`` fails as if the database had dropped."""

    def __init__(self, processor: StreamProcessor, event_id: uuid.UUID) -> None:
        self.processor = processor
        self.event_id = event_id
        self.failed = False

    async def handle_raw(self, raw: bytes, source: str, **kwargs: Any) -> Result:
        if not self.failed and str(self.event_id).encode() in raw:
            self.failed = True
            raise ConnectionError("database connection lost")
        return await self.processor.handle_raw(raw, source, **kwargs)


async def test_rabbitmq_exactly_once_through_redelivery_crash_and_retry(
    rabbitmq_server: RunningServer,
    processor: StreamProcessor,
    admin_pool: asyncpg.Pool,
    labeled_tweets: list[Tweet],
    tenant: dict[str, str],
) -> None:
    prefix = f"streams-{uuid.uuid4().hex[:6]}"
    events = [mention(t, tenant, i) for i, t in enumerate(labeled_tweets)]
    bus = RabbitMQBus(rabbitmq_server.url)
    flaky = FlakyOnce(processor, events[5].id)
    first = RabbitMQSource(rabbitmq_server.url, flaky, queue_prefix=prefix, prefetch=16, retry_delay_s=0.5)  # type: ignore[arg-type]
    await first.start()
    try:
        for event in events[:30]:
            await bus.publish(event)
        # Kill the consumer mid-stream: its connection drops with messages unacked.
        await eventually(lambda: _stored_at_least(admin_pool, tenant, 5), what="the first stored mentions")
        await first.stop()
        for event in events[30:]:
            await bus.publish(event)
        for event in events[:10]:  # the producer retries a batch it thinks failed
            await bus.publish(event)
        await _publish_raw(rabbitmq_server.url, b'{"not": "an envelope"', "social.twitter.mention")
        wrong_type = envelope("social.twitter.retweet", {"x": 1}, tenant)
        await _publish_raw(rabbitmq_server.url, wrong_type.to_json(), "social.twitter.mention")

        second = RabbitMQSource(rabbitmq_server.url, flaky, queue_prefix=prefix, prefetch=16, retry_delay_s=0.5)  # type: ignore[arg-type]
        await second.start()
        try:
            await eventually(lambda: _stored_at_least(admin_pool, tenant, len(events)), what="every mention")
            await eventually(
                lambda: _dead_letter_count(admin_pool, wrong_type.id, 1), what="the wrong-type dead letter"
            )
            await asyncio.sleep(1.0)  # anything still in flight would show up as a duplicate row now
        finally:
            await second.stop()
    finally:
        await first.stop()
        await bus.close()
    assert flaky.failed, "the transient failure path was exercised"
    assert await count(admin_pool, "ai.social_insights", tenant) == len(events)
    assert await count(admin_pool, "ai.processed_events", tenant) == len(events)
    assert await count(admin_pool, "crm.outbox", tenant) == len(events)
    reason = await admin_pool.fetchval("SELECT reason FROM ai.dead_letters WHERE event_id = $1", wrong_type.id)
    assert "unknown event type" in reason


async def test_kafka_exactly_once_across_a_consumer_restart(
    kafka_broker: RunningServer,
    processor: StreamProcessor,
    admin_pool: asyncpg.Pool,
    labeled_tweets: list[Tweet],
    tenant: dict[str, str],
) -> None:
    app_id = f"vettify-test-{uuid.uuid4().hex[:6]}"
    events = [mention(t, tenant, i) for i, t in enumerate(labeled_tweets)]
    producer = AIOKafkaProducer(bootstrap_servers=kafka_broker.url, acks="all")
    await producer.start()
    try:
        first = KafkaSource(kafka_broker.url, processor, app_id=app_id, fast_rebalance=True, concurrency=8)
        await first.start()
        await _send(producer, events[:30])
        await eventually(lambda: _stored_at_least(admin_pool, tenant, 5), what="the first stored mentions")
        await first.stop()  # mid-stream: offsets of unfinished events are not committed

        await _send(producer, events[30:] + events[:10])  # plus a redelivered batch
        await producer.send_and_wait("social.twitter.mention", b"\xff\xfe not json", key=b"acme")
        second = KafkaSource(kafka_broker.url, processor, app_id=app_id, fast_rebalance=True, concurrency=8)
        await second.start()
        try:
            await eventually(lambda: _stored_at_least(admin_pool, tenant, len(events)), what="every mention")
            await eventually(lambda: _raw_dead_letter(admin_pool, b"\xff\xfe not json"), what="the undecodable message")
            await asyncio.sleep(1.0)
        finally:
            await second.stop()
    finally:
        await producer.stop()
    assert await count(admin_pool, "ai.social_insights", tenant) == len(events)
    assert await count(admin_pool, "crm.outbox", tenant) == len(events)


async def _send(producer: AIOKafkaProducer, events: list[Envelope]) -> None:
    for event in events:
        await producer.send_and_wait(event.type, event.to_json(), key=event.payload["brand"].encode())


async def _publish_raw(url: str, body: bytes, routing_key: str) -> None:
    connection = await aio_pika.connect_robust(url)
    async with connection:
        channel = await connection.channel(publisher_confirms=True)
        exchange = await channel.declare_exchange(EXCHANGE, aio_pika.ExchangeType.TOPIC, durable=True)
        await exchange.publish(aio_pika.Message(body, delivery_mode=aio_pika.DeliveryMode.PERSISTENT), routing_key)


async def _stored_at_least(admin_pool: asyncpg.Pool, tenant: dict[str, str], n: int) -> bool:
    return await count(admin_pool, "ai.social_insights", tenant) >= n


async def _dead_letter_count(admin_pool: asyncpg.Pool, event_id: uuid.UUID, n: int) -> bool:
    return int(await admin_pool.fetchval("SELECT count(*) FROM ai.dead_letters WHERE event_id = $1", event_id)) >= n


async def _raw_dead_letter(admin_pool: asyncpg.Pool, raw: bytes) -> bool:
    return bool(await admin_pool.fetchval("SELECT count(*) FROM ai.dead_letters WHERE raw = $1", raw))
