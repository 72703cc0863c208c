"""A/B analysis: decisions, guards and allocation on experiments whose answer is known."""

from __future__ import annotations

import numpy as np
import pytest
from pydantic import ValidationError

from models.errors import InvalidInput
from models.marketing.ab import ArmInput, ExperimentRequest, PrePeriod, analyze, thompson_allocation


def arms(*counts: tuple[int, int]) -> list[ArmInput]:
    return [ArmInput(name=chr(65 + i), recipients=n, conversions=c) for i, (n, c) in enumerate(counts)]


def test_a_clear_winner_takes_every_next_send() -> None:
    result = analyze(ExperimentRequest(arms=arms((20_000, 1000), (20_000, 1300)), seed=1))
    assert result.decision == "winner" and result.winner == "B"
    assert result.allocation == {"A": 0.0, "B": 1.0}
    assert result.comparisons[0].significant and result.comparisons[0].interval[0] > 0
    b = result.arms[1]
    assert b.p_best > 0.99 and b.lift == pytest.approx(0.3) and b.interval[0] < 0.065 < b.interval[1]


def test_a_likely_but_unproven_leader_gets_more_sends_not_all() -> None:
    result = analyze(ExperimentRequest(arms=arms((2000, 100), (2000, 125)), seed=1))
    assert result.decision == "keep_running" and result.winner is None
    assert 0.5 < result.allocation["B"] < 0.95
    assert sum(result.allocation.values()) == pytest.approx(1.0, abs=1e-3)


def test_equal_arms_with_plenty_of_data_are_called_no_difference() -> None:
    result = analyze(ExperimentRequest(arms=arms((400_000, 20_000), (400_000, 20_040)), seed=1))
    assert result.decision == "no_difference"


def test_too_little_data_says_what_is_missing() -> None:
    result = analyze(ExperimentRequest(arms=arms((60, 1), (150, 2)), seed=1))
    assert result.decision == "not_enough_data"
    assert "arm 'A' needs 40 more recipients" in result.missing
    assert "2 more conversions across the arms" in result.missing
    assert result.allocation == {"A": 0.5, "B": 0.5}


def test_a_broken_split_replaces_the_decision() -> None:
    result = analyze(ExperimentRequest(arms=arms((5000, 250), (4000, 400)), seed=1))
    assert result.sample_ratio is not None and result.sample_ratio.alert
    assert result.decision == "sample_ratio_mismatch" and result.winner is None
    planned = [
        ArmInput(name="A", recipients=5000, conversions=250, weight=5),
        ArmInput(name="B", recipients=4000, conversions=200, weight=4),
    ]
    assert analyze(ExperimentRequest(arms=planned, seed=1)).sample_ratio.alert is False  # type: ignore[union-attr]


def test_revenue_metric_prefers_the_arm_that_earns_more_per_recipient() -> None:
    rng = np.random.default_rng(0)
    low = [float(v) for v in rng.lognormal(3.0, 1.0, 100)]
    high = [float(v) for v in rng.lognormal(3.6, 1.0, 100)]
    request = ExperimentRequest(
        metric="revenue",
        arms=[
            ArmInput(name="A", recipients=2000, conversions=100, revenue=low),
            ArmInput(name="B", recipients=2000, conversions=100, revenue=high),
        ],
        seed=1,
    )
    result = analyze(request)
    assert result.arms[1].mean > result.arms[0].mean and result.arms[1].p_best > 0.95
    with pytest.raises(ValidationError, match="revenue"):
        ExperimentRequest(metric="revenue", arms=arms((100, 5), (100, 5)))


def test_cuped_removes_the_variance_a_correlated_covariate_explains() -> None:
    rng = np.random.default_rng(3)
    built = []
    for name in ("A", "B"):
        x = rng.normal(10, 3, 5000)
        y = (x + rng.normal(0, 2, 5000) > 12).astype(float)  # conversion driven by last month's activity
        pre = PrePeriod(sum_x=float(x.sum()), sum_x2=float((x * x).sum()), sum_xy=float((x * y).sum()))
        built.append(ArmInput(name=name, recipients=5000, conversions=int(y.sum()), pre_period=pre))
    result = analyze(ExperimentRequest(arms=built, seed=1))
    assert result.cuped is not None and 0.2 < result.cuped.variance_reduction < 0.9
    assert (
        analyze(ExperimentRequest(arms=[a.model_copy(update={"pre_period": None}) for a in built], seed=1)).cuped
        is None
    )


def test_bad_experiments_are_refused() -> None:
    with pytest.raises(InvalidInput, match="at least two arms"):
        analyze(ExperimentRequest(arms=arms((100, 5))))
    with pytest.raises(ValidationError, match="conversions"):
        ArmInput(name="A", recipients=10, conversions=11)
    with pytest.raises(ValidationError, match="unique"):
        ExperimentRequest(arms=[ArmInput(name="A", recipients=1, conversions=0)] * 2)
    with pytest.raises(ValidationError, match="control"):
        ExperimentRequest(arms=arms((1, 0), (1, 0)), control="Z")


def test_zero_traffic_is_not_enough_data_not_a_crash() -> None:
    result = analyze(ExperimentRequest(arms=arms((0, 0), (0, 0)), seed=1))
    assert result.decision == "not_enough_data" and result.sample_ratio is None


def test_thompson_allocation_keeps_the_floor_and_sums_to_one() -> None:
    shares = thompson_allocation(np.array([0.0, 0.01, 0.99]), 0.05)
    assert shares.min() == pytest.approx(0.05) and shares.sum() == pytest.approx(1.0)
    assert thompson_allocation(np.array([0.5, 0.5]), 0.9).tolist() == [0.5, 0.5]  # a floor above 1/k is capped


def test_an_arm_with_no_buyers_borrows_the_others_order_values_and_stays_finite() -> None:
    request = ExperimentRequest(
        metric="revenue",
        arms=[
            ArmInput(name="A", recipients=200, conversions=0, revenue=[]),
            ArmInput(name="B", recipients=200, conversions=2, revenue=[10.0, 12.0]),
        ],
        seed=1,
    )
    result = analyze(request)
    assert result.decision == "not_enough_data" and "arm 'A' needs 2 more buyers" in result.missing
    for arm in result.arms:
        assert np.isfinite([arm.mean, *arm.interval, arm.expected_loss, arm.p_best]).all()
    assert result.arms[0].interval[1] < 1.0  # a plausible revenue per recipient, not an overflow
