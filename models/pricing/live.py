"""Live repricing of one product inside its guard rails: the optimiser's price, or a Thompson-sampled one.

A product in a tenant's price book has a current price, a unit cost and **guard rails**: absolute bounds
(``min_price``, ``max_price``), a step limit (``max_step``: the largest move per change, as a fraction of
the current price) and a floor over cost (``min_margin``: the price is never below ``cost · (1 + min_margin)``).
Every price this module proposes lies inside the interval the rails leave (:meth:`GuardRails.interval`),
rounded to the cent inward, so rounding can never step outside.

**Demand** comes from the product's own sales: units sold per day in periods at known prices. The rate at the
current price is the recent periods' (time-weighted); the own-price elasticity is fitted on the product's
sales when they span at least :data:`MIN_PRICES` distinct prices (log-log least squares, shrunk toward the
prior with the spread products show around a pooled elasticity, :data:`PRODUCT_PRIOR_STD`), else the prior:
a given elasticity, or the pooled one the pricing model fitted on the Cigar panel. The optimiser
(:func:`~models.pricing.optimizer.optimize_price`) then maximises profit on that curve within the rails,
with the competitor's price and the inventory when known.

**Exploring** (``explore=True``): a fitted curve is only as good as the prices tried. Thompson sampling over
:data:`CANDIDATES` prices spread over the rails' interval keeps a Gamma posterior over each candidate's daily
demand, its prior centred on the curve's prediction (worth :data:`PRIOR_DAYS` days of sales) and updated with
the sales observed near that price; the price with the highest sampled profit is proposed. Exploration thus
only ever happens inside the rails.

No sales yet is ``not_enough_data`` with what is missing; a price already within half a percent of the
proposal is ``hold``: no change is proposed for noise.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Literal

import numpy as np
from pydantic import BaseModel, Field, model_validator

from models.errors import InvalidInput
from models.pricing.optimizer import DemandCurve, InfeasiblePricing, PriceConstraints, optimize_price

MIN_PRICES = 3  # distinct prices (1 % apart) before the product's own elasticity is fitted
CANDIDATES = 7  # the explorer's prices across the rails' interval
PRIOR_DAYS = 7.0  # how many days of sales the curve's prediction is worth to the explorer
HOLD_SHARE = 0.005  # a proposal closer than this to the current price is not a change
RECENT_DAYS = 28.0  # half-life of a sales period's weight in the current demand rate
PRODUCT_PRIOR_STD = 0.75  # how far one product's elasticity may sit from the pooled one (not its standard error)


class GuardRails(BaseModel):
    """What a price may never do, whoever proposes it (optimiser, explorer or a person)."""

    cost: float = Field(ge=0, description="unit cost")
    min_price: float | None = Field(default=None, gt=0)
    max_price: float | None = Field(default=None, gt=0)
    max_step: float = Field(default=0.10, gt=0, le=1, description="largest change per step, fraction of the price")
    min_margin: float = Field(default=0.0, ge=-1, le=10, description="floor: cost · (1 + min_margin)")

    @model_validator(mode="after")
    def _bounds(self) -> GuardRails:
        if self.min_price is not None and self.max_price is not None and self.min_price > self.max_price:
            raise ValueError(f"min_price {self.min_price} is above max_price {self.max_price}")
        return self

    def floor(self) -> float:
        return max(self.min_price or 0.0, self.cost * (1 + self.min_margin))

    def interval(self, current: float) -> tuple[float, float]:
        """The prices allowed from ``current``, rounded to the cent inward; raises when none is."""
        low = max(self.floor(), current * (1 - self.max_step))
        high = current * (1 + self.max_step)
        if self.max_price is not None:
            high = min(high, self.max_price)
        low, high = math.ceil(round(low * 100, 6)) / 100, math.floor(round(high * 100, 6)) / 100
        if low > high:
            raise InfeasiblePricing(
                f"no price within the guard rails from {current:g}: floor {low:.2f} (cost, margin, min_price, step) "
                f"is above ceiling {high:.2f} (max_price, step); widen a rail or set the price by hand"
            )
        return low, high

    def violations(self, price: float, current: float) -> list[str]:
        """The rails ``price`` would break when set from ``current`` (empty: allowed)."""
        broken = []
        if price < self.floor() - 1e-9:
            broken.append(f"below the floor {self.floor():.2f} (cost {self.cost:g}, min_margin, min_price)")
        if self.max_price is not None and price > self.max_price + 1e-9:
            broken.append(f"above max_price {self.max_price:g}")
        if abs(price - current) > current * self.max_step + 0.005:
            broken.append(f"a step of {abs(price / current - 1):.1%} (max_step {self.max_step:.0%})")
        return broken


class SalesPeriod(BaseModel):
    """Units sold over ``days`` at one price, ``age_days`` ago (0: the latest)."""

    price: float = Field(gt=0)
    units: float = Field(ge=0)
    days: float = Field(gt=0)
    age_days: float = Field(default=0.0, ge=0)


class ProductState(BaseModel):
    price: float = Field(gt=0, description="the current price")
    rails: GuardRails
    sales: list[SalesPeriod] = Field(default_factory=list)
    competitor_price: float | None = Field(default=None, gt=0)
    reference_competitor_price: float | None = Field(default=None, gt=0)
    inventory: float | None = Field(default=None, ge=0, description="units available per day")
    elasticity: float | None = Field(default=None, lt=0, description="a known own-price elasticity (the prior)")
    explore: bool = False


Action = Literal["change", "hold", "not_enough_data"]


@dataclass(frozen=True)
class Proposal:
    action: Action
    price: float  # the proposed price (the current one when holding)
    source: Literal["optimiser", "explorer", "none"]
    reason: str
    elasticity: float | None = None
    elasticity_source: str | None = None
    expected_units_per_day: float | None = None
    expected_profit_per_day: float | None = None
    interval: tuple[float, float] | None = None
    missing: tuple[str, ...] = ()


def demand_rate(sales: Sequence[SalesPeriod], price: float, elasticity: float) -> float:
    """Units per day at ``price``: every period's rate moved to ``price`` along the curve, recent ones weighing
    more (half-life :data:`RECENT_DAYS`), each by its length."""
    weights = np.array([p.days * 0.5 ** (p.age_days / RECENT_DAYS) for p in sales])
    rates = np.array([p.units / p.days * (price / p.price) ** elasticity for p in sales])
    return float((weights * rates).sum() / weights.sum())


def fit_elasticity(sales: Sequence[SalesPeriod], prior: float, prior_std: float) -> tuple[float, str]:
    """The product's own elasticity when its sales span :data:`MIN_PRICES` prices, shrunk toward the prior."""
    usable = [p for p in sales if p.units > 0]
    prices = sorted({round(math.log(p.price), 2) for p in usable})
    if len(prices) < MIN_PRICES:
        return prior, "prior"
    x = np.log([p.price for p in usable])
    y = np.log([p.units / p.days for p in usable])
    w = np.array([p.days for p in usable])
    xm, ym = np.average(x, weights=w), np.average(y, weights=w)
    sxx = float((w * (x - xm) ** 2).sum())
    slope = float((w * (x - xm) * (y - ym)).sum() / sxx)
    residual = float((w * (y - ym - slope * (x - xm)) ** 2).sum() / max(w.sum(), 1e-9))
    variance = max(residual / sxx * w.sum() / max(len(usable) - 2, 1), 1e-6)
    prior_var = max(prior_std, PRODUCT_PRIOR_STD) ** 2
    shrunk = (slope / variance + prior / prior_var) / (1 / variance + 1 / prior_var)
    if shrunk >= -0.05:  # the data say demand barely reacts (or rises) with price: keep the prior's sign
        return prior, "prior (own fit not downward-sloping)"
    return float(shrunk), f"own sales at {len(prices)} prices"


