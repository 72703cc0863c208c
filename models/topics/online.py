"""Online topic clustering of mention embeddings: one pass, no number of topics given, nothing re-read.

Each mention joins the topic whose centroid is nearest (cosine) if it is at least ``join`` similar, moving
that centroid (the running mean of its members, renormalised); otherwise it starts a topic of its own.
Leader clustering alone fragments: early topics are seeded by single mentions and two of them may drift
towards one subject. So after a join, the moved topic is merged with any other whose centroid is now at
least ``merge`` similar; the smaller one's mentions move to the larger.

The defaults were chosen on a development sample of real mentions with known subjects, disjoint from the
evaluation sample (:mod:`models.topics.evaluate`): MiniLM sentence vectors of tweets about five subjects.
The evaluation reports what they recover against batch k-means that is told the number of subjects.

:class:`TopicSet` is the in-memory form the evaluation runs; the streams keep the same state per brand in
``ai.topics`` and apply the same two thresholds, :func:`moved_centroid` and :func:`merge_candidates`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from models.topics.keywords import add_terms, merge_terms

JOIN_SIMILARITY = 0.35
MERGE_SIMILARITY = 0.70
Vector = NDArray[np.float32]


def unit(vector: NDArray[np.floating] | list[float]) -> Vector:
    v = np.asarray(vector, dtype=np.float32)
    norm = float(np.linalg.norm(v))
    if not np.isfinite(norm) or norm == 0.0:
        raise ValueError("a topic vector must be finite and non-zero")
    out: Vector = v / norm
    return out


def moved_centroid(centroid: Vector, size: int, vector: Vector, weight: int = 1) -> Vector:
    """The centroid of ``size`` members after ``weight`` more at ``vector`` (the mean, renormalised)."""
    return unit(centroid * size + vector * weight)


@dataclass
class Topic:
    id: int
    centroid: Vector
    size: int = 1
    terms: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class Placement:
    topic: int  # the id the mention ends in (after any merge)
    started: bool  # the mention started a topic
    similarity: float  # to the centroid it joined (1.0 when it started one)
    merged: tuple[int, ...] = ()  # topics folded into ``topic`` by this mention


def merge_candidates(centroid: Vector, others: list[tuple[int, Vector]], merge: float = MERGE_SIMILARITY) -> list[int]:
    """The ids among ``others`` close enough to ``centroid`` to be merged into one topic with it."""
    return [key for key, other in others if float(other @ centroid) >= merge]


class TopicSet:
    """One brand's topics in memory: the evaluation's clusterer, and the reference for the stored one."""

    def __init__(self, join: float = JOIN_SIMILARITY, merge: float = MERGE_SIMILARITY) -> None:
        self.join, self.merge = join, merge
        self.topics: dict[int, Topic] = {}
        self.renamed: dict[int, int] = {}  # merged topic -> the topic it went into
        self._next = 0

    def add(self, vector: NDArray[np.floating] | list[float], text: str = "") -> Placement:
        v = unit(vector)
        nearest = self._nearest(v)
        if nearest is None or nearest[0] < self.join:
            topic = Topic(self._next, v, 1, add_terms({}, text) if text else {})
            self.topics[topic.id] = topic
            self._next += 1
            return Placement(topic.id, True, 1.0)
        similarity, topic = nearest
        topic.centroid = moved_centroid(topic.centroid, topic.size, v)
        topic.size += 1
        if text:
            topic.terms = add_terms(topic.terms, text)
        merged = []
        others = [(k, t.centroid) for k, t in self.topics.items() if k != topic.id]
        for key in merge_candidates(topic.centroid, others, self.merge):
            topic, gone = self._merge(topic, self.topics[key])
            merged.append(gone)
        return Placement(topic.id, False, similarity, tuple(merged))

    def _nearest(self, v: Vector) -> tuple[float, Topic] | None:
        if not self.topics:
            return None
        keys = list(self.topics)
        sims = np.stack([self.topics[k].centroid for k in keys]) @ v
        best = int(np.argmax(sims))
        return float(sims[best]), self.topics[keys[best]]

    def _merge(self, a: Topic, b: Topic) -> tuple[Topic, int]:
        keep, gone = (a, b) if a.size >= b.size else (b, a)
        keep.centroid = moved_centroid(keep.centroid, keep.size, gone.centroid, gone.size)
        keep.size += gone.size
        keep.terms = merge_terms(keep.terms, gone.terms)
        del self.topics[gone.id]
        self.renamed[gone.id] = keep.id
        return keep, gone.id

    def resolve(self, topic: int) -> int:
        """The live topic a (possibly merged) topic id ended in."""
        while topic in self.renamed:
            topic = self.renamed[topic]
        return topic
