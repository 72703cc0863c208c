"""How the scores of a long text's chunks combine into one: a weighting learned on labelled long reviews.

Each chunk's weight is ``exp(confidence_weight * confidence + recency_weight * position)``, where
``confidence`` is how far the chunk's probabilities are from uniform (1 - normalised entropy) and
``position`` runs from 0 (first chunk) to 1 (last). Reviews and e-mails tend to close on their verdict, and
a chunk that is sure of itself says more than a hedging one; how much of each is fitted by
:func:`fit_aggregation` (a grid search for the best binary ROC-AUC on the ``modeldata`` Amazon fine-food
reviews' training part; the test part is kept for ``python -m models.sentiment.evaluate``) and stored next to
the weights as ``long_text.json``. Without that file, chunks are averaged evenly.

    python -m models.sentiment.long_text [--artifact DIR]    # refit and write DIR/long_text.json
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

FILE_NAME = "long_text.json"
CONFIDENCE_GRID = (0.0, 1.0, 2.0, 4.0, 8.0)
RECENCY_GRID = (0.0, 0.5, 1.0, 2.0, 3.0, 4.0)


@dataclass(frozen=True)
class Aggregation:
    confidence_weight: float = 0.0
    recency_weight: float = 0.0
    fitted_on: str = "none: equal weights"

    @classmethod
    def load(cls, artifact: Path) -> Aggregation:
        path = artifact / FILE_NAME
        if not path.exists():
            return cls()
        data = json.loads(path.read_text())
        return cls(float(data["confidence_weight"]), float(data["recency_weight"]), str(data["fitted_on"]))


def confidence(probabilities: NDArray[np.float32]) -> NDArray[np.float64]:
    """1 - normalised entropy per row: 0 for a uniform row, 1 for a certain one."""
    p = np.clip(probabilities.astype(np.float64), 1e-9, 1.0)
    return np.asarray(1.0 + (p * np.log(p)).sum(axis=1) / np.log(p.shape[1]), dtype=np.float64)


def aggregate(probabilities: NDArray[np.float32], positions: list[float], rule: Aggregation) -> NDArray[np.float32]:
    """One probability row from a text's chunk rows."""
    if len(probabilities) == 1:
        return np.asarray(probabilities[0], dtype=np.float32)
    logits = rule.confidence_weight * confidence(probabilities) + rule.recency_weight * np.asarray(positions)
    weights = np.exp(logits - logits.max())
    weights /= weights.sum()
    return np.asarray(weights @ probabilities, dtype=np.float32)


def binary_auc(truth: list[int], score: list[float]) -> float:
    from sklearn.metrics import roc_auc_score

    return float(roc_auc_score(truth, score))


def fit_aggregation(
    chunked: list[tuple[NDArray[np.float32], list[float]]], positive: list[int]
) -> tuple[Aggregation, dict[str, Any]]:
    """The grid point with the best ROC-AUC of P(pos) - P(neg) against binary labels (1 = positive)."""
    results = []
    for conf in CONFIDENCE_GRID:
        for recency in RECENCY_GRID:
            rule = Aggregation(conf, recency)
            rows = np.stack([aggregate(p, pos, rule) for p, pos in chunked])
            results.append((binary_auc(positive, (rows[:, 2] - rows[:, 0]).tolist()), conf, recency))
    best = max(results, key=lambda r: (round(r[0], 4), -r[1] - r[2]))  # ties: the simpler rule
    even = next(r[0] for r in results if r[1] == 0.0 and r[2] == 0.0)
    report = {"auc": round(best[0], 4), "auc_equal_weights": round(even, 4), "grid_points": len(results)}
    return Aggregation(best[1], best[2]), report


def main(argv: list[str] | None = None) -> None:
    from models.sentiment.analyzer import SentimentAnalyzer
    from models.sentiment.classifier import DEFAULT_ARTIFACT, MiniLMSentiment
    from models.sentiment.data import load_fine_foods

    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--artifact", type=Path, default=DEFAULT_ARTIFACT)
    args = parser.parse_args(argv)
    started = time.monotonic()
    reviews = load_fine_foods("train")
    analyzer = SentimentAnalyzer(MiniLMSentiment(args.artifact, dtype="float32"), Aggregation())
    print(f"[long-text] chunking and scoring {len(reviews):,} training reviews …", file=sys.stderr, flush=True)
    from tqdm import tqdm

    chunked = []
    for start in tqdm(range(0, len(reviews), 200), desc="reviews, 200 a step", file=sys.stderr):
        chunked += analyzer.chunk_probabilities([r.text for r in reviews[start : start + 200]])
    many = [i for i, (p, _) in enumerate(chunked) if len(p) > 1]
    rule, report = fit_aggregation([chunked[i] for i in many], [int(reviews[i].label == 2) for i in many])
    fitted_on = f"modeldata fine-food reviews, training part: {len(many)} of {len(reviews)} longer than one chunk"
    rule = Aggregation(rule.confidence_weight, rule.recency_weight, fitted_on)
    out = {**asdict(rule), "fit": report, "seconds": round(time.monotonic() - started, 1)}
    (args.artifact / FILE_NAME).write_text(json.dumps(out, indent=2) + "\n")
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
