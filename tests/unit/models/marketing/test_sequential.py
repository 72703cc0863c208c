"""The mixture SPRT against its definition, and its confidence sequence against the test it inverts."""

from __future__ import annotations

import math

import pytest
from scipy import integrate, stats

from models.marketing.sequential import confidence_radius, log_mixture_ratio, msprt


@pytest.mark.parametrize(
    ("difference", "variance", "tau2"), [(0.0, 1e-4, 1e-4), (0.02, 1e-4, 4e-4), (-0.01, 4e-5, 1e-5)]
)
def test_closed_form_matches_the_mixture_integral(difference: float, variance: float, tau2: float) -> None:
    sd, tau = math.sqrt(variance), math.sqrt(tau2)

    def integrand(theta: float) -> float:
        return float(stats.norm.pdf(difference, theta, sd) * stats.norm.pdf(theta, 0, tau))

    mixture, _ = integrate.quad(integrand, -50 * tau, 50 * tau, points=[difference], limit=200)
    expected = math.log(mixture / stats.norm.pdf(difference, 0, sd))
    assert log_mixture_ratio(difference, variance, tau2) == pytest.approx(expected, rel=1e-6, abs=1e-9)


def test_the_confidence_sequence_ends_where_the_test_starts_to_reject() -> None:
    variance, tau2, alpha = 2e-5, 1e-5, 0.05
    radius = confidence_radius(variance, tau2, alpha)
    assert log_mixture_ratio(radius, variance, tau2) == pytest.approx(math.log(1 / alpha))
    inside, outside = msprt(0.99 * radius, variance, tau2, alpha), msprt(1.01 * radius, variance, tau2, alpha)
    assert not inside.reject and inside.interval[0] < 0 < inside.interval[1]
    assert outside.reject and outside.interval[0] > 0
    assert outside.p_value <= alpha < inside.p_value


def test_no_variance_is_refused() -> None:
    with pytest.raises(ValueError, match="positive variance"):
        msprt(0.1, 0.0, 1e-4, 0.05)
