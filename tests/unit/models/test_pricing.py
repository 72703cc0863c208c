"""Pricing: guard rails (property-based), demand models on the real Cigar panel, Thompson sampling."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from models.errors import InvalidInput
from models.pricing.bandit import ThompsonPricer, simulate
from models.pricing.data import load_cigar
from models.pricing.demand import LogLogDemand, MonotoneGbmDemand, wape
from models.pricing.optimizer import DemandCurve, InfeasiblePricing, PriceConstraints, optimize_price

prices = st.floats(min_value=0.5, max_value=1000, allow_nan=False)
elasticities = st.floats(min_value=-6, max_value=-0.2)


@settings(max_examples=300, deadline=None)
@given(
    current=prices,
    cost_share=st.floats(0.0, 1.5),
    elasticity=elasticities,
    low=st.one_of(st.none(), st.floats(0.0, 2.0)),
    high=st.one_of(st.none(), st.floats(0.5, 3.0)),
    change=st.one_of(st.none(), st.floats(0.0, 0.5)),
    below_cost=st.booleans(),
    inventory=st.one_of(st.none(), st.floats(0.0, 200)),
)
def test_recommendations_always_respect_the_constraints(
    current: float,
    cost_share: float,
    elasticity: float,
    low: float | None,
    high: float | None,
    change: float | None,
    below_cost: bool,
    inventory: float | None,
) -> None:
    constraints = PriceConstraints(
        cost=current * cost_share,
        current_price=current,
        min_price=None if low is None else current * low,
        max_price=None if high is None else current * high,
        max_change=change,
        allow_below_cost=below_cost,
        inventory=inventory,
    )
    curve = DemandCurve(reference_price=current, reference_quantity=100.0, elasticity=elasticity)
    try:
        floor, ceiling = constraints.interval()
    except InfeasiblePricing:
        with pytest.raises(InfeasiblePricing):
            optimize_price(curve, constraints)
        return
    result = optimize_price(curve, constraints)
    tolerance = 1e-6 * max(1.0, current)
    assert floor - tolerance <= result.price <= ceiling + tolerance
    if constraints.min_price is not None:
        assert result.price >= constraints.min_price - tolerance
    if constraints.max_price is not None:
        assert result.price <= constraints.max_price + tolerance
    if change is not None:
        assert abs(result.price - current) <= current * change + tolerance
    if not below_cost:
        assert result.price >= constraints.cost - tolerance
    if inventory is not None:
        assert result.expected_quantity <= inventory + 1e-9
    assert result.reason


@given(cost=st.floats(1, 100), elasticity=st.floats(-6, -1.2))
def test_interior_optimum_follows_the_markup_rule(cost: float, elasticity: float) -> None:
    optimum = cost * elasticity / (1 + elasticity)
    assume(optimum < 50 * cost)
    curve = DemandCurve(reference_price=optimum, reference_quantity=10, elasticity=elasticity)
    result = optimize_price(curve, PriceConstraints(cost=cost, current_price=optimum, max_change=0.5))
    assert result.price == pytest.approx(optimum, rel=2e-3)
    assert result.bound_hit is None


def test_infeasible_constraints_are_explained() -> None:
    with pytest.raises(InfeasiblePricing, match="floor"):
        PriceConstraints(cost=120, current_price=100, max_change=0.1).interval()
    with pytest.raises(InfeasiblePricing, match="upper bound"):
        PriceConstraints(cost=10, current_price=100, max_change=None).interval()


@pytest.mark.parametrize(
    "kwargs",
    [
        {"cost": -1, "current_price": 10},
        {"cost": 1, "current_price": 0},
        {"cost": float("nan"), "current_price": 10},
        {"cost": 1, "current_price": 10, "max_change": -0.1},
        {"cost": 1, "current_price": 10, "inventory": -5},
    ],
)
def test_bad_constraints_are_typed_errors(kwargs: dict[str, float]) -> None:
    with pytest.raises(InvalidInput):
        PriceConstraints(**kwargs)


@pytest.mark.parametrize("elasticity", [0.5, 0.0, float("inf")])
def test_curves_need_a_negative_finite_elasticity(elasticity: float) -> None:
    with pytest.raises(InvalidInput, match="negative"):
        DemandCurve(reference_price=1, reference_quantity=1, elasticity=elasticity)


@pytest.fixture(scope="module")
def cigar():  # type: ignore[no-untyped-def]
    return load_cigar()


def test_loglog_recovers_a_plausible_elasticity_and_beats_naive(cigar) -> None:  # type: ignore[no-untyped-def]
    train, test = cigar[cigar.year <= 1985], cigar[cigar.year > 1985]
    model = LogLogDemand().fit(train)
    assert -1.6 < model.elasticity < -0.5
    assert model.std_errors["log_real_price"] < 0.1
    naive = test["state"].map(cigar[cigar.year == 1985].set_index("state")["sales"]).to_numpy(dtype=float)
    actual = test["sales"].to_numpy(dtype=float)
    assert wape(actual, model.predict(test)) < wape(actual, naive)


def test_monotone_gbm_never_predicts_more_at_a_higher_price(cigar) -> None:  # type: ignore[no-untyped-def]
    model = MonotoneGbmDemand().fit(cigar[cigar.year <= 1985])
    row = cigar.iloc[[100]].copy()
    predictions = []
    for factor in np.linspace(0.7, 1.5, 9):
        probe = row.copy()
        probe["log_real_price"] = math.log(float(row["real_price"].iloc[0]) * factor)
        predictions.append(float(model.predict(probe)[0]))
    assert all(b <= a + 1e-9 for a, b in itertools.pairwise(predictions))


def test_demand_models_refuse_non_finite_inputs(cigar) -> None:  # type: ignore[no-untyped-def]
    broken = cigar.head(5).copy()
    broken.loc[broken.index[0], "log_real_price"] = float("-inf")
    with pytest.raises(InvalidInput, match="finite"):
        LogLogDemand().fit(broken)


def test_thompson_sampling_learns_the_best_price() -> None:
    curve = DemandCurve(reference_price=100, reference_quantity=20, elasticity=-3.0)
    candidates = np.linspace(55, 135, 9)  # contains the analytical optimum 50·3/2 = 75
    result = simulate(curve, candidates, cost=50, rounds=3000, seed=1)
    assert result.oracle_price == 75
    assert result.last_tenth_regret_per_round < result.first_tenth_regret_per_round / 3
    assert result.regret_share < 0.05
    assert result.best_arm_share_last_tenth > 0.5
    with pytest.raises(InvalidInput):
        ThompsonPricer(np.array([10.0]), cost=1)


def test_pricing_service_uses_fitted_elasticities_and_guards() -> None:
    from models.pricing.service import PricingRequest, PricingService

    service = PricingService.fit_default()
    assert -1.3 < service.elasticity < -0.8
    assert len(service.segments) == 46
    request = PricingRequest(cost=5, current_price=10, current_quantity=100, max_change=0.1)
    pooled = service.recommend(request)
    assert pooled.elasticity_source == "pooled"
    assert 9.0 - 1e-9 <= pooled.price <= 11.0 + 1e-9
    segment = next(iter(service.segments))
    assert service.recommend(request.model_copy(update={"segment": segment})).elasticity_source == f"segment {segment}"
    with pytest.raises(InvalidInput, match="unknown segment"):
        service.recommend(request.model_copy(update={"segment": 10_000}))
    explicit = service.recommend(request.model_copy(update={"elasticity": -3.0, "max_change": 0.5}))
    assert explicit.price == pytest.approx(7.5, rel=0.02)  # markup rule c*e/(1+e) = 5*3/2
