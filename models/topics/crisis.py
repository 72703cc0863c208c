"""Crisis alerts: a brand's mentions at once unusually many, mostly negative, and reaching far.

The older spike rule (``streams.processors.social.SpikeRule``) fires when the last hour holds at least 20
mentions and half are negative. Two things make it cry wolf: a big brand whose hour *always* holds 20
mentions with many complaints (chronic negativity is a service problem, not a crisis), and a burst of
negative posts from accounts nobody reads. A crisis is the combination a communications team acts on:

* **volume**: the window's mentions are improbably many for this brand (Poisson against its own rate in the
  baseline days before the window, smoothed towards a small prior) and at least ``volume_ratio`` times it;
* **negativity**: at least ``negative_share`` of the window's mentions (in a supported language) are negative;
* **reach**: the negative mentions' predicted reach (``models.reach``: expected engagement, or the counts
  when known) adds up to at least ``reach_ratio`` times what the brand's negative mentions usually reach in
  a window of that length, *and* a negative mention now typically reaches at least ``mean_reach_share`` of
  what one usually does (geometric means of ``1 + reach``, so one viral post does not make a swarm of
  unread accounts look far-reaching): many complaints from accounts nobody reads add up, but are not a
  crisis yet.

An alert starts when all three hold and the brand was not in crisis within the last window, so a crisis
whose figures hover at a threshold is one alert, not many (:func:`starts`).

:func:`assess` returns the three figures and whether each holds, so an alert says which of them fired.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import timedelta

from scipy.stats import poisson


@dataclass(frozen=True)
class CrisisRule:
    window: timedelta = timedelta(minutes=60)
    baseline: timedelta = timedelta(days=7)
    min_mentions: int = 10
    volume_ratio: float = 3.0
    alpha: float = 1e-4
    negative_share: float = 0.4
    reach_ratio: float = 3.0
    mean_reach_share: float = 0.75
    min_history: timedelta = timedelta(days=1)  # less known about the brand: its volume cannot be unusual yet
    prior_mentions: float = 2.0  # pseudo-mentions (with a typical negative's reach each) added to the baseline


@dataclass(frozen=True)
class WindowFigures:
    """What the database counts for a brand at a mention's time."""

    mentions: int  # in the window
    negative: int
    supported: int  # mentions in a language the sentiment model reads
    negative_reach: float  # summed reach of the window's negative mentions
    negative_log_reach: float  # summed ln(1 + reach) of the same
    baseline_mentions: int  # in the baseline period before the window
    baseline_negative: int
    baseline_negative_reach: float
    baseline_negative_log_reach: float
    history: timedelta  # from the brand's first stored mention to the window's start (capped at the baseline)


@dataclass(frozen=True)
class Crisis:
    volume_ratio: float
    volume_p: float
    negative_share: float
    reach_ratio: float
    mean_reach_share: float
    volume: bool
    negativity: bool
    reach: bool

    @property
    def on(self) -> bool:
        return self.volume and self.negativity and self.reach

    def reasons(self) -> list[str]:
        return [name for name, held in (("volume", self.volume), ("negativity", self.negativity),
                                         ("reach", self.reach)) if held]  # fmt: skip


def assess(figures: WindowFigures, rule: CrisisRule = CrisisRule()) -> Crisis:
    history = min(figures.history, rule.baseline)
    windows = max(history / rule.window, 1.0)  # how many windows the known baseline holds
    expected = (figures.baseline_mentions + rule.prior_mentions) / windows
    volume_p = float(poisson.sf(figures.mentions - 1, expected)) if figures.mentions > 0 else 1.0
    volume_ratio = figures.mentions / expected
    share = figures.negative / figures.supported if figures.supported else 0.0
    typical = figures.baseline_negative_reach / figures.baseline_negative if figures.baseline_negative else 1.0
    # The prior's pseudo-negatives reach at least 1 each, so a baseline of unread negatives still divides.
    per_window = (figures.baseline_negative_reach + rule.prior_mentions * max(typical, 1.0)) / windows
    reach_ratio = figures.negative_reach / per_window
    usual_log = figures.baseline_negative_log_reach / figures.baseline_negative if figures.baseline_negative else 0.0
    now_log = figures.negative_log_reach / figures.negative if figures.negative else -math.inf
    mean_share = math.exp(now_log - usual_log) if figures.negative else 0.0
    known = history >= rule.min_history
    return Crisis(
        volume_ratio=round(volume_ratio, 3),
        volume_p=volume_p,
        negative_share=round(share, 4),
        reach_ratio=round(reach_ratio, 3),
        mean_reach_share=round(mean_share, 3),
        volume=known
        and figures.mentions >= rule.min_mentions
        and volume_ratio >= rule.volume_ratio
        and volume_p < rule.alpha,
        negativity=share >= rule.negative_share,
        reach=reach_ratio >= rule.reach_ratio and mean_share >= rule.mean_reach_share,
    )


def starts(on: bool, was_on: bool, last_change: timedelta | None, rule: CrisisRule = CrisisRule()) -> bool:
    """Whether this assessment starts an alert: on now, off before, and off for longer than a window
    (``last_change``: time since the brand's crisis state last changed; ``None``: never)."""
    return on and not was_on and (last_change is None or last_change > rule.window)