def propose(
    state: ProductState,
    *,
    prior_elasticity: float,
    prior_std: float,
    cross_elasticity: float = 0.0,
    rng: np.random.Generator | None = None,
) -> Proposal:
    """The next price for ``state`` (see the module): ``cross_elasticity`` moves demand with the competitor's
    price when both it and its reference are known; ``rng`` drives the explorer (fixed seed: reproducible)."""
    low, high = state.rails.interval(state.price)
    if not any(p.units > 0 for p in state.sales):
        missing = ("sales periods with units sold",) if state.sales else ("sales periods",)
        return Proposal(
            "not_enough_data",
            state.price,
            "none",
            "no sales recorded yet: nothing to fit demand on",
            interval=(low, high),
            missing=missing,
        )
    prior = state.elasticity if state.elasticity is not None else prior_elasticity
    elasticity, source = fit_elasticity(state.sales, prior, prior_std)
    if state.elasticity is not None and source == "prior":
        source = "given"
    rate = demand_rate(state.sales, state.price, elasticity)
    if rate <= 0:
        return Proposal(
            "not_enough_data", state.price, "none", "no units sold recently", interval=(low, high), missing=("sales",)
        )
    curve = DemandCurve(
        reference_price=state.price,
        reference_quantity=rate,
        elasticity=elasticity,
        elasticity_std=prior_std,
        cross_elasticity=cross_elasticity if state.reference_competitor_price else 0.0,
        reference_competitor_price=state.reference_competitor_price,
    )
    constraints = PriceConstraints(
        cost=state.rails.cost,
        current_price=state.price,
        min_price=low,
        max_price=high,
        max_change=None,
        allow_below_cost=True,  # the rails' floor is already in ``low``
        inventory=state.inventory,
    )
    best = optimize_price(curve, constraints, competitor_price=state.competitor_price)
    chosen_by: Literal["optimiser", "explorer"] = "optimiser"
    price, reason = best.price, best.reason
    if state.explore:
        price = explore(state, curve, (low, high), rng or np.random.default_rng())
        chosen_by = "explorer"
        reason = f"Thompson sample over {CANDIDATES} prices in [{low:.2f}, {high:.2f}] (optimiser: {best.price:.2f})"
    price = min(max(round(price, 2), low), high)
    units = float(curve.quantity(price, state.competitor_price))
    if state.inventory is not None:
        units = min(units, state.inventory)
    hold = abs(price - state.price) < max(HOLD_SHARE * state.price, 0.005)
    broken = state.rails.violations(price, state.price)
    if broken:  # cannot happen by construction; refuse rather than trust it
        raise InvalidInput(f"proposed {price} breaks the guard rails: {broken}")
    return Proposal(
        "hold" if hold else "change",
        state.price if hold else price,
        chosen_by,
        f"within {HOLD_SHARE:.1%} of the current price: no change" if hold else reason,
        elasticity=round(elasticity, 4),
        elasticity_source=source,
        expected_units_per_day=round(units, 4),
        expected_profit_per_day=round((price - state.rails.cost) * units, 4),
        interval=(low, high),
    )


