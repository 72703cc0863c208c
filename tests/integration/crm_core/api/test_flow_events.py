"""Lead → qualify → convert → opportunity stages → campaign send, with the events
observed on a real RabbitMQ queue after the outbox relay ran."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from typing import Any

import aio_pika
import asyncpg
import httpx
import pytest

from infra.events.bus import EXCHANGE, InProcessBus, RabbitMQBus
from infra.events.envelope import Envelope
from infra.events.relay import OutboxRelay
from infra.local_servers import RunningServer
from tests.integration.crm_core.api.conftest import Auth

BASE = "/v1/crm"
ALL_SCOPES = ("crm:read", "crm:write", "crm:admin", "marketing:send")


@pytest.fixture
async def crm_queue(rabbitmq_server: RunningServer) -> AsyncIterator[aio_pika.abc.AbstractQueue]:
    connection = await aio_pika.connect_robust(rabbitmq_server.url)
    channel = await connection.channel()
    exchange = await channel.declare_exchange(EXCHANGE, aio_pika.ExchangeType.TOPIC, durable=True)
    queue = await channel.declare_queue(f"test.crm.{uuid.uuid4().hex[:6]}", exclusive=True)
    await queue.bind(exchange, routing_key="crm.#")
    yield queue
    await connection.close()


async def _drain_queue(queue: aio_pika.abc.AbstractQueue, tid: str) -> list[aio_pika.abc.AbstractIncomingMessage]:
    found = []
    while (message := await queue.get(timeout=2, fail=False)) is not None:
        await message.ack()
        if message.headers.get("x-tid") == tid:
            found.append(message)
    return found


async def _post(api: httpx.AsyncClient, url: str, headers: dict[str, str], body: dict[str, Any]) -> dict[str, Any]:
    response = await api.post(url, json=body, headers=headers)
    assert response.status_code in (200, 201), response.text
    return dict(response.json())


async def test_lead_to_won_deal_publishes_ordered_events_to_rabbitmq(
    api: httpx.AsyncClient,
    auth: Auth,
    worker_pool: asyncpg.Pool,
    rabbitmq_server: RunningServer,
    crm_queue: aio_pika.abc.AbstractQueue,
) -> None:
    tid = f"flow-{uuid.uuid4().hex[:6]}"
    headers = {**auth(tid=tid, scopes=ALL_SCOPES), "x-corr-id": "flow-corr-1"}

    lead = await _post(
        api,
        f"{BASE}/leads",
        headers,
        {
            "first_name": "Ioana",
            "last_name": "Pop",
            "email": "ioana@transilvania-logistic.ro",
            "phone": "+40712345678",
            "company_name": "Transilvania Logistic SRL",
            "cui": "RO18547290",
            "source": "referral",
        },
    )
    qualified = await _post(api, f"{BASE}/leads/{lead['id']}/qualify", headers, {})
    assert qualified["status"] == "qualified"
    assert qualified["score"] >= 50
    assert "valid Romanian CUI" in qualified["score_reason"]

    converted = await _post(
        api,
        f"{BASE}/leads/{lead['id']}/convert",
        headers,
        {"amount": "125000.00", "currency": "EUR", "opportunity_name": "Fleet telematics"},
    )
    assert converted["already_converted"] is False
    retry = await _post(api, f"{BASE}/leads/{lead['id']}/convert", headers, {})
    assert retry["already_converted"] is True
    assert (retry["account_id"], retry["contact_id"], retry["opportunity_id"]) == (
        converted["account_id"],
        converted["contact_id"],
        converted["opportunity_id"],
    )
    account = (await api.get(f"{BASE}/accounts/{converted['account_id']}", headers=headers)).json()
    assert (account["name"], account["cui"]) == ("Transilvania Logistic SRL", "18547290")

    opp_url = f"{BASE}/opportunities/{converted['opportunity_id']}"
    for stage in ("qualification", "proposal", "negotiation", "closed_won"):
        moved = await _post(api, f"{opp_url}/stage", headers, {"stage": stage})
        assert moved["stage"] == stage
    assert moved["probability"] == 100
    assert moved["closed_at"] is not None
    invalid = await api.post(f"{opp_url}/stage", json={"stage": "proposal"}, headers=headers)
    assert invalid.status_code == 409
    assert invalid.json()["allowed_next_stages"] == ["negotiation"]

    contact_ids = []
    for i, consent in enumerate([True, True, False]):
        contact = await _post(
            api,
            f"{BASE}/contacts",
            headers,
            {"first_name": f"C{i}", "account_id": converted["account_id"], "consent_marketing": consent},
        )
        contact_ids.append(contact["id"])
    campaign = await _post(
        api, f"{BASE}/campaigns", headers, {"name": "Winter fleet offer", "subject": "Hi", "body": "Winter offer"}
    )
    sent = await _post(api, f"{BASE}/campaigns/{campaign['id']}/send", headers, {"contact_ids": contact_ids})
    assert (sent["recipients"], sent["skipped_without_consent"]) == (2, 1)
    assert sent["campaign"]["status"] == "sent"
    again = await api.post(f"{BASE}/campaigns/{campaign['id']}/send", json={}, headers=headers)
    assert again.status_code == 409

    bus = RabbitMQBus(rabbitmq_server.url)
    try:
        await OutboxRelay(worker_pool, bus).drain()
    finally:
        await bus.close()

    messages = await _drain_queue(crm_queue, tid)
    events = [Envelope.from_json(m.body) for m in messages]
    assert [e.type for e in events] == ["crm.lead.created"] + ["crm.opportunity.stage_changed"] * 4 + [
        "crm.campaign.sent"
    ]
    stages = [(e.payload["from_stage"], e.payload["to_stage"]) for e in events if e.type.endswith("stage_changed")]
    assert stages == [
        ("prospecting", "qualification"),
        ("qualification", "proposal"),
        ("proposal", "negotiation"),
        ("negotiation", "closed_won"),
    ]
    assert all(m.headers["x-corr-id"] == "flow-corr-1" for m in messages)
    assert all(m.message_id == str(e.id) for m, e in zip(messages, events, strict=True))
    assert events[-1].payload["recipient_count"] == 2
    assert events[0].payload["lead_id"] == lead["id"]


async def test_relay_is_at_least_once_and_keeps_order_when_the_bus_fails(
    api: httpx.AsyncClient,
    auth: Auth,
    worker_pool: asyncpg.Pool,
) -> None:
    tid = f"relay-{uuid.uuid4().hex[:6]}"
    headers = auth(tid=tid, scopes=ALL_SCOPES)
    for i in range(3):
        await _post(api, f"{BASE}/leads", headers, {"email": f"l{i}@firma.ro"})

    received: list[Envelope] = []
    inner = InProcessBus()

    async def collect(event: Envelope) -> None:
        if event.tid == tid:
            received.append(event)

    inner.subscribe("crm.#", collect)

    class FlakyBus:
        def __init__(self) -> None:
            self.calls = 0

        async def publish(self, event: Envelope) -> None:
            self.calls += 1
            if self.calls == 2:
                raise ConnectionError("broker went away")
            await inner.publish(event)

        async def close(self) -> None:
            pass

    relay = OutboxRelay(worker_pool, FlakyBus())
    await relay.run_once()
    assert relay.stats.failed == 1
    await relay.drain()
    ours = [e.payload["email"] for e in received]
    assert ours == sorted(ours)  # in creation order …
    assert set(ours) == {"l0@firma.ro", "l1@firma.ro", "l2@firma.ro"}  # … and none lost
    async with worker_pool.acquire() as conn:
        pending = await conn.fetchval("SELECT count(*) FROM crm.outbox WHERE tid = $1 AND published_at IS NULL", tid)
        failed = await conn.fetchval("SELECT count(*) FROM crm.outbox WHERE last_error IS NOT NULL AND tid = $1", tid)
    assert pending == 0
    assert failed == 0  # the retried row succeeded and its error was cleared


async def test_worker_role_sees_only_the_outbox_and_compliance_columns(worker_pool: asyncpg.Pool) -> None:
    async with worker_pool.acquire() as conn:
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await conn.fetch("SELECT * FROM crm.accounts LIMIT 1")
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await conn.fetch("SELECT email FROM crm.contacts LIMIT 1")
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await conn.execute("UPDATE crm.accounts SET name = 'hijacked'")
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await conn.execute("DELETE FROM crm.outbox")


async def test_concurrent_conversions_yield_one_account(api: httpx.AsyncClient, auth: Auth) -> None:
    headers = auth(tid=f"conv-{uuid.uuid4().hex[:6]}", scopes=ALL_SCOPES)
    lead = await _post(api, f"{BASE}/leads", headers, {"company_name": "Twin SRL", "email": "a@twin.ro"})
    await _post(api, f"{BASE}/leads/{lead['id']}/qualify", headers, {"score": 80})
    first, second = await asyncio.gather(
        api.post(f"{BASE}/leads/{lead['id']}/convert", json={}, headers=headers),
        api.post(f"{BASE}/leads/{lead['id']}/convert", json={}, headers=headers),
    )
    assert first.status_code == second.status_code == 200
    assert first.json()["account_id"] == second.json()["account_id"]
    assert sorted([first.json()["already_converted"], second.json()["already_converted"]]) == [False, True]
    accounts = (await api.get(f"{BASE}/accounts", headers=headers)).json()["items"]
    assert len(accounts) == 1


async def test_unqualified_lead_does_not_convert(api: httpx.AsyncClient, auth: Auth) -> None:
    headers = auth(tid=f"unq-{uuid.uuid4().hex[:6]}", scopes=ALL_SCOPES)
    lead = await _post(api, f"{BASE}/leads", headers, {"email": "cold@gmail.com"})
    response = await api.post(f"{BASE}/leads/{lead['id']}/convert", json={}, headers=headers)
    assert response.status_code == 409
    low = await _post(api, f"{BASE}/leads/{lead['id']}/qualify", headers, {})
    assert low["status"] == "disqualified"
    assert low["score"] < 50
    audit_payload = json.dumps(low)
    assert "free-mail" in audit_payload
