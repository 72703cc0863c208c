"""How sure a run is: percentiles with distribution-free intervals and ratios with Wilson intervals.

A percentile from n samples is an order statistic; which one lies below the true percentile is binomial, so
the ranks ``binom.ppf(a/2, n, q)`` and ``binom.ppf(1-a/2, n, q) + 1`` bound it at confidence 1-a without assuming any
latency distribution. When too few samples exist for an upper rank, the upper bound is infinite and the
verdict says the run was too short to be sure.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import numpy as np
from scipy.stats import binom

Z_95 = 1.959963984540054

Certainty = Literal["conclusive", "inconclusive", "one observation"]


@dataclass(frozen=True)
class Estimate:
    """A measured value with its 95 % interval and the number of samples behind it."""

    value: float
    low: float
    high: float
    samples: int

    def certainty(self, target: float) -> Certainty:
        """Conclusive when the whole interval lies on one side of the target."""
        if self.samples == 1:
            return "one observation"
        return "conclusive" if self.high <= target or self.low > target else "inconclusive"


def percentile(values: list[float], q: float) -> Estimate:
    """The ``q`` quantile (0 < q < 1) of ``values`` with its distribution-free 95 % interval."""
    n = len(values)
    if n == 0:
        return Estimate(math.nan, math.nan, math.nan, 0)
    ordered = np.sort(np.asarray(values, dtype=float))
    value = float(np.quantile(ordered, q, method="inverted_cdf"))
    low_rank = int(binom.ppf(0.025, n, q))  # 1-based rank of the lower bound
    high_rank = int(binom.ppf(0.975, n, q)) + 1
    low = float(ordered[low_rank - 1]) if low_rank >= 1 else -math.inf
    high = float(ordered[high_rank - 1]) if high_rank <= n else math.inf
    return Estimate(value, min(low, value), max(high, value), n)


def ratio(events: int, total: int) -> Estimate:
    """``events / total`` with its Wilson 95 % interval (sound at 0 events, unlike the normal approximation)."""
    if total == 0:
        return Estimate(math.nan, math.nan, math.nan, 0)
    p = events / total
    denominator = 1 + Z_95**2 / total
    centre = (p + Z_95**2 / (2 * total)) / denominator
    half = Z_95 * math.sqrt(p * (1 - p) / total + Z_95**2 / (4 * total**2)) / denominator
    return Estimate(p, max(0.0, centre - half), min(1.0, centre + half), total)
