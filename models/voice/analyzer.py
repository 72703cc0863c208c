"""Voice analysis with faster-whisper (CTranslate2, int8 on CPU), fully offline.

Pipeline: decode (any container/codec PyAV reads, any rate, mono or stereo) →
Silero VAD (:mod:`models.voice.vad`) → Whisper on the speech only, with
bounded, deterministic decoding → speaker turns (stereo: one speaker per
channel; mono: :mod:`models.voice.speakers`) → per-speaker figures.

Two model profiles (:mod:`models.voice.profiles`): ``fast`` (tiny.en) and
``accurate`` (base); both are loaded lazily, once, on first use.

Decoding is bounded and repeatable: greedy-free beam search at temperature 0
only (no random temperature fallback), never conditioned on earlier text (a
runaway segment cannot seed the next), a token cap per 30 s window, and
segments that still look like a repetition loop (compression ratio above
2.4) or like filled silence (high no-speech probability and low log-prob) are
dropped. Silence and noise never reach the decoder, so they give no words,
and talk/silence ratios come from the VAD, not from the decoder.
"""

from __future__ import annotations

import io
import math
import re
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
from numpy.typing import NDArray

from models.errors import InvalidInput
from models.sentiment.classifier import Sentiment
from models.voice import profiles
from models.voice.profiles import Profile
from models.voice.speakers import SpeakerEncoder, Turn, diarize
from models.voice.vad import SAMPLE_RATE, Span, VadSettings, padded, speech_spans, total

MAX_AUDIO_S = 2 * 3600
MAX_TOKENS_PER_WINDOW = 200  # a fast talker says ~130 tokens in 30 s; more is a repetition loop
COMPRESSION_RATIO_LIMIT = 2.4
NO_SPEECH_PROBABILITY = 0.6
LOG_PROB_FLOOR = -1.0
LOOP_REPETITION_PENALTY = 1.1  # the second decode of a transcript that looped at temperature 0
INTERRUPTION_GAP_S = 0.2  # a turn starting sooner than this after the other side's (or during it) cuts in
CHANNEL_CORRELATION_SAME = 0.98  # stereo whose channels correlate this much is mono in a stereo container
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
    """The ``fast`` profile's folder (kept for callers of the single-model API)."""
    return profiles.tiny_path()


@dataclass(frozen=True)
class DecodedAudio:
    mono: NDArray[np.float32]
    channels: tuple[NDArray[np.float32], NDArray[np.float32]] | None  # two distinct channels of a stereo call

    @property
    def duration_s(self) -> float:
        return self.mono.size / SAMPLE_RATE


def _channel_count(source: Any) -> int:
    import av

    try:
        with av.open(source, mode="r", metadata_errors="ignore") as container:
            streams = container.streams.audio
            channels: int = streams[0].codec_context.channels if streams else 0
            return channels
    except Exception as exc:  # PyAV raises its own error types for every codec/container problem
        raise InvalidInput(f"cannot decode the audio ({type(exc).__name__}): use WAV, FLAC, OGG or MP3") from exc


def decode_call(audio: bytes | str | Path, max_seconds: float = MAX_AUDIO_S) -> DecodedAudio:
    """Mono float32 samples at 16 kHz, plus both channels when a stereo recording holds two different sides."""
    from faster_whisper.audio import decode_audio

    if isinstance(audio, bytes | bytearray):
        if not audio:
            raise InvalidInput("the audio is empty")

        def source() -> Any:
            return io.BytesIO(audio)

    else:
        if not Path(audio).is_file():
            raise InvalidInput(f"no audio file at {audio}")

        def source() -> Any:
            return str(audio)

    stereo = _channel_count(source()) == 2
    try:
        decoded = decode_audio(source(), sampling_rate=SAMPLE_RATE, split_stereo=stereo)
    except Exception as exc:  # as above
        raise InvalidInput(f"cannot decode the audio ({type(exc).__name__}): use WAV, FLAC, OGG or MP3") from exc
    channels = None
    if stereo:
        left, right = (np.asarray(c, dtype=np.float32) for c in decoded)
        mono = ((left + right) / 2).astype(np.float32)
        if left.size and _distinct(left, right):
            channels = (left, right)
    else:
        mono = np.asarray(decoded, dtype=np.float32)
    if mono.size == 0:
        raise InvalidInput("the audio holds no samples")
    if mono.size / SAMPLE_RATE > max_seconds:
        raise InvalidInput(f"the audio lasts {mono.size / SAMPLE_RATE:.0f} s; the limit is {max_seconds:.0f} s")
    return DecodedAudio(mono, channels)


