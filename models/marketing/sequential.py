"""Always-valid sequential inference: the mixture sequential probability ratio test (mSPRT).

For a difference of two means ``θ`` estimated by ``θ̂`` with variance ``V`` (normal approximation), the
likelihood ratio of a normal mixture ``θ ~ N(0, τ²)`` against ``θ = 0`` is

    Λ = sqrt(V / (V + τ²)) · exp(θ̂² τ² / (2 V (V + τ²)))

Under the null it is a (approximate) martingale with mean 1, so by Ville's inequality the chance that it
*ever* reaches ``1/α`` is at most ``α``: a dashboard may look after every recipient and stop the first time
``Λ ≥ 1/α`` without inflating false positives (Johari, Pekelis & Walsh, "Always valid inference", 2017).
``1/Λ`` is the always-valid p-value; inverting the test gives a confidence sequence for ``θ``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TypeVar

import numpy as np
from numpy.typing import NDArray

Array = TypeVar("Array", float, NDArray[np.float64])


@dataclass(frozen=True)
class SequentialTest:
    """One look at a two-sample comparison."""

    difference: float
    variance: float
    likelihood_ratio: float
    p_value: float  # always-valid: min(1, 1/Λ)
    interval: tuple[float, float]  # confidence sequence at 1 - alpha
    reject: bool


def log_mixture_ratio(difference: Array, variance: Array, tau2: float | NDArray[np.float64]) -> Array:
    """``log Λ`` of the normal-mixture SPRT (see the module docstring), element-wise over arrays too."""
    variance = np.maximum(variance, 1e-300)
    return 0.5 * np.log(variance / (variance + tau2)) + np.square(difference) * tau2 / (  # type: ignore[no-any-return]
        2.0 * variance * (variance + tau2)
    )


def confidence_radius(variance: float, tau2: float, alpha: float) -> float:
    """Half-width of the confidence sequence: every θ₀ whose test would not reject at ``alpha``."""
    if variance <= 0:
        return 0.0
    total = variance + tau2
    return math.sqrt(variance * total / tau2 * (2.0 * math.log(1.0 / alpha) + math.log(total / variance)))


def msprt(difference: float, variance: float, tau2: float, alpha: float) -> SequentialTest:
    """The test of ``θ = 0`` at this look; ``alpha`` the error rate over every look, however many."""
    if variance <= 0 or tau2 <= 0:
        raise ValueError("the mSPRT needs a positive variance and mixture scale")
    log_ratio = float(log_mixture_ratio(difference, variance, tau2))
    ratio = math.exp(min(log_ratio, 700.0))
    radius = confidence_radius(variance, tau2, alpha)
    return SequentialTest(
        difference=difference,
        variance=variance,
        likelihood_ratio=ratio,
        p_value=min(1.0, 1.0 / ratio) if ratio > 0 else 1.0,
        interval=(difference - radius, difference + radius),
        reject=log_ratio >= math.log(1.0 / alpha),
    )
