"""Word error rate, real-time factor and speaker turns on speech synthesised with Debian ``espeak-ng``.

    python -m models.voice.evaluate [--threads 2] [--profiles fast,accurate] [--out benchmarks/results/voice_eval.json]

1. **Profiles.** Twenty-four sales-call sentences are spoken by espeak-ng with
   varied voices (US/UK English, male/female variants), speeds and sample rates
   (resampled by the analyzer), encoded as WAV, FLAC, OGG/Opus and MP3; each
   profile transcribes every one, scored against its text after normalisation
   (case, punctuation, numbers and ``%`` to words). WER = (substitutions +
   deletions + insertions) / reference words, summed over the corpus.
2. **Two speakers.** Sales calls of alternating turns by two different voices
   (a male rep, a female customer), with pauses and overlaps, as mono mixes
   and as stereo (one side per channel). Diarization error rate (missed +
   false-alarm + confused speech over reference speech, 0.25 s collar, best
   speaker mapping) beside the baseline that gives all speech to one speaker;
   the rep's side named from the channel or the first speaker.
3. **Bad input.** Silence, faint noise (no words, no speech), and the
   number-heavy clip decoded three times (one transcript, bounded RTF).

Targets: WER ≤ 8 % and RTF ≤ 0.3 on 2 cores for the default profile. The RTF is
reported on the short sentences (4 to 6 s: Whisper's 30 s window and the fixed costs
dominate) and on the calls (25 to 35 s); it includes VAD and speaker turns.
"""

from __future__ import annotations

import argparse
import io
import json
import re
import shutil
import subprocess
import sys
import tempfile
import wave
from collections.abc import AsyncIterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

from models.voice.profiles import PROFILES, Profile, parse_profile

if TYPE_CHECKING:
    from models.voice.analyzer import VoiceAnalysis, VoiceAnalyzer

SENTENCES = [
    "Thanks for joining the call today, I wanted to walk you through the renewal proposal.",
    "The customer asked for a ten percent discount on the annual licence.",
    "Our pricing for the enterprise plan starts at twelve thousand euros per year.",
    "Could you send me the contract by Friday so legal can review it?",
    "We are comparing your product with two other vendors this quarter.",
    "The onboarding was smooth and the support team answered quickly.",
    "I am not happy with the delays in the last three deliveries.",
    "Let us schedule a demo for the marketing team next Tuesday afternoon.",
    "The budget for this project was approved by the finance director.",
    "We need single sign on and an audit log before we can sign.",
    "Your competitor offered us a lower price but weaker reporting.",
    "Please add five more seats to our subscription starting next month.",
    "The dashboard is great but the export to spreadsheet keeps failing.",
    "Can we move the kickoff meeting to the first week of March?",
    "I will forward the invoice to our procurement department today.",
    "The pilot with twenty users went well and we want to expand it.",
    "We are considering cancelling because the integration never worked.",
    "What discount can you offer if we commit to a three year agreement?",
    "Our chief executive wants to see the return on investment numbers.",
    "The sales team closed four new accounts in the northern region.",
    "I appreciate your patience while we fixed the billing problem.",
    "Shipping was fast and the packaging was excellent as always.",
    "We would like a quote for the premium support package.",
    "The renewal is due on the fifteenth of June, please confirm the terms.",
]
VOICES = ["en-us", "en-gb", "en-us+m3", "en-us+f2", "en-gb+m4", "en-us+f4"]
SPEEDS = [140, 155, 170]
FORMATS = ["wav", "flac", "ogg", "mp3"]
RATES = [16000, 22050, 44100, 8000]
TARGET_WER = 0.08
TARGET_RTF = 0.3

_ONES = [
    "zero",
    "one",
    "two",
    "three",
    "four",
    "five",
    "six",
    "seven",
    "eight",
    "nine",
    "ten",
    "eleven",
    "twelve",
    "thirteen",
    "fourteen",
    "fifteen",
    "sixteen",
    "seventeen",
    "eighteen",
    "nineteen",
]
_TENS = ["twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"]


