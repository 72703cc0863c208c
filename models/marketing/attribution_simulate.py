"""Journeys with a known incremental effect per channel, to see which attribution model recovers it.

Each person is exposed to each channel independently (a channel's reach), some of them more than once;
upper-funnel channels (display, video, social) tend to come early in a journey, lower-funnel ones (paid
search, e-mail) late, as they do in real funnels. Whether the person converts depends only on which
channels reached them, additively: ``P(convert) = base + Σ lift(c)`` over the channels seen. A channel's
true incremental conversions are then ``lift(c) × reach(c) × people``, and its true share of the
incremental conversions is what a model should hand it. People nobody reached convert at ``base``: their
(touchless) journeys are in the data as they would be in a real CRM.

The default world makes last-touch wrong on purpose, the way it is wrong in practice: paid search reaches
many people at the end of their journeys but adds little, while display and video do the work early.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from models.marketing.attribution import PathCounts


@dataclass(frozen=True)
class Channel:
    name: str
    reach: float  # share of people exposed
    lift: float  # added conversion probability when exposed
    position: float  # typical place in the journey, 0 = first … 1 = last


WORLD = (
    Channel("display", 0.35, 0.020, 0.15),
    Channel("video", 0.20, 0.025, 0.25),
    Channel("social", 0.30, 0.010, 0.35),
    Channel("affiliate", 0.10, 0.008, 0.55),
    Channel("email", 0.25, 0.012, 0.75),
    Channel("paid_search", 0.45, 0.003, 0.95),
)
BASE_RATE = 0.01


@dataclass(frozen=True)
class Simulated:
    channels: list[str]
    paths: list[tuple[int, ...]]  # one per person, in touch order (empty: nobody reached them)
    converted: NDArray[np.bool_]
    true_share: NDArray[np.float64]

    @property
    def conversions(self) -> int:
        return int(self.converted.sum())

    def counts(self, value_per_conversion: float = 50.0) -> PathCounts:
        """The journeys as distinct paths (the aggregation every model starts from)."""
        counts = PathCounts(self.channels)
        for path, converted in zip(self.paths, self.converted.tolist(), strict=True):
            counts.add(path, 1.0 if converted else 0.0, 0.0 if converted else 1.0, value_per_conversion * converted)
        return counts


def simulate(people: int, world: tuple[Channel, ...] = WORLD, base: float = BASE_RATE, seed: int = 0) -> Simulated:
    rng = np.random.default_rng(seed)
    k = len(world)
    reach = np.array([c.reach for c in world])
    lift = np.array([c.lift for c in world])
    position = np.array([c.position for c in world])
    exposed = rng.random((people, k)) < reach
    repeats = np.where(exposed, 1 + rng.poisson(0.4, (people, k)), 0)
    converted = rng.random(people) < base + exposed.astype(float) @ lift
    paths: list[tuple[int, ...]] = []
    # a touch's time: the channel's typical position plus noise; sorting by it orders the journey
    times = position[None, :, None] + rng.normal(0, 0.15, (people, k, 3))
    for person in range(people):
        touches: list[tuple[float, int]] = []
        for channel in np.flatnonzero(repeats[person]):
            touches += [
                (float(times[person, channel, r]), int(channel)) for r in range(min(repeats[person, channel], 3))
            ]
        paths.append(tuple(channel for _, channel in sorted(touches)))
    incremental = reach * lift
    return Simulated([c.name for c in world], paths, converted, incremental / incremental.sum())
