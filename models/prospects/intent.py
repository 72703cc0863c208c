"""A prospect's intent score: recent activities, each worth its kind's weight and fading with age.

``score = 100 · logistic(bias + Σ_k w_k · x_k)`` where ``x_k`` sums ``decay(age)`` over the prospect's activities of
kind ``k`` (:func:`features`). Every ``x_k`` fades by the same factor as time passes, so the weighted sum does
too: a stored score is brought up to date without reading the activities again (:func:`faded`).

Before a tenant has enough outcomes the prior weights (:data:`.signals.PRIOR_WEIGHTS`) are used and the
tenant is told so. After, :func:`fit` learns the weights from its prospects whose leads converted or were lost:
a logistic regression on the features *as they were when the outcome happened*, with a Gaussian prior centred
on the prior weights, so a tenant with 40 outcomes moves them a little and one with 2,000 replaces them.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

import numpy as np
from scipy.special import expit

from models.prospects.signals import HALF_LIFE_DAYS, KINDS, LABELS, PRIOR_BIAS, PRIOR_WEIGHTS, SignalKind, decay

MIN_OUTCOMES = 50
MIN_PER_CLASS = 10
PRIOR_SD = 0.5  # how far the data may move a weight from the prior, in log-odds, before it costs as much as it fits
BIAS_SD = 3.0  # the base rate is the tenant's own: a weak prior


@dataclass(frozen=True)
class Signal:
    kind: SignalKind
    at: datetime
    user: str | None = None  # the user of ours the prospect interacted with, when there is one


@dataclass(frozen=True)
class IntentModel:
    weights: dict[SignalKind, float]
    bias: float = PRIOR_BIAS
    half_life_days: float = HALF_LIFE_DAYS
    source: Literal["prior", "learned"] = "prior"
    outcomes: int = 0
    converted: int = 0
    reason: str = "the prior weights: no outcomes yet"

    def as_json(self) -> dict[str, Any]:
        return {
            "weights": dict(self.weights),
            "bias": self.bias,
            "half_life_days": self.half_life_days,
            "source": self.source,
            "outcomes": self.outcomes,
            "converted": self.converted,
            "reason": self.reason,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> IntentModel:
        weights = {k: float(data["weights"].get(k, PRIOR_WEIGHTS[k])) for k in KINDS}
        return cls(
            weights=weights,
            bias=float(data["bias"]),
            half_life_days=float(data["half_life_days"]),
            source=data["source"],
            outcomes=int(data["outcomes"]),
            converted=int(data["converted"]),
            reason=str(data["reason"]),
        )


PRIOR = IntentModel(weights=dict(PRIOR_WEIGHTS))


def features(
    signals: Sequence[Signal], at: datetime, half_life_days: float = HALF_LIFE_DAYS
) -> dict[SignalKind, float]:
    """Each kind's decayed count of the activities up to ``at`` (later ones are not known at ``at``)."""
    x: dict[SignalKind, float] = dict.fromkeys(KINDS, 0.0)
    for s in signals:
        if s.at <= at:
            x[s.kind] += decay((at - s.at).total_seconds() / 86400, half_life_days)
    return x


def weighted(model: IntentModel, x: dict[SignalKind, float]) -> float:
    return sum(model.weights[k] * x.get(k, 0.0) for k in KINDS)


def score_of(model: IntentModel, weighted_sum: float) -> float:
    """0-100: the model's probability that the prospect converts, times 100."""
    return 100.0 / (1.0 + math.exp(-(model.bias + weighted_sum)))


def faded(model: IntentModel, weighted_sum: float, since: datetime, now: datetime) -> float:
    """A weighted sum computed at ``since``, as it stands at ``now`` (no new activity in between)."""
    return weighted_sum * decay((now - since).total_seconds() / 86400, model.half_life_days)


@dataclass(frozen=True)
class Contribution:
    kind: SignalKind
    label: str
    at: datetime
    user: str | None
    points: float  # the log-odds the activity adds now

    def as_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "label": self.label,
            "at": self.at.isoformat(),
            "user": self.user,
            "points": round(self.points, 4),
        }


