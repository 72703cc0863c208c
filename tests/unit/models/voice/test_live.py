"""Live transcription: chunk decoding, when utterances are finalised, and the session's edge cases."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator
from pathlib import Path

import numpy as np
import pytest
from numpy.typing import NDArray

from models.errors import InvalidInput
from models.voice.analyzer import Segment, VoiceAnalysis, VoiceAnalyzer
from models.voice.evaluate import conversation, edit_distance, normalise
from models.voice.live import (
    ChunkDecoder,
    LiveCall,
    LiveStep,
    LiveUpdate,
    _cut_point,
    live_step,
    pcm_wav,
    run_live,
)
from models.voice.vad import Span


def test_pcm_chunks_may_split_a_sample() -> None:
    decoder = ChunkDecoder("pcm16")
    pcm = (np.array([0.5, -0.25, 0.125]) * 32768).astype("<i2").tobytes()
    first, second = decoder.decode(pcm[:3]), decoder.decode(pcm[3:])
    assert np.allclose(np.concatenate([first, second]), [0.5, -0.25, 0.125])
    with pytest.raises(InvalidInput, match="unknown audio encoding"):
        ChunkDecoder("mp3")


def test_opus_packets_decode_to_16khz() -> None:
    import av

    encoder = av.CodecContext.create("libopus", "w")
    encoder.sample_rate, encoder.layout, encoder.format = 48_000, "mono", "s16"
    tone = (np.sin(np.arange(48_000) * 2 * np.pi * 440 / 48_000) * 8000).astype(np.int16)
    packets = []
    for start in range(0, tone.size, 960):  # 20 ms frames, as WebRTC sends them
        frame = av.AudioFrame.from_ndarray(tone[None, start : start + 960], format="s16", layout="mono")
        frame.sample_rate = 48_000
        packets += [bytes(p) for p in encoder.encode(frame)]
    decoder = ChunkDecoder("opus")
    samples = np.concatenate([decoder.decode(p) for p in packets])
    assert abs(samples.size - 16_000) < 1_000 and np.abs(samples).max() > 0.1
    with pytest.raises(InvalidInput, match="not an Opus packet"):
        ChunkDecoder("opus").decode(b"\xff" * 3)


def test_utterances_are_finalised_after_a_pause_or_when_too_long() -> None:
    spans = [Span(0.5, 2.0), Span(3.0, 4.5)]
    assert _cut_point(spans, 5.0, flush=True, pad=0.2) == 5.0
    assert _cut_point(spans, 4.8, flush=False, pad=0.2) == pytest.approx(2.2)  # the first is closed, not the second
    assert _cut_point([Span(0.5, 4.5)], 4.8, flush=False, pad=0.2) == 0.0  # still talking
    assert _cut_point([Span(0.0, 16.0)], 16.0, flush=False, pad=0.2) == 15.0  # 16 s without a pause: cut
    assert _cut_point([Span(0.0, 14.0)], 14.0, flush=False, pad=0.2) == 0.0


async def _chunks(parts: list[bytes], then_wait: float = 0.0) -> AsyncIterator[bytes]:
    for part in parts:
        yield part
        await asyncio.sleep(0)
    await asyncio.sleep(then_wait)


def _session(steps: list[bool]) -> LiveCall:
    async def step(samples: NDArray[np.float32], flush: bool) -> LiveStep:
        steps.append(flush)
        seconds = samples.size / 16000
        if flush:
            return LiveStep([Segment(0.0, seconds, "all of it")], seconds, "")
        return LiveStep([], 0.0, f"partial {len(steps)}")

    return LiveCall(step, max_seconds=60)


async def _finish(wav: bytes) -> VoiceAnalysis:
    return VoiceAnalysis("all of it", "en", len(wav) / 32000, [], [], 1.0, 0.0, 0.0, [], 0.0, 0.0)


async def test_a_call_gives_partials_then_finals_then_the_analysis() -> None:
    steps: list[bool] = []
    second = b"\0\1" * 16000
    updates = [u async for u in run_live(_chunks([second, second]), _session(steps), ChunkDecoder(), _finish)]
    assert [u.kind for u in updates][-2:] == ["final", "analysis"]
    assert updates[-2].text == "all of it" and updates[-2].end == pytest.approx(2.0)
    assert steps[-1] is True and "partial" in [u.kind for u in updates]
    assert updates[-1].as_dict()["analysis"]["transcript"] == "all of it"


async def test_a_stream_that_goes_quiet_is_closed_with_a_notice() -> None:
    steps: list[bool] = []
    chunks = _chunks([b"\0\1" * 8000], then_wait=30)
    updates = [u async for u in run_live(chunks, _session(steps), ChunkDecoder(), _finish, idle_timeout_s=0.2)]
    kinds = [u.kind for u in updates]
    assert kinds.count("notice") == 1 and "no audio" in updates[kinds.index("notice")].text
    assert kinds[-2:] == ["final", "analysis"] and kinds.index("notice") < kinds.index("final")


async def test_a_client_that_leaves_stops_the_reader() -> None:
    steps: list[bool] = []
    sent = [0]

    async def endless() -> AsyncIterator[bytes]:
        while True:
            sent[0] += 1
            yield b"\0\1" * 1600
            await asyncio.sleep(0.01)

    updates = run_live(endless(), _session(steps), ChunkDecoder(), _finish, every_s=0.05)
    first: LiveUpdate = await anext(updates)
    assert first.kind == "partial"
    await updates.aclose()
    await asyncio.sleep(0.02)
    stopped_at = sent[0]
    await asyncio.sleep(0.1)
    assert sent[0] == stopped_at  # nothing reads the client's stream any more


async def test_a_call_over_the_limit_is_refused() -> None:
    steps: list[bool] = []
    call = _session(steps)
    call.max_seconds = 1.0
    with pytest.raises(InvalidInput, match="longer than the 1 s limit"):
        _ = [u async for u in run_live(_chunks([b"\0\1" * 20000]), call, ChunkDecoder(), _finish)]


@pytest.mark.slow
def test_live_finals_match_the_offline_transcript(tmp_path: Path) -> None:
    analyzer = VoiceAnalyzer(threads=2, default_profile="fast")
    rep, customer, _, text = conversation(2, tmp_path)
    pcm = (np.clip(rep + customer, -1, 1) * 32767).astype("<i2").tobytes()
    offline = analyzer.analyze(pcm_wav(pcm))

    async def stream() -> tuple[list[LiveUpdate], str]:
        async def step(samples: NDArray[np.float32], flush: bool) -> LiveStep:
            return await asyncio.to_thread(live_step, analyzer, samples, None, "en", flush)

        async def finish(wav: bytes) -> VoiceAnalysis:
            return await asyncio.to_thread(analyzer.analyze, wav)

        call = LiveCall(step, 600)
        parts = [pcm[i : i + 16000] for i in range(0, len(pcm), 16000)]

        async def paced() -> AsyncIterator[bytes]:  # 0.5 s chunks at twice real time
            for part in parts:
                yield part
                await asyncio.sleep(0.25)

        updates = [u async for u in run_live(paced(), call, ChunkDecoder(), finish)]
        return updates, call.transcript

    updates, finals = asyncio.run(stream())
    reference = normalise(text)
    live_wer = edit_distance(reference, normalise(finals)) / len(reference)
    offline_wer = edit_distance(reference, normalise(offline.transcript)) / len(reference)
    assert live_wer <= offline_wer + 0.08, (finals, offline.transcript)  # greedy live passes, beam search offline
    assert updates[-1].analysis is not None and updates[-1].analysis.transcript == offline.transcript
    finals_at = [u for u in updates if u.kind == "final"]
    assert len(finals_at) >= 2 and all(a.end <= b.start + 0.5 for a, b in itertools.pairwise(finals_at))
