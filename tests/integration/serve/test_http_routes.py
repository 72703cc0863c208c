"""Every HTTP route of the model gateway, against real Ray Serve deployments, valid and invalid."""

from __future__ import annotations

import time
from pathlib import Path

import httpx
import pytest

from models.churn.features import FEATURES
from tests.integration.serve.conftest import ServeStack

pytestmark = [pytest.mark.integration, pytest.mark.slow]

TWEETS = {
    "positive": "Absolutely love the new dashboard, the team did an amazing job!",
    "negative": "Worst support experience ever, nobody answered for three days. Cancelling.",
}


def _features(**overrides: float) -> dict[str, float]:
    row = dict.fromkeys(FEATURES, 0.0)
    row.update(overrides)
    return row


def test_sentiment_single_and_batch(http: httpx.Client) -> None:
    one = http.post("/v1/sentiment", json={"text": TWEETS["positive"]})
    assert one.status_code == 200, one.text
    result = one.json()["results"][0]
    assert result["label"] == "positive"
    assert result["truncated"] is False
    assert sum(result["probabilities"].values()) == pytest.approx(1.0, abs=1e-4)
    batch = http.post("/v1/sentiment", json={"texts": [TWEETS["negative"], TWEETS["positive"]]})
    assert batch.status_code == 200, batch.text
    assert [r["label"] for r in batch.json()["results"]] == ["negative", "positive"]


EMAIL = (
    "Hi, following up on order 4471. The onboarding session last week was useful and the team was friendly. "
    "But the delivery of the hardware tokens took three weeks and two of them arrived broken. "
    "I called support four times and nobody called me back. We are very disappointed and will cancel "
    "unless this is fixed by Friday."
)


def test_sentiment_reads_long_texts_in_chunks_flags_other_languages_and_names_aspects(http: httpx.Client) -> None:
    texts = [EMAIL, "Livrarea a întârziat trei săptămâni și nimeni nu răspunde la telefon.", TWEETS["positive"]]
    plain = http.post("/v1/sentiment", json={"texts": texts})
    assert plain.status_code == 200, plain.text
    email, romanian, tweet = plain.json()["results"]
    assert email["chunks"] > 1 and email["label"] == "negative" and email["language"] == "en"
    assert "aspects" not in email  # opt-in
    assert (romanian["language"], romanian["supported"], romanian["label"], romanian["score"]) == (
        "ro",
        False,
        "neutral",
        0.0,
    )
    assert (tweet["chunks"], tweet["supported"]) == (1, True)

    with_aspects = http.post("/v1/sentiment", params={"aspects": "true"}, json={"texts": texts})
    assert with_aspects.status_code == 200, with_aspects.text
    email_a, romanian_a, _ = with_aspects.json()["results"]
    assert email_a["label"] == email["label"]
    found = {a["aspect"]: a for a in email_a["aspects"]}
    assert {"delivery", "support"} <= set(found)
    assert found["support"]["label"] == "negative"
    assert romanian_a["aspects"] == []
    refused = http.post("/v1/sentiment", params={"aspects": "maybe"}, json={"text": "fine"})
    assert refused.status_code == 422


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        ({"texts": []}, "texts"),
        ({"text": "a", "texts": ["b"]}, "exactly one"),
        ({"texts": ["x"] * 257}, "texts"),
        ({"text": "   "}, "empty"),
        ({"texts": [1, 2]}, "texts"),
    ],
)
def test_sentiment_rejects_bad_payloads_with_422(http: httpx.Client, body: dict[str, object], fragment: str) -> None:
    response = http.post("/v1/sentiment", json=body)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert fragment in response.text


def test_malformed_json_is_400_and_oversized_body_is_413(http: httpx.Client) -> None:
    malformed = http.post("/v1/embed", content=b"{not json", headers={"content-type": "application/json"})
    assert malformed.status_code == 400
    huge = http.post("/v1/embed", json={"text": "x" * (3 << 20)})
    assert huge.status_code == 413


def test_embed_returns_unit_vectors_and_reads_long_texts_in_chunks(http: httpx.Client) -> None:
    response = http.post("/v1/embed", json={"texts": ["renewal discount", "word " * 400, "word " * 20_000]})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["dimensions"] == 384
    assert body["chunks"] == [1, 2, 64]
    assert body["truncated"] == [False, False, True]  # only past 64 chunks is any of a text left unread
    for vector in body["vectors"]:
        assert sum(v * v for v in vector) == pytest.approx(1.0, abs=1e-3)


