"""Topics, watched brands and crisis alerts as the social processor stores them (real models, real
PostgreSQL): mentions about one subject share a topic with a readable label, a new subject is emerging while
a steady one is not, watched brands are matched and counted for share of voice, and a far-reaching negative
burst is a crisis while an unread one is not."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import pytest

from infra.db.tenancy import TenantContext, tenant_transaction
from infra.errors import InvalidInput
from streams import brand_watch, crisis, topics
from streams.brand_watch import BrandIn, WatchList
from streams.core import StreamProcessor
from streams.processors.base import Outcome
from tests.integration.streams.conftest import envelope

pytestmark = [pytest.mark.integration, pytest.mark.slow]

NOW = datetime.now(UTC).replace(microsecond=0)
DELAYS = [
    "My flight to Cluj was delayed four hours and nobody at the gate told us anything",
    "Another delayed flight, we sat on the plane for two hours before takeoff",
    "Flight delayed again tonight, the third time this month, missed my connection",
    "Why is every evening flight from Otopeni delayed? Two hours late again",
    "Delayed flight, no explanation at the gate, no food voucher, just waiting",
    "Our flight was delayed overnight and the airline rebooked us for tomorrow",
]
APP = [
    "The mobile app crashes every time I try to check in online",
    "Your app keeps crashing when I open my booking, please fix the app",
    "Checked in through the app and it crashed twice, had to use the website",
    "The new app update crashes on my Android phone as soon as it starts",
    "App crashed while paying for extra luggage, was I charged or not?",
    "The booking app freezes and crashes on the payment screen",
]


def _tenant(tenant: dict[str, str]) -> TenantContext:
    return TenantContext(tid=tenant["tid"], mid=tenant["mid"])


async def _send(processor: StreamProcessor, tenant: dict[str, str], i: int, text: str, when: datetime,
                brand: str = "acme-air", **extra: Any) -> Any:  # fmt: skip
    body = {"post_id": f"p-{i}", "brand": brand, "text": text, "posted_at": when.isoformat(), **extra}
    event = envelope("social.twitter.mention", body, tenant)
    assert (await processor.handle(event, "test")).outcome is Outcome.STORED
    return event


async def _topic_of(admin_pool: asyncpg.Pool, tenant: dict[str, str], post_id: str) -> Any:
    return await admin_pool.fetchval(
        "SELECT topic_id FROM ai.social_insights WHERE tid = $1 AND post_id = $2", tenant["tid"], post_id
    )


async def test_mentions_about_one_subject_share_a_labelled_topic_and_a_new_subject_is_emerging(
    processor: StreamProcessor, admin_pool: asyncpg.Pool, tenant: dict[str, str]
) -> None:
    # Delays: a steady topic, one mention a day for the last six days. The app: new, all in the last hours.
    for i, text in enumerate(DELAYS):
        await _send(processor, tenant, i, text, NOW - timedelta(days=6 - i, hours=1))
    for i, text in enumerate(APP):
        await _send(processor, tenant, 100 + i, text, NOW - timedelta(hours=5 - i))

    delay_topics = [await _topic_of(admin_pool, tenant, f"p-{i}") for i in range(len(DELAYS))]
    app_topics = [await _topic_of(admin_pool, tenant, f"p-{100 + i}") for i in range(len(APP))]
    delays, app = max(set(delay_topics), key=delay_topics.count), max(set(app_topics), key=app_topics.count)
    assert delays != app
    assert delay_topics.count(delays) >= 5 and app_topics.count(app) >= 5

    listing = await topics.brand_topics(processor.pool, _tenant(tenant), "acme-air", until=NOW, min_size=3)
    by_id = {t["id"]: t for t in listing["topics"]}
    assert {"delayed", "flight"} & set(by_id[delays]["label"]), by_id[delays]
    assert {"app", "crashes", "crashed", "crashing"} & set(by_id[app]["label"]), by_id[app]
    assert by_id[app]["emerging"] and by_id[app]["recent"] >= 5
    assert not by_id[delays]["emerging"] and by_id[delays]["recent"] <= 2
    assert listing["topics"][0]["id"] == app  # emerging first
    assert by_id[app]["latest_text"] in APP

    published = await admin_pool.fetchval(
        "SELECT payload FROM crm.outbox WHERE tid = $1 AND event_type = 'crm.sentiment.detected' "
        "ORDER BY created_at DESC LIMIT 1",
        tenant["tid"],
    )
    assert published["topic"]["id"] in {str(t) for t in app_topics}

    other = {"tid": f"{tenant['tid']}-other", "mid": tenant["mid"]}
    assert (await topics.brand_topics(processor.pool, _tenant(other), "acme-air", until=NOW))["topics"] == []


async def test_watched_brands_are_matched_and_counted_for_share_of_voice(
    processor: StreamProcessor, admin_pool: asyncpg.Pool, tenant: dict[str, str]
) -> None:
    before = await _send(processor, tenant, 1, "Am cumpărat vopsea de la DEDEMAN, super preț", NOW - timedelta(days=2),
                         brand="dedeman")  # fmt: skip
    watch = WatchList(
        brands=[
            BrandIn(name="Dedeman", aliases=["dedeman.ro"], own=True),
            BrandIn(name="Leroy Merlin", aliases=["leroy", "leroymerlin"]),
            BrandIn(name="Hornbach"),
        ]
    )
    replaced = await brand_watch.replace_watch_list(processor.pool, _tenant(tenant), watch, now=NOW)
    assert replaced["rematched_mentions"] == 1 and replaced["brands"][0]["name"] == "Dedeman"
    stored = await admin_pool.fetchval(
        "SELECT brands_named FROM ai.social_insights WHERE tid = $1 AND id = $2", tenant["tid"], before.id
    )
    assert stored == ["Dedeman"]

    texts = [
        ("Livrare rapidă de la dedeman.ro, mulțumesc!", "dedeman"),
        ("Leroy Merlin vs Dedeman: la Leroy e mai ieftin parchetul", "dedeman"),
        ("Coadă uriașă azi la #leroymerlin, groaznic", "leroy merlin"),
        ("Hornbachul din Militari are tot ce trebuie", "hornbach"),  # "Hornbachul" is not the word "Hornbach"
        ("Cel mai prost serviciu la HORNBACH, nu mai merg", "hornbach"),
    ]
    for i, (text, filed) in enumerate(texts):
        await _send(processor, tenant, 10 + i, text, NOW - timedelta(hours=3 + i), brand=filed)
    rows = await admin_pool.fetch(
        "SELECT post_id, brands_named FROM ai.social_insights WHERE tid = $1 AND post_id LIKE 'p-1_' ORDER BY post_id",
        tenant["tid"],
    )
    named = {r["post_id"]: r["brands_named"] for r in rows}
    assert named == {
        "p-10": ["Dedeman"],
        "p-11": ["Dedeman", "Leroy Merlin"],
        "p-12": ["Leroy Merlin"],
        "p-13": ["Hornbach"],  # filed under "hornbach": the brand it was filed under counts
        "p-14": ["Hornbach"],
    }
    share = await brand_watch.share_of_voice(processor.pool, _tenant(tenant), since=NOW - timedelta(days=7),
                                             until=NOW + timedelta(minutes=1))  # fmt: skip
    totals = {b["name"]: b for b in share["brands"]}
    assert share["brand_mentions"] == 7
    assert totals["Dedeman"]["mentions"] == 3 and totals["Dedeman"]["own"] is True
    assert totals["Dedeman"]["share"] == pytest.approx(3 / 7, abs=1e-4)
    assert totals["Leroy Merlin"]["mentions"] == 2 and totals["Hornbach"]["mentions"] == 2
    assert sum(s["mentions"] for s in share["series"]) == 7

    twice = WatchList(brands=[BrandIn(name="eMAG"), BrandIn(name="Emag")])
    with pytest.raises(InvalidInput, match="same name"):
        await brand_watch.replace_watch_list(processor.pool, _tenant(tenant), twice, now=NOW)
    other = {"tid": f"{tenant['tid']}-other", "mid": tenant["mid"]}
    assert await brand_watch.watch_list(processor.pool, _tenant(other)) == []


NEGATIVE = [
    "This is the worst airline ever, they lost my luggage and nobody cares. Terrible!",
    "Absolutely awful service, rude staff, cancelled flight, never flying with them again",
    "Disgusting treatment of passengers, stranded for ten hours, shameful and horrible",
    "Horrible experience, they cancelled without notice and refused any refund. Avoid!",
]


async def _burst(processor: StreamProcessor, tenant: dict[str, str], brand: str, likes: int) -> list[Any]:
    """A week of quiet history (a mention every 12 hours, a few negative ones read by ~50), then twelve
    negative mentions in half an hour, each with ``likes``."""
    for i in range(14):
        text = NEGATIVE[i % 4] if i % 4 == 0 else f"Flew with them to Iasi, flight number {i} was on time"
        await _send(processor, tenant, i, text, NOW - timedelta(hours=12 * (14 - i)), brand=brand, likes=50)
    events = []
    for i in range(12):
        events.append(await _send(processor, tenant, 100 + i, NEGATIVE[i % 4], NOW - timedelta(minutes=30 - 2 * i),
                                  brand=brand, likes=likes))  # fmt: skip
    return events


async def test_a_far_reaching_negative_burst_is_a_crisis_and_an_unread_one_is_not(
    processor: StreamProcessor, admin_pool: asyncpg.Pool, tenant: dict[str, str]
) -> None:
    events = await _burst(processor, tenant, "loud-air", likes=4000)
    payloads = [
        await admin_pool.fetchval(
            "SELECT payload FROM crm.outbox WHERE tid = $1 AND event_type = 'crm.sentiment.detected' "
            "AND aggregate_id = $2",
            tenant["tid"],
            e.id,
        )
        for e in events
    ]
    assert sum(p["crisis"]["started"] for p in payloads) == 1, [p["crisis"] for p in payloads]
    assert payloads[-1]["crisis"]["on"] and payloads[-1]["crisis"]["holds"] == ["volume", "negativity", "reach"]
    listed = await crisis.crises(processor.pool, _tenant(tenant), since=NOW - timedelta(days=1))
    assert [c["brand"] for c in listed] == ["loud-air"] and listed[0]["in_crisis"]
    assert listed[0]["crisis"]["volume_ratio"] >= 3 and listed[0]["crisis"]["negative_share"] >= 0.4

    await _burst(processor, tenant, "quiet-air", likes=0)
    state = await admin_pool.fetchrow(
        "SELECT in_crisis, crisis FROM ai.brand_sentiment_state WHERE tid = $1 AND brand = 'quiet-air'", tenant["tid"]
    )
    assert not state["in_crisis"]
    assert "volume" in state["crisis"]["holds"] and "reach" not in state["crisis"]["holds"]
    hourly = await admin_pool.fetchval(
        "SELECT sum(mentions) FROM ai.brand_hourly WHERE tid = $1 AND brand = 'quiet-air'", tenant["tid"]
    )
    assert hourly == 26


async def test_a_brand_over_its_topic_cap_retires_its_smallest_stalest_topic(
    processor: StreamProcessor, admin_pool: asyncpg.Pool, tenant: dict[str, str]
) -> None:
    axes = [[1.0 if i == k else 0.0 for i in range(384)] for k in range(3)]  # three unrelated directions
    key = (tenant["tid"], tenant["mid"], "capped")
    async with tenant_transaction(processor.pool, _tenant(tenant)) as conn:
        first = await topics.place(conn, *key, axes[0], "alpha", NOW - timedelta(hours=3))
        again = await topics.place(conn, *key, axes[0], "alpha", NOW - timedelta(hours=2))
        second = await topics.place(conn, *key, axes[1], "beta", NOW - timedelta(hours=1), max_topics=2)
        third = await topics.place(conn, *key, axes[2], "gamma", NOW, max_topics=2)
    assert again.topic_id == first.topic_id and not again.started
    assert second.started and second.retired == ()
    assert third.started and third.retired == (second.topic_id,)  # size 1 goes before size 2
    left = await admin_pool.fetch("SELECT id, size FROM ai.topics WHERE tid = $1 ORDER BY size", tenant["tid"])
    assert [(r["id"], r["size"]) for r in left] == [(third.topic_id, 1), (first.topic_id, 2)]
