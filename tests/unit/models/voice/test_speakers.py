"""Speaker turns from the GE2E encoder's embeddings."""

from __future__ import annotations

import numpy as np

from models.voice.speakers import N_MELS, SpeakerEncoder, diarize, mel_filters, mel_frames, normalise_volume
from models.voice.vad import speech_spans
from tests.unit.models.voice.conftest import pause


def test_mel_front_end_shapes() -> None:
    filters = mel_filters()
    assert filters.shape == (N_MELS, 201) and (filters >= 0).all() and (filters.sum(axis=1) > 0).all()
    assert mel_frames(np.zeros(16000, dtype=np.float32)).shape == (101, N_MELS)  # centred frames every 10 ms
    quiet = np.full(16000, 0.001, dtype=np.float32)
    assert np.abs(normalise_volume(quiet)).max() > 0.01  # raised to -30 dBFS
    loud = np.full(16000, 0.5, dtype=np.float32)
    assert np.array_equal(normalise_volume(loud), loud)  # never lowered


def test_one_voice_is_closer_to_itself_than_to_another(two_voices: tuple[np.ndarray, np.ndarray]) -> None:
    rep, customer = two_voices
    encoder = SpeakerEncoder()
    windows = [mel_frames(normalise_volume(x))[start : start + 160] for x in (rep, customer) for start in (0, 160)]
    vectors = encoder.embed(np.stack(windows))
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    same = min(vectors[0] @ vectors[1], vectors[2] @ vectors[3])
    different = max(vectors[0] @ vectors[2], vectors[1] @ vectors[3])
    assert same > different + 0.1


def test_two_voices_become_two_speakers_in_order(two_voices: tuple[np.ndarray, np.ndarray]) -> None:
    rep, customer = two_voices
    audio = np.concatenate([pause(0.5), rep, pause(0.8), customer, pause(0.8), rep, pause(0.5)])
    spans = speech_spans(audio)
    encoder = SpeakerEncoder()
    turns = diarize(encoder, audio, spans)
    assert [t.speaker for t in turns] == ["S1", "S2", "S1"]
    boundary = 0.5 + rep.size / 16000
    assert abs(turns[0].end - boundary) < 0.4
    assert {t.speaker for t in diarize(encoder, audio, spans, speakers=1)} == {"S1"}
    assert diarize(encoder, audio, []) == []
