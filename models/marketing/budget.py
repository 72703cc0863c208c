"""Budget allocation across channels: response curves fitted on history, a constrained optimiser, pacing.

The model is the marketing-mix model's core, as PyMC-Marketing, Meridian and Robyn state it: a channel's
spend carries over (geometric **adstock**, ``a_t = x_t + λ·a_{t-1}``) and its effect saturates (**Hill**,
``β · a^s / (a^s + K^s)``); the outcome is a baseline plus the channels' effects plus noise. It is fitted
here by bounded non-linear least squares (``scipy.optimize.least_squares``, several starts) with a
residual bootstrap for the uncertainty, not by MCMC: PyMC-Marketing pulls PyMC and a C compiler toolchain
and its NUTS fit takes many minutes per model on two cores, for curves the least-squares fit recovers
(see the simulator's figures).

The optimiser splits a per-period budget between the channels under per-channel minimum and maximum,
maximising the steady-state outcome (spend held at ``x`` gives adstock ``x / (1 - λ)``) from several
starts (current, equal, greedy by marginal return), and reports the expected gain over the current split
with a 90 % interval over the bootstrap fits. :func:`pace` spreads what is left of a day's budget over
the day's remaining expected traffic.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from pydantic import BaseModel, Field, model_validator
from scipy import optimize, signal

from models.errors import InvalidInput

PARAMS_PER_CHANNEL = 4  # max effect β, carry-over λ, half-saturation K, shape s
MAX_CARRYOVER = 0.9


@dataclass(frozen=True)
class Curve:
    """One channel's response: β · hill(adstock; K, s), spend in the units it was given."""

    max_effect: float
    carryover: float
    half_saturation: float
    shape: float

    def steady(self, spend: NDArray[np.float64] | float) -> NDArray[np.float64]:
        """Per-period outcome when spend is held at ``spend`` long enough for the carry-over to settle."""
        level = np.asarray(spend, dtype=float) / (1.0 - self.carryover)
        return self.max_effect * _hill(level, self.half_saturation, self.shape)


def _hill(level: NDArray[np.float64], half: float, shape: float) -> NDArray[np.float64]:
    level = np.maximum(level, 0.0)
    ratio = np.power(level / max(half, 1e-12), shape)
    return np.asarray(ratio / (1.0 + ratio), dtype=float)


def adstock(spend: NDArray[np.float64], carryover: float) -> NDArray[np.float64]:
    """Geometric carry-over, ``a_t = x_t + λ·a_{t-1}`` from ``a_{-1} = 0`` (a first-order IIR filter)."""
    return np.asarray(signal.lfilter([1.0], [1.0, -carryover], np.asarray(spend, dtype=float)), dtype=float)


@dataclass(frozen=True)
class Fit:
    baseline: float
    curves: tuple[Curve, ...]
    r2: float
    draws: tuple[tuple[Curve, ...], ...]  # bootstrap refits, for intervals


def _unpack(theta: NDArray[np.float64], scale: NDArray[np.float64]) -> tuple[float, tuple[Curve, ...]]:
    curves = []
    for c in range(len(scale)):
        log_beta, carry, log_half, shape = theta[1 + PARAMS_PER_CHANNEL * c : 1 + PARAMS_PER_CHANNEL * (c + 1)]
        curves.append(Curve(math.exp(log_beta), float(carry), math.exp(log_half) * scale[c], float(shape)))
    return float(theta[0]), tuple(curves)


def _predict(baseline: float, curves: tuple[Curve, ...], spend: NDArray[np.float64]) -> NDArray[np.float64]:
    total = np.full(spend.shape[0], baseline)
    for c, curve in enumerate(curves):
        total += curve.max_effect * _hill(adstock(spend[:, c], curve.carryover), curve.half_saturation, curve.shape)
    return total


# Weakly informative priors (MAP): carry-over around 0.3, half-saturation around the channel's mean spend,
# shape around 1; two years of weekly data rarely pin all four down alone, as the Bayesian MMMs note too.
PRIOR_MEAN = np.array([0.3, 0.0, 1.0])  # carry-over, log(K / mean spend), shape
PRIOR_SD = np.array([0.3, 1.0, 0.75])


