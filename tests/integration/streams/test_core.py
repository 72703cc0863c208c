"""The processing core with real models (Ray Serve handles), PostgreSQL + pgvector and Redis."""

from __future__ import annotations

import asyncio
import base64
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg
import numpy as np
import pytest

from infra.db.tenancy import TenantContext
from models.vision.evaluate import assemble_video, lfw_frames
from models.voice.evaluate import synthesise
from streams import insights
from streams.core import StreamProcessor
from streams.models import ServeModels
from streams.processors.base import Outcome
from tests.integration.conftest import ServeStack
from tests.integration.streams.conftest import Tweet, count, create_account, envelope, mention

pytestmark = [pytest.mark.integration, pytest.mark.slow]


async def test_labeled_tweets_are_stored_once_each_in_their_tenant(
    processor: StreamProcessor,
    admin_pool: asyncpg.Pool,
    app_pool: asyncpg.Pool,
    labeled_tweets: list[Tweet],
    tenant: dict[str, str],
    serve_models: ServeModels,
) -> None:
    events = [mention(t, tenant, i) for i, t in enumerate(labeled_tweets)]
    results = await processor.handle_many([e.to_json() for e in events], "test")
    assert [r.outcome for r in results] == [Outcome.STORED] * len(events)
    assert await count(admin_pool, "ai.social_insights", tenant) == len(events)
    assert await count(admin_pool, "crm.outbox", tenant, "event_type = 'crm.sentiment.detected'") == len(events)

    rows = await admin_pool.fetch(
        "SELECT id, sentiment, embedding FROM ai.social_insights WHERE tid = $1", tenant["tid"]
    )
    by_id = {r["id"]: r for r in rows}
    agreed = sum(by_id[e.id]["sentiment"] == t.label for e, t in zip(events, labeled_tweets, strict=True))
    assert agreed / len(events) >= 0.6, f"only {agreed}/{len(events)} sentiments match the human labels"
    norms = [float(np.linalg.norm(r["embedding"].to_numpy())) for r in rows]
    assert norms == pytest.approx([1.0] * len(rows), abs=1e-3)

    # Redelivering the whole batch changes nothing: same rows, same outbox.
    again = await processor.handle_many([e.to_json() for e in events], "test")
    assert {r.outcome for r in again} == {Outcome.DUPLICATE}
    assert await count(admin_pool, "ai.social_insights", tenant) == len(events)
    assert await count(admin_pool, "crm.outbox", tenant) == len(events)

    # k-NN inside the tenant: a stored tweet's own text finds itself first; another tenant sees nothing.
    probe = labeled_tweets[7].text
    vector = (await serve_models.embed([probe]))[0]
    own = TenantContext(tid=tenant["tid"], mid=tenant["mid"])
    nearest = await insights.similar_mentions(app_pool, own, vector, k=5)
    assert nearest[0]["text"] == probe and nearest[0]["similarity"] > 0.99
    assert len(nearest) == 5
    other = TenantContext(tid=tenant["tid"] + "-other", mid=tenant["mid"])
    assert await insights.similar_mentions(app_pool, other, vector, k=5) == []


async def test_negative_burst_starts_one_spike_per_brand(
    processor: StreamProcessor,
    admin_pool: asyncpg.Pool,
    labeled_tweets: list[Tweet],
    tenant: dict[str, str],
    serve_models: ServeModels,
) -> None:
    # Tweets the model itself reads as negative/positive: this test is about the window, not accuracy.
    predicted = await serve_models.sentiment([t.text for t in labeled_tweets])
    negatives = [t for t, p in zip(labeled_tweets, predicted, strict=True) if p.label == "negative"][:8]
    positives = [t for t, p in zip(labeled_tweets, predicted, strict=True) if p.label == "positive"][:3]
    assert len(negatives) == 8 and len(positives) == 3
    for i, tweet in enumerate(positives + negatives):  # one at a time: the window grows event by event
        result = await processor.handle(mention(tweet, tenant, i, brand="globex"), "test")
        assert result.outcome is Outcome.STORED
    payloads = [
        r["payload"]
        for r in await admin_pool.fetch(
            "SELECT payload FROM crm.outbox WHERE tid = $1 AND event_type = 'crm.sentiment.detected' ORDER BY seq",
            tenant["tid"],
        )
    ]
    assert len(payloads) == 11
    assert [p["spike_started"] for p in payloads].count(True) == 1
    first_spike = next(i for i, p in enumerate(payloads) if p["spike"])
    window = payloads[first_spike]["window"]
    assert window["mentions"] >= 6 and window["negative_share"] >= 0.6
    assert all(not p["spike"] for p in payloads[:first_spike])
    assert await admin_pool.fetchval(
        "SELECT in_spike FROM ai.brand_sentiment_state WHERE tid = $1 AND brand = 'globex'", tenant["tid"]
    )


