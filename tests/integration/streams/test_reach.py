"""Reach scored on publish: the author's history from stored posts with known engagement, later engagement
counts applied to the stored post (newest report wins), and what cannot be scored noted or dead-lettered."""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import pytest

from streams.core import StreamProcessor
from streams.processors.base import Outcome
from tests.integration.streams.conftest import envelope

pytestmark = [pytest.mark.integration, pytest.mark.slow]

NOW = datetime.now(UTC).replace(microsecond=0)


def _json(value: Any) -> Any:
    """A jsonb value as the pool gives it (decoded or text)."""
    return json.loads(value) if isinstance(value, str) else value


def _post(i: int, author: str | None, when: datetime, text: str, **counts: int) -> dict[str, Any]:
    body: dict[str, Any] = {"post_id": f"tt-{i}", "brand": "acme", "text": text, "posted_at": when.isoformat()}
    if author:
        body["author"] = author
    return body | counts


async def _insight(admin_pool: asyncpg.Pool, tenant: dict[str, str], post_id: str) -> asyncpg.Record:
    row = await admin_pool.fetchrow(
        "SELECT id, reach, engagement, engagement_at FROM ai.social_insights WHERE tid = $1 AND post_id = $2",
        tenant["tid"],
        post_id,
    )
    assert row is not None, post_id
    return row


async def test_a_post_is_scored_against_its_authors_known_engagement(
    processor: StreamProcessor, admin_pool: asyncpg.Pool, tenant: dict[str, str]
) -> None:
    history = [(10, 20, 5), (40, 30, 10), (15, 5, 3), (80, 40, 20), (25, 10, 5)]  # likes, shares, comments
    for i, (likes, shares, comments) in enumerate(history):
        when = NOW - timedelta(days=10 - i)
        body = _post(i, "@maria", when, f"Post {i} about our new collection", likes=likes, shares=shares,
                     comments=comments)  # fmt: skip
        assert (
            await processor.handle(envelope("social.tiktok.content", body, tenant), "test")
        ).outcome is Outcome.STORED
    fresh = _post(99, "@maria", NOW, "Lansăm azi colecția de iarnă! Reduceri de 30% pentru primii clienți")
    event = envelope("social.tiktok.content", fresh, tenant)
    assert (await processor.handle(event, "test")).outcome is Outcome.STORED

    row = await _insight(admin_pool, tenant, "tt-99")
    reach = _json(row["reach"])
    totals = [sum(h) for h in history]
    typical = math.expm1(sum(math.log1p(t) for t in totals) / len(totals))
    assert reach["history_posts"] == 5 and reach["author_typical"] == pytest.approx(typical, abs=0.01)
    assert reach["expected_engagement"] > 0 and reach["lift"] > 0 and reach["text_used"] is False
    assert reach["note"] is None and reach["model"].startswith("reach-v1-notext-")
    assert row["engagement"] is None  # nothing reported yet for the new post
    published = await admin_pool.fetchval(
        "SELECT payload FROM crm.outbox WHERE tid = $1 AND event_type = 'crm.sentiment.detected' AND aggregate_id = $2",
        tenant["tid"],
        event.id,
    )
    assert _json(published)["reach"] == reach
    decision = await admin_pool.fetchrow(
        "SELECT model, output FROM ai.decisions WHERE tid = $1 AND kind = 'reach' AND ref_id = $2",
        tenant["tid"],
        event.id,
    )
    assert decision["model"] == "reach" and _json(decision["output"])["lift"] == reach["lift"]


async def test_posts_without_history_or_author_get_the_lift_only_with_a_note(
    processor: StreamProcessor, admin_pool: asyncpg.Pool, tenant: dict[str, str]
) -> None:
    for i, author in enumerate(("@new_account", None)):
        body = _post(i, author, NOW, "Prima noastră postare")
        assert (
            await processor.handle(envelope("social.tiktok.content", body, tenant), "test")
        ).outcome is Outcome.STORED
        reach = _json((await _insight(admin_pool, tenant, f"tt-{i}"))["reach"])
        assert reach["expected_engagement"] is None and reach["author_typical"] is None
        assert reach["history_posts"] == 0 and reach["lift"] > 0
        assert reach["note"].startswith("no known engagement for the author yet")


async def test_engagement_reports_update_the_stored_post_and_the_next_posts_history(
    processor: StreamProcessor, admin_pool: asyncpg.Pool, tenant: dict[str, str]
) -> None:
    body = _post(1, "@ion", NOW - timedelta(days=3), "Oferta săptămânii")
    assert (await processor.handle(envelope("social.twitter.mention", body, tenant), "test")).outcome is Outcome.STORED

    def report(likes: int, observed: datetime) -> Any:
        counts = {"platform": "twitter", "post_id": "tt-1", "likes": likes, "shares": 2, "comments": 1,
                  "observed_at": observed.isoformat()}  # fmt: skip
        return envelope("social.post.engagement", counts, tenant)

    newer, older = report(40, NOW - timedelta(hours=1)), report(5, NOW - timedelta(hours=30))
    assert (await processor.handle(newer, "test")).outcome is Outcome.STORED
    assert (await processor.handle(older, "test")).outcome is Outcome.STORED  # applied in effect: ignored as stale
    assert (await processor.handle(newer, "test")).outcome is Outcome.DUPLICATE
    row = await _insight(admin_pool, tenant, "tt-1")
    assert row["engagement"] == 43 and row["engagement_at"] == NOW - timedelta(hours=1)

    nxt = _post(2, "@ion", NOW, "Mâine: livrare gratuită")
    assert (await processor.handle(envelope("social.twitter.mention", nxt, tenant), "test")).outcome is Outcome.STORED
    reach = _json((await _insight(admin_pool, tenant, "tt-2"))["reach"])
    assert reach["history_posts"] == 1 and reach["author_typical"] == pytest.approx(43.0)


async def test_engagement_for_a_post_not_stored_is_a_dead_letter_with_the_reason(
    processor: StreamProcessor, admin_pool: asyncpg.Pool, tenant: dict[str, str]
) -> None:
    event = envelope("social.post.engagement", {"platform": "tiktok", "post_id": "nowhere", "likes": 3}, tenant)
    assert (await processor.handle(event, "test")).outcome is Outcome.DEAD_LETTERED
    reason = await admin_pool.fetchval("SELECT reason FROM ai.dead_letters WHERE tid = $1", tenant["tid"])
    assert reason.startswith("no tiktok post 'nowhere' is stored for this tenant yet")