def _least_squares(
    spend: NDArray[np.float64],
    outcome: NDArray[np.float64],
    starts: list[NDArray[np.float64]],
    scale: NDArray[np.float64],
    noise: float | None = None,
) -> NDArray[np.float64]:
    """Least squares, or the MAP fit under the priors when the noise level is known."""
    k = spend.shape[1]
    span = float(np.ptp(outcome)) or 1.0
    lower = [float(outcome.min()) - span] + [math.log(span * 1e-3), 0.0, math.log(0.05), 0.5] * k
    upper = [float(outcome.max())] + [math.log(span * 20), MAX_CARRYOVER, math.log(20.0), 4.0] * k

    def residuals(theta: NDArray[np.float64]) -> NDArray[np.float64]:
        baseline, curves = _unpack(theta, scale)
        misfit = _predict(baseline, curves, spend) - outcome
        if noise is None:
            return misfit
        shaped = theta[1:].reshape(k, PARAMS_PER_CHANNEL)[:, 1:]  # carry-over, log K, shape per channel
        return np.concatenate([misfit, (noise * (shaped - PRIOR_MEAN) / PRIOR_SD).ravel()])

    best: optimize.OptimizeResult | None = None
    for start in starts:
        result = optimize.least_squares(residuals, np.clip(start, lower, upper), bounds=(lower, upper), method="trf")
        if best is None or result.cost < best.cost:
            best = result
    assert best is not None
    return np.asarray(best.x, dtype=float)


def fit_curves(spend: NDArray[np.float64], outcome: NDArray[np.float64], *, bootstrap: int = 30, seed: int = 0) -> Fit:
    """Fit baseline + per-channel adstock/Hill curves to ``spend`` (periods × channels) and ``outcome``."""
    rng = np.random.default_rng(seed)
    periods, k = spend.shape
    scale = np.maximum(spend.mean(axis=0), 1e-9)  # K is fitted in units of the channel's mean spend
    span = float(np.ptp(outcome)) or 1.0
    starts = []
    for _ in range(4):
        values = [float(np.min(outcome))]
        for _ in range(k):
            values += [
                math.log(span * rng.uniform(0.2, 1.5)),
                rng.uniform(0.0, 0.7),
                math.log(rng.uniform(0.5, 2.0)),
                rng.uniform(0.8, 2.5),
            ]
        starts.append(np.array(values))
    theta = _least_squares(spend, outcome, starts, scale)
    first = _unpack(theta, scale)
    noise = float(np.std(outcome - _predict(*first, spend)))
    theta = _least_squares(spend, outcome, [theta, *starts], scale, noise)
    baseline, curves = _unpack(theta, scale)
    fitted = _predict(baseline, curves, spend)
    residual = outcome - fitted
    r2 = 1.0 - float(np.sum(residual**2) / max(float(np.sum((outcome - outcome.mean()) ** 2)), 1e-12))
    draws = []
    for _ in range(bootstrap):  # residual bootstrap, each refit warm-started from the fit
        resampled = fitted + rng.choice(residual, size=periods, replace=True)
        draws.append(_unpack(_least_squares(spend, resampled, [theta], scale, noise), scale)[1])
    return Fit(baseline, curves, r2, tuple(draws))


def total_response(curves: tuple[Curve, ...], allocation: NDArray[np.float64]) -> float:
    return float(sum(float(curve.steady(x)) for curve, x in zip(curves, allocation, strict=True)))


def _greedy(
    curves: tuple[Curve, ...], budget: float, low: NDArray[np.float64], high: NDArray[np.float64], steps: int = 400
) -> NDArray[np.float64]:
    x = low.copy()
    step = (budget - float(low.sum())) / steps
    for _ in range(steps):
        gains = np.array(
            [
                float(c.steady(x[i] + step) - c.steady(x[i])) if x[i] + step <= high[i] + 1e-9 else -np.inf
                for i, c in enumerate(curves)
            ]
        )
        if not np.isfinite(gains).any():
            break
        x[int(np.argmax(gains))] += step
    return x


