"""sales.order.created and wms.shipment.delivered from a real RabbitMQ queue."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import aio_pika
import asyncpg
import pytest

from crm_core.events.consumers import CONSUMED, CrmEventConsumer
from crm_core.repositories import activities
from crm_core.repositories.accounts import ACCOUNTS
from crm_core.repositories.opportunities import OPPORTUNITIES
from infra.db.tenancy import TenantContext, tenant_transaction
from infra.errors import InvalidEvent
from infra.events.bus import RabbitMQBus
from infra.events.envelope import Envelope
from infra.events.rabbitmq import RabbitMQConsumer, envelope_handler
from infra.local_servers import RunningServer


@pytest.fixture
def tenant() -> TenantContext:
    return TenantContext(tid=f"orders-{uuid.uuid4().hex[:6]}", mid="m-1")


@pytest.fixture
async def consumer(rabbitmq_server: RunningServer, app_pool: asyncpg.Pool) -> AsyncIterator[RabbitMQConsumer]:
    handler = CrmEventConsumer(app_pool)
    running = RabbitMQConsumer(
        rabbitmq_server.url,
        queues={f"crm.core.{uuid.uuid4().hex[:6]}": CONSUMED},
        handler=envelope_handler(handler.handle),
        retry_delay_s=0.05,
        in_order=True,
    )
    await running.start()
    yield running
    await running.stop()


async def _wait_for(predicate: object, timeout_s: float = 10.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout_s
    while not predicate():  # type: ignore[operator]
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.05)


async def test_orders_and_deliveries_land_on_the_timeline_once(
    consumer: RabbitMQConsumer,
    rabbitmq_server: RunningServer,
    app_pool: asyncpg.Pool,
    tenant: TenantContext,
) -> None:
    async with tenant_transaction(app_pool, tenant) as conn:
        account = await ACCOUNTS.insert(conn, tenant=tenant, values={"name": "Client SA", "cui": "14399840"})
        deal = await OPPORTUNITIES.insert(conn, tenant=tenant, values={"account_id": account.id, "name": "Deal"})
    order = Envelope(
        type="sales.order.created",
        tid=tenant.tid,
        mid=tenant.mid,
        corr_id="o-1",
        payload={"order_id": "SO-1001", "opportunity_id": str(deal.id), "total": "1999.90"},
    )
    delivered = Envelope(
        type="wms.shipment.delivered",
        tid=tenant.tid,
        mid=tenant.mid,
        payload={
            "shipment_id": "SH-1",
            "order_id": "SO-1001",
            "delivered_at": datetime(2026, 11, 20, tzinfo=UTC).isoformat(),
        },
    )
    by_cui = Envelope(
        type="sales.order.created",
        tid=tenant.tid,
        mid=tenant.mid,
        payload={"order_id": "SO-1002", "customer_cui": "RO14399840", "total": "10"},
    )
    bus = RabbitMQBus(rabbitmq_server.url)
    try:
        for event in (order, delivered, by_cui, order, delivered):  # the last two are redeliveries
            await bus.publish(event)
    finally:
        await bus.close()
    await _wait_for(lambda: consumer.stats.handled >= 5)

    async with tenant_transaction(app_pool, tenant) as conn:
        timeline = await activities.timeline(conn, tenant=tenant, account_id=account.id)
        linked = await OPPORTUNITIES.get(conn, tenant=tenant, id=deal.id)
    assert sorted(a.kind for a in timeline) == ["sales.order.created", "sales.order.created", "wms.shipment.delivered"]
    assert linked is not None
    assert linked.sales_order_id == "SO-1001"
    assert consumer.stats.dead_lettered == 0


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"{not json", "invalid envelope"),
        (b'{"type": "Bad Name", "tid": "t", "mid": "m", "payload": {}}', "invalid envelope"),
        (None, "invalid sales.order.created payload"),
        ("unknown-account", "no account matches"),
    ],
)
async def test_bad_events_reach_the_dead_letter_queue_with_a_reason(
    consumer: RabbitMQConsumer,
    rabbitmq_server: RunningServer,
    tenant: TenantContext,
    body: bytes | str | None,
    reason: str,
) -> None:
    if body is None:
        body = Envelope(
            type="sales.order.created", tid=tenant.tid, mid=tenant.mid, payload={"order_id": "SO-1", "total": "-5"}
        ).to_json()
    elif body == "unknown-account":
        body = Envelope(
            type="sales.order.created",
            tid=tenant.tid,
            mid=tenant.mid,
            payload={"order_id": "SO-2", "total": "5", "account_id": str(uuid.uuid4())},
        ).to_json()
    connection = await aio_pika.connect_robust(rabbitmq_server.url)
    async with connection:
        channel = await connection.channel()
        exchange = await channel.get_exchange("vettify.events")
        assert isinstance(body, bytes)
        await exchange.publish(aio_pika.Message(body), routing_key="sales.order.created")
        await _wait_for(lambda: consumer.stats.dead_lettered >= 1)
        dlq = await channel.get_queue(f"{next(iter(consumer.queues))}.dlq")
        message = await dlq.get(timeout=5)
        await message.ack()
    assert message.body == body
    assert reason in message.headers["x-dead-letter-reason"]
    assert message.headers["x-original-routing-key"] == "sales.order.created"


async def test_valid_traffic_continues_after_a_dead_letter(
    consumer: RabbitMQConsumer,
    rabbitmq_server: RunningServer,
    app_pool: asyncpg.Pool,
    tenant: TenantContext,
) -> None:
    async with tenant_transaction(app_pool, tenant) as conn:
        account = await ACCOUNTS.insert(conn, tenant=tenant, values={"name": "After"})
    bus = RabbitMQBus(rabbitmq_server.url)
    try:
        await bus.publish(
            Envelope(
                type="sales.order.created", tid=tenant.tid, mid=tenant.mid, payload={"order_id": "bad", "total": "abc"}
            )
        )
        await bus.publish(
            Envelope(
                type="sales.order.created",
                tid=tenant.tid,
                mid=tenant.mid,
                payload={"order_id": "good", "total": "1", "account_id": str(account.id)},
            )
        )
    finally:
        await bus.close()
    await _wait_for(lambda: consumer.stats.handled >= 1 and consumer.stats.dead_lettered >= 1)
    async with tenant_transaction(app_pool, tenant) as conn:
        timeline = await activities.timeline(conn, tenant=tenant, account_id=account.id)
    assert [a.payload["order_id"] for a in timeline] == ["good"]


async def test_an_event_cannot_write_into_another_tenant(app_pool: asyncpg.Pool, tenant: TenantContext) -> None:
    victim = TenantContext(tid=f"victim-{uuid.uuid4().hex[:6]}", mid="m-1")
    async with tenant_transaction(app_pool, victim) as conn:
        account = await ACCOUNTS.insert(conn, tenant=victim, values={"name": "Victim"})
    event = Envelope(
        type="sales.order.created",
        tid=tenant.tid,
        mid=tenant.mid,
        payload={"order_id": "x", "total": "1", "account_id": str(account.id)},
    )
    with pytest.raises(InvalidEvent, match="no account matches"):
        await CrmEventConsumer(app_pool).handle(event)
    async with tenant_transaction(app_pool, victim) as conn:
        assert await activities.timeline(conn, tenant=victim, account_id=account.id) == []
