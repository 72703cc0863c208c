"""What the voice and vision objectives send: the operator's file, or real speech and faces made here."""

from __future__ import annotations

import io
import wave
from pathlib import Path

import pytest

from serve.slo.media import MediaUnavailable, call_recording, video_call


def test_the_default_call_is_real_speech_of_about_fifteen_seconds() -> None:
    audio, content_type = call_recording(None)
    assert content_type == "audio/wav"
    with wave.open(io.BytesIO(audio)) as recording:
        seconds = recording.getnframes() / recording.getframerate()
    assert 10 < seconds < 25


def test_the_default_video_holds_the_faces_at_two_frames_a_second(tmp_path: Path) -> None:
    from models.vision.analyzer import sample_video

    video, content_type = video_call(None, frames=6)
    assert content_type == "video/x-msvideo" and video[:4] == b"RIFF"
    frames, seconds = sample_video(video, fps=2.0)
    assert len(frames) == 6 and seconds == pytest.approx(3.0, abs=0.6)


def test_the_operators_file_is_sent_as_it_is(tmp_path: Path) -> None:
    recording = tmp_path / "call.flac"
    recording.write_bytes(b"fLaC...")
    assert call_recording(recording) == (b"fLaC...", "audio/flac")
    odd = tmp_path / "call.unknownext"
    odd.write_bytes(b"x")
    with pytest.raises(MediaUnavailable, match="cannot tell the media type"):
        video_call(odd)
    with pytest.raises(MediaUnavailable, match="cannot read"):
        call_recording(tmp_path / "missing.wav")
