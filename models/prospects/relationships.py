"""The relationship map: which of our users each prospect interacted with, and how strongly lately.

An interaction's strength is its kind's weight (a reply counts three times a view) fading with the intent
half-life; a pair's strength sums its interactions now. Its trend compares that with the same sum 30 days ago:
``rising`` at 1.5 times or more, ``cooling`` at two thirds or less, ``steady`` between, ``new`` when there
was nothing 30 days ago.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

from models.prospects.signals import HALF_LIFE_DAYS, SignalKind, decay

STRENGTH: dict[SignalKind, float] = {
    "profile_view": 1.0,
    "post_reaction": 1.0,
    "post_comment": 2.0,
    "company_follow": 1.0,
    "job_change": 0.0,  # nobody's interaction: it says nothing about a relationship
    "message_reply": 3.0,
    "event_signup": 2.0,
}
TREND_DAYS = 30


@dataclass(frozen=True)
class Interaction:
    user: str
    prospect: str
    kind: SignalKind
    at: datetime


@dataclass(frozen=True)
class Edge:
    user: str
    prospect: str
    strength: float
    interactions: int
    last_at: datetime
    trend: Literal["new", "rising", "steady", "cooling"]

    def as_json(self) -> dict[str, Any]:
        return {
            "user": self.user,
            "prospect_id": self.prospect,
            "strength": round(self.strength, 3),
            "interactions": self.interactions,
            "last_at": self.last_at.isoformat(),
            "trend": self.trend,
        }


def _strength(items: Iterable[Interaction], at: datetime, half_life_days: float) -> float:
    return sum(
        STRENGTH[i.kind] * decay((at - i.at).total_seconds() / 86400, half_life_days) for i in items if i.at <= at
    )


def edges(interactions: Iterable[Interaction], now: datetime, *, half_life_days: float = HALF_LIFE_DAYS) -> list[Edge]:
    """One edge per (user, prospect) that interacted, strongest first."""
    pairs: dict[tuple[str, str], list[Interaction]] = defaultdict(list)
    for i in interactions:
        if STRENGTH[i.kind] > 0 and i.at <= now:
            pairs[(i.user, i.prospect)].append(i)
    out = []
    for (user, prospect), items in pairs.items():
        strength = _strength(items, now, half_life_days)
        before = _strength(items, now - timedelta(days=TREND_DAYS), half_life_days)
        trend: Literal["new", "rising", "steady", "cooling"]
        if before == 0:
            trend = "new"
        elif strength >= 1.5 * before:
            trend = "rising"
        elif strength <= before / 1.5:
            trend = "cooling"
        else:
            trend = "steady"
        out.append(Edge(user, prospect, strength, len(items), max(i.at for i in items), trend))
    return sorted(out, key=lambda e: (-e.strength, e.user, e.prospect))
