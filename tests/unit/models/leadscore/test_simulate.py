"""Unit tests of ``models.leadscore.simulate`` and the evaluation's calibration figures."""

from __future__ import annotations

import numpy as np

from models.leadscore.evaluate import brier, ece
from models.leadscore.model import auc, rule_scores
from models.leadscore.simulate import simulate


def test_a_seed_gives_the_same_tenant() -> None:
    assert simulate(50, seed=4) == simulate(50, seed=4)
    assert simulate(50, seed=4) != simulate(50, seed=5)


def test_the_true_probabilities_rank_better_than_the_rule_and_match_the_outcomes() -> None:
    leads = simulate(8000, seed=9)
    y = np.array([lead.converted for lead in leads], dtype=np.int64)
    oracle = np.array([lead.oracle for lead in leads])
    assert 0.08 < y.mean() < 0.3
    assert auc(y, oracle) > auc(y, rule_scores([lead.facts for lead in leads])) + 0.08
    assert ece(y, oracle) < 0.02


def test_calibration_figures() -> None:
    y = np.array([0, 0, 1, 1])
    assert brier(y, np.array([0.0, 0.0, 1.0, 1.0])) == 0.0
    assert brier(y, np.array([0.5] * 4)) == 0.25
    assert ece(y, np.array([0.9, 0.9, 0.9, 0.9])) > 0.3
