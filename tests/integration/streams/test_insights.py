"""Insight queries the dashboard reads, on real rows: brands, the pixel funnel, one call in full; tenant-bound."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import asyncpg
import pytest

from infra.db.tenancy import TenantContext
from infra.errors import NotFound
from streams import insights

VECTOR = [1.0] + [0.0] * 383


def _tenant() -> TenantContext:
    return TenantContext(tid=f"ins-{uuid.uuid4().hex[:8]}", mid="m-1")


async def _mention(
    pool: asyncpg.Pool, t: TenantContext, brand: str, sentiment: str, score: float, hours_ago: float
) -> None:
    await pool.execute(
        "INSERT INTO ai.social_insights (tid, mid, id, event_type, platform, brand, text, posted_at, sentiment, "
        "sentiment_score, probabilities, embedding) "
        "VALUES ($1, $2, $3, 'social.twitter.mention', 'twitter', $4, 'x', $5, $6, $7, '{}'::jsonb, $8)",
        t.tid,
        t.mid,
        uuid.uuid4(),
        brand,
        datetime.now(UTC) - timedelta(hours=hours_ago),
        sentiment,
        score,
        VECTOR,
    )


async def test_brands_count_sentiment_and_spikes_per_brand(admin_pool: asyncpg.Pool, app_pool: asyncpg.Pool) -> None:
    t, other = _tenant(), _tenant()
    for sentiment, score in (("negative", -0.9), ("negative", -0.7), ("positive", 0.8)):
        await _mention(admin_pool, t, "acme", sentiment, score, 1)
    await _mention(admin_pool, t, "globex", "neutral", 0.0, 2)
    await _mention(admin_pool, t, "acme", "positive", 1.0, 48)  # outside the last 24 hours
    await _mention(admin_pool, other, "acme", "positive", 1.0, 1)
    await admin_pool.execute(
        "INSERT INTO ai.brand_sentiment_state (tid, mid, brand, in_spike) VALUES ($1, $2, 'acme', true)", t.tid, t.mid
    )
    rows = await insights.brands(app_pool, t, since=datetime.now(UTC) - timedelta(hours=24))
    assert [(r["brand"], r["mentions"], r["negative"], r["positive"], r["in_spike"]) for r in rows] == [
        ("acme", 3, 2, 1, True),
        ("globex", 1, 0, 0, False),
    ]
    assert rows[0]["mean_score"] == pytest.approx((-0.9 - 0.7 + 0.8) / 3, abs=1e-5)


async def test_the_funnel_counts_sessions_by_the_furthest_stage(
    admin_pool: asyncpg.Pool, app_pool: asyncpg.Pool
) -> None:
    t, other = _tenant(), _tenant()
    sessions = {
        "s1": ["PageView"],
        "s2": ["PageView", "ViewContent", "AddToCart"],
        "s3": ["PageView", "AddToCart", "InitiateCheckout", "AddPaymentInfo", "Purchase"],
        "s4": ["CustomThing"],  # unknown events count as awareness
    }
    for tenant, data in ((t, sessions), (other, {"o1": ["Purchase"]})):
        for session, actions in data.items():
            for action in actions:
                await admin_pool.execute(
                    "INSERT INTO ai.behavior_events (tid, mid, id, source, session_id, action, occurred_at) "
                    "VALUES ($1, $2, $3, 'facebook_pixel', $4, $5, now())",
                    tenant.tid,
                    tenant.mid,
                    uuid.uuid4(),
                    session,
                    action,
                )
    funnel = await insights.pixel_funnel(app_pool, t, since=datetime.now(UTC) - timedelta(days=1))
    assert [(f["stage"], f["sessions"]) for f in funnel] == [
        ("awareness", 4),
        ("interest", 2),
        ("consideration", 2),
        ("intent", 1),
        ("evaluation", 1),
        ("conversion", 1),
    ]
    assert funnel[0]["share"] == 1.0 and funnel[-1]["share"] == 0.25
    assert "Purchase" in funnel[-1]["events"]


async def test_a_call_in_full_only_for_its_tenant(admin_pool: asyncpg.Pool, app_pool: asyncpg.Pool) -> None:
    t, other = _tenant(), _tenant()
    analysis = {
        "segments": [{"start": 0.0, "end": 2.5, "text": "hello", "sentiment": {"label": "positive", "score": 0.7}}]
    }
    call_id = await admin_pool.fetchval(
        "INSERT INTO ai.call_analyses (tid, mid, id, call_id, kind, recorded_at, transcript, analysis) "
        "VALUES ($1, $2, $3, 'c-1', 'voice', now(), 'hello', $4) RETURNING id",
        t.tid,
        t.mid,
        uuid.uuid4(),
        analysis,
    )
    call = await insights.call_detail(app_pool, t, call_id)
    assert call["transcript"] == "hello" and call["analysis"] == analysis
    with pytest.raises(NotFound):
        await insights.call_detail(app_pool, other, call_id)


async def _processed(
    pool: asyncpg.Pool, t: TenantContext, source: str, event_type: str, lag_s: float, stored_minutes_ago: float
) -> None:
    stored = datetime.now(UTC) - timedelta(minutes=stored_minutes_ago)
    await pool.execute(
        "INSERT INTO ai.processed_events (tid, mid, id, event_type, source, occurred_at, created_at) "
        "VALUES ($1, $2, $3, $4, $5, $6, $7)",
        t.tid,
        t.mid,
        uuid.uuid4(),
        event_type,
        source,
        stored - timedelta(seconds=lag_s),
        stored,
    )


async def test_stream_lag_per_source_from_event_time_to_stored(
    admin_pool: asyncpg.Pool, app_pool: asyncpg.Pool
) -> None:
    t, other = _tenant(), _tenant()
    for lag in (0.1, 0.2, 0.3, 0.4, 5.0):
        await _processed(admin_pool, t, "rabbitmq", "social.twitter.mention", lag, 1)
    await _processed(admin_pool, t, "http", "web.pixel.event", -2.0, 2)  # a producer clock ahead of ours
    await _processed(admin_pool, t, "http", "web.pixel.event", 900.0, 30)  # outside the last 15 minutes
    await _processed(admin_pool, other, "http", "web.pixel.event", 60.0, 1)
    rows = await insights.stream_lag(app_pool, t, since=datetime.now(UTC) - timedelta(minutes=15))
    assert [(r["source"], r["event_type"], r["events"]) for r in rows] == [
        ("rabbitmq", "social.twitter.mention", 5),
        ("http", "web.pixel.event", 1),
    ]
    mention, pixel = rows
    assert mention["p50_s"] == pytest.approx(0.3, abs=0.01)
    assert mention["p95_s"] == pytest.approx(0.4 + 0.8 * 4.6, abs=0.05)  # interpolated between 0.4 and 5.0
    assert mention["max_s"] == pytest.approx(5.0, abs=0.01)
    assert (pixel["p50_s"], pixel["max_s"]) == (0.0, 0.0)
    assert mention["last_stored_at"] > pixel["last_stored_at"]
