"""Combining chunk scores, and fitting the combination on labelled long texts."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from models.sentiment.long_text import FILE_NAME, Aggregation, aggregate, confidence, fit_aggregation

POSITIVE = [0.05, 0.15, 0.8]
NEGATIVE = [0.8, 0.15, 0.05]
UNSURE = [0.34, 0.33, 0.33]


def rows(*values: list[float]) -> np.ndarray:
    return np.asarray(values, dtype=np.float32)


def test_one_chunk_is_its_own_answer_and_equal_weights_average() -> None:
    assert aggregate(rows(POSITIVE), [1.0], Aggregation(4, 4)).tolist() == rows(POSITIVE)[0].tolist()
    even = aggregate(rows(POSITIVE, NEGATIVE), [0.0, 1.0], Aggregation())
    assert np.allclose(even, (rows(POSITIVE)[0] + rows(NEGATIVE)[0]) / 2)


def test_recency_favours_the_closing_chunk_and_confidence_the_sure_one() -> None:
    closing = aggregate(rows(NEGATIVE, POSITIVE), [0.0, 1.0], Aggregation(recency_weight=3.0))
    assert closing[2] > closing[0]
    sure = aggregate(rows(UNSURE, NEGATIVE), [0.0, 1.0], Aggregation(confidence_weight=8.0))
    assert sure[0] > 0.7
    assert confidence(rows(UNSURE))[0] < 0.01
    assert confidence(rows(NEGATIVE))[0] > 0.4


def test_the_fit_finds_recency_when_the_verdict_is_in_the_last_chunk() -> None:
    generator = np.random.default_rng(3)
    chunked, labels = [], []
    for _ in range(200):
        verdict = int(generator.integers(0, 2))
        opening = rows(*(NEGATIVE if generator.random() < 0.5 else POSITIVE for _ in range(3)))
        closing = rows(POSITIVE if verdict else NEGATIVE)
        chunked.append((np.concatenate([opening, closing]), [0.0, 1 / 3, 2 / 3, 1.0]))
        labels.append(verdict)
    rule, report = fit_aggregation(chunked, labels)
    assert rule.recency_weight > 0
    assert report["auc"] > report["auc_equal_weights"]


def test_the_rule_is_read_from_the_artifact_folder_or_defaults_to_equal_weights(tmp_path: Path) -> None:
    assert Aggregation.load(tmp_path) == Aggregation()
    (tmp_path / FILE_NAME).write_text(json.dumps({"confidence_weight": 1, "recency_weight": 2, "fitted_on": "x"}))
    assert Aggregation.load(tmp_path) == Aggregation(1.0, 2.0, "x")
