"""Which Whisper profile a call event is analysed with: the event's, else its tenant's, else the default."""

from __future__ import annotations

import base64
from typing import Any

import pytest

from infra.events.envelope import Envelope
from models.voice.analyzer import AnalyzeOptions, VoiceAnalysis
from streams.processors.base import Context
from streams.processors.calls import CallProcessor
from streams.schemas import VoiceCallRecorded


class RecordingModels:
    """Answers voice calls with an empty analysis and keeps the options it was asked with."""

    def __init__(self) -> None:
        self.asked: list[AnalyzeOptions | None] = []

    async def model_info(self, kind: str) -> tuple[str, str]:
        return kind, "test"

    async def voice(self, audio: bytes, options: AnalyzeOptions | None = None) -> VoiceAnalysis:
        self.asked.append(options)
        return VoiceAnalysis("", "en", 1.0, [], [], 0.0, 1.0, 0.0, [], 0.0, 0.0, no_speech=True)


def _event(tid: str, **payload: Any) -> tuple[Envelope, VoiceCallRecorded]:
    body = {"call_id": "c1", "audio_b64": base64.b64encode(b"RIFF").decode(), **payload}
    return Envelope(type="media.voice.call.recorded", tid=tid, mid="m1", payload=body), VoiceCallRecorded(**body)


@pytest.mark.parametrize(
    ("tid", "payload", "expected"),
    [
        ("t-fast", {}, "fast"),  # the tenant's choice
        ("t-fast", {"profile": "accurate"}, "accurate"),  # the event's wins
        ("t-other", {}, None),  # neither: the deployment's default
    ],
)
async def test_the_profile_comes_from_the_event_then_the_tenant(
    tid: str, payload: dict[str, Any], expected: str | None
) -> None:
    models = RecordingModels()
    context = Context(pool=None, models=models, voice_profile_by_tenant={"t-fast": "fast"})  # type: ignore[arg-type]
    event, parsed = _event(tid, rep="left", speakers=2, **payload)
    await CallProcessor(context).analyze(event, parsed)
    options = models.asked[0]
    assert options is not None and options.profile == expected
    assert options.rep == "left" and options.speakers == 2 and options.language == "en"
