"""A campaign's personalised block filled with each recipient's recommendations, end to end: the tenant's
catalogue (real sentence encoder, pgvector), interactions, the delivery worker with the streams' recommender
as its personaliser, a real SMTP server; the items are tracked links, the showings recorded, the event out."""

from __future__ import annotations

import uuid
from email.message import Message
from typing import Any

import asyncpg
import httpx
import pytest

from crm_core.delivery.worker import DeliveryWorker
from infra.db.tenancy import TenantContext, tenant_transaction
from models.embeddings.encoder import SentenceEncoder
from streams import recommendations as rec
from streams.recommendations import CatalogItem, Interaction, InteractionBatch
from tests.integration.crm_core.api.conftest import Auth
from tests.integration.crm_core.conftest import Sink

pytestmark = [pytest.mark.integration, pytest.mark.slow]

BASE = "/v1/crm"
SHOP = "https://shop.example.ro/p/"
CATALOGUE = [
    CatalogItem(external_id=key, kind="product", title=title, url=SHOP + key)
    for key, title in (
        ("shoes", "Road running shoes"),
        ("socks", "Running socks"),
        ("trail", "Trail running shoes"),
        ("mug", "Ceramic coffee mug"),
        ("pan", "Non-stick frying pan"),
    )
]
BLOCK = (
    "{% if recommendations %}<ul>{% for item in recommendations %}"
    '<li><a href="{{ item.url }}">{{ item.title }}</a></li>{% endfor %}</ul>{% endif %}'
)


def _html(message: Message) -> str:
    for part in message.walk():
        if part.get_content_type() == "text/html":
            payload = part.get_payload(decode=True)
            assert isinstance(payload, bytes)
            return payload.decode()
    raise AssertionError("no HTML part")


async def _seed(pool: asyncpg.Pool, tenant: TenantContext, ana: uuid.UUID) -> None:
    encoder = SentenceEncoder(threads=2)
    vectors = encoder.encode([i.text() for i in CATALOGUE]).vectors
    views = [Interaction(item=i, contact_id=ana, kind="view") for i in ("shoes", "socks")]
    for n in range(6):  # other shoppers: road shoes with trail shoes and socks; the kitchen apart
        views += [Interaction(item=i, session_id=f"s{n}", kind="view") for i in ("shoes", "trail", "socks")]
        views += [Interaction(item=i, session_id=f"k{n}", kind="view") for i in ("mug", "pan")]
    async with tenant_transaction(pool, tenant) as conn:
        await rec.store_items(
            conn, tenant, CATALOGUE, {i.external_id: list(v) for i, v in zip(CATALOGUE, vectors, strict=True)}, "minilm"
        )
        await rec.add_interactions(conn, tenant, InteractionBatch(interactions=views))
        await rec.refresh_neighbours(conn, tenant)


async def test_each_recipient_gets_their_own_items_as_tracked_links(
    api: httpx.AsyncClient, auth: Auth, worker: DeliveryWorker, smtp_sink: Sink, app_pool: asyncpg.Pool
) -> None:
    tid = f"t-pb-{uuid.uuid4().hex[:8]}"
    tenant, headers = (
        TenantContext(tid=tid, mid="m-1"),
        auth(tid=tid, scopes=("crm:read", "crm:write", "marketing:send")),
    )
    tag = uuid.uuid4().hex[:6]
    people: dict[str, Any] = {}
    for name in ("ana", "bob"):
        body = {"first_name": name.capitalize(), "email": f"{name}.{tag}@ok.test", "consent_marketing": True}
        created = await api.post(f"{BASE}/contacts", json=body, headers=headers)
        people[name] = created.json()
    await _seed(app_pool, tenant, uuid.UUID(people["ana"]["id"]))
    campaign = await api.post(
        f"{BASE}/campaigns",
        json={
            "name": "Pentru tine",
            "subject": "Salut",
            "html": "<p>Salut</p>{{ personal_block }}",
            "personal_block": BLOCK,
        },
        headers=headers,
    )
    assert campaign.status_code == 201, campaign.text
    sent = await api.post(f"{BASE}/campaigns/{campaign.json()['id']}/send", json={}, headers=headers)
    assert sent.status_code == 200 and sent.json()["queued"] == 2

    worker.personaliser = rec.email_recommendations
    await worker.drain()
    [to_ana] = smtp_sink.to(people["ana"]["email"])
    [to_bob] = smtp_sink.to(people["bob"]["email"])
    ana_html, bob_html = _html(to_ana), _html(to_bob)
    # Ana viewed road shoes and socks: what others viewed with them comes first, never what she saw.
    assert ana_html.index("Trail running shoes") < ana_html.index("Ceramic coffee mug")
    assert "Road running shoes" not in ana_html and "Running socks" not in ana_html
    # Bob has no history: the most popular items.
    assert "Road running shoes" in bob_html and bob_html.count("<li>") == 3
    # Every item is a tracked link (the click goes through the engine, then to the shop).
    assert SHOP not in ana_html and ana_html.count("/v1/crm/t/c/") == 3

    async with tenant_transaction(app_pool, tenant, readonly=True) as conn:
        events = await conn.fetch(
            "SELECT payload FROM crm.outbox WHERE tid = $1 AND event_type = 'crm.content.personalized'", tid
        )
        shown = await conn.fetchval(
            "SELECT count(*) FROM ai.item_interactions WHERE tid = $1 AND kind = 'recommended'", tid
        )
    assert {e["payload"]["contact_id"] for e in events} == {people["ana"]["id"], people["bob"]["id"]}
    assert shown == 6


async def test_without_a_personaliser_the_block_is_empty_and_the_mail_still_goes(
    api: httpx.AsyncClient, auth: Auth, worker: DeliveryWorker, smtp_sink: Sink
) -> None:
    tid = f"t-pb-{uuid.uuid4().hex[:8]}"
    headers = auth(tid=tid, scopes=("crm:read", "crm:write", "marketing:send"))
    email = f"solo.{uuid.uuid4().hex[:6]}@ok.test"
    await api.post(
        f"{BASE}/contacts", json={"first_name": "Solo", "email": email, "consent_marketing": True}, headers=headers
    )
    campaign = await api.post(
        f"{BASE}/campaigns",
        json={"name": "Gol", "subject": "Salut", "html": "<p>Salut</p>{{ personal_block }}", "personal_block": BLOCK},
        headers=headers,
    )
    await api.post(f"{BASE}/campaigns/{campaign.json()['id']}/send", json={}, headers=headers)
    assert worker.personaliser is None
    await worker.drain()
    [message] = smtp_sink.to(email)
    assert "<ul>" not in _html(message) and "Salut" in _html(message)
