"""Recommendations on real PostgreSQL + pgvector with the engine's real sentence encoder: catalogue, interactions,
the hybrid's candidates and filters, consent, recorded showings and the published event."""

from __future__ import annotations

import uuid

import asyncpg
import numpy as np
import pytest

from infra import decisions
from infra.db.tenancy import TenantContext, tenant_transaction
from infra.errors import InvalidInput
from models.embeddings.encoder import SentenceEncoder
from streams import recommendations as rec
from streams.recommendations import CatalogItem, Interaction, InteractionBatch, RecommendationRequest

pytestmark = pytest.mark.integration

CATALOGUE = [
    CatalogItem(
        external_id="shoes", kind="product", title="Road running shoes", description="Light cushioned trainers"
    ),
    CatalogItem(external_id="socks", kind="product", title="Running socks", description="Breathable, three pairs"),
    CatalogItem(external_id="trail", kind="product", title="Trail running shoes", description="Grippy sole for mud"),
    CatalogItem(external_id="watch", kind="product", title="GPS running watch", in_stock=False),
    CatalogItem(external_id="guide", kind="article", title="How to train for your first marathon"),
    CatalogItem(external_id="mug", kind="product", title="Ceramic coffee mug", description="Kitchen, 350 ml"),
    CatalogItem(external_id="pan", kind="product", title="Non-stick frying pan", description="Kitchen cookware"),
    CatalogItem(external_id="promo", kind="offer", title="Autumn sale: 20 % off kitchenware"),
]


@pytest.fixture(scope="module")
def encoder() -> SentenceEncoder:
    return SentenceEncoder(threads=2)


async def _catalogue(pool: asyncpg.Pool, tenant: TenantContext, encoder: SentenceEncoder) -> None:
    vectors = encoder.encode([i.text() for i in CATALOGUE]).vectors
    async with tenant_transaction(pool, tenant) as conn:
        assert await rec.unchanged(conn, tenant, CATALOGUE) == set()
        await rec.store_items(
            conn, tenant, CATALOGUE, {i.external_id: list(v) for i, v in zip(CATALOGUE, vectors, strict=True)}, "minilm"
        )
        assert await rec.unchanged(conn, tenant, CATALOGUE) == {i.external_id for i in CATALOGUE}
        changed = [CATALOGUE[0].model_copy(update={"description": "Now waterproof"})]
        assert await rec.unchanged(conn, tenant, changed) == set()  # a new text needs a new vector


async def _views(pool: asyncpg.Pool, tenant: TenantContext, pairs: list[tuple[str, list[str]]]) -> None:
    batch = InteractionBatch(
        interactions=[
            Interaction(item=item, session_id=session, kind="view") for session, items in pairs for item in items
        ]
    )
    async with tenant_transaction(pool, tenant) as conn:
        await rec.add_interactions(conn, tenant, batch)
        await rec.refresh_neighbours(conn, tenant)


async def _recommend(pool: asyncpg.Pool, tenant: TenantContext, **fields: object) -> rec.Recommendations:
    async with tenant_transaction(pool, tenant) as conn:
        return await rec.recommend(
            conn, tenant, RecommendationRequest.model_validate(fields), rng=np.random.default_rng(0)
        )


