"""Budget allocation: the fit recovers known curves, the optimiser keeps its constraints, pacing adds up."""

from __future__ import annotations

import numpy as np
import pytest

from models.errors import InvalidInput
from models.marketing.budget import (
    BudgetRequest,
    ChannelSpend,
    Curve,
    PaceRequest,
    _hill,
    adstock,
    optimise_split,
    pace,
    plan_budget,
    total_response,
)

TRUE = (Curve(800.0, 0.3, 800.0, 1.2), Curve(2500.0, 0.6, 5000.0, 1.0))


def history(weeks: int = 80, noise: float = 0.01, seed: int = 0) -> BudgetRequest:
    rng = np.random.default_rng(seed)
    spend = np.array([2500.0, 1000.0]) * rng.lognormal(0, 0.5, (weeks, 2))
    outcome = np.full(weeks, 1000.0)
    for i, c in enumerate(TRUE):
        outcome += c.max_effect * _hill(adstock(spend[:, i], c.carryover), c.half_saturation, c.shape)
    outcome += rng.normal(0, noise * outcome.mean(), weeks)
    return BudgetRequest(
        channels=[
            ChannelSpend(name=n, spend=list(spend[:, i]), current=[2500.0, 1000.0][i])
            for i, n in enumerate(("search", "video"))
        ],
        outcome=list(outcome),
        budget=3500.0,
        bootstrap=5,
    )


def test_adstock_carries_spend_over() -> None:
    assert adstock(np.array([10.0, 0.0, 0.0, 5.0]), 0.5).tolist() == [10.0, 5.0, 2.5, 6.25]


def test_the_fitted_plan_earns_nearly_what_the_true_curves_allow() -> None:
    plan = plan_budget(history())
    assert plan.state == "ok" and plan.fit_r2 is not None and plan.fit_r2 > 0.9
    fitted = np.array([c.recommended for c in plan.channels])
    assert fitted.sum() == pytest.approx(3500.0)
    oracle = optimise_split(TRUE, 3500.0, np.zeros(2), np.full(2, 3500.0))
    assert total_response(TRUE, fitted) >= 0.97 * total_response(TRUE, oracle)
    assert total_response(TRUE, fitted) > total_response(TRUE, np.array([2500.0, 1000.0]))
    assert plan.gain is not None and plan.gain > 0 and plan.gain_interval is not None


def test_the_optimiser_keeps_minimums_maximums_and_the_budget() -> None:
    low, high = np.array([3000.0, 0.0]), np.array([3500.0, 400.0])
    split = optimise_split(TRUE, 3400.0, low, high)
    assert split.sum() == pytest.approx(3400.0) and (split >= low - 1e-6).all() and (split <= high + 1e-6).all()
    with pytest.raises(InvalidInput, match="minimums add up"):
        optimise_split(TRUE, 1000.0, low, high)
    with pytest.raises(InvalidInput, match="maximums add up"):
        optimise_split(TRUE, 5000.0, low, high)


def test_too_short_or_flat_history_is_not_enough_data() -> None:
    short = history(weeks=12)
    result = plan_budget(short)
    assert result.state == "not_enough_data" and "more periods of history" in (result.reason or "")
    flat = short.model_copy(update={"channels": [ChannelSpend(name="x", spend=[5.0] * 12)], "outcome": short.outcome})
    assert "spend never varies" in (plan_budget(flat).reason or "")
    with pytest.raises(ValueError, match="periods"):
        BudgetRequest(channels=[ChannelSpend(name="x", spend=[1.0, 2.0])], outcome=[1.0], budget=10)


def test_pacing_follows_the_traffic_profile() -> None:
    on = pace(PaceRequest(daily_budget=240, spent=120, hour=12))
    assert on.state == "on_pace" and on.multiplier == pytest.approx(1.0) and on.next_hour == pytest.approx(10.0)
    behind = pace(PaceRequest(daily_budget=240, spent=60, hour=12))
    assert behind.state == "underspending" and behind.multiplier == pytest.approx(1.5)
    evening = [0.0] * 18 + [1.0] * 6  # all traffic after 18:00: nothing should be spent by noon
    assert pace(PaceRequest(daily_budget=240, spent=0, hour=12, profile=evening)).target_spent == 0
    assert pace(PaceRequest(daily_budget=240, spent=240, hour=20)).state == "exhausted"
    with pytest.raises(InvalidInput, match="profile"):
        pace(PaceRequest(daily_budget=1, spent=0, hour=1, profile=[0.0] * 24))
