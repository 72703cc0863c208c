"""Experiments with a known truth: what continuous monitoring, power and adaptive allocation really give.

* **A/A, peeked at every look**: both arms convert at the same rate; the always-valid test (the analyser's
  own variance, mixture scale and threshold, vectorised) against a naive z-test re-run at every peek, the
  way a dashboard refreshed every minute would read it. The naive test's false-positive rate is what
  peeking costs.
* **Power**: a stated lift, monitored the same way, against one fixed-horizon z-test at the final size (what
  always-valid inference costs when nobody peeks).
* **Regret**: Thompson allocation (the analyser's own :func:`~models.marketing.ab.thompson_allocation`,
  re-set after every batch of sends, everything to the winner once it is declared) against a fixed equal
  split: conversions lost against always sending the best arm.
* **CUPED**: the variance a pre-period covariate removes, through :func:`~models.marketing.ab.analyze`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from scipy import stats

from models.marketing.ab import (
    ArmInput,
    ExperimentRequest,
    PrePeriod,
    analyze,
    conversion_variance,
    default_tau,
    thompson_allocation,
)
from models.marketing.sequential import log_mixture_ratio


@dataclass(frozen=True)
class Monitoring:
    experiments: int
    peeks: int
    recipients_per_arm: int
    rates: tuple[float, float]
    always_valid_rejections: float  # share of experiments the always-valid test ever called significant
    naive_every_peek_rejections: float  # the same with a z-test at every peek
    naive_final_only_rejections: float  # one z-test at the final size
    median_stop_fraction: float | None  # always-valid: median share of the final size at the first rejection


def monitor(
    rates: tuple[float, float],
    *,
    experiments: int,
    peeks: int,
    per_peek: int,
    alpha: float = 0.05,
    seed: int = 0,
) -> Monitoring:
    """Many two-arm experiments, each read after every ``per_peek`` recipients per arm."""
    rng = np.random.default_rng(seed)
    counts = rng.binomial(per_peek, rates, size=(experiments, peeks, 2)).cumsum(axis=1).astype(float)
    n = per_peek * np.arange(1, peeks + 1, dtype=float)[None, :]
    a, b = counts[..., 0], counts[..., 1]
    variance = (conversion_variance(a, n) + conversion_variance(b, n)) / n
    difference = (b - a) / n
    tau = np.maximum(0.1 * np.abs((a + b) / (2 * n)), 1e-9)
    assert default_tau(0.05) == 0.1 * 0.05  # the vectorised mixture scale is the analyser's
    always_valid = log_mixture_ratio(difference, variance, tau * tau) >= np.log(1 / alpha)
    z = np.abs(difference) / np.sqrt(variance)
    naive = z >= stats.norm.ppf(1 - alpha / 2)
    ever = always_valid.any(axis=1)
    first = np.argmax(always_valid, axis=1)
    stops = (first[ever] + 1) / peeks
    return Monitoring(
        experiments=experiments,
        peeks=peeks,
        recipients_per_arm=per_peek * peeks,
        rates=rates,
        always_valid_rejections=float(ever.mean()),
        naive_every_peek_rejections=float(naive.any(axis=1).mean()),
        naive_final_only_rejections=float(naive[:, -1].mean()),
        median_stop_fraction=float(np.median(stops)) if len(stops) else None,
    )


@dataclass(frozen=True)
class Regret:
    runs: int
    sends: int
    batch: int
    rates: tuple[float, ...]
    thompson_regret: float  # mean conversions lost per run against always sending the best arm
    equal_split_regret: float
    thompson_best_share: float  # share of sends that went to the best arm
    winner_declared: float  # share of runs where the analyser declared a winner
    right_winner: float  # of those, the share where it was the best arm


def _p_best(
    conversions: NDArray[np.float64], sends: NDArray[np.float64], rng: np.random.Generator
) -> NDArray[np.float64]:
    draws = rng.beta(1 + conversions, 1 + sends - conversions, size=(2000, len(sends)))
    return np.bincount(draws.argmax(axis=1), minlength=len(sends)) / 2000.0


def regret(
    rates: tuple[float, ...], *, runs: int, sends: int, batch: int, min_share: float = 0.05, seed: int = 0
) -> Regret:
    rng = np.random.default_rng(seed)
    truth = np.asarray(rates, dtype=float)
    best = int(np.argmax(truth))
    k = len(truth)
    lost, to_best, declared, right = [], [], 0, 0
    for _ in range(runs):
        sent = np.zeros(k)
        conv = np.zeros(k)
        shares = np.full(k, 1.0 / k)
        expected = np.zeros(k)  # what the allocations so far should have given: the SRM check's plan
        winner: int | None = None
        for _ in range(sends // batch):
            shares = shares / shares.sum()
            expected += batch * shares
            allocation = rng.multinomial(batch, shares)
            conv += rng.binomial(allocation, truth)
            sent += allocation
            if winner is not None:
                continue
            if sent.min() >= 100:
                request = ExperimentRequest(
                    arms=[
                        ArmInput(name=str(i), recipients=int(sent[i]), conversions=int(conv[i]), weight=expected[i])
                        for i in range(k)
                    ],
                    draws=2000,
                    seed=int(rng.integers(1 << 31)),
                    min_share=min_share,
                )
                result = analyze(request)
                shares = np.array([result.allocation[str(i)] for i in range(k)])
                if result.decision == "winner":
                    winner = int(result.winner or 0)
            else:
                shares = thompson_allocation(_p_best(conv, sent, rng), min_share)
        if winner is not None:
            declared += 1
            right += winner == best
        lost.append(float(np.sum(sent * (truth[best] - truth))))
        to_best.append(float(sent[best] / sent.sum()))
    equal = (sends // batch) * batch * float(np.mean(truth[best] - truth))
    return Regret(
        runs=runs,
        sends=sends,
        batch=batch,
        rates=rates,
        thompson_regret=float(np.mean(lost)),
        equal_split_regret=equal,
        thompson_best_share=float(np.mean(to_best)),
        winner_declared=declared / runs,
        right_winner=right / declared if declared else 0.0,
    )


@dataclass(frozen=True)
class CupedEffect:
    experiments: int
    recipients_per_arm: int
    correlation: float
    variance_reduction: float  # mean, as the analyser reports it
    interval_width_ratio: float  # mean CUPED / plain confidence-sequence width


def cuped_effect(*, experiments: int, recipients: int, correlation: float, seed: int = 0) -> CupedEffect:
    """A revenue-like metric and its pre-period value, correlated; the analyser with and without CUPED."""
    rng = np.random.default_rng(seed)
    reductions, ratios = [], []
    for _ in range(experiments):
        arms_plain, arms_cuped = [], []
        for name in ("A", "B"):
            pre = rng.gamma(2.0, 10.0, recipients)
            noise = rng.gamma(2.0, 10.0, recipients)
            spend = correlation * pre + np.sqrt(1 - correlation**2) * noise
            buyers = spend[spend > 25.0]  # most people buy nothing; the rest spend a skewed amount
            y = np.where(spend > 25.0, spend, 0.0)
            revenue = [float(v) for v in buyers]
            arms_plain.append(ArmInput(name=name, recipients=recipients, conversions=len(revenue), revenue=revenue))
            pre_period = PrePeriod(sum_x=float(pre.sum()), sum_x2=float((pre**2).sum()), sum_xy=float((pre * y).sum()))
            arms_cuped.append(arms_plain[-1].model_copy(update={"pre_period": pre_period}))
        plain = analyze(ExperimentRequest(arms=arms_plain, metric="revenue", draws=2000, seed=1))
        adjusted = analyze(ExperimentRequest(arms=arms_cuped, metric="revenue", draws=2000, seed=1))
        assert adjusted.cuped is not None
        reductions.append(adjusted.cuped.variance_reduction)
        width = [c.interval[1] - c.interval[0] for c in (plain.comparisons[0], adjusted.comparisons[0])]
        ratios.append(width[1] / width[0])
    return CupedEffect(
        experiments=experiments,
        recipients_per_arm=recipients,
        correlation=correlation,
        variance_reduction=float(np.mean(reductions)),
        interval_width_ratio=float(np.mean(ratios)),
    )
