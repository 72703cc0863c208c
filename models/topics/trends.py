"""Emerging topics: a topic whose rate now is far above its own usual rate.

A trending list sorted by volume shows the big steady topics every day. What a brand team needs to see is
a topic that is *unusual for itself*: ten mentions of a broken checkout in a day, where a day usually has
one, matter more than two hundred mentions of delivery times, which a day always has.

:func:`trend` compares the count in the recent window with what the topic's baseline rate predicts for that
long, under a Poisson model. The baseline rate is smoothed towards a small prior (``prior_count`` mentions
over ``prior_hours``: one a week, weighing as an hour), so a topic new this week has an expectation too rather
than an infinite ratio. A topic
is emerging when the count is at least ``min_count``, at least ``min_ratio`` times the expectation, and the
Poisson probability of seeing that many or more is below ``alpha``.
"""

from __future__ import annotations

from dataclasses import dataclass

from scipy.stats import poisson


@dataclass(frozen=True)
class TrendRule:
    min_count: int = 5
    min_ratio: float = 3.0
    alpha: float = 1e-3
    prior_count: float = 1.0 / 168  # a pseudo-rate of one mention a week, weighing as one hour of baseline:
    prior_hours: float = 1.0  # it barely moves a real baseline and gives a new topic an expectation


@dataclass(frozen=True)
class Trend:
    recent: int
    expected: float  # mentions the baseline rate predicts for the recent window
    ratio: float
    p_value: float
    emerging: bool


def trend(
    recent: int, recent_hours: float, baseline: int, baseline_hours: float, rule: TrendRule = TrendRule()
) -> Trend:
    """The topic's recent count against its own baseline (counts over the hours each covers)."""
    if recent < 0 or baseline < 0 or recent_hours <= 0 or baseline_hours < 0:
        raise ValueError("counts must be >= 0 and the recent window must be longer than 0 hours")
    rate = (baseline + rule.prior_count) / (baseline_hours + rule.prior_hours)
    expected = rate * recent_hours
    p_value = float(poisson.sf(recent - 1, expected)) if recent > 0 else 1.0
    ratio = recent / expected
    emerging = recent >= rule.min_count and ratio >= rule.min_ratio and p_value < rule.alpha
    return Trend(recent, round(expected, 4), round(ratio, 3), p_value, emerging)
