"""AI decision records: a mention's sentiment and reach, a call's analysis and an account's churn score each record
the model, its version, the hash of what it read and the model's explanation, in the output's transaction;
another tenant never sees them."""

from __future__ import annotations

import base64
import hashlib
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg
import pytest

from infra import decisions
from infra.db.tenancy import TenantContext
from infra.errors import NotFound
from models.voice.evaluate import synthesise
from streams.core import StreamProcessor
from streams.processors.base import Outcome
from tests.integration.streams.conftest import create_account, envelope

TEXT = "The delivery was late again and support never answered, really disappointed."


def _sha(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


async def test_every_stored_model_output_has_its_decision_record(
    processor: StreamProcessor, app_pool: asyncpg.Pool, admin_pool: asyncpg.Pool, tenant: dict[str, str], tmp_path: Path
) -> None:
    ctx = TenantContext(**tenant)
    post = envelope("social.twitter.mention", {"post_id": "p1", "brand": "acme", "text": TEXT, "author": "@x"}, tenant)
    spoken = synthesise("We are happy with the service, thank you.", "en-us", 150, 16000, "wav", tmp_path, 0)
    audio = spoken.read_bytes()
    call = envelope(
        "media.voice.call.recorded", {"call_id": "c1", "audio_b64": base64.b64encode(audio).decode()}, tenant
    )
    account = await create_account(admin_pool, tenant)
    today = datetime.now(UTC)
    orders = [
        envelope(
            "sales.order.created",
            {"order_id": f"o{i}", "account_id": str(account), "total": "120.00", "ordered_at": at.isoformat()},
            tenant,
        )
        for i, at in enumerate(today - timedelta(days=d) for d in (400, 380))
    ]
    for event in (post, call, *orders):
        assert (await processor.handle(event, "test")).outcome is Outcome.STORED

    by_kind = {d["kind"]: d for d in await decisions.for_ref(app_pool, ctx, post.id)}
    assert set(by_kind) == {"sentiment", "reach"}  # the mention's two model outputs
    sentiment, reach = by_kind["sentiment"], by_kind["reach"]
    assert reach["model"] == "reach" and reach["model_version"].startswith("reach-v1-")
    assert reach["input_hash"] == _sha(TEXT.encode()) and reach["output"]["lift"] > 0
    stored = await admin_pool.fetchrow(
        "SELECT sentiment, sentiment_score FROM ai.social_insights WHERE id = $1", post.id
    )
    assert sentiment["kind"] == "sentiment" and sentiment["model_version"] not in ("", "unknown")
    assert sentiment["input_hash"] == _sha(TEXT.encode())
    assert sentiment["output"]["label"] == stored["sentiment"]
    assert set(sentiment["explanation"]["probabilities"]) == {"negative", "neutral", "positive"}
    assert await decisions.get(app_pool, ctx, sentiment["id"]) == sentiment

    (analysed,) = await decisions.for_ref(app_pool, ctx, call.id)
    assert analysed["kind"] == "call_analysis" and analysed["model"].startswith("faster-whisper:")
    assert analysed["input_hash"] == _sha(audio)  # the recording's bytes, not kept in the record
    assert analysed["output"]["sentiment"] in ("negative", "neutral", "positive")

    scores = await decisions.for_ref(app_pool, ctx, account)
    assert [d["kind"] for d in scores] == ["churn_score", "churn_score"]  # one per scoring, not per bucket change
    latest = scores[-1]
    assert latest["explanation"]["top_contributions"] and latest["explanation"]["features"]
    assert latest["input_hash"] == decisions.input_hash(latest["explanation"]["features"])
    assert latest["output"]["bucket"] in ("low", "medium", "high")

    other = TenantContext(tid=f"t-{uuid.uuid4().hex[:8]}", mid="m-1")
    with pytest.raises(NotFound):
        await decisions.get(app_pool, other, sentiment["id"])
    assert await decisions.for_ref(app_pool, other, post.id) == []