def test_churn_scores_rows_with_buckets_and_explanations(http: httpx.Client) -> None:
    loyal = _features(recency_days=5, tenure_days=400, orders_total=30, orders_90d=6, orders_365d=25)
    lapsed = _features(recency_days=300, tenure_days=400, orders_total=1)
    response = http.post("/v1/churn/score", json={"rows": [loyal, lapsed]})
    assert response.status_code == 200, response.text
    scores = response.json()["scores"]
    assert scores[0]["probability"] < scores[1]["probability"]
    assert scores[1]["bucket"] in ("medium", "high")
    assert len(scores[0]["top_contributions"]) == 3
    missing = http.post("/v1/churn/score", json={"features": {"recency_days": 3}})
    assert missing.status_code == 422
    assert "tenure_days is missing" in missing.json()["detail"]
    negative = http.post("/v1/churn/score", json={"features": {**loyal, "recency_days": -5}})
    assert negative.status_code == 422
    assert negative.json()["violations"] == [{"field": "recency_days", "description": "must be >= 0, got -5"}]
    unknown = {k: v for k, v in loyal.items() if k != "sentiment_trend"} | {"support_calls_90d": None}
    partial = http.post("/v1/churn/score", json={"features": unknown})  # optional features may be unknown
    assert partial.status_code == 200, partial.text
    assert response.json()["model_version"]  # which model scored them
    nan = http.post(
        "/v1/churn/score", content=b'{"features": {"recency_days": NaN}}', headers={"content-type": "application/json"}
    )
    assert nan.status_code == 422


def test_pricing_respects_bounds_and_explains(http: httpx.Client) -> None:
    body = {"cost": 5, "current_price": 10, "current_quantity": 100, "max_change": 0.05, "segment": 1}
    response = http.post("/v1/pricing/optimize", json=body)
    assert response.status_code == 200, response.text
    result = response.json()
    assert 9.5 - 1e-6 <= result["price"] <= 10.5 + 1e-6
    assert result["elasticity_source"] == "segment 1"
    assert result["reason"]
    infeasible = http.post("/v1/pricing/optimize", json={**body, "cost": 50})
    assert infeasible.status_code == 422
    assert "no price satisfies" in infeasible.json()["detail"]
    negative = http.post("/v1/pricing/optimize", json={**body, "current_price": -1})
    assert negative.status_code == 422
    unknown = http.post("/v1/pricing/optimize", json={**body, "segment": 999})
    assert unknown.status_code == 422


def test_live_pricing_proposes_within_the_rails_or_says_what_is_missing(http: httpx.Client) -> None:
    rails = {"cost": 6, "min_price": 7, "max_price": 15, "max_step": 0.05, "min_margin": 0.1}
    sales = [
        {"price": p, "units": 200 * (p / 8) ** -2.2 * 7, "days": 7, "age_days": 7 * i}
        for i, p in enumerate([7.6, 8, 8.4] * 4)
    ]
    response = http.post("/v1/pricing/propose", json={"price": 8, "rails": rails, "sales": sales})
    assert response.status_code == 200, response.text
    proposal = response.json()
    assert (proposal["action"], proposal["source"], proposal["price"], proposal["interval"]) == (
        "change",
        "optimiser",
        8.4,
        [7.6, 8.4],
    )
    assert proposal["elasticity"] == pytest.approx(-2.2, abs=0.05)
    explored = http.post(
        "/v1/pricing/propose", json={"price": 8, "rails": rails, "sales": sales, "explore": True, "seed": 1}
    )
    assert explored.json()["source"] == "explorer" and 7.6 <= explored.json()["price"] <= 8.4
    empty = http.post("/v1/pricing/propose", json={"price": 8, "rails": rails})
    assert empty.json()["action"] == "not_enough_data" and empty.json()["missing"] == ["sales periods"]
    swapped = http.post("/v1/pricing/propose", json={"price": 8, "rails": {**rails, "min_price": 20}})
    assert swapped.status_code == 422 and "min_price" in swapped.text