def explore(state: ProductState, curve: DemandCurve, interval: tuple[float, float], rng: np.random.Generator) -> float:
    """One Thompson draw: Gamma posteriors of daily demand at the candidate prices, the best sampled profit."""
    low, high = interval
    candidates = np.linspace(low, high, CANDIDATES) if high > low else np.array([low])
    expected = np.maximum(curve.quantity(candidates, state.competitor_price), 1e-6)
    shape = expected * PRIOR_DAYS
    rate = np.full(len(candidates), PRIOR_DAYS)
    half_gap = (high - low) / max(CANDIDATES - 1, 1) / 2 + 1e-9
    for period in state.sales:
        near = np.abs(candidates - period.price) <= half_gap
        shape[near] += period.units
        rate[near] += period.days
    draws = rng.gamma(shape, 1.0 / rate)
    if state.inventory is not None:
        draws = np.minimum(draws, state.inventory)
    return float(candidates[int(np.argmax((candidates - state.rails.cost) * draws))])


class LivePricingRequest(ProductState):
    """One product's state for a proposal over HTTP or gRPC; ``seed`` makes the explorer's draw reproducible."""

    seed: int | None = None


class LiveProposal(BaseModel):
    """:class:`Proposal` as the endpoints answer it."""

    action: Action
    price: float
    source: Literal["optimiser", "explorer", "none"]
    reason: str
    elasticity: float | None = None
    elasticity_source: str | None = None
    expected_units_per_day: float | None = None
    expected_profit_per_day: float | None = None
    interval: list[float] = Field(default_factory=list, description="[low, high]: the prices the rails allow")
    missing: list[str] = Field(default_factory=list)

    @classmethod
    def of(cls, proposal: Proposal) -> LiveProposal:
        fields = asdict(proposal) | {"interval": list(proposal.interval or ()), "missing": list(proposal.missing)}
        return cls.model_validate(fields)