def _distinct(left: NDArray[np.float32], right: NDArray[np.float32]) -> bool:
    energy = float(np.dot(left, left)) * float(np.dot(right, right))
    if energy <= 0:
        return bool(np.any(left) or np.any(right))  # one side silent: still two sides (the other said nothing)
    return float(np.dot(left, right)) / math.sqrt(energy) < CHANNEL_CORRELATION_SAME


def decode(audio: bytes | str | Path, max_seconds: float = MAX_AUDIO_S) -> NDArray[np.float32]:
    """Mono float32 samples at 16 kHz from encoded audio bytes or a file (at most ``max_seconds`` long)."""
    return decode_call(audio, max_seconds).mono


@dataclass(frozen=True)
class Word:
    word: str
    start: float
    end: float
    probability: float
    speaker: str | None = None


@dataclass
class Segment:
    start: float
    end: float
    text: str
    sentiment: Sentiment | None = None
    speaker: str | None = None


@dataclass
class SpeakerStats:
    """One speaker. ``role`` is ``rep`` or ``customer`` (every other speaker) when the caller named the rep's side."""

    speaker: str
    role: Literal["rep", "customer"] | None
    channel: int | None
    talk_s: float
    talk_ratio: float  # of the whole recording
    share_of_speech: float  # of all speech in the call
    words: int
    words_per_minute: float
    turns: int
    longest_monologue_s: float
    interruptions: int  # turns this speaker started while, or within 0.2 s after, another was speaking
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
    profile: str = "fast"
    model: str = ""
    no_speech: bool = False  # the VAD heard no speech: no words, nothing decoded
    speech: list[Span] = field(default_factory=list)  # where the VAD heard speech (seconds)
    turns: list[Turn] = field(default_factory=list)
    speakers: list[SpeakerStats] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        """The published form (HTTP answer, stored analysis): all but ``language`` and ``processing_s``."""
        published = asdict(self)
        published.pop("language")
        published.pop("processing_s")
        return published


def texts_to_score(analysis: VoiceAnalysis) -> list[str]:
    """What sentiment scores: every spoken segment, the whole transcript, then each speaker's words (if any)."""
    spoken = [s.text for s in analysis.segments if s.text.strip()]
    if not spoken:
        return []
    return [*spoken, analysis.transcript, *(_speaker_text(analysis, s.speaker) for s in _talkers(analysis))]


def attach_sentiment(analysis: VoiceAnalysis, scored: list[Sentiment]) -> None:
    """Put the results for :func:`texts_to_score` back: segments, the whole call, then the speakers who spoke."""
    results = iter(scored)
    for segment in analysis.segments:
        if segment.text.strip():
            segment.sentiment = next(results)
    analysis.overall_sentiment = next(results, None)
    for speaker in _talkers(analysis):
        speaker.sentiment = next(results, None)


def _talkers(analysis: VoiceAnalysis) -> list[SpeakerStats]:
    return [s for s in analysis.speakers if s.words > 0]


def _speaker_text(analysis: VoiceAnalysis, speaker: str) -> str:
    return " ".join(w.word for w in analysis.words if w.speaker == speaker)


def keywords(text: str, top: int = 8) -> list[str]:
    tokens = [t for t in re.findall(r"[a-z][a-z'-]{2,}", text.lower()) if t not in STOPWORDS]
    return [word for word, _ in Counter(tokens).most_common(top)]


def speech_time(words: list[Word]) -> float:
    """Seconds covered by words, overlapping spans merged."""
    total_s, current_start, current_end = 0.0, None, None
    for w in sorted(words, key=lambda w: w.start):
        if current_end is None or w.start > current_end:
            if current_end is not None and current_start is not None:
                total_s += current_end - current_start
            current_start, current_end = w.start, w.end
        else:
            current_end = max(current_end, w.end)
    if current_end is not None and current_start is not None:
        total_s += current_end - current_start
    return total_s


def speaker_at(turns: list[Turn], t: float) -> str | None:
    """The speaker whose turn holds time ``t`` (else the nearest turn's, within 1 s)."""
    best, distance = None, 1.0
    for turn in turns:
        if turn.start <= t <= turn.end:
            return turn.speaker
        gap = min(abs(turn.start - t), abs(turn.end - t))
        if gap < distance:
            best, distance = turn.speaker, gap
    return best


