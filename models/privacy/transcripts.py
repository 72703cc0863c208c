"""A voice analysis with the personal identifiers of its transcript redacted everywhere the words appear:
the transcript, each segment's text, the word list and the keywords (timings and scores unchanged)."""

from __future__ import annotations

from dataclasses import replace

from models.privacy.pii import find, redact
from models.voice.analyzer import VoiceAnalysis, Word


def redact_words(words: list[Word], transcript: str) -> list[Word]:
    """The words of each identifier found in ``transcript`` become one word ``[KIND]`` from the first one's
    start to the last one's end. Words are placed in the transcript in order (the recogniser may or may
    not keep their leading spaces); a word that cannot be placed is redacted on its own."""
    spans = find(transcript)
    placed: list[tuple[int, int] | None] = []
    cursor = 0
    for w in words:
        token = w.word.strip()
        at = transcript.find(token, cursor) if token else -1
        if at < 0:
            placed.append(None)
            continue
        placed.append((at, at + len(token)))
        cursor = at + len(token)
    out: list[Word] = []
    i = 0
    while i < len(words):
        where = placed[i]
        span = next((s for s in spans if where and where[0] < s.end and s.start < where[1]), None)
        if span is None:
            word = words[i]
            if where is None and find(word.word):
                word = replace(word, word=redact(word.word).text)
            out.append(word)
            i += 1
            continue
        first = i
        while i < len(words) and (p := placed[i]) is not None and p[0] < span.end:
            i += 1
        lead = " " if words[first].word.startswith(" ") else ""
        out.append(
            replace(
                words[first],
                word=f"{lead}[{span.kind}]",
                end=words[i - 1].end,
                probability=min(w.probability for w in words[first:i]),
            )
        )
    return out


def redact_voice(analysis: VoiceAnalysis) -> tuple[VoiceAnalysis, dict[str, int]]:
    """The analysis with its identifiers replaced, and how many of each kind the transcript had."""
    whole = redact(analysis.transcript)
    parts = [redact(s.text) for s in analysis.segments]
    if not whole.changed and not any(p.changed for p in parts):
        return analysis, {}
    segments = [replace(s, text=p.text) for s, p in zip(analysis.segments, parts, strict=True)]
    keywords = [k for k in (redact(k).text for k in analysis.keywords) if not k.startswith("[")]
    return (
        replace(
            analysis,
            transcript=whole.text,
            segments=segments,
            words=redact_words(analysis.words, analysis.transcript),
            keywords=keywords,
        ),
        whole.counts,
    )
