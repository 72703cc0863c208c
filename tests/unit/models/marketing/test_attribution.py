"""Attribution models: known answers on small journeys, and conservation on any journeys (property tests)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from models.errors import InvalidInput
from models.marketing.attribution import (
    MODELS,
    AttributionRequest,
    Journey,
    _shapley_exact,
    _shapley_sampled,
    attribute,
    credits,
    markov_removal_effects,
    path_counts,
)


def by_channel(request: AttributionRequest, model: str) -> dict[str, float]:
    result = next(r for r in attribute(request).results if r.model == model)
    return {c.channel: c.conversions for c in result.channels}


def test_rules_on_one_journey() -> None:
    request = AttributionRequest(journeys=[Journey(touches=["a", "b", "c", "d"], converted=True, value=100)])
    assert by_channel(request, "first_touch") == {"a": 1, "b": 0, "c": 0, "d": 0}
    assert by_channel(request, "last_touch") == {"a": 0, "b": 0, "c": 0, "d": 1}
    assert by_channel(request, "linear") == pytest.approx({"a": 0.25, "b": 0.25, "c": 0.25, "d": 0.25})
    assert by_channel(request, "position_based") == pytest.approx({"a": 0.4, "b": 0.1, "c": 0.1, "d": 0.4})


def test_time_decay_halves_a_touch_every_half_life() -> None:
    journey = Journey(touches=["old", "new"], days_before=[7.0, 0.0], converted=True)
    credit = by_channel(AttributionRequest(journeys=[journey], half_life_days=7), "time_decay")
    assert credit["new"] == pytest.approx(2 * credit["old"], rel=1e-5) and sum(credit.values()) == pytest.approx(1)


def test_markov_gives_nothing_to_a_channel_whose_paths_never_convert() -> None:
    journeys = [Journey(touches=["a"], converted=True, count=30), Journey(touches=["b"], count=70)]
    counts = path_counts(journeys)
    effects = markov_removal_effects(counts)
    assert effects.tolist() == pytest.approx([1.0, 0.0])
    assert by_channel(AttributionRequest(journeys=journeys), "markov") == pytest.approx({"a": 30, "b": 0})


def test_markov_removal_effect_of_a_two_step_path() -> None:
    # a → b → convert (half the time) or null: removing either kills every conversion
    journeys = [Journey(touches=["a", "b"], converted=True), Journey(touches=["a", "b"])]
    assert markov_removal_effects(path_counts(journeys), order=2).tolist() == pytest.approx([1.0, 1.0])
    with pytest.raises(InvalidInput, match="order"):
        markov_removal_effects(path_counts(journeys), order=4)


def test_shapley_splits_by_marginal_contribution_and_sampling_agrees_with_exact() -> None:
    # v({a}) = 0.1, v({b}) = 0.3, v({a, b}) = 0.5: φa = (0.1 + 0.2) / 2, φb = (0.3 + 0.4) / 2
    worth = {frozenset(): 0.0, frozenset({0}): 0.1, frozenset({1}): 0.3, frozenset({0, 1}): 0.5}
    assert _shapley_exact((0, 1), worth).tolist() == pytest.approx([0.15, 0.35])
    rng = np.random.default_rng(0)
    members = tuple(range(6))
    big = {
        frozenset(s): float(len(s)) ** 1.5 + (0.3 if 2 in s else 0.0)
        for s in (frozenset(i for i in members if m >> i & 1) for m in range(64))
    }
    exact = _shapley_exact(members, big)
    sampled = _shapley_sampled(members, big, 4000, rng)
    assert exact.sum() == pytest.approx(big[frozenset(members)])  # efficiency
    assert sampled == pytest.approx(exact, abs=0.05)


def test_unknown_channels_spend_and_empty_data_are_answered_clearly() -> None:
    with pytest.raises(InvalidInput, match="not in 'channels'"):
        attribute(AttributionRequest(journeys=[Journey(touches=["tv"])], channels=["email"]))
    with pytest.raises(InvalidInput, match="spend names channels"):
        attribute(AttributionRequest(journeys=[Journey(touches=["email"])], channels=["email"], spend={"tv": 5}))
    empty = attribute(AttributionRequest(journeys=[Journey(touches=["email"]), Journey(touches=[], converted=True)]))
    assert empty.state == "not_enough_data" and "nothing to attribute" in (empty.reason or "")


def test_spend_gives_roas_and_cpa() -> None:
    request = AttributionRequest(
        journeys=[Journey(touches=["email"], converted=True, value=300, count=2)],
        spend={"email": 100.0, "tv": 50.0},
        models=["last_touch"],
    )
    rows = {c.channel: c for c in attribute(request).results[0].channels}
    assert rows["email"].roas == pytest.approx(6.0) and rows["email"].cpa == pytest.approx(50.0)
    assert rows["tv"].conversions == 0 and rows["tv"].roas == 0 and rows["tv"].cpa is None


journeys_strategy = st.lists(
    st.builds(
        Journey,
        touches=st.lists(st.sampled_from(["a", "b", "c", "d", "e"]), max_size=7),
        converted=st.booleans(),
        count=st.integers(1, 5),
    ).map(lambda j: j.model_copy(update={"value": 10.0 * len(j.touches)}) if j.converted else j),
    min_size=1,
    max_size=40,
)


@settings(max_examples=60, deadline=None)
@given(journeys=journeys_strategy)
def test_every_model_hands_out_exactly_the_conversions_and_revenue(journeys: list[Journey]) -> None:
    counts = path_counts(journeys)
    options = AttributionRequest(journeys=journeys, markov_order=2)
    for model in MODELS:
        conv, revenue = credits(counts, model, options)
        assert (conv >= -1e-9).all() and (revenue >= -1e-9).all()
        if counts.total_conversions:
            assert conv.sum() == pytest.approx(counts.total_conversions)
            assert revenue.sum() == pytest.approx(counts.total_value)
