"""The evaluation's measures and goals, on small hand-made inputs."""

from __future__ import annotations

import numpy as np

from models.sentiment import lodo
from models.sentiment.evaluate import binary_auc, judge, vader_labels, vader_probabilities


def test_binary_auc_leaves_neutral_rows_out() -> None:
    truth = [0, 1, 2, 2, 0]
    polarity = np.asarray([-0.9, 5.0, 0.8, 0.1, -0.2])  # the neutral row's 5.0 would spoil it if counted
    assert binary_auc(truth, polarity) == 1.0
    assert binary_auc([1, 1], np.asarray([0.0, 0.0])) is None


def test_judge_reports_recall_per_class_beside_macro_f1() -> None:
    rows = np.asarray([[0.8, 0.1, 0.1], [0.1, 0.1, 0.8], [0.1, 0.1, 0.8]], dtype=np.float32)
    result = judge([0, 2, 0], rows)
    assert result["recall_per_class"] == {"negative": 0.5, "positive": 1.0}
    assert result["binary_auc"] == 0.75  # one pair tied
    assert result["n"] == 3


def test_vader_columns_keep_its_compound_and_its_own_thresholds() -> None:
    rows = vader_probabilities(["I love it, wonderful!", "Terrible, awful service.", "The store opens at nine."])
    assert vader_labels(rows) == [2, 0, 1]
    assert rows[0, 2] > 0.5 and rows[1, 0] > 0.5


def test_lodo_goals_need_a_margin_of_three_points_over_vader() -> None:
    table = {
        "movie_reviews": {"model": {"binary_auc": 0.80}, "vader": {"binary_auc": 0.76}},
        "nyt_editorials": {"model": {"binary_auc": 0.80}, "vader": {"binary_auc": 0.78}},
    }
    assert lodo.goals(table) == {
        "held_out_movie_reviews_auc_beats_vader_by_0_03": True,
        "held_out_nyt_editorials_auc_beats_vader_by_0_03": False,
    }