def optimise_split(
    curves: tuple[Curve, ...],
    budget: float,
    low: NDArray[np.float64],
    high: NDArray[np.float64],
    current: NDArray[np.float64] | None = None,
) -> NDArray[np.float64]:
    """The split of ``budget`` within [low, high] per channel that maximises the steady-state outcome."""
    if float(low.sum()) > budget + 1e-9:
        raise InvalidInput(f"the channels' minimums add up to {low.sum():.2f}, more than the budget {budget:.2f}")
    if float(high.sum()) < budget - 1e-9:
        raise InvalidInput(f"the channels' maximums add up to {high.sum():.2f}, less than the budget {budget:.2f}")
    k = len(curves)
    scale = max(budget, 1e-9)
    starts = [_greedy(curves, budget, low, high), np.clip(np.full(k, budget / k), low, high)]
    if current is not None:
        starts.append(np.clip(current * budget / max(float(current.sum()), 1e-12), low, high))
    best: NDArray[np.float64] = starts[0]
    best_value = total_response(curves, best)
    for start in starts:
        result = optimize.minimize(
            lambda z: -total_response(curves, z * scale) / scale,
            start / scale,
            method="SLSQP",
            bounds=list(zip(low / scale, high / scale, strict=True)),
            constraints=[{"type": "eq", "fun": lambda z: float(z.sum()) - budget / scale}],
            options={"maxiter": 300, "ftol": 1e-12},
        )
        candidate = np.clip(np.asarray(result.x) * scale, low, high)
        value = total_response(curves, candidate)
        if abs(float(candidate.sum()) - budget) <= 1e-6 * scale and value > best_value:
            best, best_value = candidate, value
    return best


class ChannelSpend(BaseModel):
    name: str = Field(min_length=1, max_length=64)
    spend: list[float] = Field(description="spend per period, oldest first, aligned with 'outcome'")
    current: float | None = Field(default=None, ge=0, description="spend per period now; absent: the last period's")
    min_spend: float = Field(default=0.0, ge=0)
    max_spend: float | None = Field(default=None, ge=0)

    @model_validator(mode="after")
    def _values(self) -> ChannelSpend:
        if any(not math.isfinite(v) or v < 0 for v in self.spend):
            raise ValueError(f"channel {self.name!r}: spend values must be finite and >= 0")
        if self.max_spend is not None and self.max_spend < self.min_spend:
            raise ValueError(f"channel {self.name!r}: max_spend < min_spend")
        return self


class BudgetRequest(BaseModel):
    channels: list[ChannelSpend] = Field(min_length=1, max_length=20)
    outcome: list[float] = Field(description="the target per period (revenue or conversions), oldest first")
    budget: float = Field(gt=0, description="spend per period to split")
    target: str = Field(default="revenue", max_length=32, description="what 'outcome' measures, for the answer")
    bootstrap: int = Field(default=30, ge=0, le=500)
    seed: int = 0

    @model_validator(mode="after")
    def _aligned(self) -> BudgetRequest:
        for channel in self.channels:
            if len(channel.spend) != len(self.outcome):
                raise ValueError(
                    f"channel {channel.name!r} has {len(channel.spend)} periods; outcome has {len(self.outcome)}"
                )
        if any(not math.isfinite(v) for v in self.outcome):
            raise ValueError("outcome values must be finite")
        names = [c.name for c in self.channels]
        if len(set(names)) != len(names):
            raise ValueError("channel names must be unique")
        return self

    def needed_periods(self) -> int:
        return 2 * (1 + PARAMS_PER_CHANNEL * len(self.channels)) + 10


class ChannelPlan(BaseModel):
    channel: str
    current: float
    recommended: float
    outcome_current: float
    outcome_recommended: float
    marginal_return: float = Field(description="extra outcome per extra unit of spend at the recommended level")
    carryover: float
    half_saturation: float
    shape: float
    max_effect: float


class BudgetPlan(BaseModel):
    state: str = Field(description="ok | not_enough_data")
    reason: str | None = None
    target: str
    budget: float
    fit_r2: float | None = None
    channels: list[ChannelPlan] = []
    outcome_current: float | None = Field(
        default=None, description="channels' expected outcome per period at the current split"
    )
    outcome_recommended: float | None = None
    gain: float | None = None
    gain_interval: tuple[float, float] | None = Field(default=None, description="90 % over the bootstrap fits")