async def test_bad_events_are_dead_lettered_with_reasons_while_good_ones_are_stored(
    processor: StreamProcessor, admin_pool: asyncpg.Pool, labeled_tweets: list[Tweet], tenant: dict[str, str]
) -> None:
    foreign = {"tid": tenant["tid"] + "-x", "mid": "m-1"}
    foreign_account = await create_account(admin_pool, foreign, "Other tenant SRL")
    good = mention(labeled_tweets[0], tenant, 1)
    bodies = {
        "malformed": b'{"type": "social.twitter.mention", "tid": ' + tenant["tid"].encode(),
        "unknown type": envelope("social.twitter.retweet", {"x": 1}, tenant).to_json(),
        "bad payload": envelope("social.twitter.mention", {"post_id": "p", "brand": "acme"}, tenant).to_json(),
        "bad name": json.dumps({"type": "Tweet", "tid": tenant["tid"], "mid": "m-1", "payload": {}}).encode(),
        "oversized": envelope(
            "social.twitter.mention", {"post_id": "big", "brand": "acme", "text": "x" * 300_000}, tenant
        ).to_json(),
        "other tenant's account": envelope(
            "social.twitter.mention",
            {"post_id": "p2", "brand": "acme", "text": "great product", "account_id": str(foreign_account)},
            tenant,
        ).to_json(),
        "good": good.to_json(),
    }
    results = dict(zip(bodies, await processor.handle_many(list(bodies.values()), "test"), strict=True))
    wrong_sender = await processor.handle(
        mention(labeled_tweets[1], tenant, 2), "test", tenant=TenantContext(tid=foreign["tid"], mid="m-1")
    )
    assert results.pop("good").outcome is Outcome.STORED
    assert all(r.outcome is Outcome.DEAD_LETTERED for r in results.values())
    assert wrong_sender.outcome is Outcome.DEAD_LETTERED
    assert "JSON" in (results["malformed"].reason or "") or "json" in (results["malformed"].reason or "")
    assert "unknown event type" in (results["unknown type"].reason or "")
    assert "text" in (results["bad payload"].reason or "")
    assert "<module>.<ctx>.<event>" in (results["bad name"].reason or "")
    assert "limit" in (results["oversized"].reason or "")
    assert "does not exist in tenant" in (results["other tenant's account"].reason or "")
    assert "wrong tenant" in (wrong_sender.reason or "")

    letters = await admin_pool.fetch(
        "SELECT tid, reason, raw, event_type FROM ai.dead_letters "
        "WHERE tid = ANY($1::text[]) OR raw = ANY($2::bytea[])",
        [tenant["tid"], foreign["tid"]],
        list(bodies.values()),
    )
    assert len(letters) == 7  # six bad bodies + the wrong sender's
    wrong = [r["tid"] for r in letters if "wrong tenant" in r["reason"]]
    assert wrong == [foreign["tid"]]  # the sender's own refusal, never filed under the tenant it named
    assert {bytes(r["raw"]) for r in letters} >= {bodies["malformed"], bodies["unknown type"]}
    assert await count(admin_pool, "ai.social_insights", tenant) == 1
    # The same bad body again is stored once.
    await processor.handle_raw(bodies["unknown type"], "test")
    assert await admin_pool.fetchval("SELECT count(*) FROM ai.dead_letters WHERE raw = $1", bodies["unknown type"]) == 1