def test_summary_picks_central_non_redundant_sentences(http: httpx.Client) -> None:
    thread = (
        "From: ana@example.com\n"
        "Hi Mark, thanks for the call today about the renewal of the analytics licence.\n"
        "The customer asked for a ten percent discount on the renewal.\n"
        "The customer wants ten percent off the renewal price.\n"
        "Our parking lot is being repainted next week.\n"
        "Ana will send the revised renewal proposal by Friday.\n"
        "> old quoted text that should be ignored entirely\n"
        "-- \nAna Pop, Account Executive"
    )
    response = http.post("/v1/summary", json={"document": thread, "max_sentences": 2})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["total_sentences"] == 5
    assert len(body["sentences"]) == 2
    assert "parking" not in body["summary"]
    assert "quoted" not in body["summary"]
    empty = http.post("/v1/summary", json={"document": "ok."})
    assert empty.status_code == 422


def test_health_readiness_and_metrics(http: httpx.Client) -> None:
    assert http.get("/healthz").json() == {"status": "ok"}
    ready = http.get("/readyz")
    assert ready.status_code == 200, ready.text
    assert set(ready.json()["models"]) == {
        "gateway",  # the text models it hosts for HTTP and gRPC callers
        "embedding",
        "sentiment",
        "churn",
        "pricing",
        "summary",
        "voice",
        "vision",
        "streams",
        "marketing",
    }
    assert ready.json()["models"]["streams"]["version"] == "database"
    http.post("/v1/sentiment", json={"texts": ["fine", "great", "awful"]})
    metrics = http.get("/metrics").text
    assert 'vettify_model_requests_total{model="sentiment",outcome="ok"}' in metrics
    assert 'vettify_model_batch_items_bucket{le="4.0",model="sentiment"}' in metrics
    assert "vettify_model_request_seconds_bucket" in metrics
    assert "vettify_model_inflight_requests" in metrics
    docs = http.get("/openapi.json").json()
    for path in (
        "/v1/sentiment",
        "/v1/embed",
        "/v1/churn/score",
        "/v1/pricing/optimize",
        "/v1/pricing/propose",
        "/v1/summary",
        "/v1/voice/analyze",
        "/v1/vision/analyze",
        "/v1/ab/analyze",
        "/v1/attribution",
        "/v1/budget/plan",
        "/v1/budget/pace",
    ):
        assert path in docs["paths"]


def test_crm_core_is_served_by_the_same_serve_instance(http: httpx.Client) -> None:
    deadline = time.monotonic() + 60
    while True:
        health = http.get("/v1/crm/health")
        if health.status_code == 200 or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    assert health.status_code == 200, health.text
    assert health.json()["database"] == "ok"
    assert http.get("/v1/crm/accounts").status_code == 401  # the CRM's own auth applies
    assert "/accounts" in http.get("/v1/crm/openapi.json").json()["paths"]


def test_voice_upload_is_transcribed_with_sentiment(http: httpx.Client, tmp_path: Path) -> None:
    from models.voice.evaluate import synthesise

    audio = synthesise("I really love the new reporting features, great work.", "en-us", 150, 16000, "wav", tmp_path, 0)
    response = http.post("/v1/voice/analyze", content=audio.read_bytes(), headers={"content-type": "audio/wav"})
    assert response.status_code == 200, response.text
    body = response.json()
    assert "reporting" in body["transcript"].lower()
    assert body["overall_sentiment"]["label"] == "positive"
    assert body["segments"][0]["sentiment"]["label"] in ("positive", "neutral")
    assert 0 < body["speaking_ratio"] <= 1
    assert body["profile"] == "accurate" and not body["no_speech"] and body["speech"]
    not_audio = http.post("/v1/voice/analyze", content=b"hello" * 100, headers={"content-type": "audio/wav"})
    assert not_audio.status_code == 422
    wrong_type = http.post("/v1/voice/analyze", json={"audio": "x"})
    assert wrong_type.status_code == 415
    for bad_query in ("profile=turbo", "profile=fast&language=ro", "speakers=0"):
        refused = http.post(
            f"/v1/voice/analyze?{bad_query}", content=audio.read_bytes(), headers={"content-type": "audio/wav"}
        )
        assert refused.status_code == 422, (bad_query, refused.text)


