"""Voice analysis on speech synthesised with espeak-ng (installed by `make test`)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from models.errors import ArtifactNotFound, InvalidInput
from models.sentiment.classifier import Sentiment
from models.voice.analyzer import VoiceAnalyzer, Word, decode, keywords, speech_time
from models.voice.evaluate import edit_distance, normalise, synthesise

NEUTRAL = Sentiment("neutral", 0.0, {"negative": 0.0, "neutral": 1.0, "positive": 0.0})
TEXT = "The customer asked for a ten percent discount on the annual licence."


@pytest.fixture(scope="module")
def analyzer() -> VoiceAnalyzer:
    return VoiceAnalyzer(threads=2)


@pytest.mark.slow
@pytest.mark.parametrize(("fmt", "rate"), [("wav", 16000), ("flac", 44100), ("ogg", 48000), ("mp3", 22050)])
def test_transcribes_any_format_and_rate(analyzer: VoiceAnalyzer, tmp_path: Path, fmt: str, rate: int) -> None:
    path = synthesise(TEXT, "en-us", 150, rate, fmt, tmp_path, 0)
    result = analyzer.analyze(path.read_bytes(), sentiment=lambda texts: [NEUTRAL for _ in texts])
    reference = normalise(TEXT)
    assert edit_distance(reference, normalise(result.transcript)) / len(reference) <= 0.15, result.transcript
    assert 3.0 < result.duration_s < 8.0
    assert 0.5 < result.speaking_ratio <= 1.0
    assert result.silence_ratio == pytest.approx(1 - result.speaking_ratio, abs=1e-3)
    assert 100 < result.words_per_minute < 260
    assert "discount" in result.keywords
    assert result.words and all(w.start <= w.end for w in result.words)
    assert result.segments[0].sentiment == NEUTRAL
    assert result.overall_sentiment == NEUTRAL
    published = result.as_dict()
    assert "language" not in published and "processing_s" not in published
    assert published["overall_sentiment"]["label"] == "neutral" and published["segments"][0]["sentiment"]["score"] == 0
    assert result.real_time_factor < 1.0


def test_bad_audio_is_a_typed_error(tmp_path: Path) -> None:
    with pytest.raises(InvalidInput, match="empty"):
        decode(b"")
    with pytest.raises(InvalidInput, match="cannot decode"):
        decode(b"this is not audio at all" * 100)
    with pytest.raises(InvalidInput, match="no audio file"):
        decode(tmp_path / "missing.wav")
    long_audio = synthesise("This recording is a little too long.", "en-us", 150, 16000, "wav", tmp_path, 1)
    with pytest.raises(InvalidInput, match="the limit is 1 s"):
        decode(long_audio, max_seconds=1.0)
    with pytest.raises(ArtifactNotFound, match=r"model\.bin"):
        VoiceAnalyzer(tmp_path)


def test_speech_time_merges_overlaps_and_keywords_skip_stopwords() -> None:
    words = [Word("a", 0.0, 1.0, 1.0), Word("b", 0.5, 1.5, 1.0), Word("c", 3.0, 4.0, 1.0)]
    assert speech_time(words) == pytest.approx(2.5)
    assert keywords("the renewal and the renewal discount discount discount") == ["discount", "renewal"]


def test_wer_normalisation() -> None:
    assert normalise("On the 15th of June, 10% off 12,000 licences") == [
        "on",
        "the",
        "fifteenth",
        "of",
        "june",
        "ten",
        "percent",
        "off",
        "twelve",
        "thousand",
        "licences",
    ]
    assert edit_distance(["a", "b", "c"], ["a", "x", "c", "d"]) == 2
    assert np.isclose(edit_distance([], []), 0)
