"""Word error rate and real-time factor on speech synthesised with Debian ``espeak-ng``.

    python -m models.voice.evaluate [--threads 2] [--out benchmarks/results/voice_eval.json]

Twenty-four sales-call sentences are spoken by espeak-ng with varied voices
(US/UK English, male/female variants), speeds and sample rates (resampled by
the analyzer), encoded as WAV, FLAC, OGG/Opus and MP3; each is transcribed and scored
against its text after normalisation (case, punctuation, numbers and ``%`` to
words). WER = (substitutions + deletions + insertions) / reference words,
summed over the corpus. Targets: WER ≤ 8 %, RTF ≤ 0.3 on 2 cores.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

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


def evaluate(threads: int = 2, sentences: list[str] | None = None, beam_size: int = 5) -> dict[str, Any]:
    from models.voice.analyzer import VoiceAnalyzer

    analyzer = VoiceAnalyzer(threads=threads, beam_size=beam_size)
    items: list[dict[str, Any]] = []
    errors = words = 0
    audio_s = processing_s = 0.0
    with tempfile.TemporaryDirectory() as tmp:
        for i, text in enumerate(sentences or SENTENCES):
            voice, speed = VOICES[i % len(VOICES)], SPEEDS[i % len(SPEEDS)]
            rate, fmt = RATES[i % len(RATES)], FORMATS[(i // 2) % len(FORMATS)]
            path = synthesise(text, voice, speed, rate, fmt, Path(tmp), i)
            result = analyzer.analyze(path)
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
                f"[voice] {i + 1:>2}/{len(sentences or SENTENCES)} wer {distance / len(reference):.3f} "
                f"rtf {result.real_time_factor:.3f} {voice} {fmt}@{rate}",
                file=sys.stderr,
                flush=True,
            )
    wer = errors / words
    rtf = processing_s / audio_s

    def group_wer(keep: Any) -> float | None:
        chosen = [i for i in items if keep(i)]
        ref_words = sum(len(normalise(i["text"])) for i in chosen)
        wrong = sum(i["wer"] * len(normalise(i["text"])) for i in chosen)
        return round(wrong / ref_words, 4) if ref_words else None

    breakdown = {
        "default_voices_16khz_plus": group_wer(lambda i: "+" not in i["voice"] and i["sample_rate"] >= 16000),
        "voice_variants": group_wer(lambda i: "+" in i["voice"]),
        "telephone_8khz": group_wer(lambda i: i["sample_rate"] == 8000),
    }
    return {
        "model": analyzer.version,
        "threads": threads,
        "beam_size": beam_size,
        "sentences": len(items),
        "wer": round(wer, 4),
        "real_time_factor": round(rtf, 4),
        "audio_seconds": round(audio_s, 1),
        "target_wer": TARGET_WER,
        "target_rtf": TARGET_RTF,
        "targets_met": bool(wer <= TARGET_WER and rtf <= TARGET_RTF),
        "wer_by_condition": breakdown,
        "items": items,
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--beam-size", type=int, default=5)
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/voice_eval.json"))
    args = parser.parse_args(argv)
    report = evaluate(args.threads, beam_size=args.beam_size)
    print(
        f"WER {report['wer']:.2%} (target ≤ {TARGET_WER:.0%}), RTF {report['real_time_factor']:.3f} "
        f"(target ≤ {TARGET_RTF}) over {report['sentences']} sentences, {report['audio_seconds']} s of audio"
    )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n")


if __name__ == "__main__":
    main()