async def test_web_journeys_become_patterns_with_conversion_propensity(
    processor: StreamProcessor, admin_pool: asyncpg.Pool, app_pool: asyncpg.Pool, tenant: dict[str, str]
) -> None:
    start = datetime.now(UTC) - timedelta(hours=3)
    buyers = [
        ("page_view", "/"),
        ("page_view", "/pricing"),
        ("click", "/pricing#enterprise"),
        ("purchase", "/checkout"),
    ]
    browsers = [("page_view", "/"), ("page_view", "/blog/ai"), ("page_view", "/blog/crm"), ("page_view", "/careers")]
    for s, journey in enumerate([buyers, buyers, browsers, browsers]):
        for i, (action, page) in enumerate(journey):
            event = envelope(
                "web.user.behavior.tracked",
                {"session_id": f"s{s}", "action": action, "page": f"https://shop.example{page}", "visitor_id": f"v{s}"},
                tenant,
                occurred_at=start + timedelta(minutes=i),
            )
            assert (await processor.handle(event, "test")).outcome is Outcome.STORED
    # A live session that looks like the buyers so far.
    for i, (action, page) in enumerate(buyers[:3]):
        live = envelope(
            "web.user.behavior.tracked",
            {"session_id": "live", "action": action, "page": f"https://shop.example{page}"},
            tenant,
            occurred_at=datetime.now(UTC) - timedelta(seconds=30 - i),
        )
        assert (await processor.handle(live, "test")).outcome is Outcome.STORED
    row = await admin_pool.fetchrow(
        "SELECT journey, steps, nearest_session_id, conversion_propensity FROM ai.behavior_patterns "
        "WHERE tid = $1 AND session_id = 'live'",
        tenant["tid"],
    )
    assert row["journey"] == "page_view:/ > page_view:/pricing > click:/pricing"
    assert row["steps"] == 3
    assert row["nearest_session_id"] in ("s0", "s1")
    assert row["conversion_propensity"] == pytest.approx(0.5)  # 4 known sessions, 2 converted
    assert await count(admin_pool, "ai.behavior_patterns", tenant, "converted") == 2
    published = await admin_pool.fetch(
        "SELECT payload FROM crm.outbox WHERE tid = $1 AND event_type = 'crm.behavior.pattern.detected'", tenant["tid"]
    )
    assert any(p["payload"]["session_id"] == "live" for p in published)

    # An identified visitor submitting a form joins the sequences triggered by that action, once.
    contact = await admin_pool.fetchval(
        "INSERT INTO crm.contacts (tid, mid, first_name, email, consent_marketing) "
        "VALUES ($1, $2, 'Ana', 'ana@form.test', true) RETURNING id",
        tenant["tid"],
        tenant["mid"],
    )
    sequence = await admin_pool.fetchval(
        "INSERT INTO crm.sequences (tid, mid, name, trigger, steps) VALUES ($1, $2, 'Demo request', "
        '\'{"type": "behavior", "action": "form_submit"}\'::jsonb, \'[{"type": "exit"}]\'::jsonb) '
        "RETURNING id",
        tenant["tid"],
        tenant["mid"],
    )
    for i, action in enumerate(("page_view", "form_submit", "form_submit")):
        identified = envelope(
            "web.user.behavior.tracked",
            {"session_id": "known", "action": action, "page": "https://shop.example/demo", "contact_id": str(contact)},
            tenant,
            occurred_at=datetime.now(UTC) - timedelta(seconds=10 - i),
        )
        assert (await processor.handle(identified, "test")).outcome is Outcome.STORED
    enrolled = await admin_pool.fetch(
        "SELECT source FROM crm.sequence_enrollments WHERE tid = $1 AND sequence_id = $2", tenant["tid"], sequence
    )
    assert [r["source"] for r in enrolled] == ["behavior"]


async def test_pixel_events_report_the_funnel(
    processor: StreamProcessor, admin_pool: asyncpg.Pool, tenant: dict[str, str]
) -> None:
    for name in ("PageView", "ViewContent", "AddToCart", "Purchase"):
        event = envelope(
            "social.facebook.pixel.event",
            {"pixel_id": "px1", "event_name": name, "session_id": "fb.1.123", "value": "49.90", "currency": "RON"},
            tenant,
        )
        assert (await processor.handle(event, "test")).outcome is Outcome.STORED
    rows = await admin_pool.fetch(
        "SELECT payload FROM crm.outbox WHERE tid = $1 AND event_type = 'crm.social.pixel.analyzed' ORDER BY seq",
        tenant["tid"],
    )
    stages = [r["payload"]["funnel_stage"] for r in rows]
    assert stages == ["awareness", "interest", "consideration", "conversion"]
    assert rows[-1]["payload"]["session_events"] == 4 and rows[-1]["payload"]["intent_score"] == 1.0


