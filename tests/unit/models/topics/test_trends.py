from __future__ import annotations

import pytest

from models.topics.trends import TrendRule, trend


def test_a_steady_topic_is_not_emerging_however_big() -> None:
    t = trend(recent=210, recent_hours=24, baseline=1400, baseline_hours=24 * 7)
    assert not t.emerging and t.ratio == pytest.approx(1.05, abs=0.01)


def test_a_small_topic_far_above_its_own_rate_is_emerging() -> None:
    t = trend(recent=10, recent_hours=24, baseline=7, baseline_hours=24 * 7)
    assert t.emerging and t.ratio > 8 and t.p_value < 1e-6


def test_too_few_mentions_or_too_small_a_rise_are_not_emerging() -> None:
    assert not trend(4, 24, 0, 24 * 7).emerging  # under min_count, however unusual
    assert not trend(25, 24, 70, 24 * 7).emerging  # 2.5x: under min_ratio
    assert trend(25, 24, 70, 24 * 7, TrendRule(min_ratio=2.0)).emerging


def test_a_new_topic_is_measured_against_the_prior() -> None:
    t = trend(recent=6, recent_hours=24, baseline=0, baseline_hours=0)
    assert t.expected == pytest.approx(24 / 168, abs=1e-4) and t.emerging
    assert trend(0, 24, 0, 0).p_value == 1.0


def test_bad_counts_are_refused() -> None:
    with pytest.raises(ValueError, match="recent window"):
        trend(1, 0, 1, 1)
    with pytest.raises(ValueError, match=">= 0"):
        trend(-1, 24, 1, 1)