def _number_words(n: int) -> str:
    if n < 20:
        return _ONES[n]
    if n < 100:
        return _TENS[n // 10 - 2] + ("" if n % 10 == 0 else " " + _ONES[n % 10])
    if n < 1000:
        rest = n % 100
        return _ONES[n // 100] + " hundred" + ("" if rest == 0 else " " + _number_words(rest))
    if n < 1_000_000:
        rest = n % 1000
        return _number_words(n // 1000) + " thousand" + ("" if rest == 0 else " " + _number_words(rest))
    return str(n)


_ORDINALS = {"first": 1, "second": 2, "third": 3, "fifth": 5, "eighth": 8, "ninth": 9, "twelfth": 12}
# British and American spellings count as the same word; so do closed and open compounds.
_SPELLING = {
    "licence": "license",
    "cancelling": "canceling",
    "cancelled": "canceled",
    "kickoff": "kick off",
    "organisation": "organization",
    "ok": "okay",
}


def _ordinal_word(n: int) -> str:
    words = _number_words(n).split()
    last = words[-1]
    irregular = {v: k for k, v in _ORDINALS.items()}
    index = _ONES.index(last) if last in _ONES else None
    if index is not None and index in irregular:
        words[-1] = irregular[index]
    elif last.endswith("y"):
        words[-1] = last[:-1] + "ieth"
    else:
        words[-1] = last + "th"
    return " ".join(words)


def normalise(text: str) -> list[str]:
    """Lower-case words, with numbers, ordinals and ``%`` spelled out and spelling variants unified."""
    text = text.lower().replace("%", " percent").replace("-", " ")
    text = re.sub(r"(\d),(\d{3})", r"\1\2", text)
    text = re.sub(r"(\d+)(st|nd|rd|th)\b", lambda m: " " + _ordinal_word(int(m.group(1))) + " ", text)
    text = re.sub(r"\d+", lambda m: " " + _number_words(int(m.group())) + " ", text)
    words = []
    for word in re.findall(r"[a-z']+", text):
        words.extend(_SPELLING.get(word, word).split())
    return words


def edit_distance(reference: list[str], hypothesis: list[str]) -> int:
    previous = list(range(len(hypothesis) + 1))
    for i, ref in enumerate(reference, 1):
        current = [i]
        for j, hyp in enumerate(hypothesis, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ref != hyp)))
        previous = current
    return previous[-1]


def synthesise(text: str, voice: str, speed: int, rate: int, fmt: str, folder: Path, index: int) -> Path:
    espeak = shutil.which("espeak-ng")
    spoken = folder / f"{index}.espeak.wav"
    if espeak is None:
        raise RuntimeError("espeak-ng is not installed (apt-get install espeak-ng; `make test` installs it)")
    subprocess.run([espeak, "-v", voice, "-s", str(speed), "-w", str(spoken), text], check=True)
    target = folder / f"{index}.{fmt}"
    _transcode(spoken, target, rate, fmt)
    return target


def _transcode(source: Path, target: Path, rate: int, fmt: str) -> None:
    """Resample and re-encode with PyAV (bundled with faster-whisper), so formats and rates vary."""
    import av

    codec = {"wav": "pcm_s16le", "flac": "flac", "ogg": "libopus", "mp3": "libmp3lame"}[fmt]
    if codec == "libopus" and rate not in (8000, 12000, 16000, 24000, 48000):
        rate = 48000  # Opus runs at these rates only
    with av.open(str(source)) as inp, av.open(str(target), "w", format=fmt) as out:
        stream: Any = out.add_stream(codec, rate=rate)
        stream.layout = "mono"
        resampler = av.AudioResampler(format=stream.codec_context.format, layout="mono", rate=rate)
        for frame in inp.decode(audio=0):
            for resampled in resampler.resample(frame):
                for packet in stream.encode(resampled):
                    out.mux(packet)
        for resampled in resampler.resample(None):
            for packet in stream.encode(resampled):
                out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)


