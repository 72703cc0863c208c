"""Account 360: one read of everything a salesperson needs about an account."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

import asyncpg
from pydantic import BaseModel, Field

from crm_core.repositories import activities, contacts, opportunities
from crm_core.repositories.accounts import ACCOUNTS
from crm_core.repositories.base import Cursor
from crm_core.schemas.accounts import AccountPublic
from crm_core.schemas.activities import ActivityPublic
from crm_core.schemas.contacts import ContactPublic
from crm_core.schemas.enums import ComplianceStatus
from crm_core.schemas.opportunities import OpportunityPublic
from infra.db.ai_reads import account_intent, latest_churn_score, prospect_intent
from infra.errors import InvalidInput, NotFound
from infra.security import Principal

# Churn and sentiment come from the AI schema the stream processors write (migration 0005);
# on a database without those tables the 360 says "not available" instead of guessing.
AI_TABLE_SQL = "SELECT to_regclass($1) IS NOT NULL"
SENTIMENT_SQL = """
SELECT date_trunc('day', posted_at) AS day, avg(sentiment_score)::real AS score, count(*) AS mentions
FROM ai.social_insights
WHERE tid = $1 AND mid = $2 AND account_id = $3 AND posted_at > now() - interval '30 days' AND supported
GROUP BY 1 ORDER BY 1
"""


class Compliance(BaseModel):
    status: ComplianceStatus
    checked_at: datetime | None
    anaf: dict[str, Any] | None


class Insight(BaseModel):
    available: bool
    data: Any = None


class TimelinePage(BaseModel):
    items: list[ActivityPublic]
    next_cursor: str | None = Field(description="Pass as timeline_cursor for older entries.")


class Account360(BaseModel):
    account: AccountPublic
    contacts: list[ContactPublic]
    open_opportunities: list[OpportunityPublic]
    pipeline_value: dict[str, str] = Field(description="Sum of open opportunity amounts per currency.")
    timeline: TimelinePage
    compliance: Compliance
    churn_risk: Insight
    sentiment_trend: Insight
    prospect_intent: Insight = Field(
        description="LinkedIn intent: the account's score (0-100: the chance at least one of its people converts, "
        "as their scores say), how many of its people are tracked, and the top five by intent now with their top "
        "signals."
    )


async def _has_table(conn: asyncpg.Connection, table: str) -> bool:
    return bool(await conn.fetchval(AI_TABLE_SQL, table))


async def _churn_risk(conn: asyncpg.Connection, tid: str, mid: str, account_id: UUID) -> Insight:
    if not await _has_table(conn, "ai.churn_scores"):
        return Insight(available=False)
    score = await latest_churn_score(conn, tid, mid, account_id)
    return Insight(available=score is not None, data=score)


async def _sentiment_trend(conn: asyncpg.Connection, tid: str, mid: str, account_id: UUID) -> Insight:
    if not await _has_table(conn, "ai.social_insights"):
        return Insight(available=False)
    rows = await conn.fetch(SENTIMENT_SQL, tid, mid, account_id)
    return Insight(available=bool(rows), data=[dict(r) for r in rows])


async def _prospect_intent(conn: asyncpg.Connection, tid: str, mid: str, account_id: UUID) -> Insight:
    if not await _has_table(conn, "ai.prospects"):
        return Insight(available=False)
    rows = await prospect_intent(conn, tid, mid, account_id=account_id, limit=1000)
    data = {"score": account_intent(rows), "prospects_tracked": len(rows), "prospects": rows[:5]}
    return Insight(available=bool(rows), data=data)


async def account_360(
    conn: asyncpg.Connection, *, user: Principal, account_id: UUID, timeline_limit: int, timeline_cursor: str | None
) -> Account360:
    tenant = user.tenant
    account = await ACCOUNTS.get(conn, tenant=tenant, id=account_id)
    if account is None:
        raise NotFound(f"no account with id {account_id}")
    before = None
    if timeline_cursor:
        try:
            cursor = Cursor.decode(timeline_cursor)
        except ValueError as exc:
            raise InvalidInput(str(exc), fields=["timeline_cursor"]) from exc
        before = (cursor.value, cursor.id)
    entries = await activities.timeline(
        conn, tenant=tenant, account_id=account_id, limit=timeline_limit + 1, before=before
    )
    next_cursor = None
    if len(entries) > timeline_limit:
        last = entries[timeline_limit - 1]
        next_cursor = Cursor(value=last.occurred_at, id=last.id).encode()
    open_deals = await opportunities.open_for_account(conn, tenant=tenant, account_id=account_id)
    pipeline: dict[str, Any] = {}
    for deal in open_deals:
        if deal.amount is not None:
            pipeline[deal.currency] = pipeline.get(deal.currency, 0) + deal.amount
    keys = (tenant.tid, tenant.mid, account_id)
    return Account360(
        account=account,
        contacts=await contacts.for_account(conn, tenant=tenant, account_id=account_id),
        open_opportunities=open_deals,
        pipeline_value={currency: str(total) for currency, total in pipeline.items()},
        timeline=TimelinePage(items=entries[:timeline_limit], next_cursor=next_cursor),
        compliance=Compliance(
            status=account.compliance_status, checked_at=account.compliance_checked_at, anaf=account.anaf_data
        ),
        churn_risk=await _churn_risk(conn, *keys),
        sentiment_trend=await _sentiment_trend(conn, *keys),
        prospect_intent=await _prospect_intent(conn, *keys),
    )
