"""Unit tests of ``streams.schemas``."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest
from pydantic import ValidationError

from streams.schemas import CONSUMED, PUBLISHED, VoiceCallRecorded, json_schemas, main, misnamed


def test_every_event_name_follows_the_convention_and_has_a_schema(tmp_path: Path) -> None:
    assert misnamed() == []
    schemas = json_schemas()
    assert set(schemas) == {"envelope", *CONSUMED, *PUBLISHED}
    assert schemas["social.twitter.mention"]["required"] == ["post_id", "brand", "text"]
    assert main(["--out", str(tmp_path)]) == 0
    written = json.loads((tmp_path / "crm.sentiment.detected.schema.json").read_text())
    assert written["title"] == "crm.sentiment.detected"


def test_recordings_need_exactly_one_valid_media_source() -> None:
    with pytest.raises(ValidationError, match="exactly one"):
        VoiceCallRecorded(call_id="c")
    with pytest.raises(ValidationError, match="exactly one"):
        VoiceCallRecorded(call_id="c", audio_path="a.wav", audio_b64="AAAA")
    with pytest.raises(ValidationError, match="base64"):
        VoiceCallRecorded(call_id="c", audio_b64="not base64!")
    assert VoiceCallRecorded(call_id="c", audio_b64=base64.b64encode(b"RIFF").decode()).call_id == "c"