async def test_orders_update_churn_features_and_publish_bucket_changes(
    processor: StreamProcessor, admin_pool: asyncpg.Pool, tenant: dict[str, str]
) -> None:
    account = await create_account(admin_pool, tenant)
    today = datetime.now(UTC)
    orders = [today - timedelta(days=d) for d in (400, 380, 350)]  # lapsed: last order almost a year ago
    events = [
        envelope(
            "sales.order.created",
            {"order_id": f"o{i}", "account_id": str(account), "total": "120.00", "ordered_at": at.isoformat()},
            tenant,
        )
        for i, at in enumerate(orders)
    ]
    for event in events:
        assert (await processor.handle(event, "test")).outcome is Outcome.STORED
    assert (await processor.handle(events[0], "test")).outcome is Outcome.DUPLICATE
    score = await admin_pool.fetchrow("SELECT bucket, probability FROM ai.churn_scores WHERE tid = $1", tenant["tid"])
    assert score is not None and score["bucket"] == "high"
    scored = await admin_pool.fetch(
        "SELECT payload FROM crm.outbox WHERE tid = $1 AND event_type = 'crm.churn.scored' ORDER BY seq", tenant["tid"]
    )
    assert 1 <= len(scored) <= 3  # only bucket changes are published
    assert scored[-1]["payload"]["bucket"] == "high" and scored[-1]["payload"]["top_factors"]
    timeline = await count(admin_pool, "crm.activities", tenant, "kind = 'sales.order.created'")
    assert timeline == 3  # the CRM core's consumer wrote the account timeline, once per order


async def test_voice_and_video_calls_are_analysed(
    processor: StreamProcessor,
    admin_pool: asyncpg.Pool,
    app_pool: asyncpg.Pool,
    tenant: dict[str, str],
    serve_stack: ServeStack,
    tmp_path: Path,
) -> None:
    spoken = synthesise(
        "Thanks for the demo, the pricing looks great and we want to sign the contract next week.",
        "en-us",
        150,
        16000,
        "wav",
        tmp_path,
        0,
    )
    voice = envelope(
        "media.voice.call.recorded",
        {"call_id": "c1", "audio_b64": base64.b64encode(spoken.read_bytes()).decode(), "profile": "fast"},
        tenant,
    )
    faces, _ = lfw_frames()
    video_path = assemble_video(faces[:4], serve_stack.media_root / f"{tenant['tid']}.avi", fps=2.0)
    video = envelope("media.video.call.recorded", {"call_id": "c2", "video_path": video_path.name, "fps": 2}, tenant)
    escape = envelope("media.video.call.recorded", {"call_id": "c3", "video_path": "../../etc/passwd"}, tenant)
    corrupt = envelope("media.voice.call.recorded", {"call_id": "c4", "audio_b64": "AAAA"}, tenant)
    results = await asyncio.gather(*(processor.handle(e, "test") for e in (voice, video, escape, corrupt)))
    assert [r.outcome for r in results] == [Outcome.STORED, Outcome.STORED] + [Outcome.DEAD_LETTERED] * 2
    assert "outside the media root" in (results[2].reason or "")
    assert "rejected" in (results[3].reason or "")
    calls = {
        r["call_id"]: r
        for r in await admin_pool.fetch(
            "SELECT call_id, kind, transcript, sentiment, engagement, embedding, analysis->>'profile' AS profile"
            " FROM ai.call_analyses WHERE tid = $1",
            tenant["tid"],
        )
    }
    assert "pricing" in calls["c1"]["transcript"].lower() and calls["c1"]["sentiment"] == "positive"
    assert calls["c1"]["embedding"] is not None and calls["c1"]["profile"] == "fast"
    passages = await admin_pool.fetch(
        "SELECT passage, text FROM ai.call_passages WHERE tid = $1 AND call_analysis_id = $2", tenant["tid"], voice.id
    )
    assert [p["passage"] for p in passages] == [0] and "pricing" in passages[0]["text"].lower()
    aspects = await admin_pool.fetchval(
        "SELECT aspects FROM ai.call_analyses WHERE tid = $1 AND id = $2", tenant["tid"], voice.id
    )
    assert [a["aspect"] for a in aspects] == ["price"] and aspects[0]["label"] == "positive"
    own = TenantContext(tid=tenant["tid"], mid=tenant["mid"])
    query = (await ServeModels().embed(["the price looked good to them"]))[0]
    found = await insights.similar_calls(app_pool, own, query, k=3)
    assert [f["call_id"] for f in found] == ["c1"] and found[0]["similarity"] > 0.3
    assert await insights.similar_calls(app_pool, TenantContext(tid="nobody", mid=tenant["mid"]), query) == []
    assert calls["c2"]["kind"] == "video" and calls["c2"]["engagement"] > 0
    published = {
        r["event_type"]
        for r in await admin_pool.fetch("SELECT event_type FROM crm.outbox WHERE tid = $1", tenant["tid"])
    }
    assert published == {"crm.voice.transcribed", "crm.call.analyzed"}


