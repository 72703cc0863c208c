"""Online price experiments: Thompson sampling over candidate prices.

Each candidate price keeps a Gamma posterior over its Poisson demand rate;
each round samples a rate per price, picks the price with the highest sampled
profit and observes the sales. :func:`simulate` plays it against a market built
from a fitted :class:`~models.pricing.optimizer.DemandCurve` and reports regret
against the oracle that knows the true curve.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from models.errors import InvalidInput
from models.pricing.optimizer import DemandCurve


@dataclass
class ThompsonPricer:
    prices: np.ndarray
    cost: float
    prior_shape: float = 1.0
    prior_rate: float = 0.01

    def __post_init__(self) -> None:
        self.prices = np.asarray(self.prices, dtype=float)
        if self.prices.ndim != 1 or len(self.prices) < 2 or (self.prices <= 0).any():
            raise InvalidInput("give at least two positive candidate prices")
        self.shape = np.full(len(self.prices), self.prior_shape)
        self.rate = np.full(len(self.prices), self.prior_rate)

    def choose(self, rng: np.random.Generator) -> int:
        sampled_demand = rng.gamma(self.shape, 1.0 / self.rate)
        return int(np.argmax((self.prices - self.cost) * sampled_demand))

    def observe(self, arm: int, units_sold: float) -> None:
        self.shape[arm] += units_sold
        self.rate[arm] += 1.0


@dataclass(frozen=True)
class SimulationResult:
    rounds: int
    oracle_price: float
    cumulative_regret: float
    regret_share: float  # regret / oracle profit over the run
    first_tenth_regret_per_round: float
    last_tenth_regret_per_round: float
    best_arm_share_last_tenth: float


def simulate(
    curve: DemandCurve, prices: np.ndarray, cost: float, rounds: int = 5000, seed: int = 7
) -> SimulationResult:
    rng = np.random.default_rng(seed)
    pricer = ThompsonPricer(prices, cost)
    mean_demand = curve.quantity(pricer.prices)
    expected_profit = (pricer.prices - cost) * mean_demand
    oracle = int(np.argmax(expected_profit))
    regret = np.empty(rounds)
    chosen = np.empty(rounds, dtype=int)
    for t in range(rounds):
        arm = pricer.choose(rng)
        pricer.observe(arm, float(rng.poisson(mean_demand[arm])))
        regret[t] = expected_profit[oracle] - expected_profit[arm]
        chosen[t] = arm
    tenth = max(rounds // 10, 1)
    return SimulationResult(
        rounds=rounds,
        oracle_price=float(pricer.prices[oracle]),
        cumulative_regret=float(regret.sum()),
        regret_share=float(regret.sum() / (expected_profit[oracle] * rounds)),
        first_tenth_regret_per_round=float(regret[:tenth].mean()),
        last_tenth_regret_per_round=float(regret[-tenth:].mean()),
        best_arm_share_last_tenth=float((chosen[-tenth:] == oracle).mean()),
    )
