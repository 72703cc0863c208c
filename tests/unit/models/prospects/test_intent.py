from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from models.prospects import simulate
from models.prospects.intent import (
    PRIOR,
    IntentModel,
    Signal,
    faded,
    features,
    fit,
    score_of,
    top_signals,
    weighted,
)
from models.prospects.signals import KINDS, decay

NOW = datetime(2026, 6, 1, tzinfo=UTC)


def test_decay_halves_every_half_life_and_future_counts_whole() -> None:
    assert decay(0) == 1.0
    assert decay(14) == pytest.approx(0.5)
    assert decay(28) == pytest.approx(0.25)
    assert decay(-3) == 1.0


def test_features_count_only_what_was_known_then() -> None:
    signals = [Signal("message_reply", NOW - timedelta(days=14)), Signal("profile_view", NOW + timedelta(days=1))]
    x = features(signals, NOW)
    assert x["message_reply"] == pytest.approx(0.5) and x["profile_view"] == 0.0


def test_a_reply_scores_more_than_a_view_and_scores_fade() -> None:
    reply = weighted(PRIOR, features([Signal("message_reply", NOW)], NOW))
    view = weighted(PRIOR, features([Signal("profile_view", NOW)], NOW))
    assert score_of(PRIOR, reply) > score_of(PRIOR, view) > score_of(PRIOR, 0.0)
    later = NOW + timedelta(days=14)
    assert faded(PRIOR, reply, NOW, later) == pytest.approx(
        weighted(PRIOR, features([Signal("message_reply", NOW)], later))
    )
    assert 0 < score_of(PRIOR, 0.0) < 10  # nobody seen acting: low, not zero


def test_top_signals_are_what_adds_most_now() -> None:
    signals = [
        Signal("profile_view", NOW - timedelta(days=1), "ana"),
        Signal("message_reply", NOW - timedelta(days=60), "dan"),
        Signal("event_signup", NOW - timedelta(days=2), None),
    ]
    top = top_signals(PRIOR, signals, NOW, n=2)
    assert [t.kind for t in top] == ["event_signup", "profile_view"]  # the old reply faded below a fresh view
    assert top[1].user == "ana" and top[0].label == "signed up for an event"


def test_too_few_outcomes_keep_the_prior_and_say_so() -> None:
    xs = [dict.fromkeys(KINDS, 1.0)] * 20
    model = fit(xs, [True] * 5 + [False] * 15)
    assert model.source == "prior" and model.weights == PRIOR.weights
    assert "20 outcomes (5 converted, 15 lost)" in model.reason and "need 50" in model.reason


def test_learned_weights_move_toward_the_truth_from_the_prior() -> None:
    rows = simulate.prospects(3000, seed=3)
    xs = [simulate.decayed(r.signals, r.outcome_at, PRIOR.half_life_days) for r in rows]
    model = fit(xs, [r.converted for r in rows])
    assert model.source == "learned" and model.outcomes == 3000
    error = np.mean([abs(model.weights[k] - simulate.TRUE_WEIGHTS[k]) for k in KINDS])
    prior_error = np.mean([abs(PRIOR.weights[k] - simulate.TRUE_WEIGHTS[k]) for k in KINDS])
    assert error < prior_error / 2
    assert model.weights["company_follow"] > PRIOR.weights["company_follow"]  # the data say it matters more


def test_models_round_trip_through_json() -> None:
    model = IntentModel(weights={k: 0.1 for k in KINDS}, bias=-2.0, source="learned", outcomes=80, converted=20,
                        reason="r")  # fmt: skip
    assert IntentModel.from_json(model.as_json()) == model