def test_a_stereo_call_names_the_rep_and_silence_is_no_speech(http: httpx.Client, tmp_path: Path) -> None:
    from models.voice.evaluate import conversation, wav_bytes

    rep, customer, _, _ = conversation(1, tmp_path)
    response = http.post(
        "/v1/voice/analyze?profile=fast&rep=right",
        content=wav_bytes([customer, rep]),
        headers={"content-type": "audio/wav"},
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["profile"] == "fast"
    roles = {s["speaker"]: s["role"] for s in body["speakers"]}
    assert roles == {"S1": "customer", "S2": "rep"}
    assert {s["speaker"] for s in body["segments"]} == {"S1", "S2"}
    assert all(s["sentiment"] for s in body["speakers"])
    silent = http.post("/v1/voice/analyze", content=wav_bytes([rep * 0]), headers={"content-type": "audio/wav"})
    assert silent.status_code == 200 and silent.json()["no_speech"] and silent.json()["transcript"] == ""


def test_an_upload_over_grpcs_default_message_size_reaches_the_gateway(http: httpx.Client) -> None:
    """Serve's proxy hands bodies to the replica over gRPC (serve/ray_env.py), whose default limit is 4 MB:
    a 6 MB body must reach the route (and be judged there), not fail in transport."""
    big = http.post("/v1/voice/analyze", content=b"\x00" * (6 << 20), headers={"content-type": "audio/wav"})
    assert big.status_code == 422, big.text
    assert big.json()["code"] == "invalid_input"


def test_vision_image_and_video(http: httpx.Client, tmp_path: Path) -> None:
    import cv2
    from skimage import data

    from models.vision.evaluate import assemble_video

    portrait = data.astronaut()  # type: ignore[no-untyped-call]
    ok, jpeg = cv2.imencode(".jpg", cv2.cvtColor(portrait, cv2.COLOR_RGB2BGR))
    assert ok
    image = http.post("/v1/vision/analyze", content=jpeg.tobytes(), headers={"content-type": "image/jpeg"})
    assert image.status_code == 200, image.text
    assert image.json()["timeline"][0]["faces"][0]["emotion"] == "happy"
    video = assemble_video([portrait] * 4, tmp_path / "clip.avi")
    clip = http.post(
        "/v1/vision/analyze?fps=2", content=video.read_bytes(), headers={"content-type": "video/x-msvideo"}
    )
    assert clip.status_code == 200, clip.text
    assert clip.json()["summary"]["frames"] == 4
    assert clip.json()["summary"]["face_presence_ratio"] == 1.0
    broken = http.post("/v1/vision/analyze", content=b"junk", headers={"content-type": "image/png"})
    assert broken.status_code == 422


async def test_churn_by_account_id_reads_the_tenant_feature_store(serve_stack: ServeStack) -> None:
    from datetime import UTC, datetime, timedelta

    import redis.asyncio as aioredis

    from infra.security import mint_token
    from infra.settings import Settings
    from models.churn.features import Order
    from models.churn.store import RedisFeatureStore, account_key

    store = RedisFeatureStore(aioredis.Redis.from_url(serve_stack.redis_url))
    today = datetime.now(UTC).date()
    for i in range(6):
        await store.record_order(
            account_key("t-serve", "m1", "acc-1"), f"o{i}", Order(today - timedelta(days=20 * i), 120.0)
        )
    await store.redis.aclose()
    token = mint_token(Settings(), sub="dash", tid="t-serve", mid="m1", scopes=("crm:read",))
    other = mint_token(Settings(), sub="dash", tid="t-other", mid="m1", scopes=("crm:read",))
    async with httpx.AsyncClient(base_url=serve_stack.http, timeout=30) as client:
        body = {"account_id": "acc-1"}
        scored = await client.post("/v1/churn/score", json=body, headers={"authorization": f"Bearer {token}"})
        assert scored.status_code == 200, scored.text
        assert scored.json()["scores"][0]["bucket"] in ("low", "medium", "high")
        assert (await client.post("/v1/churn/score", json=body)).status_code == 401
        foreign = await client.post("/v1/churn/score", json=body, headers={"authorization": f"Bearer {other}"})
        assert foreign.status_code == 404  # another tenant's account does not exist for this caller