def speaker_stats(
    turns: list[Turn], words: list[Word], duration_s: float, rep: str | None, channels: dict[str, int]
) -> list[SpeakerStats]:
    """Per-speaker talk time, pace, turns, longest monologue and interruptions from the turns and words."""
    names = sorted({t.speaker for t in turns}, key=lambda n: next(t.start for t in turns if t.speaker == n))
    speech_s = sum(t.end - t.start for t in turns) or 1.0
    ordered = sorted(turns, key=lambda t: t.start)
    out = []
    for name in names:
        own = [t for t in ordered if t.speaker == name]
        talk = sum(t.end - t.start for t in own)
        count = sum(1 for w in words if w.speaker == name)
        interruptions = sum(
            1
            for t in own
            if any(o.speaker != name and o.start < t.start and t.start < o.end + INTERRUPTION_GAP_S for o in ordered)
        )
        role: Literal["rep", "customer"] | None = None
        if rep is not None and len(names) >= 2:  # the rep's side, and everyone else is the customer's
            rep_channel = _channel_index(rep)
            is_rep = rep == name or (rep_channel is not None and channels.get(name) == rep_channel)
            role = "rep" if is_rep else "customer"
        out.append(
            SpeakerStats(
                speaker=name,
                role=role,
                channel=channels.get(name),
                talk_s=round(float(talk), 2),
                talk_ratio=round(float(talk / duration_s), 4) if duration_s else 0.0,
                share_of_speech=round(float(talk / speech_s), 4),
                words=count,
                words_per_minute=round(float(count / (talk / 60)), 1) if talk > 0 else 0.0,
                turns=len(_monologues(ordered, name)),
                longest_monologue_s=round(max((e - s for s, e in _monologues(ordered, name)), default=0.0), 2),
                interruptions=interruptions,
            )
        )
    return out


def _monologues(ordered: list[Turn], name: str) -> list[tuple[float, float]]:
    """The speaker's stretches uninterrupted by anyone else (their consecutive turns merged across pauses)."""
    out: list[tuple[float, float]] = []
    previous: str | None = None
    for turn in ordered:
        if turn.speaker == name:
            if previous == name and out:
                out[-1] = (out[-1][0], turn.end)
            else:
                out.append((turn.start, turn.end))
        previous = turn.speaker
    return out


def _channel_index(rep: str) -> int | None:
    return {"left": 0, "right": 1, "0": 0, "1": 1}.get(rep.lower())


@dataclass(frozen=True)
class AnalyzeOptions:
    """Per-call choices: model profile, spoken language (``auto`` detects; base only), speakers, rep's side."""

    profile: Profile | None = None
    language: str = "en"
    speakers: int | None = None  # exact number of speakers in a mono call, when known
    rep: str | None = None  # "left"/"right" channel of a stereo call, or a speaker id ("S1": the first to speak)


