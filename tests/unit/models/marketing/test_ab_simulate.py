"""The simulators' claims on small runs: peeking inflates the naive test, not the always-valid one."""

from __future__ import annotations

from models.marketing.ab_simulate import monitor, regret


def test_always_valid_test_keeps_its_error_rate_under_peeking_where_the_naive_test_does_not() -> None:
    aa = monitor((0.05, 0.05), experiments=600, peeks=40, per_peek=200, seed=11)
    assert aa.always_valid_rejections <= 0.05
    assert aa.naive_every_peek_rejections > 0.15  # the cost of peeking with a fixed-horizon test


def test_a_real_effect_is_found() -> None:
    effect = monitor((0.05, 0.07), experiments=200, peeks=20, per_peek=500, seed=12)
    assert effect.always_valid_rejections > 0.8 and effect.median_stop_fraction is not None


def test_thompson_allocation_loses_fewer_conversions_than_an_equal_split() -> None:
    result = regret((0.04, 0.07), runs=5, sends=6000, batch=200, seed=13)
    assert result.thompson_regret < result.equal_split_regret
    assert result.thompson_best_share > 0.6
