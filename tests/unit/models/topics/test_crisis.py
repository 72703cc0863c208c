from __future__ import annotations

import math
from dataclasses import replace
from datetime import timedelta

from models.topics.crisis import CrisisRule, WindowFigures, assess, starts

# A brand with 10 mentions an hour over a full week, a fifth of them negative, each negative read by ~100.
QUIET = WindowFigures(
    mentions=10,
    negative=2,
    supported=10,
    negative_reach=200.0,
    negative_log_reach=2 * math.log1p(100),
    baseline_mentions=1680,
    baseline_negative=336,
    baseline_negative_reach=33_600.0,
    baseline_negative_log_reach=336 * math.log1p(100),
    history=timedelta(days=7),
)
# The hour of a crisis: five times the mentions, 70 % negative, each negative read by ~400.
CRISIS = replace(QUIET, mentions=50, negative=35, supported=50, negative_reach=35 * 400.0,
                 negative_log_reach=35 * math.log1p(400))  # fmt: skip


def test_an_ordinary_hour_is_no_crisis() -> None:
    assessed = assess(QUIET)
    assert not assessed.on and assessed.reasons() == []
    assert 0.9 < assessed.volume_ratio < 1.1


def test_volume_negativity_and_reach_together_are_a_crisis() -> None:
    assessed = assess(CRISIS)
    assert assessed.on and assessed.reasons() == ["volume", "negativity", "reach"]
    assert assessed.volume_ratio > 4.9 and assessed.negative_share == 0.7 and assessed.reach_ratio > 10


def test_each_missing_condition_stops_the_alert() -> None:
    launch = replace(CRISIS, negative=5, negative_reach=500.0, negative_log_reach=5 * math.log1p(100))
    assert assess(launch).reasons() == ["volume"]
    chronic = replace(QUIET, mentions=12, negative=8, negative_reach=800.0, negative_log_reach=8 * math.log1p(100))
    assert "volume" not in assess(chronic).reasons() and not assess(chronic).on
    swarm = replace(CRISIS, negative_reach=35 * 20.0, negative_log_reach=35 * math.log1p(20))
    assessed = assess(swarm)
    assert not assessed.on and assessed.reasons() == ["volume", "negativity"] and assessed.mean_reach_share < 0.75


def test_a_brand_known_for_less_than_a_day_cannot_have_unusual_volume() -> None:
    new = replace(CRISIS, baseline_mentions=5, baseline_negative=1, baseline_negative_reach=100.0,
                  baseline_negative_log_reach=math.log1p(100), history=timedelta(hours=5))  # fmt: skip
    assert "volume" not in assess(new).reasons()
    assert assess(replace(new, history=timedelta(days=2))).on


def test_an_alert_starts_once_per_crisis_even_when_it_flickers() -> None:
    assert starts(True, False, None)
    assert not starts(True, True, timedelta(hours=3))
    assert not starts(True, False, timedelta(minutes=20))  # off for 20 minutes: the same crisis
    assert starts(True, False, timedelta(minutes=90))
    assert not starts(False, False, None)
    assert starts(True, False, timedelta(minutes=20), CrisisRule(window=timedelta(minutes=10)))


def test_a_baseline_of_unread_negatives_still_gives_figures() -> None:
    unread = replace(QUIET, baseline_negative_reach=0.0, baseline_negative_log_reach=0.0, negative_reach=0.0,
                     negative_log_reach=0.0)  # fmt: skip
    assessed = assess(unread)
    assert assessed.reach_ratio == 0.0 and not assessed.reach
    assert assess(replace(unread, negative_reach=500.0, negative_log_reach=2 * math.log1p(250))).reach
