"""The real servers the later stages rely on start, answer and stop."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

import aio_pika
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from infra.local_servers import RunningServer, ServiceStartError, start_redis
from infra.redis import create_redis
from infra.settings import Settings


async def test_redis_server_through_the_settings_factory(redis_server: RunningServer, tmp_path: Path) -> None:
    client = create_redis(Settings(data_dir=tmp_path, redis_url=redis_server.url))
    try:
        await client.set("vettify:it", b"ok", ex=10)
        assert await client.get("vettify:it") == b"ok"
        info = await client.info("server")
        assert "redis_version" in info
    finally:
        await client.aclose()


async def test_rabbitmq_round_trip_on_a_durable_topic_exchange(rabbitmq_server: RunningServer) -> None:
    connection = await aio_pika.connect_robust(rabbitmq_server.url)
    async with connection:
        channel = await connection.channel()
        exchange = await channel.declare_exchange("vettify.test", aio_pika.ExchangeType.TOPIC, durable=True)
        queue = await channel.declare_queue(f"crm-{uuid.uuid4().hex[:6]}", durable=True)
        await queue.bind(exchange, routing_key="crm.#")
        await exchange.publish(
            aio_pika.Message(b'{"n": 1}', headers={"x-corr-id": "c-1"}, delivery_mode=aio_pika.DeliveryMode.PERSISTENT),
            routing_key="crm.lead.created",
        )
        message = await queue.get(timeout=5)
        assert message is not None
        await message.ack()
    assert message.body == b'{"n": 1}'
    assert message.headers["x-corr-id"] == "c-1"


async def test_kafka_protocol_broker_round_trip(kafka_broker: RunningServer) -> None:
    topic = f"social.twitter.mention.{uuid.uuid4().hex[:6]}"
    producer = AIOKafkaProducer(bootstrap_servers=kafka_broker.url)
    await producer.start()
    try:
        await producer.send_and_wait(topic, b"hello", key=b"acct-1")
    finally:
        await producer.stop()
    consumer = AIOKafkaConsumer(
        topic, bootstrap_servers=kafka_broker.url, auto_offset_reset="earliest", group_id=f"g-{uuid.uuid4().hex[:6]}"
    )
    await consumer.start()
    try:
        record = await asyncio.wait_for(consumer.getone(), timeout=20)
    finally:
        await consumer.stop()
    assert (record.key, record.value) == (b"acct-1", b"hello")


def test_a_server_that_cannot_start_says_which_and_why(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # no redis-server reachable
    monkeypatch.setattr("infra.local_servers.Path.exists", lambda self: False)
    with pytest.raises(ServiceStartError, match="redis-server could not start: 'redis-server' is not installed"):
        start_redis(tmp_path)
