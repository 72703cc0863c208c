"""LinkedIn prospect intent as the processor stores it (real PostgreSQL under RLS): activities matched to
contacts and leads with a confidence, unknown people kept and matched later, conflicts flagged and resolved by a
person, scores that rise with activity and publish ``crm.linkedin.prospect.scored`` on crossing the threshold,
the tenant's own weights once it has outcomes, and the reads the API and Account 360 serve."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import pytest

from crm_core.privacy.export import collect
from crm_core.privacy.subject import privacy_transaction
from crm_core.services.audit_export import load_or_create_key
from infra.db.ai_reads import prospect_intent
from infra.db.tenancy import TenantContext, tenant_transaction
from infra.errors import NotFound
from infra.settings import Settings
from streams import prospects
from streams.core import StreamProcessor
from streams.processors.base import Outcome
from streams.schemas import ProspectScored
from tests.integration.streams.conftest import create_account, envelope

pytestmark = [pytest.mark.integration, pytest.mark.slow]

NOW = datetime.now(UTC).replace(microsecond=0)


def _tenant(tenant: dict[str, str]) -> TenantContext:
    return TenantContext(tid=tenant["tid"], mid=tenant["mid"])


async def _signal(processor: StreamProcessor, tenant: dict[str, str], kind: str, prospect: dict[str, Any],
                  *, at: datetime = NOW, **details: Any) -> Any:  # fmt: skip
    body = {"kind": kind, "prospect": prospect, "occurred_at": at.isoformat(), **details}
    result = await processor.handle(envelope("social.linkedin.signal", body, tenant), "test")
    assert result.outcome is Outcome.STORED, result.reason
    return result


async def _contact(admin_pool: asyncpg.Pool, tenant: dict[str, str], first: str, last: str, **extra: Any) -> uuid.UUID:
    account = extra.pop("account_id", None)
    contact_id: uuid.UUID = await admin_pool.fetchval(
        "INSERT INTO crm.contacts (tid, mid, first_name, last_name, email, account_id, attributes) "
        "VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
        tenant["tid"], tenant["mid"], first, last, extra.get("email"), account, extra.get("attributes", {}),
    )  # fmt: skip
    return contact_id


async def _prospect(admin_pool: asyncpg.Pool, tenant: dict[str, str]) -> asyncpg.Record:
    rows = await admin_pool.fetch("SELECT * FROM ai.prospects WHERE tid = $1", tenant["tid"])
    assert len(rows) == 1, rows
    return rows[0]


async def _published(admin_pool: asyncpg.Pool, tenant: dict[str, str]) -> list[dict[str, Any]]:
    rows = await admin_pool.fetch(
        "SELECT payload FROM crm.outbox WHERE tid = $1 AND event_type = 'crm.linkedin.prospect.scored' ORDER BY seq",
        tenant["tid"],
    )
    return [r["payload"] for r in rows]


async def test_a_contacts_activity_is_matched_scored_and_published_once_on_crossing(
    processor: StreamProcessor, admin_pool: asyncpg.Pool, app_pool: asyncpg.Pool, tenant: dict[str, str]
) -> None:
    account = await create_account(admin_pool, tenant, "Ștefănești Agro SRL")
    contact = await _contact(admin_pool, tenant, "Ioana", "Rădulescu", account_id=account,
                             attributes={"linkedin": "https://www.linkedin.com/in/ioana-radulescu"})  # fmt: skip
    who = {"profile_url": "https://ro.linkedin.com/in/Ioana-Radulescu/?trk=feed", "name": "RADULESCU Ioana"}
    await _signal(processor, tenant, "profile_view", who, at=NOW - timedelta(days=3), user="andrei")
    row = await _prospect(admin_pool, tenant)
    assert (row["match_status"], row["match_basis"], row["contact_id"], row["account_id"]) == (
        "matched", "profile_url", contact, account)  # fmt: skip
    first_score = row["score"]
    assert await _published(admin_pool, tenant) == []
    await _signal(processor, tenant, "event_signup", who, event_name="Agri Summit 2026", user="andrei")
    await _signal(processor, tenant, "message_reply", who, thread_id="t-1", user="maria")
    row = await _prospect(admin_pool, tenant)
    assert row["score"] >= prospects.THRESHOLD > first_score
    (event,) = await _published(admin_pool, tenant)
    scored = ProspectScored.model_validate(event)
    assert scored.reason == "crossed_threshold" and scored.contact_id == contact and scored.account_id == account
    assert scored.model == "prior" and scored.top_signals[0]["kind"] == "message_reply"
    # another glance while above the threshold publishes nothing more
    await _signal(processor, tenant, "post_reaction", who, reaction="like", post_url="https://lnkd.in/p1")
    assert len(await _published(admin_pool, tenant)) == 1
    # the reads: listing, detail with relationships, Account 360's and the lead's intent
    t = _tenant(tenant)
    async with tenant_transaction(app_pool, t, readonly=True) as conn:
        listed = await prospects.listing(conn, t)
        detail = await prospects.detail(conn, t, row["id"])
        in_360 = await prospect_intent(conn, t.tid, t.mid, account_id=account)
    assert listed["model"]["source"] == "prior" and "0 outcomes" in listed["model"]["reason"]
    assert [p["id"] for p in listed["prospects"]] == [row["id"]]
    assert len(detail["activities"]) == 4 and {r["user"] for r in detail["relationships"]} == {"andrei", "maria"}
    assert in_360[0]["id"] == row["id"] and in_360[0]["score"] == pytest.approx(listed["prospects"][0]["score"], 0.5)


async def test_an_unknown_person_is_kept_and_matched_when_the_crm_knows_them(
    processor: StreamProcessor,
    admin_pool: asyncpg.Pool,
    app_pool: asyncpg.Pool,
    worker_pool: asyncpg.Pool,
    tenant: dict[str, str],
) -> None:
    who = {"email": "Dan.Ilie@Vinuri.ro", "name": "Dan Ilie", "company": "Vinuri Dealu SRL"}
    await _signal(processor, tenant, "company_follow", who, at=NOW - timedelta(days=2))
    row = await _prospect(admin_pool, tenant)
    assert row["match_status"] == "unmatched" and row["contact_id"] is None
    lead_id = await admin_pool.fetchval(
        "INSERT INTO crm.leads (tid, mid, first_name, last_name, email, company_name) "
        "VALUES ($1, $2, 'Dan', 'Ilie', 'dan.ilie@vinuri.ro', 'Vinuri Dealu') RETURNING id",
        tenant["tid"], tenant["mid"],
    )  # fmt: skip
    t = _tenant(tenant)
    async with tenant_transaction(app_pool, t) as conn:  # just matched: not due for the matcher yet
        assert (await prospects.rematch(conn, t, older_than_s=3600))["checked"] == 0
    # the matcher loop, as each Streams replica runs it, finds the tenant (worker role) and links the lead
    await asyncio.sleep(2.1)
    matcher = prospects.ProspectMatcher(app_pool, worker_pool, every_s=2.0, batch=1000)
    await matcher.drain()
    row = await _prospect(admin_pool, tenant)
    assert (row["match_status"], row["match_basis"], row["lead_id"]) == ("matched", "email", lead_id)
    # the earlier activity counts for the lead
    await _signal(processor, tenant, "job_change", who, new_company="Crama Nouă SRL", new_title="Director")
    async with tenant_transaction(app_pool, t, readonly=True) as conn:
        (mine,) = await prospect_intent(conn, t.tid, t.mid, lead_id=lead_id)
        detail = await prospects.detail(conn, t, row["id"])
    assert {a["kind"] for a in detail["activities"]} == {"company_follow", "job_change"}
    assert mine["headline"] == "Director at Crama Nouă SRL" and mine["score"] > 10


async def test_namesakes_at_one_company_are_a_conflict_until_a_person_chooses(
    processor: StreamProcessor, admin_pool: asyncpg.Pool, app_pool: asyncpg.Pool, tenant: dict[str, str]
) -> None:
    account = await create_account(admin_pool, tenant, "Nova Print SRL")
    first = await _contact(admin_pool, tenant, "Mihai", "Popescu", account_id=account)
    second = await _contact(admin_pool, tenant, "Mihai", "Popescu", account_id=account, email="mp2@novaprint.ro")
    who = {"name": "Popescu Mihai", "company": "SC Nova Print S.R.L."}
    await _signal(processor, tenant, "post_comment", who, comment="Interesant!", post_url="https://lnkd.in/x")
    row = await _prospect(admin_pool, tenant)
    assert row["match_status"] == "conflict" and row["contact_id"] is None
    assert {c["id"] for c in row["candidates"]} == {str(first), str(second)}
    t = _tenant(tenant)
    async with tenant_transaction(app_pool, t) as conn:
        chosen = await prospects.confirm(conn, t, row["id"], contact_id=second, lead_id=None)
    assert (chosen["match_status"], chosen["contact_id"], chosen["account_id"]) == ("confirmed", second, account)
    await _signal(processor, tenant, "profile_view", who)
    row = await _prospect(admin_pool, tenant)
    assert (row["match_status"], row["contact_id"]) == ("confirmed", second)  # a person's choice stands
    other = {"tid": f"t-{uuid.uuid4().hex[:10]}", "mid": "m-1"}
    async with tenant_transaction(app_pool, _tenant(other), readonly=True) as conn:
        with pytest.raises(NotFound):
            await prospects.detail(conn, _tenant(other), row["id"])


async def test_bad_activities_are_dead_lettered_with_the_reason(
    processor: StreamProcessor, tenant: dict[str, str]
) -> None:
    cases = [
        ({"kind": "job_change", "prospect": {"email": "a@b.ro"}}, "a job_change needs new_company"),
        ({"kind": "profile_view", "prospect": {"name": "Ana Pop"}}, "profile URL, an e-mail, or a full name"),
        ({"kind": "poke", "prospect": {"email": "a@b.ro"}}, "kind"),
    ]
    for body, reason in cases:
        result = await processor.handle(envelope("social.linkedin.signal", body, tenant), "test")
        assert result.outcome is Outcome.DEAD_LETTERED and reason in (result.reason or ""), result.reason


async def test_a_tenant_with_outcomes_gets_its_own_weights(
    processor: StreamProcessor, admin_pool: asyncpg.Pool, app_pool: asyncpg.Pool, tenant: dict[str, str]
) -> None:
    """60 leads with outcomes: those who followed the company converted, those who only viewed did not."""
    for i in range(60):
        converted = i % 2 == 0
        email = f"p{i}@firma{i}.ro"
        await admin_pool.execute(
            "INSERT INTO crm.leads (tid, mid, first_name, last_name, email, status, converted_at, updated_at) "
            "VALUES ($1, $2, 'P', $3, $4, $5, $6, $6)",
            tenant["tid"], tenant["mid"], f"N{i}", email, "converted" if converted else "disqualified",
            NOW - timedelta(days=1),
        )  # fmt: skip
        kind = "company_follow" if converted else "profile_view"
        await _signal(processor, tenant, kind, {"email": email}, at=NOW - timedelta(days=5))
    t = _tenant(tenant)
    async with tenant_transaction(app_pool, t) as conn:
        learned = await prospects.retrain(conn, t)
    assert learned["source"] == "learned" and learned["outcomes"] == 60 and learned["converted"] == 30
    assert learned["weights"]["company_follow"] > learned["weights"]["profile_view"]
    assert learned["rescored"] == 60


async def test_the_subject_access_export_holds_their_prospect_and_activities(
    processor: StreamProcessor, admin_pool: asyncpg.Pool, app_pool: asyncpg.Pool, tenant: dict[str, str],
    test_settings: Settings,
) -> None:  # fmt: skip
    await _contact(admin_pool, tenant, "Elena", "Matei", email="elena@matei.ro")
    await _signal(processor, tenant, "message_reply", {"email": "elena@matei.ro", "name": "Elena Matei"})
    await _signal(processor, tenant, "profile_view", {"email": "someone@else.ro"})
    t = _tenant(tenant)
    async with privacy_transaction(app_pool, t) as conn:
        document = await collect(conn, t, kind="email", value="elena@matei.ro", subject_hash="h",
                                 key=load_or_create_key(test_settings.resolved_audit_key_path))  # fmt: skip
    (mine,) = document["tables"]["prospects"]
    assert mine["email"] == "elena@matei.ro"
    assert [a["kind"] for a in document["tables"]["prospect_activities"]] == ["message_reply"]


async def test_a_job_change_keeps_the_prospect_and_records_the_new_company(
    processor: StreamProcessor, admin_pool: asyncpg.Pool, tenant: dict[str, str]
) -> None:
    who = {"name": "Radu Toma", "company": "Lact Nord SRL"}  # recognised by name at company only
    await _signal(processor, tenant, "profile_view", who, at=NOW - timedelta(days=1))
    await _signal(processor, tenant, "job_change", who, new_company="Bio Vest SA", new_title="CFO")
    await _signal(processor, tenant, "post_reaction", who, reaction="insightful")
    row = await _prospect(admin_pool, tenant)  # one prospect, not one per company
    assert (row["company"], row["headline"]) == ("Bio Vest SA", "CFO at Bio Vest SA")
    kinds = await admin_pool.fetch("SELECT kind FROM ai.prospect_signals WHERE tid = $1", tenant["tid"])
    assert len(kinds) == 3