async def test_mentions_keep_language_chunks_and_aspects_and_the_account_rolls_them_up(
    processor: StreamProcessor, admin_pool: asyncpg.Pool, app_pool: asyncpg.Pool, tenant: dict[str, str]
) -> None:
    account = await create_account(admin_pool, tenant)
    texts = {
        "late": "The delivery was two weeks late and the courier lost one of the boxes.",
        "again": "Second order in a row that arrived late, the shipment was delayed again.",
        "support": "Support answered in five minutes and solved everything, great service.",
        "romanian": "Livrarea a întârziat trei săptămâni și nimeni nu răspunde la telefon.",
        "long": (
            "We have used the platform for two years across three teams. "
            "The reporting module is decent and the mobile app works most of the time. "
            "Our account manager changed twice this year and nobody told us. "
            "The import of last quarter's leads failed and we lost a week of work. "
            "The latest invoice charged us twice for the same seats. "
            "Honestly we are very disappointed and considering other vendors."
        ),
    }
    events = [
        envelope(
            "social.linkedin.activity",
            {"post_id": f"li-{key}", "brand": "acme", "text": text, "account_id": str(account)},
            tenant,
        )
        for key, text in texts.items()
    ]
    results = await processor.handle_many([e.to_json() for e in events], "test")
    assert {r.outcome for r in results} == {Outcome.STORED}
    rows = {
        r["id"]: r
        for r in await admin_pool.fetch(
            "SELECT id, sentiment, sentiment_score, language, supported, chunks, aspects FROM ai.social_insights"
            " WHERE tid = $1",
            tenant["tid"],
        )
    }
    by_key = {key: rows[e.id] for key, e in zip(texts, events, strict=True)}
    romanian = by_key["romanian"]
    assert (romanian["language"], romanian["supported"], romanian["sentiment"]) == ("ro", False, "neutral")
    assert romanian["sentiment_score"] == 0.0 and romanian["aspects"] == []
    assert by_key["long"]["chunks"] > 1 and by_key["long"]["sentiment"] == "negative"
    assert by_key["late"]["language"] == "en" and by_key["late"]["supported"]
    assert [a["aspect"] for a in by_key["late"]["aspects"]] == ["delivery"]
    assert by_key["support"]["aspects"][0]["aspect"] == "support"

    published = await admin_pool.fetch(
        "SELECT payload FROM crm.outbox WHERE tid = $1 AND event_type = 'crm.sentiment.detected'", tenant["tid"]
    )
    payloads = [json.loads(r["payload"]) if isinstance(r["payload"], str) else r["payload"] for r in published]
    late = next(p for p in payloads if p["insight_id"] == str(events[0].id))
    assert late["language"] == "en" and late["aspects"][0]["aspect"] == "delivery"
    assert late["aspects"][0]["sentiment"] == "negative"

    own = TenantContext(tid=tenant["tid"], mid=tenant["mid"])
    summary = await insights.account_summary(app_pool, own, account, since=datetime.now(UTC) - timedelta(days=7))
    aspects = {a["aspect"]: a for a in summary["aspects"]}
    assert aspects["delivery"]["mentions"] == 2 and aspects["delivery"]["negative"] == 2
    assert aspects["delivery"]["headline"] == "unhappy about delivery: 2 of 2 mentions negative"
    assert summary["aspects"][0]["aspect"] == "delivery"  # the most complained-about first
    assert aspects["support"]["positive"] == 1
    assert summary["mentions"] == 5
    stored_scores = [float(r["sentiment_score"]) for key, r in by_key.items() if key != "romanian"]
    assert summary["mean_sentiment"] == pytest.approx(sum(stored_scores) / 4, abs=1e-3)  # Romanian left out
