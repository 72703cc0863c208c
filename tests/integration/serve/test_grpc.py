"""Every gRPC method through Ray Serve's gRPC proxy, with status codes for bad input."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest

from models.churn.features import FEATURES
from protos import inference_pb2 as pb
from protos.inference_pb2_grpc import AnalyticsStub
from serve.application import APP_NAME
from tests.integration.serve.conftest import ServeStack

pytestmark = [pytest.mark.integration, pytest.mark.slow]
METADATA = (("application", APP_NAME),)


@pytest.fixture(scope="module")
def stub(serve_stack: ServeStack) -> Iterator[AnalyticsStub]:
    with grpc.insecure_channel(serve_stack.grpc) as channel:
        yield AnalyticsStub(channel)


def _code(call: object) -> grpc.StatusCode:
    with pytest.raises(grpc.RpcError) as raised:
        call()  # type: ignore[operator]
    return raised.value.code()  # type: ignore[no-any-return]


def test_sentiment_and_embed(stub: AnalyticsStub) -> None:
    reply = stub.Sentiment(pb.SentimentRequest(texts=["I love it", "This is terrible"]), metadata=METADATA, timeout=60)
    assert [r.label for r in reply.results] == ["positive", "negative"]
    assert reply.model_version  # the model that scored them, as over HTTP
    assert abs(sum(reply.results[0].probabilities.values()) - 1) < 1e-4
    vectors = stub.Embed(pb.EmbedRequest(texts=["hello"]), metadata=METADATA, timeout=60)
    assert vectors.dimensions == 384
    assert len(vectors.vectors[0].values) == 384


def test_sentiment_says_language_chunks_and_aspects_on_request(stub: AnalyticsStub) -> None:
    texts = [
        "The package arrived two weeks late. " * 12 + "Support never called me back, very disappointed.",
        "Die Lieferung kam viel zu spät an und niemand antwortet.",
    ]
    plain = stub.Sentiment(pb.SentimentRequest(texts=texts), metadata=METADATA, timeout=60)
    late, german = plain.results
    assert late.chunks > 1 and late.language == "en" and late.supported and not late.aspects
    assert (german.language, german.supported, german.label, german.score, german.chunks) == (
        "de",
        False,
        "neutral",
        0.0,
        0,
    )
    detailed = stub.Sentiment(pb.SentimentRequest(texts=texts, aspects=True), metadata=METADATA, timeout=60)
    aspects = {a.aspect for a in detailed.results[0].aspects}
    assert {"delivery", "support"} <= aspects
    assert not detailed.results[1].aspects


def test_invalid_arguments(stub: AnalyticsStub) -> None:
    assert _code(lambda: stub.Sentiment(pb.SentimentRequest(), metadata=METADATA, timeout=30)) == (
        grpc.StatusCode.INVALID_ARGUMENT
    )
    assert _code(lambda: stub.Sentiment(pb.SentimentRequest(texts=[" "]), metadata=METADATA, timeout=30)) == (
        grpc.StatusCode.INVALID_ARGUMENT
    )
    assert _code(lambda: stub.ScoreChurn(pb.ChurnRequest(features={"x": 1}), metadata=METADATA, timeout=30)) == (
        grpc.StatusCode.INVALID_ARGUMENT
    )
    infeasible = pb.PricingRequest(cost=50, current_price=10, current_quantity=100)
    assert _code(lambda: stub.OptimizePrice(infeasible, metadata=METADATA, timeout=30)) == (
        grpc.StatusCode.INVALID_ARGUMENT
    )
    assert _code(lambda: stub.Summarize(pb.SummaryRequest(document=""), metadata=METADATA, timeout=30)) == (
        grpc.StatusCode.INVALID_ARGUMENT
    )


def test_bad_fields_come_back_as_structured_field_violations(stub: AnalyticsStub) -> None:
    """Same rules as HTTP; INVALID_ARGUMENT carries google.rpc.BadRequest naming each field."""
    from google.rpc import error_details_pb2, status_pb2

    features = dict.fromkeys(FEATURES, 1.0) | {"recency_days": -5.0, "orders_total": -1.0}
    with pytest.raises(grpc.RpcError) as raised:
        stub.ScoreChurn(pb.ChurnRequest(features=features), metadata=METADATA, timeout=30)
    assert raised.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    trailers = dict(raised.value.trailing_metadata())  # type: ignore[attr-defined]
    status = status_pb2.Status.FromString(trailers["grpc-status-details-bin"])
    bad_request = error_details_pb2.BadRequest()
    assert status.details[0].Unpack(bad_request)
    assert [v.field for v in bad_request.field_violations] == ["recency_days", "orders_total"]
    with pytest.raises(grpc.RpcError) as summary_error:
        stub.Summarize(pb.SummaryRequest(document="A sentence.", max_sentences=99), metadata=METADATA, timeout=30)
    trailers = dict(summary_error.value.trailing_metadata())  # type: ignore[attr-defined]
    status = status_pb2.Status.FromString(trailers["grpc-status-details-bin"])
    assert status.details[0].Unpack(bad_request) and bad_request.field_violations[0].field == "max_sentences"


def test_churn_pricing_summary(stub: AnalyticsStub) -> None:
    features = dict.fromkeys(FEATURES, 0.0)
    features.update(recency_days=250.0, tenure_days=300.0, orders_total=1.0)
    churn = stub.ScoreChurn(pb.ChurnRequest(features=features), metadata=METADATA, timeout=30)
    assert 0 <= churn.probability <= 1
    assert churn.bucket in ("low", "medium", "high")
    assert len(churn.top_contributions) == 3
    price = stub.OptimizePrice(
        pb.PricingRequest(cost=4, current_price=10, current_quantity=50, max_change=0.1, objective="revenue"),
        metadata=METADATA,
        timeout=30,
    )
    assert 9.0 - 1e-6 <= price.price <= 11.0 + 1e-6
    assert price.quantity_low <= price.expected_quantity <= price.quantity_high
    rails = pb.GuardRails(cost=6, min_price=7, max_price=15, max_step=0.05, min_margin=0.1)
    sales = [
        pb.SalesPeriod(price=p, units=200 * (p / 8) ** -2.2 * 7, days=7, age_days=7 * i)
        for i, p in enumerate([7.6, 8, 8.4] * 4)
    ]
    live = stub.ProposePrice(pb.LivePricingRequest(price=8, rails=rails, sales=sales), metadata=METADATA, timeout=30)
    assert (live.action, live.source, live.price, list(live.interval)) == ("change", "optimiser", 8.4, [7.6, 8.4])
    missing = stub.ProposePrice(pb.LivePricingRequest(price=8, rails=rails), metadata=METADATA, timeout=30)
    assert missing.action == "not_enough_data" and list(missing.missing) == ["sales periods"]
    document = " ".join(f"Sentence number {i} talks about the renewal budget." for i in range(8))
    summary = stub.Summarize(pb.SummaryRequest(document=document, max_sentences=2), metadata=METADATA, timeout=30)
    assert len(summary.sentences) == 2
    assert summary.total_sentences == 8


def test_client_streaming_transcript(stub: AnalyticsStub) -> None:
    chunks = [
        pb.TranscriptChunk(speaker="rep", text="Thanks for joining, how is the rollout going?"),
        pb.TranscriptChunk(speaker="customer", text="Honestly it has been great, the team loves the reports."),
        pb.TranscriptChunk(speaker="customer", text="We would like to expand to two more departments next quarter."),
        pb.TranscriptChunk(speaker="rep", text="Wonderful, I will prepare a proposal for the expansion."),
    ]
    analysis = stub.AnalyzeTranscript(iter(chunks), metadata=METADATA, timeout=60)
    assert analysis.chunks == 4
    assert len(analysis.segments) == 4
    assert analysis.overall_label in ("positive", "neutral")
    assert analysis.summary
    empty = _code(lambda: stub.AnalyzeTranscript(iter([]), metadata=METADATA, timeout=30))
    assert empty == grpc.StatusCode.INVALID_ARGUMENT


def test_client_streaming_audio(stub: AnalyticsStub, tmp_path: Path) -> None:
    from models.voice.evaluate import synthesise

    audio = synthesise("Please send the signed contract by Friday.", "en-gb", 150, 22050, "flac", tmp_path, 0)
    data = audio.read_bytes()
    first = pb.AudioChunk(data=data[:16_384], profile="fast", rep="S1")
    chunks = [first, *(pb.AudioChunk(data=data[i : i + 16_384]) for i in range(16_384, len(data), 16_384))]
    analysis = stub.AnalyzeVoice(iter(chunks), metadata=METADATA, timeout=120)
    assert "contract" in analysis.transcript.lower()
    assert analysis.segments and analysis.segments[0].label in ("positive", "neutral", "negative")
    assert 0 < analysis.speaking_ratio <= 1
    assert analysis.profile == "fast" and not analysis.no_speech
    assert [s.speaker for s in analysis.speakers] == ["S1"] and analysis.turns[0].speaker == "S1"
    bad = _code(lambda: stub.AnalyzeVoice(iter([pb.AudioChunk(data=b"noise" * 50)]), metadata=METADATA, timeout=60))
    assert bad == grpc.StatusCode.INVALID_ARGUMENT
    unknown = pb.AudioChunk(data=data, profile="turbo")
    bad = _code(lambda: stub.AnalyzeVoice(iter([unknown]), metadata=METADATA, timeout=60))
    assert bad == grpc.StatusCode.INVALID_ARGUMENT


def test_vision_image(stub: AnalyticsStub) -> None:
    import cv2
    from skimage import data

    portrait = data.astronaut()  # type: ignore[no-untyped-call]
    _, jpeg = cv2.imencode(".jpg", cv2.cvtColor(portrait, cv2.COLOR_RGB2BGR))
    reply = stub.AnalyzeVision(pb.VisionRequest(media=jpeg.tobytes()), metadata=METADATA, timeout=60)
    assert reply.frames == 1
    assert reply.dominant_emotion == "happy"
    assert reply.timeline[0].face_present
    bad = _code(lambda: stub.AnalyzeVision(pb.VisionRequest(media=b"junk"), metadata=METADATA, timeout=30))
    assert bad == grpc.StatusCode.INVALID_ARGUMENT


def test_deadline_is_enforced(stub: AnalyticsStub) -> None:
    long_texts = ["a long sales call transcript " * 40] * 256
    code = _code(lambda: stub.Sentiment(pb.SentimentRequest(texts=long_texts), metadata=METADATA, timeout=0.05))
    assert code == grpc.StatusCode.DEADLINE_EXCEEDED
    # The abandoned request stops after the pass under way: the next caller is not stuck behind its 256 texts.
    started = time.monotonic()
    reply = stub.Sentiment(pb.SentimentRequest(texts=["Thanks, that fixed it!"]), metadata=METADATA, timeout=20)
    assert reply.results[0].label == "positive"
    print(f"next call answered {time.monotonic() - started:.2f} s after the abandoned one")
