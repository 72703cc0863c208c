"""Unit tests of ``models.pricing.live``: guard rails, demand from sales, the optimiser and the explorer."""

from __future__ import annotations

import numpy as np
import pytest
from pydantic import ValidationError

from models.errors import InvalidInput
from models.pricing.live import GuardRails, ProductState, SalesPeriod, demand_rate, fit_elasticity, propose
from models.pricing.optimizer import InfeasiblePricing

RAILS = GuardRails(cost=6.0, min_price=7.0, max_price=15.0, max_step=0.05, min_margin=0.10)


def _sales(elasticity: float, prices: list[float], *, base: float = 200.0, seed: int = 0) -> list[SalesPeriod]:
    rng = np.random.default_rng(seed)
    return [
        SalesPeriod(price=p, units=float(rng.poisson(base * (p / 8.0) ** elasticity)), days=7, age_days=7 * i)
        for i, p in enumerate(prices)
    ]


def test_the_rails_interval_is_rounded_inward_and_explains_when_empty() -> None:
    assert RAILS.interval(8.0) == (7.6, 8.4)
    assert RAILS.interval(14.9) == (14.16, 15.0)  # max_price caps the step
    assert RAILS.interval(7.1) == (7.0, 7.45)  # min_price, not the step, is the floor
    low, high = GuardRails(cost=1.0, max_step=0.1).interval(1.005)
    assert low >= 1.005 * 0.9 and high <= 1.005 * 1.1  # never outside after rounding to the cent
    with pytest.raises(InfeasiblePricing, match=r"floor 12\.00"):
        GuardRails(cost=10.0, min_margin=0.2, max_step=0.05).interval(10.0)
    with pytest.raises(ValueError, match="min_price"):
        GuardRails(cost=1.0, min_price=5.0, max_price=4.0)


def test_violations_name_each_broken_rail() -> None:
    assert RAILS.violations(8.4, 8.0) == []
    assert [v.split(" ")[0] for v in RAILS.violations(16.0, 8.0)] == ["above", "a"]
    assert RAILS.violations(6.5, 6.8)[0].startswith("below the floor 7.00")


def test_no_sales_is_not_enough_data_with_what_is_missing() -> None:
    nothing = propose(ProductState(price=8.0, rails=RAILS), prior_elasticity=-1.0, prior_std=0.1)
    assert (nothing.action, nothing.price, nothing.missing) == ("not_enough_data", 8.0, ("sales periods",))
    zero = ProductState(price=8.0, rails=RAILS, sales=[SalesPeriod(price=8.0, units=0, days=7)])
    assert propose(zero, prior_elasticity=-1.0, prior_std=0.1).missing == ("sales periods with units sold",)


def test_the_own_elasticity_is_fitted_once_three_prices_were_tried() -> None:
    one_price = _sales(-2.2, [8.0] * 10)
    assert fit_elasticity(one_price, -1.0, 0.05) == (-1.0, "prior")
    varied = _sales(-2.2, [7.6, 8.0, 8.4] * 8)
    elasticity, source = fit_elasticity(varied, -1.0, 0.05)
    assert source == "own sales at 3 prices" and -2.6 < elasticity < -1.8
    assert demand_rate(varied, 8.0, elasticity) == pytest.approx(200 / 7, rel=0.1)


def test_the_optimiser_moves_toward_the_best_price_one_step_at_a_time_and_holds_there() -> None:
    sales = _sales(-2.2, [7.6, 8.0, 8.4] * 6)
    up = propose(ProductState(price=8.0, rails=RAILS, sales=sales), prior_elasticity=-1.0, prior_std=0.05)
    assert (up.action, up.source, up.price) == ("change", "optimiser", 8.4)  # the best, 11.00, is further up
    near_best = _sales(-2.2, [11.0] * 6)  # one price: the given elasticity stands
    there = propose(
        ProductState(price=11.0, rails=RAILS, sales=near_best, elasticity=-2.2), prior_elasticity=-1.0, prior_std=0.05
    )
    assert there.action == "hold" and there.price == 11.0


def test_the_explorer_only_ever_proposes_prices_inside_the_rails() -> None:
    rng = np.random.default_rng(0)
    for trial in range(200):
        current = float(rng.uniform(7.0, 15.0))
        rails = GuardRails(
            cost=6.0, min_price=7.0, max_price=15.0, max_step=float(rng.uniform(0.01, 0.3)), min_margin=0.1
        )
        sales = _sales(-float(rng.uniform(0.5, 3.0)), list(rng.uniform(7.0, 15.0, 5)), seed=trial)
        state = ProductState(price=round(current, 2), rails=rails, sales=sales, explore=True)
        proposal = propose(state, prior_elasticity=-1.0, prior_std=0.1, rng=rng)
        assert rails.violations(proposal.price, state.price) == [], (trial, proposal)
        assert proposal.source == "explorer"


def test_bad_input_is_refused() -> None:
    with pytest.raises(ValidationError):
        SalesPeriod(price=0, units=1, days=7)
    with pytest.raises(ValidationError):
        ProductState(price=-1, rails=RAILS)
    assert issubclass(InfeasiblePricing, InvalidInput)  # 422 at every boundary


def test_the_endpoints_answer_is_the_proposal_field_for_field() -> None:
    from models.pricing.live import LiveProposal

    proposal = propose(ProductState(price=8.0, rails=RAILS), prior_elasticity=-1.0, prior_std=0.1)
    answer = LiveProposal.of(proposal)
    assert (answer.action, answer.price, answer.interval, answer.missing) == (
        "not_enough_data",
        8.0,
        [7.6, 8.4],
        ["sales periods"],
    )
