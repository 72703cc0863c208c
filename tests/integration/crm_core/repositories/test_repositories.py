"""Repositories against real PostgreSQL through the application role."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from decimal import Decimal

import asyncpg
import pytest

from crm_core.repositories import accounts, activities, audit, campaigns, contacts, leads, opportunities
from crm_core.repositories.accounts import ACCOUNTS
from crm_core.repositories.campaigns import CAMPAIGNS, RECIPIENTS
from crm_core.repositories.contacts import CONTACTS
from crm_core.repositories.leads import LEADS
from crm_core.repositories.opportunities import OPPORTUNITIES
from crm_core.schemas.activities import ActivityCreate
from crm_core.schemas.enums import ComplianceStatus, OpportunityStage, RecipientStatus
from infra.db.tenancy import TenantContext, tenant_transaction
from infra.errors import VersionConflict
from infra.events import outbox


@pytest.fixture
def tenant() -> TenantContext:
    """A fresh member organisation per test keeps tests independent."""
    return TenantContext(tid="repo-tenant", mid=f"m-{uuid.uuid4().hex[:8]}", whid=None)


async def test_create_get_update_with_version(app_pool: asyncpg.Pool, tenant: TenantContext) -> None:
    async with tenant_transaction(app_pool, tenant) as conn:
        acct = await ACCOUNTS.insert(conn, tenant=tenant, values={"name": "Acme SRL", "cui": "18547290"})
        assert acct.version == 1 and acct.tid == tenant.tid and acct.whid is None
        assert acct.compliance_status is ComplianceStatus.UNCHECKED
        updated = await ACCOUNTS.update(conn, tenant=tenant, id=acct.id, changes={"city": "Cluj"}, expected_version=1)
        assert updated is not None and updated.version == 2 and updated.city == "Cluj"
        with pytest.raises(VersionConflict) as err:
            await ACCOUNTS.update(conn, tenant=tenant, id=acct.id, changes={"city": "Iasi"}, expected_version=1)
        assert err.value.extra == {"expected_version": 1, "current_version": 2}
        assert await ACCOUNTS.update(conn, tenant=tenant, id=uuid.uuid4(), changes={"city": "x"}) is None
        found = await accounts.find_by_cui(conn, tenant=tenant, cui="18547290")
        assert found is not None and found.id == acct.id


async def test_soft_delete_hides_and_restore_brings_back(app_pool: asyncpg.Pool, tenant: TenantContext) -> None:
    async with tenant_transaction(app_pool, tenant) as conn:
        lead = await LEADS.insert(conn, tenant=tenant, values={"email": "ana@example.ro"})
        deleted = await LEADS.set_deleted(conn, tenant=tenant, id=lead.id, deleted=True)
        assert deleted is not None and deleted.deleted_at is not None
        assert await LEADS.get(conn, tenant=tenant, id=lead.id) is None
        assert await LEADS.get(conn, tenant=tenant, id=lead.id, include_deleted=True) is not None
        assert await LEADS.set_deleted(conn, tenant=tenant, id=lead.id, deleted=True) is None
        restored = await LEADS.set_deleted(conn, tenant=tenant, id=lead.id, deleted=False)
        assert restored is not None and restored.deleted_at is None and restored.version == 3


async def test_list_is_keyset_paginated_and_filtered(app_pool: asyncpg.Pool, tenant: TenantContext) -> None:
    async with tenant_transaction(app_pool, tenant) as conn:
        for i in range(7):
            await LEADS.insert(
                conn, tenant=tenant, values={"email": f"p{i}@example.ro", "source": "web" if i % 2 else "csv"}
            )
    seen: list[uuid.UUID] = []
    cursor = None
    async with tenant_transaction(app_pool, tenant, readonly=True) as conn:
        while True:
            page = await LEADS.list(conn, tenant=tenant, limit=3, after=cursor)
            seen += [item.id for item in page.items]
            if page.next_cursor is None:
                break
            cursor = page.next_cursor
        web = await LEADS.list(conn, tenant=tenant, filters={"source": "web"})
    assert len(seen) == len(set(seen)) == 7
    assert len(web.items) == 3
    with pytest.raises(ValueError, match="not writable/filterable"):
        await LEADS.list(conn, tenant=tenant, filters={"tid": "other"})


async def test_duplicate_lead_lookup_by_email_or_cui(app_pool: asyncpg.Pool, tenant: TenantContext) -> None:
    async with tenant_transaction(app_pool, tenant) as conn:
        first = await LEADS.insert(conn, tenant=tenant, values={"email": "Sales@Firma.ro", "cui": "14399840"})
        by_email = await leads.find_duplicate(conn, tenant=tenant, email="sales@firma.ro", cui=None)
        by_cui = await leads.find_duplicate(conn, tenant=tenant, email=None, cui="14399840")
        none = await leads.find_duplicate(conn, tenant=tenant, email="other@firma.ro", cui="1")
    assert by_email is not None and by_email.id == first.id
    assert by_cui is not None and by_cui.id == first.id
    assert none is None


async def test_opportunity_account_contact_graph(app_pool: asyncpg.Pool, tenant: TenantContext) -> None:
    async with tenant_transaction(app_pool, tenant) as conn:
        acct = await ACCOUNTS.insert(conn, tenant=tenant, values={"name": "Beta SA"})
        person = await CONTACTS.insert(
            conn, tenant=tenant, values={"account_id": acct.id, "first_name": "Ion", "email": "ion@beta.ro"}
        )
        deal = await OPPORTUNITIES.insert(
            conn,
            tenant=tenant,
            values={
                "account_id": acct.id,
                "contact_id": person.id,
                "name": "Beta rollout",
                "amount": Decimal("1250.50"),
            },
        )
        assert deal.stage is OpportunityStage.PROSPECTING and deal.amount == Decimal("1250.50")
        assert [c.id for c in await contacts.for_account(conn, tenant=tenant, account_id=acct.id)] == [person.id]
        assert [o.id for o in await opportunities.open_for_account(conn, tenant=tenant, account_id=acct.id)] == [
            deal.id
        ]
        moved = await OPPORTUNITIES.update(
            conn, tenant=tenant, id=deal.id, changes={"stage": OpportunityStage.CLOSED_WON.value}
        )
        assert moved is not None and opportunities.closed(moved.stage)
        assert await opportunities.open_for_account(conn, tenant=tenant, account_id=acct.id) == []


async def test_foreign_keys_do_not_cross_tenants(app_pool: asyncpg.Pool, tenant: TenantContext) -> None:
    other = TenantContext(tid="other-tenant", mid=tenant.mid)
    async with tenant_transaction(app_pool, other) as conn:
        foreign = await ACCOUNTS.insert(conn, tenant=other, values={"name": "Other"})
    with pytest.raises(asyncpg.ForeignKeyViolationError):
        async with tenant_transaction(app_pool, tenant) as conn:
            await CONTACTS.insert(conn, tenant=tenant, values={"account_id": foreign.id, "first_name": "X"})


async def test_campaign_recipients_are_added_once(app_pool: asyncpg.Pool, tenant: TenantContext) -> None:
    async with tenant_transaction(app_pool, tenant) as conn:
        campaign = await CAMPAIGNS.insert(conn, tenant=tenant, values={"name": "Black Friday"})
        people = [await CONTACTS.insert(conn, tenant=tenant, values={"first_name": f"P{i}"}) for i in range(3)]
        ids = [p.id for p in people]
        assert await campaigns.add_recipients(conn, tenant=tenant, campaign_id=campaign.id, contact_ids=ids) == 3
        assert await campaigns.add_recipients(conn, tenant=tenant, campaign_id=campaign.id, contact_ids=ids) == 0
        assert await campaigns.set_recipient_status(
            conn, tenant=tenant, campaign_id=campaign.id, contact_id=ids[0], status=RecipientStatus.SENT
        )
        page = await RECIPIENTS.list(conn, tenant=tenant, filters={"campaign_id": campaign.id})
    statuses = sorted(r.status.value for r in page.items)
    assert statuses == ["pending", "pending", "sent"]


async def test_activity_from_event_is_idempotent(app_pool: asyncpg.Pool, tenant: TenantContext) -> None:
    async with tenant_transaction(app_pool, tenant) as conn:
        acct = await ACCOUNTS.insert(conn, tenant=tenant, values={"name": "Gamma"})
        event = ActivityCreate(
            account_id=acct.id, kind="shipment.delivered", source="wms", external_ref="evt-1", payload={"awb": "123"}
        )
        assert await activities.add(conn, tenant=tenant, activity=event) is not None
        assert await activities.add(conn, tenant=tenant, activity=event) is None
        await activities.add(
            conn,
            tenant=tenant,
            activity=ActivityCreate(account_id=acct.id, kind="note", occurred_at=datetime(2020, 1, 1, tzinfo=UTC)),
        )
        line = await activities.timeline(conn, tenant=tenant, account_id=acct.id)
    assert [a.kind for a in line] == ["shipment.delivered", "note"]


async def test_audit_and_outbox_roll_back_with_the_change(app_pool: asyncpg.Pool, tenant: TenantContext) -> None:
    with pytest.raises(RuntimeError, match="boom"):
        async with tenant_transaction(app_pool, tenant) as conn:
            lead = await LEADS.insert(conn, tenant=tenant, values={"email": "gone@example.ro"})
            await audit.record(conn, tenant=tenant, actor="u1", action="create", entity_type="lead", entity_id=lead.id)
            await outbox.enqueue(
                conn,
                tenant=tenant,
                event_type="crm.lead.created",
                aggregate_type="lead",
                aggregate_id=lead.id,
                payload={"lead_id": str(lead.id)},
            )
            raise RuntimeError("boom")
    async with tenant_transaction(app_pool, tenant) as conn:
        assert await outbox.pending(conn, tenant=tenant) == []
        lead = await LEADS.insert(conn, tenant=tenant, values={"email": "kept@example.ro"})
        await audit.record(
            conn,
            tenant=tenant,
            actor="u1",
            action="create",
            entity_type="lead",
            entity_id=lead.id,
            after={"email": lead.email},
            corr_id="c-1",
        )
        first = await outbox.enqueue(
            conn,
            tenant=tenant,
            event_type="crm.lead.created",
            aggregate_type="lead",
            aggregate_id=lead.id,
            payload={"lead_id": str(lead.id)},
            corr_id="c-1",
        )
        second = await outbox.enqueue(
            conn,
            tenant=tenant,
            event_type="crm.lead.created",
            aggregate_type="lead",
            aggregate_id=lead.id,
            payload={"n": 2},
        )
    async with tenant_transaction(app_pool, tenant) as conn:
        pending = await outbox.pending(conn, tenant=tenant)
        assert [e.id for e in pending] == [first.id, second.id] and pending[0].seq < pending[1].seq
        assert await outbox.mark_published(conn, ids=[first.id]) == 1
        assert [e.id for e in await outbox.pending(conn, tenant=tenant)] == [second.id]
        trail = await audit.for_entity(conn, tenant=tenant, entity_type="lead", entity_id=lead.id)
    assert [(e.action, e.after, e.corr_id) for e in trail] == [("create", {"email": "kept@example.ro"}, "c-1")]


async def test_outbox_rejects_badly_named_events(app_pool: asyncpg.Pool, tenant: TenantContext) -> None:
    with pytest.raises(asyncpg.CheckViolationError):
        async with tenant_transaction(app_pool, tenant) as conn:
            await outbox.enqueue(
                conn,
                tenant=tenant,
                event_type="LeadCreated",
                aggregate_type="lead",
                aggregate_id=uuid.uuid4(),
                payload={},
            )


async def test_compliance_result_is_stored_without_bumping_version(
    app_pool: asyncpg.Pool, tenant: TenantContext
) -> None:
    async with tenant_transaction(app_pool, tenant) as conn:
        acct = await ACCOUNTS.insert(conn, tenant=tenant, values={"name": "Delta", "cui": "18547290"})
        checked = await accounts.set_compliance(
            conn,
            tenant=tenant,
            id=acct.id,
            status=ComplianceStatus.VERIFIED,
            checked_at=datetime.now(UTC),
            anaf_data={"denumire": "DELTA SRL"},
        )
    assert checked is not None and checked.version == 1
    assert checked.compliance_status is ComplianceStatus.VERIFIED and checked.anaf_data == {"denumire": "DELTA SRL"}
