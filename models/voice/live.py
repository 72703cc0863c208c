"""Live transcription: audio chunks in; partial transcripts, finalised segments, a running summary and, at
the end, the offline analysis of the whole call out.

How it works (the approach of whisper-streaming's local agreement, simplified by the VAD):

* Audio accumulates in a *pending* buffer. Every ``every_s`` of new audio, one :func:`live_step` runs
  on the whole pending buffer: the VAD finds the speech in it; every utterance already followed by
  ``END_OF_UTTERANCE_S`` of silence is *finalised* and cut from the buffer; what is still being said
  is the *partial*.
* The running transcript (partials and finals) of English speech comes from the ``fast`` profile
  (tiny.en), greedy and without word timestamps, whatever the call's profile: Whisper encodes a full
  30 s window per pass, and base's pass alone takes longer than the latency budget on two cores. The
  call's profile (base by default) produces the end-of-call analysis. Each step is one decoder pass
  over the whole pending buffer (at most 15 s of speech, one 30 s window): segments ending by the cut
  are final, the rest is the partial, so a step that finalises costs no more than one that does not.
* An utterance that runs past ``MAX_PENDING_S`` without a pause is cut a second before the buffer's
  end and finalised, so the buffer and each step's work stay bounded.
* Steps never queue: audio that arrives while one runs is taken by the next, so a slow machine gives
  fewer, larger steps rather than a growing backlog.
* At the end the whole recording goes through the offline analyzer, so the final analysis *is* the
  offline one (speaker turns, per-speaker figures, sentiment).

The session (:class:`LiveCall`, :func:`run_live`) is plain asyncio and knows nothing of Ray: the gateway
runs the step on the Voice deployment; the evaluation runs it in-process.
"""

from __future__ import annotations

import asyncio
import io
import wave
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
from numpy.typing import NDArray

from models.errors import InvalidInput
from models.sentiment.classifier import Sentiment
from models.voice.analyzer import Segment, VoiceAnalysis
from models.voice.vad import SAMPLE_RATE, Span, speech_spans

if TYPE_CHECKING:
    from models.voice.analyzer import VoiceAnalyzer
    from models.voice.profiles import Profile

END_OF_UTTERANCE_S = 0.6
MAX_PENDING_S = 15.0
KEEP_WITHOUT_SPEECH_S = 0.5  # kept when the buffer holds no speech: a word may be starting at its end
STEP_EVERY_S = 0.5
CUT_SLACK_S = 0.1  # decoder timestamps are 20 ms steps and drift a little around a pause
IDLE_TIMEOUT_S = 10.0
Encoding = Literal["pcm16", "opus"]
ENCODINGS: tuple[Encoding, ...] = ("pcm16", "opus")


@dataclass(frozen=True)
class LiveStep:
    finals: list[Segment]  # times relative to the start of the buffer the step was given
    consumed_s: float  # how much of that buffer is done with (finalised, or silence)
    partial: str


def _cut_point(spans: list[Span], duration: float, flush: bool, pad: float) -> float:
    """Where the finalised part of the buffer ends (0: nothing to finalise yet)."""
    if flush:
        return duration
    closed = [s for s in spans if duration - s.end >= END_OF_UTTERANCE_S]
    if closed:
        return min(duration, closed[-1].end + pad)
    # Only the last stretch is open (any earlier one ended a VAD pause before it): past the bound with no
    # pause long enough for the VAD, it is cut a second before the end (rare: 15 s without a breath).
    return duration - 1.0 if duration > MAX_PENDING_S else 0.0


def live_profile(profile: Profile | None, language: str) -> Profile | None:
    """The model of a live call's running transcript: tiny.en for English (its 30 s encoder pass is a third of
    base's, which keeps a word on screen within about 1.5 s on two cores); the call's own otherwise."""
    return "fast" if (language or "en") == "en" else profile


