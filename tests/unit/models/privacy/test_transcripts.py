"""Redacting a voice analysis: transcript, segments, words (timings kept) and keywords."""

from __future__ import annotations

from models.privacy.transcripts import redact_voice, redact_words
from models.voice.analyzer import Segment, VoiceAnalysis, Word


def _words(text: str) -> list[Word]:
    return [
        Word(f" {w}", start=i * 0.5, end=i * 0.5 + 0.4, probability=0.9 - i * 0.01) for i, w in enumerate(text.split())
    ]


def _analysis(text: str) -> VoiceAnalysis:
    return VoiceAnalysis(
        transcript=text,
        language="ro",
        duration_s=10.0,
        segments=[Segment(0.0, 10.0, text)],
        words=_words(text),
        speaking_ratio=0.8,
        silence_ratio=0.2,
        words_per_minute=120.0,
        keywords=["pretul", "ana.pop@exemplu.ro"],
        processing_s=1.0,
        real_time_factor=0.1,
    )


def test_words_of_one_identifier_become_one_placeholder_word_spanning_their_time() -> None:
    words = _words("sunati la 0722 123 456 maine")
    out = redact_words(words, "sunati la 0722 123 456 maine")
    assert [w.word for w in out] == [" sunati", " la", " [PHONE]", " maine"]
    assert (out[2].start, out[2].end) == (words[2].start, words[4].end)
    assert out[2].probability == min(w.probability for w in words[2:5])


def test_a_voice_analysis_is_redacted_everywhere_its_words_appear() -> None:
    text = "Scrieti la ana.pop@exemplu.ro sau sunati la 0722 123 456, CNP 1960529460012."
    redacted, counts = redact_voice(_analysis(text))
    assert redacted.transcript == "Scrieti la [EMAIL] sau sunati la [PHONE], CNP [CNP]."
    assert redacted.segments[0].text == redacted.transcript
    assert "".join(w.word for w in redacted.words).strip() == "Scrieti la [EMAIL] sau sunati la [PHONE] CNP [CNP]"
    assert redacted.keywords == ["pretul"]
    assert counts == {"EMAIL": 1, "PHONE": 1, "CNP": 1}
    assert redacted.duration_s == 10.0 and redacted.words_per_minute == 120.0


def test_an_analysis_without_identifiers_is_returned_as_it_is() -> None:
    analysis = _analysis("Pretul este bun, comanda 4006381333931 a ajuns.")
    assert redact_voice(analysis) == (analysis, {})


def test_words_without_leading_spaces_are_placed_in_the_transcript() -> None:
    """faster-whisper's word list may come stripped and split inside a number (``0722``, ``-123``, ``-456``)."""
    words = [
        Word(w, start=i * 0.5, end=i * 0.5 + 0.4, probability=0.9)
        for i, w in enumerate(["Call", "me", "on", "0722", "-123", "-456", "tomorrow."])
    ]
    out = redact_words(words, "Call me on 0722-123-456 tomorrow.")
    assert [w.word for w in out] == ["Call", "me", "on", "[PHONE]", "tomorrow."]
    assert (out[3].start, out[3].end) == (1.5, 2.9)