async def test_recommendations_blend_what_others_did_with_what_reads_alike(
    app_pool: asyncpg.Pool, encoder: SentenceEncoder
) -> None:
    tenant = TenantContext(tid=f"t-rec-{uuid.uuid4().hex[:8]}", mid="m-1")
    await _catalogue(app_pool, tenant, encoder)
    runners = [(f"runner-{i}", ["shoes", "socks"]) for i in range(12)]
    cooks = [(f"cook-{i}", ["mug", "pan", "promo"]) for i in range(8)]
    await _views(app_pool, tenant, runners + cooks)

    async with tenant_transaction(app_pool, tenant) as conn:
        pair = await conn.fetchval(
            "SELECT n.score FROM ai.item_neighbours n "
            "JOIN ai.catalog_items a ON a.tid = n.tid AND a.id = n.item_id AND a.external_id = 'shoes' "
            "JOIN ai.catalog_items b ON b.tid = n.tid AND b.id = n.neighbour_id AND b.external_id = 'socks' "
            "WHERE n.tid = $1",
            tenant.tid,
        )
    assert pair == pytest.approx(1.0, abs=0.01)  # every runner viewed both: cosine 1

    fresh = await _recommend(app_pool, tenant, session_id="new-visitor", k=3)
    assert not fresh.personalised and "no interactions" in fresh.reason
    top = [i.external_id for i in fresh.items]
    assert set(top[:2]) == {"shoes", "socks"} and top[2] in {"mug", "pan", "promo"}  # by reach

    await _views(app_pool, tenant, [("me", ["shoes"])])
    mine = await _recommend(app_pool, tenant, session_id="me", k=3)
    names = [i.external_id for i in mine.items]
    assert mine.personalised and "shoes" not in names  # seen
    assert names[0] == "socks"  # bought together by every other runner
    assert "trail" in names  # nobody touched it; it reads like what I looked at
    assert "watch" not in [i.external_id for i in (await _recommend(app_pool, tenant, session_id="me", k=8)).items]
    with_watch = await _recommend(app_pool, tenant, session_id="me", k=8, in_stock_only=False, record=False)
    assert "watch" in [i.external_id for i in with_watch.items]
    articles = await _recommend(app_pool, tenant, session_id="me", k=3, kinds=["article"], record=False)
    assert [i.external_id for i in articles.items] == ["guide"]
    assert set(mine.items[0].signals) == {"collaborative", "content", "popularity"}

    async with tenant_transaction(app_pool, tenant) as conn:
        shown = await conn.fetchval(
            "SELECT count(*) FROM ai.item_interactions WHERE tid = $1 AND person = 's:me' AND kind = 'recommended'",
            tenant.tid,
        )
        counters = await conn.fetchrow(
            "SELECT s.people, s.shown FROM ai.item_stats s "
            "JOIN ai.catalog_items c ON c.tid = s.tid AND c.id = s.item_id "
            "WHERE s.tid = $1 AND c.external_id = 'socks'",
            tenant.tid,
        )
    assert shown == 3 + 6  # the recorded showings (record=False ones are not)
    assert counters["people"] == 12 and counters["shown"] == 3  # shown to the new visitor and twice to me

    other = TenantContext(tid=f"t-other-{uuid.uuid4().hex[:6]}", mid="m-1")
    empty = await _recommend(app_pool, other, session_id="me", k=3)
    assert empty.items == [] and "catalogue is empty" in empty.reason  # another tenant sees none of it


async def test_consent_unknown_items_and_the_published_event(app_pool: asyncpg.Pool, encoder: SentenceEncoder) -> None:
    tenant = TenantContext(tid=f"t-rec-{uuid.uuid4().hex[:8]}", mid="m-1")
    await _catalogue(app_pool, tenant, encoder)
    async with tenant_transaction(app_pool, tenant) as conn:
        contact = await conn.fetchval(
            "INSERT INTO crm.contacts (tid, mid, first_name) VALUES ($1, $2, 'Ana') RETURNING id",
            tenant.tid,
            tenant.mid,
        )
        with pytest.raises(InvalidInput, match="not in the catalogue"):
            await rec.add_interactions(
                conn,
                tenant,
                InteractionBatch(interactions=[Interaction(item="nope", contact_id=contact, kind="click")]),
            )
        await rec.add_interactions(
            conn,
            tenant,
            InteractionBatch(interactions=[Interaction(item="shoes", contact_id=contact, kind="purchase")]),
        )
    await _views(app_pool, tenant, [(f"runner-{i}", ["shoes", "socks"]) for i in range(5)])
    personal = await _recommend(app_pool, tenant, contact_id=str(contact), k=2)
    assert personal.personalised and personal.items[0].external_id == "socks"
    async with tenant_transaction(app_pool, tenant) as conn:
        event = await conn.fetchval(
            "SELECT payload FROM crm.outbox WHERE tid = $1 AND event_type = 'crm.content.personalized'", tenant.tid
        )
        await conn.execute(
            "INSERT INTO crm.consent_history (tid, mid, contact_id, purpose, granted, source) "
            "VALUES ($1, $2, $3, 'profiling', false, 'preference centre')",
            tenant.tid,
            tenant.mid,
            contact,
        )
    assert event["contact_id"] == str(contact) and event["items"][0] == "socks" and event["personalised"] is True
    withdrawn = await _recommend(app_pool, tenant, contact_id=str(contact), k=2)
    assert not withdrawn.personalised and "withdrew profiling consent" in withdrawn.reason
    for shown in (personal, withdrawn):  # each list shown has its decision record, with the reason
        assert shown.decision_id is not None
        record = await decisions.get(app_pool, tenant, shown.decision_id)
        assert record["kind"] == "recommendation" and record["contact_id"] == contact
        assert record["output"]["items"] == [i.external_id for i in shown.items]
        assert record["explanation"]["reason"] == shown.reason
    assert withdrawn.items[0].signals["collaborative"] == 0 and withdrawn.items[0].signals["content"] == 0
    explored = await _recommend(app_pool, tenant, contact_id=str(contact), k=3, explore=0.5)
    assert len(explored.items) == 3
    with pytest.raises(ValueError, match="not both"):
        RecommendationRequest(contact_id=contact, session_id="x")
