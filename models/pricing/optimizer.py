"""Constrained price optimisation on a constant-elasticity demand curve.

Demand at price ``p``: ``q(p) = q0 · (p / p0)^e · (c / c0)^x`` (own elasticity
``e`` < 0, cross elasticity ``x`` for the competitor price ``c``). Sales are
capped by inventory. The optimiser searches the feasible interval:

    [max(min_price, p0·(1 - max_change), cost unless allowed below),
     min(max_price, p0·(1 + max_change))]

and returns the profit- (or revenue-) maximising price with the expected demand
and an interval from the elasticity's standard error. Infeasible constraints
raise :class:`InfeasiblePricing` instead of returning a price outside them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import numpy as np

from models.errors import InvalidInput

GRID_POINTS = 2001


class InfeasiblePricing(InvalidInput):
    """No price satisfies the constraints."""


@dataclass(frozen=True)
class DemandCurve:
    reference_price: float
    reference_quantity: float
    elasticity: float
    elasticity_std: float = 0.0
    cross_elasticity: float = 0.0
    reference_competitor_price: float | None = None

    def __post_init__(self) -> None:
        for name in ("reference_price", "reference_quantity"):
            value = getattr(self, name)
            if not math.isfinite(value) or value <= 0:
                raise InvalidInput(f"{name} must be a finite number > 0, got {value!r}")
        if not math.isfinite(self.elasticity) or self.elasticity >= 0:
            raise InvalidInput(f"own-price elasticity must be negative, got {self.elasticity!r}")

    def quantity(
        self, price: float | np.ndarray, competitor_price: float | None = None, elasticity: float | None = None
    ) -> np.ndarray:
        e = self.elasticity if elasticity is None else elasticity
        q = self.reference_quantity * (np.asarray(price, dtype=float) / self.reference_price) ** e
        if competitor_price is not None and self.reference_competitor_price and self.cross_elasticity:
            q = q * (competitor_price / self.reference_competitor_price) ** self.cross_elasticity
        return np.asarray(q, dtype=float)


@dataclass(frozen=True)
class PriceConstraints:
    cost: float
    current_price: float
    min_price: float | None = None
    max_price: float | None = None
    max_change: float | None = 0.10  # fraction of the current price per step
    allow_below_cost: bool = False
    inventory: float | None = None

    def __post_init__(self) -> None:
        values = {
            "cost": self.cost,
            "current_price": self.current_price,
            "min_price": self.min_price,
            "max_price": self.max_price,
            "inventory": self.inventory,
        }
        for name, value in values.items():
            if value is not None and (not math.isfinite(value) or value < 0):
                raise InvalidInput(f"{name} must be a finite number >= 0, got {value!r}")
        if self.current_price <= 0:
            raise InvalidInput("current_price must be > 0")
        if self.max_change is not None and not (0 <= self.max_change <= 10):
            raise InvalidInput(f"max_change is a fraction (0.1 = 10%), got {self.max_change!r}")

    def interval(self) -> tuple[float, float]:
        low, high = 0.0, math.inf
        if self.min_price is not None:
            low = max(low, self.min_price)
        if self.max_price is not None:
            high = min(high, self.max_price)
        if self.max_change is not None:
            low = max(low, self.current_price * (1 - self.max_change))
            high = min(high, self.current_price * (1 + self.max_change))
        if not self.allow_below_cost:
            low = max(low, self.cost)
        if not math.isfinite(high):
            raise InfeasiblePricing("give max_price or max_change: the price search needs an upper bound")
        low = max(low, 1e-9)
        if low > high:
            raise InfeasiblePricing(
                f"no price satisfies the constraints: the floor {low:.4g} (cost, min_price, max_change) is above "
                f"the ceiling {high:.4g} (max_price, max_change)"
            )
        return low, high


@dataclass(frozen=True)
class PriceRecommendation:
    price: float
    expected_quantity: float
    expected_profit: float
    expected_revenue: float
    quantity_interval: tuple[float, float]
    bound_hit: str | None
    reason: str


def optimize_price(
    curve: DemandCurve,
    constraints: PriceConstraints,
    *,
    competitor_price: float | None = None,
    objective: Literal["profit", "revenue"] = "profit",
) -> PriceRecommendation:
    low, high = constraints.interval()
    grid = np.linspace(low, high, GRID_POINTS)
    quantity = curve.quantity(grid, competitor_price)
    if constraints.inventory is not None:
        quantity = np.minimum(quantity, constraints.inventory)
    value = (grid - constraints.cost) * quantity if objective == "profit" else grid * quantity
    best = int(np.argmax(value))
    price = float(grid[best])
    sold = float(quantity[best])
    spread = 1.96 * curve.elasticity_std
    bounds = sorted(float(curve.quantity(price, competitor_price, curve.elasticity + d)) for d in (-spread, spread))
    bound_hit = "floor" if best == 0 else "ceiling" if best == GRID_POINTS - 1 else None
    unconstrained = constraints.cost * curve.elasticity / (1 + curve.elasticity) if curve.elasticity < -1 else None
    if bound_hit is not None:
        reason = f"the {objective}-maximising price lies beyond the {bound_hit}; clamped to {price:.4g}"
    elif constraints.inventory is not None and sold >= constraints.inventory - 1e-9:
        reason = f"inventory of {constraints.inventory:g} binds: price raised until demand meets stock"
    elif objective == "profit" and unconstrained is not None:
        reason = f"markup rule p = c·e/(1+e) with elasticity {curve.elasticity:.2f} gives {unconstrained:.4g}"
    else:
        reason = f"best {objective} on the feasible interval [{low:.4g}, {high:.4g}]"
    return PriceRecommendation(
        price=round(price, 6),
        expected_quantity=sold,
        expected_profit=float((price - constraints.cost) * sold),
        expected_revenue=float(price * sold),
        quantity_interval=(bounds[0], bounds[1]),
        bound_hit=bound_hit,
        reason=reason,
    )