def live_step(
    analyzer: VoiceAnalyzer, samples: NDArray[np.float32], profile: Profile | None, language: str, flush: bool
) -> LiveStep:
    """One step over the pending buffer: finalise closed utterances, decode the open one as the partial."""
    duration = samples.size / SAMPLE_RATE
    spans = speech_spans(samples, analyzer.vad)
    if not spans:
        return LiveStep([], duration if flush else max(0.0, duration - KEEP_WITHOUT_SPEECH_S), "")
    cut = _cut_point(spans, duration, flush, analyzer.vad.pad_s)
    # One decoder pass over the whole buffer: segments that end by the cut are final, the rest is the partial.
    segments, _, _ = analyzer.transcribe(samples, live_profile(profile, language), language, spans, quick=True)
    finals = [s for s in segments if s.end <= cut + CUT_SLACK_S]
    straddling = [s for s in segments if s.start < cut < s.end - CUT_SLACK_S]
    if straddling:  # a segment runs across the pause the cut was put in: finalise only what ends before it
        finals = [s for s in finals if s.end <= straddling[0].start]
        cut = finals[-1].end if finals else 0.0
    partial = " ".join(s.text for s in segments if s not in finals).strip()
    return LiveStep(finals, cut, partial)


class ChunkDecoder:
    """Audio chunks to 16 kHz float samples: little-endian 16-bit PCM at 16 kHz, or one raw Opus packet each."""

    def __init__(self, encoding: str = "pcm16") -> None:
        if encoding not in ENCODINGS:
            raise InvalidInput(f"unknown audio encoding {encoding!r}: choose one of {', '.join(ENCODINGS)}")
        self.encoding = encoding
        self._odd = b""
        self._codec: Any = None
        self._resampler: Any = None
        if encoding == "opus":
            import av

            self._codec = av.CodecContext.create("libopus", "r")
            self._codec.sample_rate = 48_000
            self._codec.layout = "mono"
            self._resampler = av.AudioResampler(format="flt", layout="mono", rate=SAMPLE_RATE)

    def decode(self, data: bytes) -> NDArray[np.float32]:
        if self.encoding == "pcm16":
            data, self._odd = self._odd + data, b""
            if len(data) % 2:
                data, self._odd = data[:-1], data[-1:]
            return np.frombuffer(data, dtype="<i2").astype(np.float32) / 32768.0
        import av

        try:
            frames = self._codec.decode(av.Packet(data))
        except Exception as exc:  # PyAV raises its own error types for a bad packet
            raise InvalidInput(f"an audio chunk is not an Opus packet ({type(exc).__name__})") from exc
        out = [r.to_ndarray().reshape(-1) for frame in frames for r in self._resampler.resample(frame)]
        return np.concatenate(out).astype(np.float32) if out else np.zeros(0, dtype=np.float32)


@dataclass
class LiveUpdate:
    """What the client receives. ``audio_s``: seconds of audio the server had received when it was made."""

    kind: Literal["partial", "final", "summary", "analysis", "notice"]
    audio_s: float
    text: str = ""
    start: float = 0.0
    end: float = 0.0
    sentiment: Sentiment | None = None
    analysis: VoiceAnalysis | None = None

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"type": self.kind, "audio_s": round(self.audio_s, 2)}
        if self.kind in ("partial", "final"):
            out |= {"text": self.text, "start": round(self.start, 2), "end": round(self.end, 2)}
        if self.kind == "final":
            out["sentiment"] = None if self.sentiment is None else asdict(self.sentiment)
        if self.kind in ("summary", "notice"):
            out["text"] = self.text
        if self.kind == "analysis" and self.analysis is not None:
            out["analysis"] = self.analysis.as_dict()
        return out


StepFn = Callable[[NDArray[np.float32], bool], Awaitable[LiveStep]]
ScoreFn = Callable[[list[str]], Awaitable[list[Sentiment]]]
SummaryFn = Callable[[str], Awaitable[str]]
FinishFn = Callable[[bytes], Awaitable[VoiceAnalysis]]


