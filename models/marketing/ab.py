"""A/B (and A/B/n) experiments over campaign variants, subject lines, landing pages or prices.

One call analyses an experiment's counts as they stand now, and may be repeated at every peek:

* **Bayesian read-out** — conversion: Beta(1, 1)-Binomial posteriors per arm; revenue per recipient (zero
  for most people, skewed for the rest): a hurdle model, P(buy) ~ Beta-Binomial times a log-normal order
  value with a normal-inverse-gamma posterior on its log. From posterior draws: P(best), expected loss (what
  choosing the arm costs if it is not the best) and 95 % credible intervals.
* **Always-valid decision** — the best arm against each other one with a mixture SPRT
  (:mod:`models.marketing.sequential`, Bonferroni over the comparisons), so peeking every minute keeps the
  false-positive rate at ``alpha``. Optional CUPED: a pre-period covariate per recipient, summarised per arm,
  removes the variance it explains before the test.
* **Guards** — a sample-ratio-mismatch check (χ² against the planned shares: a broken split makes every
  figure untrustworthy, so it replaces the decision), and "not enough data" with what is missing before
  any arm has ``min_recipients`` or the experiment has conversions.
* **Adaptive allocation** — Thompson sampling: the next sends go to each arm in proportion to P(best),
  never below ``min_share`` while the experiment runs; everything to the winner once there is one.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import numpy as np
from numpy.typing import NDArray
from pydantic import BaseModel, Field, model_validator
from scipy import stats

from models.errors import InvalidInput
from models.marketing.sequential import msprt

Decision = Literal["winner", "no_difference", "keep_running", "not_enough_data", "sample_ratio_mismatch"]
SRM_P = 0.001  # the usual threshold: a real split this uneven happens once in a thousand experiments
MIN_CONVERSIONS = 5
MIN_BUYERS = 2


class PrePeriod(BaseModel):
    """CUPED: one covariate per recipient from before the experiment (e.g. last month's revenue or opens),
    summed over the arm's recipients, with its product with the metric (conversion 0/1 or revenue)."""

    sum_x: float
    sum_x2: float = Field(ge=0)
    sum_xy: float


class ArmInput(BaseModel):
    name: str = Field(min_length=1, max_length=64)
    recipients: int = Field(ge=0, description="people (or sessions) assigned to the arm so far")
    conversions: int = Field(ge=0, description="of them, how many converted (clicked, bought, …)")
    revenue: list[float] | None = Field(
        default=None,
        max_length=200_000,
        description="revenue metric: one positive amount per recipient who bought (the others bought nothing)",
    )
    weight: float | None = Field(
        default=None,
        gt=0,
        description="the planned share of recipients, for the sample-ratio check; under adaptive allocation the "
        "share the allocations so far should have given (any scale: the weights are normalised)",
    )
    pre_period: PrePeriod | None = None

    @model_validator(mode="after")
    def _consistent(self) -> ArmInput:
        if self.conversions > self.recipients:
            raise ValueError(f"arm {self.name!r}: {self.conversions} conversions > {self.recipients} recipients")
        if self.revenue is not None:
            if len(self.revenue) > self.recipients:
                raise ValueError(f"arm {self.name!r}: more revenue amounts than recipients")
            if any(not math.isfinite(v) or v <= 0 for v in self.revenue):
                raise ValueError(f"arm {self.name!r}: revenue amounts must be finite and > 0")
        return self


class ExperimentRequest(BaseModel):
    arms: list[ArmInput] = Field(min_length=1, max_length=20)
    control: str | None = Field(default=None, description="the arm the lifts are against; absent: the first")
    metric: Literal["conversion", "revenue"] = "conversion"
    alpha: float = Field(default=0.05, gt=0, lt=0.5, description="false-positive rate over every peek")
    min_recipients: int = Field(default=100, ge=1, description="per arm, before any decision")
    min_share: float = Field(default=0.05, ge=0, lt=0.5, description="Thompson allocation floor per arm")
    equivalence_margin: float | None = Field(
        default=None, gt=0, description="absolute difference that does not matter; absent: 10 % of the control's"
    )
    mixture_scale: float | None = Field(
        default=None, gt=0, description="τ of the mSPRT mixture: the effect size expected; absent: 10 % of the mean"
    )
    draws: int = Field(default=20_000, ge=1_000, le=200_000)
    seed: int | None = None

    @model_validator(mode="after")
    def _arms(self) -> ExperimentRequest:
        names = [arm.name for arm in self.arms]
        if len(set(names)) != len(names):
            raise ValueError("arm names must be unique")
        if self.control is not None and self.control not in names:
            raise ValueError(f"control {self.control!r} is not one of the arms {names}")
        if self.metric == "revenue" and any(arm.revenue is None for arm in self.arms):
            raise ValueError("the revenue metric needs 'revenue' (possibly empty) on every arm")
        return self


class ArmResult(BaseModel):
    name: str
    recipients: int
    conversions: int
    mean: float = Field(description="observed metric per recipient (conversion rate or revenue)")
    interval: tuple[float, float] = Field(description="95 % credible interval of the metric per recipient")
    p_best: float
    expected_loss: float = Field(description="expected shortfall against the best arm if this one is chosen")
    lift: float | None = Field(description="relative to the control's observed mean; None for the control")
    allocation: float = Field(description="share of the next sends")


class Comparison(BaseModel):
    arm: str
    versus: str
    difference: float
    interval: tuple[float, float] = Field(description="confidence sequence: valid at every peek")
    always_valid_p: float
    significant: bool


class SampleRatio(BaseModel):
    p_value: float
    alert: bool
    expected: dict[str, float]
    observed: dict[str, float]


class Cuped(BaseModel):
    theta: float
    variance_reduction: float


class ExperimentAnalysis(BaseModel):
    metric: str
    decision: Decision
    winner: str | None
    reason: str
    missing: list[str] = Field(description="what the experiment needs before it can decide, when not enough")
    arms: list[ArmResult]
    comparisons: list[Comparison]
    sample_ratio: SampleRatio | None
    cuped: Cuped | None
    allocation: dict[str, float]
    alpha: float


def conversion_variance(conversions: NDArray[np.float64], n: NDArray[np.float64]) -> NDArray[np.float64]:
    """Per-recipient Bernoulli variance, from a rate smoothed so a 0 % or 100 % arm still has one."""
    rate = (conversions + 0.5) / (n + 1.0)
    return rate * (1.0 - rate)


def default_tau(pooled_mean: float) -> float:
    """The mSPRT mixture's scale when the caller gives none: an effect of 10 % of the pooled mean."""
    return max(0.1 * abs(pooled_mean), 1e-9)


@dataclass(frozen=True)
class _Moments:
    n: NDArray[np.float64]
    mean: NDArray[np.float64]
    var: NDArray[np.float64]  # per-recipient variance


def _metric_moments(request: ExperimentRequest) -> _Moments:
    n = np.array([arm.recipients for arm in request.arms], dtype=float)
    if request.metric == "conversion":
        conv = np.array([arm.conversions for arm in request.arms], dtype=float)
        return _Moments(n, conv / np.maximum(n, 1.0), conversion_variance(conv, n))
    sums = np.array([sum(arm.revenue or ()) for arm in request.arms])
    squares = np.array([sum(v * v for v in arm.revenue or ()) for arm in request.arms])
    mean = sums / np.maximum(n, 1.0)
    var = (squares / np.maximum(n, 1.0) - mean**2) * n / np.maximum(n - 1.0, 1.0)
    return _Moments(n, mean, np.maximum(var, 1e-12))


def _cuped(request: ExperimentRequest, moments: _Moments) -> tuple[_Moments, Cuped] | None:
    """Means and variances adjusted by the pooled within-arm regression on the pre-period covariate."""
    if any(arm.pre_period is None for arm in request.arms):
        return None
    n = moments.n
    if (n < 2).any():
        return None
    pre = [arm.pre_period for arm in request.arms if arm.pre_period is not None]
    x_mean = np.array([p.sum_x for p in pre]) / n
    x_var = (np.array([p.sum_x2 for p in pre]) / n - x_mean**2) * n / (n - 1.0)
    cov = (np.array([p.sum_xy for p in pre]) / n - x_mean * moments.mean) * n / (n - 1.0)
    pooled_var_x = float(np.sum(x_var * (n - 1.0)))
    if pooled_var_x <= 0:
        return None
    theta = float(np.sum(cov * (n - 1.0)) / pooled_var_x)
    grand_x = float(np.sum(x_mean * n) / np.sum(n))
    adjusted_var = np.maximum(moments.var - 2 * theta * cov + theta**2 * x_var, 1e-12)
    reduction = 1.0 - float(np.sum(adjusted_var * n) / np.sum(moments.var * n))
    adjusted = _Moments(n, moments.mean - theta * (x_mean - grand_x), adjusted_var)
    return adjusted, Cuped(theta=round(theta, 6), variance_reduction=round(reduction, 4))


def _posterior_draws(request: ExperimentRequest, rng: np.random.Generator) -> NDArray[np.float64]:
    """Draws × arms of the metric per recipient."""
    if request.metric == "conversion":
        return np.column_stack(
            [rng.beta(1 + a.conversions, 1 + a.recipients - a.conversions, request.draws) for a in request.arms]
        )
    # Order values: a normal-inverse-gamma posterior on the log amount per arm, its prior centred on every arm's
    # buyers together (worth one buyer), so an arm with few or no buyers borrows the others' order values.
    logs = [np.log(np.asarray(a.revenue or [], dtype=float)) for a in request.arms]
    pooled = np.concatenate(logs)
    prior_mean = float(pooled.mean()) if len(pooled) else 0.0
    prior_var = float(pooled.var()) if len(pooled) > 1 else 1.0
    kappa0, shape0 = 1.0, 2.0
    scale0 = max(prior_var, 1e-6) * (shape0 - 1.0)  # E[σ²] = the pooled variance
    columns = []
    for arm, amounts in zip(request.arms, logs, strict=True):
        buyers = len(amounts)
        p_buy = rng.beta(1 + buyers, 1 + arm.recipients - buyers, request.draws)
        mean = float(amounts.mean()) if buyers else prior_mean
        kappa = kappa0 + buyers
        mu_n = (kappa0 * prior_mean + buyers * mean) / kappa
        ss = float(((amounts - mean) ** 2).sum()) if buyers else 0.0
        scale_n = scale0 + 0.5 * ss + kappa0 * buyers * (mean - prior_mean) ** 2 / (2 * kappa)
        sigma2 = scale_n / rng.gamma(shape0 + buyers / 2, 1.0, request.draws)
        mu = rng.normal(mu_n, np.sqrt(sigma2 / kappa))
        columns.append(p_buy * np.exp(np.minimum(mu + sigma2 / 2, 700.0)))
    return np.column_stack(columns)


def _sample_ratio(request: ExperimentRequest) -> SampleRatio | None:
    observed = np.array([arm.recipients for arm in request.arms], dtype=float)
    total = observed.sum()
    if total == 0:
        return None
    planned = np.array([arm.weight or 1.0 for arm in request.arms], dtype=float)
    planned = planned / planned.sum()
    p_value = float(stats.chisquare(observed, total * planned).pvalue)
    names = [arm.name for arm in request.arms]
    return SampleRatio(
        p_value=p_value,
        alert=p_value < SRM_P,
        expected={name: round(float(s), 4) for name, s in zip(names, planned, strict=True)},
        observed={name: round(float(s), 4) for name, s in zip(names, observed / total, strict=True)},
    )


def _missing(request: ExperimentRequest) -> list[str]:
    needs = [
        f"arm {arm.name!r} needs {request.min_recipients - arm.recipients} more recipients"
        for arm in request.arms
        if arm.recipients < request.min_recipients
    ]
    if request.metric == "conversion":
        total = sum(arm.conversions for arm in request.arms)
        if total < MIN_CONVERSIONS:
            needs.append(f"{MIN_CONVERSIONS - total} more conversions across the arms")
    else:
        needs += [
            f"arm {arm.name!r} needs {MIN_BUYERS - len(arm.revenue or [])} more buyers"
            for arm in request.arms
            if len(arm.revenue or []) < MIN_BUYERS
        ]
    return needs


def thompson_allocation(p_best: NDArray[np.float64], min_share: float) -> NDArray[np.float64]:
    """Shares of the next sends: P(best) per arm, lifted to ``min_share`` and renormalised."""
    k = len(p_best)
    floor = min(min_share, 1.0 / k)
    return floor + (1.0 - k * floor) * p_best / max(float(p_best.sum()), 1e-12)


def analyze(request: ExperimentRequest) -> ExperimentAnalysis:
    if len(request.arms) < 2:
        raise InvalidInput("an experiment needs at least two arms to compare")
    names = [arm.name for arm in request.arms]
    control = names.index(request.control) if request.control else 0
    rng = np.random.default_rng(request.seed)
    moments = _metric_moments(request)
    draws = _posterior_draws(request, rng)
    best_draw = draws.max(axis=1, keepdims=True)
    p_best = np.bincount(draws.argmax(axis=1), minlength=len(names)) / len(draws)
    loss = (best_draw - draws).mean(axis=0)
    low, high = np.quantile(draws, [0.025, 0.975], axis=0)

    cuped = _cuped(request, moments)
    tested = cuped[0] if cuped else moments
    best = int(np.argmax(tested.mean))
    pooled = float(np.sum(moments.mean * moments.n) / max(float(moments.n.sum()), 1.0))
    tau = request.mixture_scale or default_tau(pooled)
    alpha = request.alpha / (len(names) - 1)
    comparisons = []
    for j in range(len(names)):
        if j == best:
            continue
        variance = float(tested.var[best] / max(tested.n[best], 1) + tested.var[j] / max(tested.n[j], 1))
        test = msprt(float(tested.mean[best] - tested.mean[j]), variance, tau * tau, alpha)
        comparisons.append(
            Comparison(
                arm=names[best],
                versus=names[j],
                difference=round(test.difference, 8),
                interval=(round(test.interval[0], 8), round(test.interval[1], 8)),
                always_valid_p=round(test.p_value, 6),
                significant=test.reject,
            )
        )

    srm = _sample_ratio(request)
    missing = _missing(request)
    margin = request.equivalence_margin or 0.1 * max(abs(float(moments.mean[control])), 1e-9)
    planned = np.array([arm.weight or 1.0 for arm in request.arms], dtype=float)
    winner: str | None = None
    if missing:
        decision: Decision = "not_enough_data"
        reason = "; ".join(missing)
        shares = planned / planned.sum()
    elif srm is not None and srm.alert:
        decision, shares = "sample_ratio_mismatch", planned / planned.sum()
        reason = (
            f"the split differs from the plan (χ² p = {srm.p_value:.1e}): assignment or tracking is broken, "
            "so no figure here can be trusted until it is fixed"
        )
    elif all(c.significant for c in comparisons):
        decision, winner = "winner", names[best]
        shares = np.eye(len(names))[best]
        reason = f"{winner} is better than every other arm at an always-valid α = {request.alpha}"
    elif all(-margin <= c.interval[0] and c.interval[1] <= margin for c in comparisons):
        decision, shares = "no_difference", thompson_allocation(p_best, request.min_share)
        reason = f"every arm is within ±{margin:.4g} of the best (equivalence margin) at every peek's confidence"
    else:
        decision, shares = "keep_running", thompson_allocation(p_best, request.min_share)
        reason = "no arm is better than the others yet, and the difference is not yet known to be small"

    control_mean = float(moments.mean[control])
    arms = [
        ArmResult(
            name=arm.name,
            recipients=arm.recipients,
            conversions=arm.conversions,
            mean=round(float(moments.mean[i]), 8),
            interval=(round(float(low[i]), 8), round(float(high[i]), 8)),
            p_best=round(float(p_best[i]), 4),
            expected_loss=round(float(loss[i]), 8),
            lift=None if i == control or control_mean == 0 else round(float(moments.mean[i]) / control_mean - 1, 4),
            allocation=round(float(shares[i]), 4),
        )
        for i, arm in enumerate(request.arms)
    ]
    return ExperimentAnalysis(
        metric=request.metric,
        decision=decision,
        winner=winner,
        reason=reason,
        missing=missing,
        arms=arms,
        comparisons=comparisons,
        sample_ratio=srm,
        cuped=cuped[1] if cuped else None,
        allocation={a.name: a.allocation for a in arms},
        alpha=request.alpha,
    )