def evaluate_profile(
    analyzer: VoiceAnalyzer, profile: Profile, folder: Path, sentences: list[str] | None = None
) -> dict[str, Any]:
    """WER and RTF of one profile over the synthetic sentence set (files synthesised once into ``folder``)."""
    from models.voice.analyzer import AnalyzeOptions

    texts = sentences or SENTENCES
    items: list[dict[str, Any]] = []
    errors = words = 0
    audio_s = processing_s = 0.0
    for i, text in enumerate(texts):
        voice, speed = VOICES[i % len(VOICES)], SPEEDS[i % len(SPEEDS)]
        rate, fmt = RATES[i % len(RATES)], FORMATS[(i // 2) % len(FORMATS)]
        path = folder / f"{i}.{fmt}"
        if not path.exists():
            synthesise(text, voice, speed, rate, fmt, folder, i)
        result = analyzer.analyze(path, options=AnalyzeOptions(profile=profile))
        reference, hypothesis = normalise(text), normalise(result.transcript)
        distance = edit_distance(reference, hypothesis)
        errors += distance
        words += len(reference)
        audio_s += result.duration_s
        processing_s += result.processing_s
        items.append(
            {
                "text": text,
                "transcript": result.transcript,
                "voice": voice,
                "speed": speed,
                "sample_rate": rate,
                "format": fmt,
                "wer": round(distance / len(reference), 4),
                "rtf": result.real_time_factor,
            }
        )
        print(
            f"[voice:{profile}] {i + 1:>2}/{len(texts)} wer {distance / len(reference):.3f} "
            f"rtf {result.real_time_factor:.3f} {voice} {fmt}@{rate}",
            file=sys.stderr,
            flush=True,
        )

    def group_wer(keep: Any) -> float | None:
        chosen = [i for i in items if keep(i)]
        ref_words = sum(len(normalise(i["text"])) for i in chosen)
        wrong = sum(i["wer"] * len(normalise(i["text"])) for i in chosen)
        return round(wrong / ref_words, 4) if ref_words else None

    return {
        "model": analyzer.model_name(profile),
        "wer": round(errors / words, 4),
        "real_time_factor": round(processing_s / audio_s, 4),
        "audio_seconds": round(audio_s, 1),
        "wer_by_condition": {
            "default_voices_16khz_plus": group_wer(lambda i: "+" not in i["voice"] and i["sample_rate"] >= 16000),
            "voice_variants": group_wer(lambda i: "+" in i["voice"]),
            "telephone_8khz": group_wer(lambda i: i["sample_rate"] == 8000),
        },
        "items": items,
    }


REP_VOICE = ("en-us", 150, 50)  # espeak voice, words per minute, pitch
CUSTOMER_VOICE = ("en-us+f4", 165, 80)
GAPS_S = [0.7, -0.5, 1.0, 0.4, -0.3, 1.5, 0.6]  # pause before each next turn; negative: the turn cuts in (overlap)
CONVERSATIONS = 4
TURNS = 6
COLLAR_S = 0.25


def speak(text: str, voice: tuple[str, int, int], folder: Path) -> NDArray[np.float32]:
    """One utterance as 16 kHz float samples, leading and trailing silence trimmed."""
    from faster_whisper.audio import decode_audio

    espeak = shutil.which("espeak-ng")
    if espeak is None:
        raise RuntimeError("espeak-ng is not installed (apt-get install espeak-ng; `make test` installs it)")
    name, speed, pitch = voice
    target = folder / "utterance.wav"
    subprocess.run([espeak, "-v", name, "-s", str(speed), "-p", str(pitch), "-w", str(target), text], check=True)
    samples = np.asarray(decode_audio(str(target), sampling_rate=16000), dtype=np.float32)
    loud = np.flatnonzero(np.abs(samples) > 0.01)
    return samples[loud[0] : loud[-1] + 1] if loud.size else samples


def conversation(
    index: int, folder: Path
) -> tuple[NDArray[np.float32], NDArray[np.float32], list[tuple[str, float, float]], str]:
    """(rep channel, customer channel, reference turns, reference text) of one synthetic two-party call."""
    pieces: list[tuple[int, float, NDArray[np.float32]]] = []
    words: list[str] = []
    cursor = 0.5
    for turn in range(TURNS):
        text = SENTENCES[(index * TURNS + turn) % len(SENTENCES)]
        side = turn % 2
        samples = speak(text, REP_VOICE if side == 0 else CUSTOMER_VOICE, folder)
        if turn:
            cursor += GAPS_S[(index + turn) % len(GAPS_S)]
        pieces.append((side, cursor, samples))
        words.append(text)
        cursor += samples.size / 16000
    length = int((cursor + 0.8) * 16000)
    channels = [np.zeros(length, dtype=np.float32), np.zeros(length, dtype=np.float32)]
    reference = []
    for side, start, samples in pieces:
        first = int(start * 16000)
        channels[side][first : first + samples.size] += samples
        reference.append(("rep" if side == 0 else "customer", start, start + samples.size / 16000))
    return channels[0], channels[1], reference, " ".join(words)


def wav_bytes(channels: list[NDArray[np.float32]]) -> bytes:
    """16-bit PCM WAV with one or two channels."""
    stacked = np.stack(channels, axis=1) if len(channels) > 1 else channels[0][:, None]
    pcm = (np.clip(stacked, -1, 1) * 32767).astype("<i2")
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(len(channels))
        out.setsampwidth(2)
        out.setframerate(16000)
        out.writeframes(pcm.tobytes())
    return buffer.getvalue()


def diarization_error(
    reference: list[tuple[str, float, float]], hypothesis: list[tuple[str, float, float]], duration_s: float
) -> float:
    """DER at 10 ms resolution: (missed + false alarm + confusion) / reference speech, best one-to-one mapping."""
    from scipy.optimize import linear_sum_assignment

    frames = int(duration_s * 100) + 1
    ref_names = sorted({r[0] for r in reference})
    hyp_names = sorted({h[0] for h in hypothesis})
    ref = np.zeros((len(ref_names), frames), dtype=bool)
    hyp = np.zeros((max(len(hyp_names), 1), frames), dtype=bool)
    scored = np.ones(frames, dtype=bool)
    for name, start, end in reference:
        ref[ref_names.index(name), int(start * 100) : int(end * 100)] = True
        for edge in (start, end):
            scored[max(0, int((edge - COLLAR_S) * 100)) : int((edge + COLLAR_S) * 100)] = False
    for name, start, end in hypothesis:
        hyp[hyp_names.index(name), int(start * 100) : int(end * 100)] = True
    ref, hyp = ref[:, scored], hyp[:, scored]
    overlap = ref.astype(np.int64) @ hyp.T.astype(np.int64)
    rows, cols = linear_sum_assignment(-overlap)
    mapped = np.zeros_like(ref)
    for r, c in zip(rows, cols, strict=True):
        mapped[r] = hyp[c]
    n_ref, n_hyp = ref.sum(axis=0), hyp.sum(axis=0)
    correct = (ref & mapped).sum(axis=0)
    errors = np.maximum(n_ref - n_hyp, 0) + np.maximum(n_hyp - n_ref, 0) + np.minimum(n_ref, n_hyp) - correct
    return float(errors.sum() / max(n_ref.sum(), 1))


def evaluate_speakers(analyzer: VoiceAnalyzer, profile: Profile, folder: Path) -> dict[str, Any]:
    """DER, WER and the rep's side on two-speaker calls, mono and stereo, beside the one-speaker baseline."""
    from models.voice.analyzer import AnalyzeOptions

    rows: list[dict[str, Any]] = []
    for index in range(CONVERSATIONS):
        rep, customer, reference, text = conversation(index, folder)
        duration = rep.size / 16000
        for layout in ("mono", "stereo"):
            body = wav_bytes([rep + customer] if layout == "mono" else [rep, customer])
            rep_side = "S1" if layout == "mono" else "left"
            result = analyzer.analyze(body, options=AnalyzeOptions(profile=profile, rep=rep_side))
            hypothesis = [(t.speaker, t.start, t.end) for t in result.turns]
            baseline = [("one", s.start, s.end) for s in result.speech]
            rep_named = [s.speaker for s in result.speakers if s.role == "rep"]
            rep_correct = bool(rep_named) and _mostly(reference, hypothesis, "rep") == rep_named[0]
            rows.append(
                {
                    "conversation": index,
                    "layout": layout,
                    "duration_s": round(duration, 1),
                    "speakers_found": len(result.speakers),
                    "der": round(diarization_error(reference, hypothesis, duration), 4),
                    "der_one_speaker_baseline": round(diarization_error(reference, baseline, duration), 4),
                    "wer": round(
                        edit_distance(normalise(text), normalise(result.transcript)) / len(normalise(text)), 4
                    ),
                    "rep_named_correctly": rep_correct,
                    "rtf": result.real_time_factor,
                }
            )
            print(
                f"[voice:speakers] call {index + 1}/{CONVERSATIONS} {layout:<6} speakers {len(result.speakers)} "
                f"DER {rows[-1]['der']:.3f} (one-speaker {rows[-1]['der_one_speaker_baseline']:.3f}) "
                f"WER {rows[-1]['wer']:.3f} rtf {result.real_time_factor:.3f}",
                file=sys.stderr,
                flush=True,
            )

    def mean(key: str, layout: str) -> float:
        chosen = [r[key] for r in rows if r["layout"] == layout]
        return round(float(sum(chosen)) / len(chosen), 4)

    return {
        "profile": profile,
        "der_mono": mean("der", "mono"),
        "der_mono_one_speaker_baseline": mean("der_one_speaker_baseline", "mono"),
        "der_stereo": mean("der", "stereo"),
        "der_stereo_one_speaker_baseline": mean("der_one_speaker_baseline", "stereo"),
        "wer_mono": mean("wer", "mono"),
        "wer_stereo": mean("wer", "stereo"),
        "real_time_factor": round(
            sum(r["rtf"] * r["duration_s"] for r in rows) / sum(r["duration_s"] for r in rows), 4
        ),
        "rep_named_correctly": sum(1 for r in rows if r["rep_named_correctly"]),
        "calls": len(rows),
        "collar_s": COLLAR_S,
        "items": rows,
    }


def _mostly(reference: list[tuple[str, float, float]], hypothesis: list[tuple[str, float, float]], who: str) -> str:
    """The hypothesis speaker overlapping ``who``'s reference speech most."""
    overlap: dict[str, float] = {}
    for name, start, end in reference:
        if name != who:
            continue
        for speaker, h_start, h_end in hypothesis:
            overlap[speaker] = overlap.get(speaker, 0.0) + max(0.0, min(end, h_end) - max(start, h_start))
    return max(overlap, key=lambda k: overlap[k]) if overlap else ""


LIVE_CALLS = 2
LIVE_CHUNK_S = 0.1
LIVE_LATENCY_GOAL_S = 2.0


def evaluate_live(analyzer: VoiceAnalyzer, profile: Profile, folder: Path) -> dict[str, Any]:
    """Stream calls in real time (100 ms PCM chunks) through the live session, in-process; per word, the
    delay from the end of its audio to the first update whose text has reached it."""
    import asyncio

    from models.voice.analyzer import AnalyzeOptions
    from models.voice.live import ChunkDecoder, LiveCall, LiveStep, live_step, pcm_wav, run_live

    options = AnalyzeOptions(profile=profile)
    latencies: list[float] = []
    rows: list[dict[str, Any]] = []
    for index in range(LIVE_CALLS):
        rep, customer, _, text = conversation(index + CONVERSATIONS, folder)
        pcm = (np.clip(rep + customer, -1, 1) * 32767).astype("<i2").tobytes()
        offline = analyzer.analyze(pcm_wav(pcm), options=options)  # the same samples the live call is sent
        seen: list[tuple[float, int]] = []  # (seconds since the call started, words shown so far)

        async def stream(pcm: bytes = pcm, seen: list[tuple[float, int]] = seen) -> tuple[str, str]:
            loop = asyncio.get_running_loop()
            started = loop.time()
            step_bytes = int(LIVE_CHUNK_S * 16000) * 2

            async def chunks() -> AsyncIterator[bytes]:
                for k, offset in enumerate(range(0, len(pcm), step_bytes)):
                    await asyncio.sleep(max(0.0, started + k * LIVE_CHUNK_S - loop.time()))
                    yield pcm[offset : offset + step_bytes]

            async def step(samples: NDArray[np.float32], flush: bool) -> LiveStep:
                return await asyncio.to_thread(live_step, analyzer, samples, profile, "en", flush)

            async def finish(wav: bytes) -> VoiceAnalysis:
                return await asyncio.to_thread(analyzer.analyze, wav, None, options)

            call = LiveCall(step, 7200.0)
            partial, final = "", ""
            async for update in run_live(chunks(), call, ChunkDecoder("pcm16"), finish):
                if update.kind == "partial":
                    partial = update.text
                elif update.kind == "final":
                    partial = ""
                elif update.kind == "analysis" and update.analysis is not None:
                    final = update.analysis.transcript
                shown = len(normalise(call.transcript + " " + partial))
                seen.append((loop.time() - started, shown))
            return call.transcript, final

        finals, final_analysis = asyncio.run(stream())
        for k, word in enumerate(offline.words):
            shown_at = next((t for t, shown in seen if shown > k), None)
            if shown_at is not None:
                latencies.append(max(0.0, shown_at - word.end))
        reference = normalise(text)
        rows.append(
            {
                "call": index,
                "duration_s": offline.duration_s,
                "wer_live_finals": round(edit_distance(reference, normalise(finals)) / len(reference), 4),
                "wer_offline": round(edit_distance(reference, normalise(offline.transcript)) / len(reference), 4),
                "final_analysis_equals_offline": final_analysis == offline.transcript,
                "words_shown": sum(1 for _ in offline.words),
            }
        )
        print(
            f"[voice:live] call {index + 1}/{LIVE_CALLS} WER live finals {rows[-1]['wer_live_finals']:.3f} "
            f"offline {rows[-1]['wer_offline']:.3f}",
            file=sys.stderr,
            flush=True,
        )
    ordered = sorted(latencies)

    def quantile(q: float) -> float:
        return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))], 3) if ordered else float("nan")

    live_wer = sum(r["wer_live_finals"] for r in rows) / len(rows)
    offline_wer = sum(r["wer_offline"] for r in rows) / len(rows)
    return {
        "profile": profile,
        "chunk_s": LIVE_CHUNK_S,
        "words": len(ordered),
        "word_latency_p50_s": quantile(0.5),
        "word_latency_p95_s": quantile(0.95),
        "word_latency_max_s": round(ordered[-1], 3) if ordered else None,
        "wer_live_finals": round(live_wer, 4),
        "wer_offline": round(offline_wer, 4),
        "items": rows,
    }


