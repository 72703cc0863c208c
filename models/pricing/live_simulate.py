"""A market with known demand for the live repricer: weekly Poisson sales on a constant-elasticity curve.

The repricer starts at the product's current price with a prior elasticity that may be wrong (the pooled
Cigar one is far less elastic than many retail products); each week it sees that week's sales and proposes
the next price under the guard rails. Three policies run on the same market and seeds: a static price,
the optimiser alone, and the optimiser with the Thompson explorer; the oracle knows the true curve and
sets its best price within the absolute rails from the first week (no step limit): the upper bound.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from models.pricing.live import GuardRails, ProductState, SalesPeriod, propose


@dataclass(frozen=True)
class Market:
    price: float = 8.0  # where the product starts: below the profit-maximising 11.00
    units_per_week: float = 200.0  # at ``price``
    elasticity: float = -2.2
    cost: float = 6.0

    def mean_units(self, price: float | np.ndarray) -> np.ndarray:
        return np.asarray(self.units_per_week * (np.asarray(price) / self.price) ** self.elasticity)


RAILS = GuardRails(cost=6.0, min_price=7.0, max_price=15.0, max_step=0.05, min_margin=0.10)


@dataclass(frozen=True)
class PolicyRun:
    policy: str
    profit: float  # summed over the weeks
    share_of_oracle: float
    final_price: float
    rail_violations: int
    prices: list[float]


def oracle_price(market: Market, rails: GuardRails) -> float:
    grid = np.linspace(rails.floor(), rails.max_price or market.price * 2, 4001)
    return float(grid[int(np.argmax((grid - market.cost) * market.mean_units(grid)))])


def run(
    policy: str,
    market: Market,
    rails: GuardRails,
    *,
    weeks: int,
    prior_elasticity: float,
    prior_std: float,
    seed: int,
) -> tuple[float, int, list[float]]:
    """``policy``: ``static``, ``optimiser``, ``explorer`` or ``oracle``; the week's profit summed, the rail
    breaches counted and the prices set."""
    rng = np.random.default_rng(seed)
    explore_rng = np.random.default_rng(seed + 1)
    price, profit, breaches = market.price, 0.0, 0
    sales: list[tuple[float, float]] = []
    prices: list[float] = []
    best = oracle_price(market, rails)
    for week in range(weeks):
        if policy == "oracle":
            price = best
        elif policy in ("optimiser", "explorer") and week > 0:
            state = ProductState(
                price=price,
                rails=rails,
                sales=[
                    SalesPeriod(price=p, units=u, days=7, age_days=7 * (week - w - 1)) for w, (p, u) in enumerate(sales)
                ],
                explore=policy == "explorer",
            )
            proposal = propose(state, prior_elasticity=prior_elasticity, prior_std=prior_std, rng=explore_rng)
            breaches += bool(rails.violations(proposal.price, price))
            price = proposal.price
        units = float(rng.poisson(market.mean_units(price)))
        sales.append((price, units))
        profit += (price - market.cost) * units
        prices.append(round(price, 2))
    return profit, breaches, prices


def compare(
    market: Market, rails: GuardRails, *, weeks: int, prior_elasticity: float, prior_std: float, seeds: int
) -> list[PolicyRun]:
    """Each policy over ``seeds`` markets (the same seeds for all), profit relative to the oracle's."""
    totals: dict[str, list[float]] = {}
    runs: dict[str, tuple[int, list[float]]] = {}
    for policy in ("oracle", "static", "optimiser", "explorer"):
        profits, breaches, last_prices = [], 0, []
        for seed in range(seeds):
            profit, broken, prices = run(
                policy, market, rails, weeks=weeks, prior_elasticity=prior_elasticity, prior_std=prior_std, seed=seed
            )
            profits.append(profit)
            breaches += broken
            last_prices = prices
        totals[policy] = profits
        runs[policy] = (breaches, last_prices)
    oracle = float(np.sum(totals["oracle"]))
    return [
        PolicyRun(
            policy=policy,
            profit=round(float(np.mean(profits)), 2),
            share_of_oracle=round(float(np.sum(profits)) / oracle, 4),
            final_price=runs[policy][1][-1],
            rail_violations=runs[policy][0],
            prices=runs[policy][1],
        )
        for policy, profits in totals.items()
    ]
