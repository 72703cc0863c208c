"""Voice activity detection with the Silero VAD (v6, ONNX) that ships inside faster-whisper.

Whisper fills silence with words ("You", ". . .") and its segment spans cover
pauses, so the engine decides *where speech is* before decoding: only speech
(plus a little padding) reaches the model, silence and hold music cost
nothing, and talk/silence ratios come from these spans, never from the
decoder's output.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

SAMPLE_RATE = 16_000


@dataclass(frozen=True)
class Span:
    """A stretch of audio in seconds."""

    start: float
    end: float

    @property
    def length(self) -> float:
        return self.end - self.start


@dataclass(frozen=True)
class VadSettings:
    threshold: float = 0.5
    min_speech_ms: int = 250  # shorter blips (clicks, breaths) are not speech
    min_silence_ms: int = 400  # a pause this long ends a stretch of speech (a turn boundary for diarization)
    pad_s: float = 0.2  # context given to the decoder on each side of a stretch


def speech_spans(samples: NDArray[np.float32], settings: VadSettings = VadSettings()) -> list[Span]:
    """Unpadded stretches of speech, in order (empty for silence, noise and music)."""
    from faster_whisper.vad import VadOptions, get_speech_timestamps

    if samples.size < SAMPLE_RATE // 10:
        return []
    options = VadOptions(
        threshold=settings.threshold,
        min_speech_duration_ms=settings.min_speech_ms,
        min_silence_duration_ms=settings.min_silence_ms,
        speech_pad_ms=0,
    )
    chunks = get_speech_timestamps(samples, options, sampling_rate=SAMPLE_RATE)
    return [Span(c["start"] / SAMPLE_RATE, c["end"] / SAMPLE_RATE) for c in chunks]


def padded(spans: list[Span], pad_s: float, duration_s: float) -> list[Span]:
    """Spans widened by ``pad_s`` each side (within the audio), overlapping ones merged."""
    out: list[Span] = []
    for span in spans:
        start, end = max(0.0, span.start - pad_s), min(duration_s, span.end + pad_s)
        if out and start <= out[-1].end:
            out[-1] = Span(out[-1].start, max(out[-1].end, end))
        else:
            out.append(Span(start, end))
    return out


def total(spans: list[Span]) -> float:
    """Seconds covered (spans must not overlap, as :func:`speech_spans` returns them)."""
    return sum(span.length for span in spans)