NUMBER_CLIP = "The invoice total is four thousand five hundred lei including tax."


def evaluate_bad_input(analyzer: VoiceAnalyzer, profile: Profile, folder: Path) -> dict[str, Any]:
    """Silence and faint noise give no words; the number clip gives one transcript every time, within the RTF."""
    from models.voice.analyzer import AnalyzeOptions

    options = AnalyzeOptions(profile=profile)
    silence = analyzer.analyze(wav_bytes([np.zeros(16000 * 8, dtype=np.float32)]), options=options)
    noise_samples = np.random.default_rng(7).normal(0, 0.01, 16000 * 5).astype(np.float32)
    noise = analyzer.analyze(wav_bytes([noise_samples]), options=options)
    clip = synthesise(NUMBER_CLIP, "en-us", 150, 16000, "wav", folder, 999)
    runs = [analyzer.analyze(clip, options=options) for _ in range(3)]
    return {
        "silence_8s": {"transcript": silence.transcript, "speaking_ratio": silence.speaking_ratio},
        "faint_noise_5s": {"transcript": noise.transcript, "speaking_ratio": noise.speaking_ratio},
        "number_clip": {
            "transcripts": sorted({r.transcript for r in runs}),
            "max_rtf": max(r.real_time_factor for r in runs),
        },
    }


