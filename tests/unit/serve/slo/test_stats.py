"""Percentile and ratio intervals: they cover the truth as often as they claim, and say when a run is too short."""

from __future__ import annotations

import math

import numpy as np
import pytest

from serve.slo.stats import Estimate, percentile, ratio


def test_percentile_interval_covers_the_true_p95_about_95_percent_of_the_time() -> None:
    rng = np.random.default_rng(11)
    true_p95 = float(np.exp(3.0 + 0.5 * 1.6448536))  # lognormal(3, 0.5)
    covered = 0
    for _ in range(400):
        estimate = percentile(list(rng.lognormal(3.0, 0.5, size=300)), 0.95)
        covered += estimate.low <= true_p95 <= estimate.high
    assert 0.91 <= covered / 400 <= 0.99


def test_too_few_samples_leave_the_upper_bound_open() -> None:
    estimate = percentile([10.0, 11.0, 12.0, 13.0, 14.0], 0.99)
    assert estimate.value == 14.0 and math.isinf(estimate.high)
    assert estimate.certainty(20.0) == "inconclusive"


def test_certainty_is_about_the_interval_not_the_point() -> None:
    assert Estimate(50, 40, 60, 500).certainty(100) == "conclusive"
    assert Estimate(150, 120, 180, 500).certainty(100) == "conclusive"
    assert Estimate(90, 80, 110, 500).certainty(100) == "inconclusive"
    assert Estimate(21.9, 21.9, 21.9, 1).certainty(120) == "one observation"


def test_no_samples_is_nan_not_a_pass() -> None:
    assert math.isnan(percentile([], 0.95).value)
    assert math.isnan(ratio(0, 0).value)


@pytest.mark.parametrize(("events", "total", "low", "high"), [(0, 400, 0.0, 0.0095), (10, 100, 0.055, 0.174)])
def test_wilson_interval(events: int, total: int, low: float, high: float) -> None:
    estimate = ratio(events, total)
    assert estimate.value == events / total
    assert estimate.low == pytest.approx(low, abs=0.001) and estimate.high == pytest.approx(high, abs=0.001)
