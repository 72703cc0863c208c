"""Spend and outcome history from known response curves, to see how close the fitted optimiser gets.

Four channels with known carry-over and saturation; two years of weekly spend around a "current" split
(weekly noise and some dark weeks, as real flighting has) and the outcome they produce with noise. The
optimiser sees only the history; every allocation is then scored on the **true** curves: the fitted
optimiser's, the oracle's (the optimiser run on the true curves), an equal split and the current split.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from models.marketing.budget import (
    BudgetRequest,
    ChannelSpend,
    Curve,
    _hill,
    adstock,
    optimise_split,
    plan_budget,
    total_response,
)

TRUTH = (
    Curve(max_effect=800.0, carryover=0.3, half_saturation=800.0, shape=1.2),  # search: saturates early
    Curve(max_effect=2500.0, carryover=0.7, half_saturation=5000.0, shape=1.0),  # video: slow, long headroom
    Curve(max_effect=600.0, carryover=0.3, half_saturation=1000.0, shape=1.3),  # social
    Curve(max_effect=1200.0, carryover=0.4, half_saturation=2500.0, shape=1.8),  # display: S-shaped
)
NAMES = ("search", "video", "social", "display")
CURRENT = np.array([3000.0, 800.0, 1700.0, 1500.0])  # weighted the way last-click reports would suggest
BASELINE = 2000.0


@dataclass(frozen=True)
class BudgetSimulation:
    weeks: int
    budget: float
    fit_r2: float
    true_outcome: dict[str, float]  # per allocation, on the true curves
    share_of_oracle: float
    allocation: dict[str, dict[str, float]]
    gain_interval: tuple[float, float] | None
    true_gain: float


@dataclass(frozen=True)
class History:
    spend: NDArray[np.float64]  # weeks × channels
    outcome: NDArray[np.float64]


def simulate_history(weeks: int = 104, noise: float = 0.04, seed: int = 0) -> History:
    """Weekly spend around the current split (noise, dark weeks) and the outcome the true curves give."""
    rng = np.random.default_rng(seed)
    spend = CURRENT[None, :] * rng.lognormal(0.0, 0.5, (weeks, len(TRUTH)))
    spend[rng.random((weeks, len(TRUTH))) < 0.1] = 0.0
    outcome = np.full(weeks, BASELINE)
    for c, curve in enumerate(TRUTH):
        outcome += curve.max_effect * _hill(adstock(spend[:, c], curve.carryover), curve.half_saturation, curve.shape)
    outcome += rng.normal(0.0, noise * float(outcome.mean()), weeks)
    return History(spend, outcome)


def simulate(weeks: int = 104, noise: float = 0.04, seed: int = 0, bootstrap: int = 30) -> BudgetSimulation:
    history = simulate_history(weeks, noise, seed)
    spend, outcome = history.spend, history.outcome
    budget = float(CURRENT.sum())
    request = BudgetRequest(
        channels=[
            ChannelSpend(name=n, spend=[float(v) for v in spend[:, c]], current=float(CURRENT[c]))
            for c, n in enumerate(NAMES)
        ],
        outcome=[float(v) for v in outcome],
        budget=budget,
        bootstrap=bootstrap,
        seed=seed,
    )
    plan = plan_budget(request)
    fitted = np.array([c.recommended for c in plan.channels])
    low, high = np.zeros(len(TRUTH)), np.full(len(TRUTH), budget)
    oracle = optimise_split(TRUTH, budget, low, high, CURRENT)
    equal = np.full(len(TRUTH), budget / len(TRUTH))
    splits = {"fitted_optimiser": fitted, "oracle": oracle, "equal_split": equal, "current_split": CURRENT}
    outcome_of = {name: total_response(TRUTH, x) for name, x in splits.items()}
    return BudgetSimulation(
        weeks=weeks,
        budget=budget,
        fit_r2=plan.fit_r2 or 0.0,
        true_outcome={k: round(v, 2) for k, v in outcome_of.items()},
        share_of_oracle=outcome_of["fitted_optimiser"] / outcome_of["oracle"],
        allocation={name: {n: round(float(x[i]), 1) for i, n in enumerate(NAMES)} for name, x in splits.items()},
        gain_interval=plan.gain_interval,
        true_gain=round(outcome_of["fitted_optimiser"] - outcome_of["current_split"], 2),
    )