def top_signals(model: IntentModel, signals: Sequence[Signal], at: datetime, n: int = 3) -> list[Contribution]:
    """The ``n`` activities that add most to the score at ``at`` (a negative weight's activities come last)."""
    parts = [
        Contribution(
            s.kind,
            LABELS[s.kind],
            s.at,
            s.user,
            model.weights[s.kind] * decay((at - s.at).total_seconds() / 86400, model.half_life_days),
        )
        for s in signals
        if s.at <= at
    ]
    return sorted(parts, key=lambda c: (-c.points, -c.at.timestamp()))[:n]


def fit(
    xs: Sequence[dict[SignalKind, float]],
    converted: Sequence[bool],
    *,
    prior: IntentModel = PRIOR,
    min_outcomes: int = MIN_OUTCOMES,
    min_per_class: int = MIN_PER_CLASS,
) -> IntentModel:
    """The tenant's own weights from its outcomes (``xs[i]``: the features when outcome ``i`` happened), or the
    prior with the reason when there are too few: ``min_outcomes`` in all and ``min_per_class`` of each."""
    n, won = len(xs), sum(bool(c) for c in converted)
    if len(converted) != n:
        raise ValueError(f"{n} feature rows but {len(converted)} outcomes")
    if n < min_outcomes or won < min_per_class or n - won < min_per_class:
        reason = (
            f"the prior weights: {n} outcomes ({won} converted, {n - won} lost); the tenant's own weights need "
            f"{min_outcomes} with at least {min_per_class} of each"
        )
        return IntentModel(
            weights=dict(prior.weights),
            bias=prior.bias,
            half_life_days=prior.half_life_days,
            outcomes=n,
            converted=won,
            reason=reason,
        )
    x = np.array([[1.0, *(row.get(k, 0.0) for k in KINDS)] for row in xs])
    y = np.array([float(c) for c in converted])
    mean = np.array([prior.bias, *(prior.weights[k] for k in KINDS)])
    precision = np.diag([1 / BIAS_SD**2, *([1 / PRIOR_SD**2] * len(KINDS))])
    theta = map_logistic(x, y, mean, precision)
    return IntentModel(
        weights={k: float(theta[i + 1]) for i, k in enumerate(KINDS)},
        bias=float(theta[0]),
        half_life_days=prior.half_life_days,
        source="learned",
        outcomes=n,
        converted=won,
        reason=f"learned from {n} outcomes ({won} converted, {n - won} lost), starting from the prior weights",
    )


def map_logistic(
    x: np.ndarray[Any, np.dtype[np.float64]],
    y: np.ndarray[Any, np.dtype[np.float64]],
    mean: np.ndarray[Any, np.dtype[np.float64]],
    precision: np.ndarray[Any, np.dtype[np.float64]],
    *,
    iterations: int = 50,
) -> np.ndarray[Any, np.dtype[np.float64]]:
    """The posterior mode of a logistic regression with a Gaussian prior ``N(mean, precision⁻¹)`` (Newton steps;
    the log posterior is strictly concave; each step is halved until it does not go downhill)."""

    def objective(t: np.ndarray[Any, np.dtype[np.float64]]) -> float:
        z = x @ t
        d = t - mean
        return float(y @ z - np.logaddexp(0.0, z).sum() - 0.5 * d @ precision @ d)

    theta = mean.copy()
    current = objective(theta)
    for _ in range(iterations):
        p = expit(x @ theta)
        gradient = x.T @ (y - p) - precision @ (theta - mean)
        hessian = (x * (p * (1 - p))[:, None]).T @ x + precision
        step = np.linalg.solve(hessian, gradient)
        size = 1.0
        while objective(theta + size * step) < current - 1e-12 and size > 1e-6:  # damped: never downhill
            size /= 2
        theta = theta + size * step
        current = objective(theta)
        if float(np.max(np.abs(size * step))) < 1e-8:
            break
    return theta