@dataclass
class LiveCall:
    """The state of one live call: all audio (for the final analysis), the pending buffer, the finals."""

    step: StepFn
    max_seconds: float
    sentiment: ScoreFn | None = None
    summary: SummaryFn | None = None
    summary_every: int = 3  # finalised segments between running summaries
    chunks: list[NDArray[np.float32]] = field(default_factory=list)
    received: int = 0
    pending: NDArray[np.float32] = field(default_factory=lambda: np.zeros(0, dtype=np.float32))
    pending_start_s: float = 0.0
    finals: list[LiveUpdate] = field(default_factory=list)
    _stepped_at: int = 0
    _last_partial: str = ""
    _summaries: int = 0

    @property
    def received_s(self) -> float:
        return self.received / SAMPLE_RATE

    @property
    def unprocessed_s(self) -> float:
        return (self.received - self._stepped_at) / SAMPLE_RATE

    def add(self, samples: NDArray[np.float32]) -> None:
        if self.received + samples.size > self.max_seconds * SAMPLE_RATE:
            raise InvalidInput(f"the call is longer than the {self.max_seconds:.0f} s limit")
        self.chunks.append(samples)
        self.received += samples.size
        self.pending = np.concatenate([self.pending, samples])

    async def advance(self, flush: bool) -> list[LiveUpdate]:
        self._stepped_at = self.received
        given = self.pending
        start = self.pending_start_s
        if given.size == 0:
            return []
        result = await self.step(given, flush)
        updates = [
            LiveUpdate("final", self.received_s, s.text, start + s.start, start + s.end)
            for s in result.finals
            if s.text
        ]
        if updates and self.sentiment is not None:
            for update, scored in zip(updates, await self.sentiment([u.text for u in updates]), strict=True):
                update.sentiment = scored
        self.finals.extend(updates)
        consumed = round(result.consumed_s * SAMPLE_RATE)
        self.pending = self.pending[consumed:]  # audio added during the step stays at the end
        self.pending_start_s = start + consumed / SAMPLE_RATE
        if not flush and result.partial != self._last_partial:
            self._last_partial = result.partial
            end = start + given.size / SAMPLE_RATE
            updates.append(LiveUpdate("partial", self.received_s, result.partial, self.pending_start_s, end))
        if self.summary is not None and len(self.finals) // self.summary_every > self._summaries:
            self._summaries = len(self.finals) // self.summary_every
            updates.append(LiveUpdate("summary", self.received_s, await self.summary(self.transcript)))
        return updates

    @property
    def transcript(self) -> str:
        return " ".join(u.text for u in self.finals)

    def wav(self) -> bytes:
        """The call's audio as a WAV: for PCM input, exactly the samples the client sent."""
        samples = np.concatenate(self.chunks) if self.chunks else np.zeros(0, dtype=np.float32)
        return pcm_wav(np.clip(np.round(samples * 32768), -32768, 32767).astype("<i2").tobytes())


def pcm_wav(pcm: bytes) -> bytes:
    """16 kHz 16-bit mono PCM wrapped as a WAV file."""
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(SAMPLE_RATE)
        out.writeframes(pcm)
    return buffer.getvalue()


async def run_live(
    chunks: AsyncIterator[bytes],
    call: LiveCall,
    decoder: ChunkDecoder,
    finish: FinishFn,
    *,
    every_s: float = STEP_EVERY_S,
    idle_timeout_s: float = IDLE_TIMEOUT_S,
) -> AsyncGenerator[LiveUpdate, None]:
    """Drive one live call: read chunks in the background, step as audio arrives, finish with the analysis.

    A client that stops sending for ``idle_timeout_s`` without ending the stream gets a notice, then the
    finals and the analysis of what it sent; a client that goes away cancels this generator, and the
    reader with it. Bad audio (odd encoding, over the length limit) raises :class:`InvalidInput`.
    """
    arrived = asyncio.Event()

    async def read() -> None:
        try:
            async for data in chunks:
                if data:
                    call.add(decoder.decode(data))
                    arrived.set()
        finally:
            arrived.set()

    reader = asyncio.create_task(read())
    try:
        while True:
            try:
                await asyncio.wait_for(arrived.wait(), idle_timeout_s)
            except TimeoutError:
                yield LiveUpdate("notice", call.received_s, f"no audio for {idle_timeout_s:.0f} s: the call is closed")
                break
            arrived.clear()
            if reader.done():
                reader.result()  # raises what the reader raised (bad audio)
                break
            if call.unprocessed_s >= every_s:
                for update in await call.advance(flush=False):
                    yield update
        for update in await call.advance(flush=True):
            yield update
        if call.received:
            yield LiveUpdate("analysis", call.received_s, analysis=await finish(call.wav()))
    finally:
        reader.cancel()