def plan_budget(request: BudgetRequest) -> BudgetPlan:
    names = [c.name for c in request.channels]
    spend = np.array([c.spend for c in request.channels], dtype=float).T
    outcome = np.asarray(request.outcome, dtype=float)
    missing = []
    if len(outcome) < request.needed_periods():
        missing.append(
            f"{request.needed_periods() - len(outcome)} more periods of history (needs {request.needed_periods()} "
            f"for {len(names)} channels)"
        )
    missing += [
        f"channel {n!r} has no spend in its history" for n, col in zip(names, spend.T, strict=True) if not col.any()
    ]
    missing += [
        f"channel {n!r} spend never varies"
        for n, col in zip(names, spend.T, strict=True)
        if col.any() and np.ptp(col) == 0
    ]
    if not np.ptp(outcome):
        missing.append("the outcome never varies")
    if missing:
        return BudgetPlan(
            state="not_enough_data", reason="; ".join(missing), target=request.target, budget=request.budget
        )
    fit = fit_curves(spend, outcome, bootstrap=request.bootstrap, seed=request.seed)
    current = np.array([c.current if c.current is not None else c.spend[-1] for c in request.channels], dtype=float)
    low = np.array([c.min_spend for c in request.channels], dtype=float)
    high = np.array([c.max_spend if c.max_spend is not None else request.budget for c in request.channels], dtype=float)
    best = optimise_split(fit.curves, request.budget, low, high, current)
    gains = [total_response(d, best) - total_response(d, current) for d in fit.draws]
    epsilon = max(request.budget * 1e-4, 1e-9)
    plans = [
        ChannelPlan(
            channel=name,
            current=round(float(current[i]), 6),
            recommended=round(float(best[i]), 6),
            outcome_current=round(float(curve.steady(current[i])), 6),
            outcome_recommended=round(float(curve.steady(best[i])), 6),
            marginal_return=round(float(curve.steady(best[i] + epsilon) - curve.steady(best[i])) / epsilon, 6),
            carryover=round(curve.carryover, 4),
            half_saturation=round(curve.half_saturation, 4),
            shape=round(curve.shape, 4),
            max_effect=round(curve.max_effect, 4),
        )
        for i, (name, curve) in enumerate(zip(names, fit.curves, strict=True))
    ]
    now, then = total_response(fit.curves, current), total_response(fit.curves, best)
    return BudgetPlan(
        state="ok",
        target=request.target,
        budget=request.budget,
        fit_r2=round(fit.r2, 4),
        channels=plans,
        outcome_current=round(now, 6),
        outcome_recommended=round(then, 6),
        gain=round(then - now, 6),
        gain_interval=(round(float(np.quantile(gains, 0.05)), 6), round(float(np.quantile(gains, 0.95)), 6))
        if gains
        else None,
    )


class PaceRequest(BaseModel):
    daily_budget: float = Field(gt=0)
    spent: float = Field(ge=0, description="spent so far today")
    hour: float = Field(ge=0, lt=24, description="the time of day now, in hours (14.5 = 14:30)")
    profile: list[float] | None = Field(
        default=None, min_length=24, max_length=24, description="expected traffic per hour of the day; absent: flat"
    )


class Pace(BaseModel):
    target_spent: float = Field(description="what should be spent by now, following the traffic profile")
    remaining: float
    next_hour: float = Field(description="spend allowed in the coming hour")
    multiplier: float = Field(description="bid/throttle factor for the rest of the day: >1 catch up, <1 slow down")
    state: str = Field(description="on_pace | underspending | overspending | exhausted")


def pace(request: PaceRequest) -> Pace:
    profile = np.asarray(request.profile or [1.0] * 24, dtype=float)
    if (profile < 0).any() or profile.sum() <= 0:
        raise InvalidInput("the traffic profile needs non-negative values that are not all zero")
    share = profile / profile.sum()
    hour = int(request.hour)
    elapsed = float(share[:hour].sum() + share[hour] * (request.hour - hour))
    remaining_share = max(1.0 - elapsed, 0.0)
    remaining = max(request.daily_budget - request.spent, 0.0)
    target = request.daily_budget * elapsed
    if remaining <= 0:
        return Pace(target_spent=round(target, 6), remaining=0.0, next_hour=0.0, multiplier=0.0, state="exhausted")
    next_share = float(
        share[hour] * (hour + 1 - request.hour) + (share[hour + 1] if hour < 23 else 0.0) * (request.hour - hour)
    )
    multiplier = remaining / (request.daily_budget * remaining_share) if remaining_share > 0 else 0.0
    next_hour = remaining * next_share / remaining_share if remaining_share > 0 else 0.0
    ratio = request.spent / target if target > 0 else 1.0
    state = "on_pace" if 0.9 <= ratio <= 1.1 else ("underspending" if ratio < 0.9 else "overspending")
    return Pace(
        target_spent=round(target, 6),
        remaining=round(remaining, 6),
        next_hour=round(next_hour, 6),
        multiplier=round(min(multiplier, 3.0), 4),
        state=state,
    )
