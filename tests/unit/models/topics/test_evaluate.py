"""The evaluation's data and simulators behave as its report says (small runs; the figures are in
benchmarks/results/topics_eval.json)."""

from __future__ import annotations

from collections import Counter

from models.topics.data import SUBJECTS, load_subject_mentions
from models.topics.evaluate import crisis_quality, emerging_quality, is_dev


def test_the_real_mentions_each_have_exactly_one_subject_and_the_dev_split_is_stable() -> None:
    mentions = load_subject_mentions()
    counts = Counter(m.subject for m in mentions)
    assert set(counts) == set(SUBJECTS) and min(counts.values()) > 2000
    assert len({m.text for m in mentions}) == len(mentions)
    dev = [m for m in mentions if is_dev(m.text)]
    assert 0.25 < len(dev) / len(mentions) < 0.35
    assert [is_dev(m.text) for m in mentions[:50]] == [is_dev(m.text) for m in mentions[:50]]


def test_the_own_baseline_rule_beats_a_volume_list_on_simulated_topics() -> None:
    report = emerging_quality(runs=4, seed=1)
    assert report["rule"]["precision"] > 0.8 > report["volume_top8"]["precision"]
    assert report["rule"]["recall_within_48h"] > 0.6


def test_the_crisis_rule_catches_crises_and_ignores_launches_where_the_spike_rule_does_not() -> None:
    report = crisis_quality(brands_per_episode=3, seed=3)
    crisis, spike = report["crisis_rule"], report["spike_rule"]
    assert crisis["crisis_recall"] == 1.0
    assert crisis["false_alerts"] < spike["false_alerts"] / 5
    assert crisis["false_alerts_by_episode"]["none"] == 0