def evaluate(
    threads: int = 2, sentences: list[str] | None = None, beam_size: int = 5, chosen: tuple[Profile, ...] = PROFILES
) -> dict[str, Any]:
    from models.voice.analyzer import VoiceAnalyzer

    analyzer = VoiceAnalyzer(threads=threads, beam_size=beam_size)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        by_profile = {profile: evaluate_profile(analyzer, profile, folder, sentences) for profile in chosen}
        default = analyzer.default_profile if analyzer.default_profile in by_profile else chosen[0]
        speakers = evaluate_speakers(analyzer, default, folder)
        live = evaluate_live(analyzer, default, folder)
        bad = evaluate_bad_input(analyzer, default, folder)
    primary = by_profile[default]
    goals: dict[str, bool] = {
        "default_profile_wer_le_8pct": primary["wer"] <= TARGET_WER,
        "default_profile_rtf_le_0_3_on_sentences": primary["real_time_factor"] <= TARGET_RTF,
        "default_profile_rtf_le_0_3_on_calls": speakers["real_time_factor"] <= TARGET_RTF,
        "mono_der_below_one_speaker_baseline": speakers["der_mono"] < speakers["der_mono_one_speaker_baseline"],
        "stereo_der_below_one_speaker_baseline": speakers["der_stereo"] < speakers["der_stereo_one_speaker_baseline"],
        "rep_named_on_every_call": speakers["rep_named_correctly"] == speakers["calls"],
        "live_word_latency_p95_le_2s": live["word_latency_p95_s"] <= LIVE_LATENCY_GOAL_S,
        "live_final_analysis_equals_offline": all(r["final_analysis_equals_offline"] for r in live["items"]),
        "silence_and_noise_give_no_words": not bad["silence_8s"]["transcript"]
        and not bad["faint_noise_5s"]["transcript"],
        "number_clip_repeatable_within_rtf": len(bad["number_clip"]["transcripts"]) == 1
        and bad["number_clip"]["max_rtf"] <= 1.0,
    }
    if "fast" in by_profile and "accurate" in by_profile:
        goals["accurate_wer_below_fast"] = by_profile["accurate"]["wer"] < by_profile["fast"]["wer"]
    goals = {name: bool(met) for name, met in goals.items()}
    return {
        "default_profile": default,
        "threads": threads,
        "beam_size": beam_size,
        "sentences": len(primary["items"]),
        "target_wer": TARGET_WER,
        "target_rtf": TARGET_RTF,
        "goals": goals,
        "profiles": by_profile,
        "speakers": speakers,
        "live": live,
        "bad_input": bad,
    }


