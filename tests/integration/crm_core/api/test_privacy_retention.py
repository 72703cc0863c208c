"""Retention: the dry run counts what the tenant's limits would change, the job changes exactly that (and, as
time moves forward, what expires next), aggregates stay, and a tenant without limits keeps everything."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import httpx
import pytest

from crm_core.privacy.retention import RetentionRunner

BASE = "/v1/crm"
Auth = Callable[..., dict[str, str]]
VECTOR = "[" + ",".join(["0.05"] * 384) + "]"
LIMITS = {"mention_text_days": 90, "transcript_days": 30, "tracking_days": 395}


async def _seed(conn: asyncpg.Connection, tid: str, days_ago: int) -> None:
    """One mention, one call with two passages, one web session, one recommendation click, one e-mail open,
    each with its published event, ``days_ago`` days old."""
    key = (tid, "wh-1", "m-1")
    at = f"now() - interval '{days_ago} days'"
    mention, call, item = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    await conn.execute(
        "INSERT INTO ai.social_insights (tid, whid, mid, id, event_type, platform, brand, author, text, posted_at, "
        f"sentiment, sentiment_score, probabilities, embedding) VALUES ($1, $2, $3, $4, 'social.twitter.mention', "
        f"'twitter', 'Acme', '@dan', 'Livrarea a durat prea mult', {at}, 'negative', 0.1, '{{}}', '{VECTOR}')",
        *key,
        mention,
    )
    await conn.execute(
        "INSERT INTO ai.call_analyses (tid, whid, mid, id, call_id, kind, recorded_at, transcript, sentiment, "
        f"keywords, analysis, embedding) VALUES ($1, $2, $3, $4, 'c', 'voice', {at}, 'Buna ziua, sun pentru factura', "
        f"'neutral', '[\"factura\"]', $5, '{VECTOR}')",
        *key,
        call,
        {"transcript": "Buna ziua", "segments": [{"text": "Buna ziua"}], "words": [], "duration_s": 4.0},
    )
    for passage in (0, 1):
        await conn.execute(
            "INSERT INTO ai.call_passages (tid, whid, mid, call_analysis_id, passage, text, embedding) "
            f"VALUES ($1, $2, $3, $4, $5, 'Buna ziua', '{VECTOR}')",
            *key,
            call,
            passage,
        )
    session = f"s-{uuid.uuid4().hex[:8]}"
    event = uuid.uuid4()
    await conn.execute(
        "INSERT INTO ai.behavior_events (tid, whid, mid, id, source, session_id, visitor_id, action, page, "
        f"occurred_at) VALUES ($1, $2, $3, $4, 'web', $5, 'v-1', 'view', '/pricing', {at})",
        *key,
        event,
        session,
    )
    await conn.execute(
        "INSERT INTO ai.behavior_patterns (tid, whid, mid, session_id, visitor_id, journey, steps, started_at, "
        f"last_seen_at, embedding) VALUES ($1, $2, $3, $4, 'v-1', 'view:/pricing', 1, {at}, {at}, '{VECTOR}')",
        *key,
        session,
    )
    await conn.execute(
        "INSERT INTO ai.catalog_items (tid, whid, mid, id, external_id, kind, title) "
        "VALUES ($1, $2, $3, $4, $5, 'offer', 'Offer')",
        *key,
        item,
        f"offer-{item.hex[:8]}",
    )
    await conn.execute(
        "INSERT INTO ai.item_interactions (tid, whid, mid, item_id, session_id, kind, occurred_at) "
        f"VALUES ($1, $2, $3, $4, $5, 'click', {at})",
        *key,
        item,
        session,
    )
    prospect = await conn.fetchval(  # a LinkedIn comment: its text goes, the activity stays counted
        "INSERT INTO ai.prospects (tid, mid, person_key, first_seen, last_seen) "
        f"VALUES ($1, 'm-1', $2, {at}, {at}) RETURNING id",
        tid,
        f"email:dan{uuid.uuid4().hex[:6]}@acme.ro",
    )
    await conn.execute(
        "INSERT INTO ai.prospect_signals (tid, mid, prospect_id, event_id, kind, occurred_at, detail) "
        f"VALUES ($1, 'm-1', $2, gen_random_uuid(), 'post_comment', {at}, $3)",
        tid,
        prospect,
        {"comment": "Buna ziua, ma intereseaza oferta", "post_url": "https://lnkd.in/p"},
    )
    contact = await conn.fetchval(
        "INSERT INTO crm.contacts (tid, mid, first_name) VALUES ($1, 'm-1', 'Dan') RETURNING id", tid
    )
    campaign = await conn.fetchval(
        "INSERT INTO crm.campaigns (tid, mid, name) VALUES ($1, 'm-1', 'C') RETURNING id", tid
    )
    delivery = await conn.fetchval(
        "INSERT INTO crm.email_deliveries (tid, mid, campaign_id, contact_id, state) "
        "VALUES ($1, 'm-1', $2, $3, 'sent') RETURNING id",
        tid,
        campaign,
        contact,
    )
    await conn.execute(
        "INSERT INTO crm.email_events (tid, mid, delivery_id, campaign_id, contact_id, kind, url, detail, occurred_at) "
        f"VALUES ($1, 'm-1', $2, $3, $4, 'clicked', 'https://acme.ro/oferta', $5, {at})",
        tid,
        delivery,
        campaign,
        contact,
        {"ip": "10.0.0.7", "user_agent": "Firefox"},
    )
    for aggregate_type, aggregate in (("social_insight", mention), ("call", call), ("session", event)):
        await conn.execute(
            "INSERT INTO crm.outbox (tid, whid, mid, aggregate_type, aggregate_id, event_type, payload, occurred_at, "
            f"published_at) VALUES ($1, 'wh-1', 'm-1', $2, $3, 'crm.x.y', $4, {at}, {at})",
            tid,
            aggregate_type,
            aggregate,
            {"text": "Buna ziua"},
        )


async def _state(conn: asyncpg.Connection, tid: str) -> dict[str, Any]:
    def q(sql: str) -> Any:
        return conn.fetchval(sql, tid)

    return {
        "mentions": await q("SELECT count(*) FROM ai.social_insights WHERE tid = $1"),
        "mention_texts": await q("SELECT count(*) FROM ai.social_insights WHERE tid = $1 AND text <> ''"),
        "mention_vectors": await q("SELECT count(*) FROM ai.social_insights WHERE tid = $1 AND embedding IS NOT NULL"),
        "negative_mentions": await q(
            "SELECT count(*) FROM ai.social_insights WHERE tid = $1 AND sentiment = 'negative'"
        ),
        "calls": await q("SELECT count(*) FROM ai.call_analyses WHERE tid = $1"),
        "transcripts": await q("SELECT count(*) FROM ai.call_analyses WHERE tid = $1 AND transcript IS NOT NULL"),
        "call_segments": await q("SELECT count(*) FROM ai.call_analyses WHERE tid = $1 AND analysis ? 'segments'"),
        "call_durations": await q("SELECT count(*) FROM ai.call_analyses WHERE tid = $1 AND analysis ? 'duration_s'"),
        "passages": await q("SELECT count(*) FROM ai.call_passages WHERE tid = $1"),
        "behaviour": await q("SELECT count(*) FROM ai.behavior_events WHERE tid = $1"),
        "journeys": await q("SELECT count(*) FROM ai.behavior_patterns WHERE tid = $1"),
        "interactions": await q("SELECT count(*) FROM ai.item_interactions WHERE tid = $1"),
        "email_events": await q("SELECT count(*) FROM crm.email_events WHERE tid = $1"),
        "email_details": await q("SELECT count(*) FROM crm.email_events WHERE tid = $1 AND detail <> '{}'::jsonb"),
        "expired_events": await q("SELECT count(*) FROM crm.outbox WHERE tid = $1 AND payload ? 'expired'"),
        "linkedin_activities": await q("SELECT count(*) FROM ai.prospect_signals WHERE tid = $1"),
        "linkedin_details": await q("SELECT count(*) FROM ai.prospect_signals WHERE tid = $1 AND detail <> '{}'"),
    }


class Clock:
    def __init__(self) -> None:
        self.offset = timedelta()

    def __call__(self) -> datetime:
        return datetime.now(UTC) + self.offset


async def test_the_dry_run_counts_and_the_job_removes_exactly_what_the_limits_name(
    api: httpx.AsyncClient, auth: Auth, admin_pool: asyncpg.Pool, app_pool: asyncpg.Pool, worker_pool: asyncpg.Pool
) -> None:
    tid, keeps = f"t-{uuid.uuid4().hex[:8]}", f"t-{uuid.uuid4().hex[:8]}"
    admin = auth(tid=tid, scopes=("crm:admin",))
    async with admin_pool.acquire() as conn:
        for tenant in (tid, keeps):
            for days_ago in (400, 100, 40, 5):
                await _seed(conn, tenant, days_ago)
    put = await api.put(
        f"{BASE}/privacy/settings", json={"redact_transcripts": True, "redact_mentions": False, **LIMITS}, headers=admin
    )
    assert put.status_code == 200, put.text

    preview = (await api.get(f"{BASE}/privacy/retention/preview", headers=admin)).json()
    rows = {name: rule["rows"] for name, rule in preview["rules"].items()}
    assert rows == {
        "mention_text": 2,  # 400 and 100 days old: past 90
        "mention_events": 2,
        "call_passages": 6,  # three calls past 30 days, two passages each
        "call_transcripts": 3,
        "call_events": 3,
        "behaviour_events": 1,  # only the 400-day one is past 395
        "journeys": 1,
        "item_interactions": 1,
        "email_event_details": 1,
        "journey_events": 1,
        "prospect_activity_details": 1,
    }
    async with admin_pool.acquire() as conn:
        before = await _state(conn, tid)
        keeps_before = await _state(conn, keeps)

    clock = Clock()
    runner = RetentionRunner(app_pool, worker_pool, clock=clock, batch_size=2)  # several batches per rule
    await runner.drain()

    async with admin_pool.acquire() as conn:
        after = await _state(conn, tid)
        untouched = await _state(conn, keeps)
        audit = await conn.fetchval(
            "SELECT after FROM crm.audit_log WHERE tid = $1 AND action = 'retention' ORDER BY created_at DESC LIMIT 1",
            tid,
        )
    assert after == {
        **before,
        "mention_texts": 2,
        "mention_vectors": 2,
        "transcripts": 1,
        "call_segments": 1,
        "passages": 2,
        "behaviour": 3,
        "journeys": 3,
        "interactions": 3,
        "email_details": 3,
        "expired_events": 2 + 3 + 1,
        "linkedin_details": 3,  # the activity stays (linkedin_activities unchanged), its comment goes
    }
    # aggregates stay: every mention still counts with its sentiment, every call with its figures, every e-mail event
    assert after["mentions"] == after["negative_mentions"] == 4 and after["call_durations"] == 4
    assert after["email_events"] == 4
    assert untouched == keeps_before  # a tenant without limits keeps everything
    assert audit["changed"]["call_passages"] == 6 and audit["limits"] == LIMITS
    again = (await api.get(f"{BASE}/privacy/retention/preview", headers=admin)).json()
    assert {rule["rows"] for rule in again["rules"].values()} == {0}

    clock.offset = timedelta(days=60)  # time moves on: the 40-day mention and the 5-day call expire next
    await runner.drain()
    async with admin_pool.acquire() as conn:
        later = await _state(conn, tid)
    assert later["mention_texts"] == 1 and later["transcripts"] == 0 and later["passages"] == 0
    assert later["behaviour"] == 3  # 400-day tracking limit: the 100-day session is 160 days old now


@pytest.mark.parametrize("bad", [{"mention_text_days": 0}, {"transcript_days": -1}, {"tracking_days": "soon"}])
async def test_bad_limits_are_refused(api: httpx.AsyncClient, auth: Auth, bad: dict[str, Any]) -> None:
    admin = auth(tid=f"t-{uuid.uuid4().hex[:8]}", scopes=("crm:admin",))
    body = {"redact_transcripts": True, "redact_mentions": False, **bad}
    assert (await api.put(f"{BASE}/privacy/settings", json=body, headers=admin)).status_code == 422


async def test_the_preview_of_a_tenant_without_limits_keeps_everything(api: httpx.AsyncClient, auth: Auth) -> None:
    tid = f"t-{uuid.uuid4().hex[:8]}"
    preview = (await api.get(f"{BASE}/privacy/retention/preview", headers=auth(tid=tid, scopes=("crm:admin",)))).json()
    assert all(rule["kept"] and rule["rows"] == 0 for rule in preview["rules"].values())
    branch = auth(tid=tid, whid="wh-1", scopes=("crm:admin",))
    assert (await api.get(f"{BASE}/privacy/retention/preview", headers=branch)).status_code == 403
    reader = auth(tid=tid, scopes=("crm:read",))
    assert (await api.get(f"{BASE}/privacy/retention/preview", headers=reader)).status_code == 403