class VoiceAnalyzer:
    """Both Whisper profiles (loaded on first use), the VAD and the speaker encoder; thread-safe."""

    def __init__(
        self,
        model_path: Path | None = None,
        *,
        threads: int = 1,
        beam_size: int = 5,
        max_seconds: float = MAX_AUDIO_S,
        artifacts_dir: Path | None = None,
        default_profile: Profile | None = None,
        vad: VadSettings | None = None,
    ) -> None:
        self.override = Path(model_path) if model_path is not None else None
        if self.override is not None and not (self.override / "model.bin").exists():
            from models.errors import ArtifactNotFound

            raise ArtifactNotFound(f"{self.override} is not a faster-whisper (CTranslate2) model folder (no model.bin)")
        if artifacts_dir is None:
            from infra.settings import Settings

            artifacts_dir = Settings().resolved_artifacts_dir
        self.artifacts_dir = artifacts_dir
        self.default_profile: Profile = default_profile or profiles.DEFAULT_PROFILE
        self.threads = threads
        self.beam_size = beam_size
        self.max_seconds = max_seconds
        self.vad = vad or VadSettings()
        self._models: dict[Profile, Any] = {}
        self._lock = threading.Lock()
        # The default model, the speaker encoder and the VAD session load now: a broken install fails at start,
        # and the first call's real-time factor measures the call, not the loading.
        self.model(self.default_profile)
        self.speaker_encoder = SpeakerEncoder()
        speech_spans(np.zeros(SAMPLE_RATE, dtype=np.float32), self.vad)

    @property
    def version(self) -> str:
        return self.model_name(self.default_profile)

    def model_name(self, profile: Profile) -> str:
        if profile == "accurate" and self.override is not None:
            return f"faster-whisper:{self.override.name}"
        return f"faster-whisper:{profiles.SPECS[profile].model}"

    def model(self, profile: Profile) -> Any:
        with self._lock:
            if profile not in self._models:
                from faster_whisper import WhisperModel

                folder = profiles.model_folder(profile, self.artifacts_dir, self.override)
                self._models[profile] = WhisperModel(
                    str(folder), device="cpu", compute_type="int8", cpu_threads=self.threads, local_files_only=True
                )
            return self._models[profile]

    def transcribe(
        self,
        samples: NDArray[np.float32],
        profile: Profile | None = None,
        language: str = "en",
        spans: list[Span] | None = None,
        *,
        quick: bool = False,
        words: bool = True,
    ) -> tuple[list[Segment], list[Word], str]:
        """Segments and words of the speech in ``samples`` (VAD first unless ``spans`` are given).

        ``quick`` (live partial transcripts): greedy search, no word timestamps; about half the work.
        ``words=False`` skips the word-timestamp alignment pass (live finals, which publish segments only).
        """
        chosen = profile or self.default_profile
        spans = speech_spans(samples, self.vad) if spans is None else spans
        if not spans:
            return [], [], language if language != "auto" else "en"
        duration = samples.size / SAMPLE_RATE
        chunks = [
            {"start": int(s.start * SAMPLE_RATE), "end": int(s.end * SAMPLE_RATE)}
            for s in padded(spans, self.vad.pad_s, duration)
        ]
        speech = np.concatenate([samples[c["start"] : c["end"]] for c in chunks])
        english_only = profiles.SPECS[chosen].english_only and not (chosen == "accurate" and self.override)
        options: dict[str, Any] = {
            "beam_size": 1 if quick else self.beam_size,
            "temperature": 0.0,
            "word_timestamps": words and not quick,
            "language": _language(language, english_only),
            "condition_on_previous_text": False,
            "compression_ratio_threshold": COMPRESSION_RATIO_LIMIT,
            "log_prob_threshold": LOG_PROB_FLOOR,
            "no_speech_threshold": NO_SPEECH_PROBABILITY,
            "max_new_tokens": MAX_TOKENS_PER_WINDOW,
            "vad_filter": False,
        }
        out_segments, out_words, found, looped = self._decode(chosen, speech, chunks, options)
        if looped:
            # A window ran into a repetition loop ("4,500,000,000,…") at temperature 0. Sampling at a higher
            # temperature would fix it but not deterministically; a mild repetition penalty does, and is used
            # only here, so every transcript that decoded cleanly stays exactly what it was.
            retry = {**options, "repetition_penalty": LOOP_REPETITION_PENALTY}
            out_segments, out_words, found, _ = self._decode(chosen, speech, chunks, retry)
        return out_segments, out_words, found

    def _decode(
        self, profile: Profile, speech: NDArray[np.float32], chunks: list[dict[str, int]], options: dict[str, Any]
    ) -> tuple[list[Segment], list[Word], str, bool]:
        """Segments and words with runaway segments dropped, the language, and whether any was dropped."""
        from faster_whisper.transcribe import restore_speech_timestamps

        segments, info = self.model(profile).transcribe(speech, **options)
        out_segments, out_words, looped = [], [], False
        for segment in restore_speech_timestamps(segments, chunks, SAMPLE_RATE):  # decoding happens here
            if _runaway(segment):
                looped = looped or segment.compression_ratio > COMPRESSION_RATIO_LIMIT
                continue
            out_segments.append(Segment(round(segment.start, 2), round(segment.end, 2), segment.text.strip()))
            for w in segment.words or []:
                out_words.append(Word(w.word.strip(), round(w.start, 2), round(w.end, 2), round(w.probability, 3)))
        return out_segments, out_words, info.language, looped

    def analyze(
        self, audio: bytes | str | Path, sentiment: Scorer | None = None, options: AnalyzeOptions = AnalyzeOptions()
    ) -> VoiceAnalysis:
        decoded = decode_call(audio, self.max_seconds)
        profile = options.profile or self.default_profile
        started = time.perf_counter()
        duration = decoded.duration_s
        channels: dict[str, int] = {}
        if decoded.channels is not None:
            segments, words, turns, spans, language = self._by_channel(decoded.channels, profile, options.language)
            channels = {"S1": 0, "S2": 1}
        else:
            spans = speech_spans(decoded.mono, self.vad)
            segments, words, language = self.transcribe(decoded.mono, profile, options.language, spans)
            turns = diarize(self.speaker_encoder, decoded.mono, spans, options.speakers) if words else []
            words = [
                Word(w.word, w.start, w.end, w.probability, speaker_at(turns, (w.start + w.end) / 2)) for w in words
            ]
            for segment in segments:
                segment.speaker = _majority(words, segment)
        transcript = " ".join(s.text for s in segments).strip()
        processing = time.perf_counter() - started
        speaking = min(total(spans), duration)
        analysis = VoiceAnalysis(
            transcript=transcript,
            language=language,
            duration_s=round(duration, 3),
            segments=segments,
            words=words,
            speaking_ratio=round(speaking / duration, 4) if duration else 0.0,
            silence_ratio=round(1 - speaking / duration, 4) if duration else 1.0,
            words_per_minute=round(len(words) / (speaking / 60), 1) if speaking > 0 and words else 0.0,
            keywords=keywords(transcript),
            processing_s=round(processing, 3),
            real_time_factor=round(processing / duration, 4) if duration else 0.0,
            profile=profile,
            model=self.model_name(profile),
            no_speech=not spans,
            speech=[Span(round(s.start, 2), round(s.end, 2)) for s in spans],
            turns=turns,
            speakers=speaker_stats(turns, words, duration, options.rep, channels),
        )
        texts = texts_to_score(analysis)
        if sentiment is not None and texts:
            attach_sentiment(analysis, sentiment(texts))
        return analysis

    def _by_channel(
        self, sides: tuple[NDArray[np.float32], NDArray[np.float32]], profile: Profile, language: str
    ) -> tuple[list[Segment], list[Word], list[Turn], list[Span], str]:
        """A stereo call: each channel is one speaker, transcribed on its own, merged in time."""
        segments: list[Segment] = []
        words: list[Word] = []
        turns: list[Turn] = []
        every_span: list[Span] = []
        detected = language
        for index, side in enumerate(sides):
            name = f"S{index + 1}"
            spans = speech_spans(side, self.vad)
            every_span.extend(spans)
            side_segments, side_words, detected = self.transcribe(side, profile, language, spans)
            segments.extend(Segment(s.start, s.end, s.text, None, name) for s in side_segments)
            words.extend(Word(w.word, w.start, w.end, w.probability, name) for w in side_words)
            turns.extend(Turn(name, round(s.start, 2), round(s.end, 2)) for s in spans)
        segments.sort(key=lambda s: s.start)
        words.sort(key=lambda w: w.start)
        turns.sort(key=lambda t: t.start)
        return segments, words, turns, padded(sorted(every_span, key=lambda s: s.start), 0.0, math.inf), detected