def _plain(value: Any) -> Any:
    """numpy scalars as Python numbers (figures computed with numpy reach the JSON as numpy types)."""
    if isinstance(value, np.generic):
        return value.item()
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--beam-size", type=int, default=5)
    parser.add_argument("--profiles", default=",".join(PROFILES), help="comma-separated: fast, accurate")
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/voice_eval.json"))
    args = parser.parse_args(argv)
    chosen = tuple(parse_profile(p.strip()) for p in args.profiles.split(",") if p.strip())
    report = evaluate(args.threads, beam_size=args.beam_size, chosen=chosen)
    print(f"{'profile':<10} {'model':<34} {'WER':>7} {'default voices':>15} {'8 kHz':>7} {'RTF':>7}")
    for profile, figures in report["profiles"].items():
        by = figures["wer_by_condition"]
        print(
            f"{profile:<10} {figures['model']:<34} {figures['wer']:>7.2%} {by['default_voices_16khz_plus']:>15.2%} "
            f"{by['telephone_8khz']:>7.2%} {figures['real_time_factor']:>7.3f}"
        )
    spk = report["speakers"]
    print(
        f"speaker turns ({spk['calls']} calls): DER mono {spk['der_mono']:.3f} vs one-speaker "
        f"{spk['der_mono_one_speaker_baseline']:.3f}; stereo {spk['der_stereo']:.3f} vs "
        f"{spk['der_stereo_one_speaker_baseline']:.3f}; rep named {spk['rep_named_correctly']}/{spk['calls']}; "
        f"WER mono {spk['wer_mono']:.2%}, stereo {spk['wer_stereo']:.2%}; RTF {spk['real_time_factor']:.3f}"
    )
    live = report["live"]
    print(
        f"live ({len(live['items'])} calls streamed in real time, {live['chunk_s'] * 1000:.0f} ms chunks): "
        "a word shows "
        f"{live['word_latency_p50_s']:.2f} s p50 / {live['word_latency_p95_s']:.2f} s p95 after it is spoken; WER "
        f"live finals {live['wer_live_finals']:.2%} vs offline {live['wer_offline']:.2%}"
    )
    for goal, met in report["goals"].items():
        print(f"  {'met' if met else 'NOT met':<8} {goal}")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2, default=_plain) + "\n")


if __name__ == "__main__":
    main()
