from __future__ import annotations

import numpy as np
import pytest

from models.topics.online import TopicSet, merge_candidates, moved_centroid, unit


def _around(direction: np.ndarray, rng: np.random.Generator, noise: float = 0.3) -> np.ndarray:
    return unit(direction + rng.normal(0, noise / np.sqrt(len(direction)), len(direction)))


def test_two_subjects_become_two_topics_without_being_told_how_many() -> None:
    rng = np.random.default_rng(0)
    a, b = unit(rng.normal(size=64)), unit(rng.normal(size=64))
    topics = TopicSet()
    placed = [(topics.add(_around(a if i % 2 else b, rng)).topic, i % 2) for i in range(200)]
    resolved = [(topics.resolve(t), s) for t, s in placed]
    by_subject = {s: {t for t, s2 in resolved if s2 == s} for s in (0, 1)}
    assert len(by_subject[0]) == 1 and len(by_subject[1]) == 1 and by_subject[0] != by_subject[1]
    assert sorted(t.size for t in topics.topics.values()) == [100, 100]


def test_a_far_mention_starts_a_topic_and_close_topics_merge_into_the_larger() -> None:
    topics = TopicSet(join=0.5, merge=0.9)
    x, y = unit([1.0, 0.0, 0.0]), unit([0.0, 1.0, 0.0])
    first = topics.add(x)
    assert first.started and first.similarity == 1.0
    second = topics.add(y)
    assert second.started and second.topic != first.topic
    # A third mention between them joins x's topic and pulls its centroid towards y: still below 0.9, no merge.
    third = topics.add(unit([1.0, 0.9, 0.0]))
    assert not third.started and third.topic == first.topic and third.merged == ()
    # Two topics that drift together merge; the smaller's id resolves to the larger's.
    near = TopicSet(join=0.95, merge=0.9)
    p = near.add(unit([1.0, 0.0]))
    near.add(unit([1.0, 0.0]))
    q = near.add(unit([0.94, 0.34]))  # similarity 0.94: a topic of its own
    assert q.started
    last = near.add(unit([0.97, 0.25]))  # joins one of them, whose centroid then comes within 0.9 of the other
    assert last.merged and len(near.topics) == 1 and near.resolve(q.topic) == near.resolve(p.topic)
    assert next(iter(near.topics.values())).size == 4


def test_centroids_are_running_means_and_vectors_must_be_usable() -> None:
    c = moved_centroid(unit([1.0, 0.0]), 1, unit([0.0, 1.0]))
    assert c == pytest.approx(unit([1.0, 1.0]))
    assert merge_candidates(unit([1.0, 0.0]), [(1, unit([1.0, 0.1])), (2, unit([0.0, 1.0]))], merge=0.9) == [1]
    with pytest.raises(ValueError, match="non-zero"):
        unit([0.0, 0.0])
    with pytest.raises(ValueError, match="finite"):
        unit([float("nan"), 1.0])