def check_language(options: AnalyzeOptions) -> None:
    """Refuse a language the options cannot transcribe before any audio is taken (a live call checks up front)."""
    _language(options.language, english_only=options.profile == "fast")


def _language(requested: str, english_only: bool) -> str | None:
    """What to tell the decoder: ``None`` detects (first 30 s of speech); English-only models take ``en`` only."""
    requested = (requested or "en").lower()
    if english_only:
        if requested not in ("en", "auto"):
            raise InvalidInput(f"the fast profile (tiny.en) transcribes English only, not {requested!r}: use accurate")
        return "en"
    if requested == "auto":
        return None
    from faster_whisper.tokenizer import _LANGUAGE_CODES

    if requested not in _LANGUAGE_CODES:
        raise InvalidInput(
            f"language must be a Whisper language code such as 'en' or 'ro', or 'auto', not {requested!r}"
        )
    return requested


def _majority(words: list[Word], segment: Segment) -> str | None:
    inside = [w.speaker for w in words if segment.start <= (w.start + w.end) / 2 <= segment.end and w.speaker]
    return Counter(inside).most_common(1)[0][0] if inside else None


def _runaway(segment: Any) -> bool:
    """A repetition loop, or words made up over non-speech, that survived temperature-0 decoding."""
    if segment.compression_ratio > COMPRESSION_RATIO_LIMIT:
        return True
    return bool(segment.no_speech_prob > NO_SPEECH_PROBABILITY and segment.avg_logprob < LOG_PROB_FLOOR)
