"""Unit tests of ``streams.schemas``."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest
from pydantic import ValidationError

from streams.schemas import CONSUMED, PUBLISHED, LinkedInSignal, VoiceCallRecorded, json_schemas, main, misnamed


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


def test_linkedin_signals_are_typed_per_kind() -> None:
    who = {"profile_url": "linkedin.com/in/ana"}
    ok = LinkedInSignal.model_validate({"kind": "job_change", "prospect": who, "new_company": "X", "new_title": "CTO"})
    assert ok.details() == {"new_company": "X", "new_title": "CTO"}
    assert ok.prospect.person().key() == "profile:in/ana"
    bad = [
        ({"kind": "job_change", "prospect": {"email": "a@b.ro"}}, "needs new_company"),
        ({"kind": "event_signup", "prospect": {"email": "a@b.ro"}}, "needs event_name"),
        ({"kind": "profile_view", "prospect": {"email": "a@b.ro"}, "reaction": "like"}, "reaction is for a post"),
        ({"kind": "profile_view", "prospect": {"name": "Ana Pop"}}, "to be recognised again"),
        ({"kind": "profile_view", "prospect": {"profile_url": "https://example.com/in/ana"}}, "to be recognised"),
        ({"kind": "wave", "prospect": {"email": "a@b.ro"}}, "kind"),
    ]
    for body, reason in bad:
        with pytest.raises(ValidationError, match=reason):
            LinkedInSignal.model_validate(body)
