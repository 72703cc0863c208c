"""Voice activity detection: silence and noise are not speech; pauses split speech."""

from __future__ import annotations

import numpy as np

from models.voice.vad import Span, padded, speech_spans, total
from tests.unit.models.voice.conftest import pause


def test_silence_and_faint_noise_have_no_speech() -> None:
    assert speech_spans(pause(5)) == []
    noise = np.random.default_rng(1).normal(0, 0.01, 16000 * 5).astype(np.float32)
    assert speech_spans(noise) == []
    assert speech_spans(pause(0.05)) == []  # too short to judge


def test_a_pause_splits_speech_and_spans_cover_the_talking(two_voices: tuple[np.ndarray, np.ndarray]) -> None:
    rep, customer = two_voices
    audio = np.concatenate([pause(1.0), rep, pause(1.5), customer, pause(1.0)])
    spans = speech_spans(audio)
    assert len(spans) == 2
    first_end = 1.0 + rep.size / 16000
    assert abs(spans[0].start - 1.0) < 0.3 and abs(spans[0].end - first_end) < 0.3
    assert spans[1].start > first_end + 1.0
    assert abs(total(spans) - (rep.size + customer.size) / 16000) < 1.0


def test_padding_widens_within_the_audio_and_merges() -> None:
    spans = [Span(0.1, 1.0), Span(1.3, 2.0), Span(5.0, 5.9)]
    assert padded(spans, 0.2, 6.0) == [Span(0.0, 2.2), Span(4.8, 6.0)]
