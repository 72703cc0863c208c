"""The pricing model as served: fitted elasticities + the constrained optimiser.

At load, the log-log fixed-effects demand model is fitted on the Cigar panel
(well under a second): its pooled own-price elasticity (with standard error),
its cross-price elasticity and the shrunk per-segment (state) elasticities are
the defaults. A request describes one product now (cost, current price, units
sold per period at that price, bounds, competitor price, inventory) and may
name a segment or give its own elasticity; the answer is the optimiser's price
with expected demand, its interval and the reason.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from pydantic import BaseModel, Field

from models.errors import InvalidInput
from models.pricing.live import LivePricingRequest, LiveProposal, propose
from models.pricing.optimizer import DemandCurve, PriceConstraints, PriceRecommendation, optimize_price


class PricingRequest(BaseModel):
    cost: float = Field(ge=0, description="unit cost")
    current_price: float = Field(gt=0)
    current_quantity: float = Field(gt=0, description="units sold per period at the current price")
    min_price: float | None = Field(default=None, ge=0)
    max_price: float | None = Field(default=None, gt=0)
    max_change: float | None = Field(default=0.10, ge=0, le=10, description="fraction of the current price per step")
    allow_below_cost: bool = False
    inventory: float | None = Field(default=None, ge=0)
    competitor_price: float | None = Field(default=None, gt=0)
    reference_competitor_price: float | None = Field(default=None, gt=0)
    segment: int | None = Field(default=None, description="a segment the demand model was fitted on (Cigar state)")
    elasticity: float | None = Field(default=None, lt=0, description="override the fitted own-price elasticity")
    objective: Literal["profit", "revenue"] = "profit"


class PricingResponse(BaseModel):
    price: float
    expected_quantity: float
    expected_profit: float
    expected_revenue: float
    quantity_interval: tuple[float, float]
    bound_hit: str | None
    elasticity: float
    elasticity_source: str
    reason: str


@dataclass
class PricingService:
    elasticity: float
    elasticity_std: float
    cross_elasticity: float
    segments: dict[int, float]
    version: str = "loglog-fe-cigar-v1"

    @classmethod
    def fit_default(cls) -> PricingService:
        from models.pricing.data import load_cigar
        from models.pricing.demand import LogLogDemand

        demand = LogLogDemand().fit(load_cigar())
        return cls(
            elasticity=demand.elasticity,
            elasticity_std=demand.std_errors["log_real_price"],
            cross_elasticity=demand.coefficients["log_real_competitor_price"],
            segments={int(k): float(v) for k, v in demand.segment_elasticity.items()},
        )

    def _elasticity(self, request: PricingRequest) -> tuple[float, str]:
        if request.elasticity is not None:
            return request.elasticity, "request"
        if request.segment is not None:
            if request.segment not in self.segments:
                raise InvalidInput(f"unknown segment {request.segment}; known: {sorted(self.segments)}")
            return self.segments[request.segment], f"segment {request.segment}"
        return self.elasticity, "pooled"

    def recommend(self, request: PricingRequest) -> PricingResponse:
        elasticity, source = self._elasticity(request)
        if elasticity >= 0:
            raise InvalidInput(f"the {source} elasticity {elasticity:.3f} is not negative: no demand curve to optimise")
        competitor_reference = request.reference_competitor_price or request.competitor_price
        curve = DemandCurve(
            reference_price=request.current_price,
            reference_quantity=request.current_quantity,
            elasticity=elasticity,
            elasticity_std=self.elasticity_std,
            cross_elasticity=self.cross_elasticity if competitor_reference else 0.0,
            reference_competitor_price=competitor_reference,
        )
        constraints = PriceConstraints(
            cost=request.cost,
            current_price=request.current_price,
            min_price=request.min_price,
            max_price=request.max_price,
            max_change=request.max_change,
            allow_below_cost=request.allow_below_cost,
            inventory=request.inventory,
        )
        best: PriceRecommendation = optimize_price(
            curve, constraints, competitor_price=request.competitor_price, objective=request.objective
        )
        return PricingResponse(
            price=best.price,
            expected_quantity=round(best.expected_quantity, 6),
            expected_profit=round(best.expected_profit, 6),
            expected_revenue=round(best.expected_revenue, 6),
            quantity_interval=(round(best.quantity_interval[0], 6), round(best.quantity_interval[1], 6)),
            bound_hit=best.bound_hit,
            elasticity=round(elasticity, 4),
            elasticity_source=source,
            reason=best.reason,
        )

    def propose_live(self, request: LivePricingRequest) -> LiveProposal:
        """A price-book product's next price within its guard rails (:mod:`models.pricing.live`), with this
        model's pooled and cross-price elasticities as the priors."""
        import numpy as np

        proposal = propose(
            request,
            prior_elasticity=self.elasticity,
            prior_std=self.elasticity_std,
            cross_elasticity=self.cross_elasticity,
            rng=np.random.default_rng(request.seed),
        )
        return LiveProposal.of(proposal)
