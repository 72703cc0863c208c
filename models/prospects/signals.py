"""The LinkedIn activities a sales team sees, and how much each says about buying intent before a tenant's own
outcomes say better.

The prior weights are log-odds per (decayed) activity: a reply to a message or an event sign-up is a person
answering us; a profile view or a reaction is a glance. A job change opens a buying window (a new role reviews
its vendors). They are a starting point a tenant's converted and lost leads move (:mod:`.intent`).
"""

from __future__ import annotations

import math
from typing import Final, Literal

SignalKind = Literal[
    "profile_view", "post_reaction", "post_comment", "company_follow", "job_change", "message_reply", "event_signup"
]
KINDS: Final[tuple[SignalKind, ...]] = (
    "profile_view", "post_reaction", "post_comment", "company_follow", "job_change", "message_reply", "event_signup",
)  # fmt: skip
PRIOR_WEIGHTS: Final[dict[SignalKind, float]] = {
    "profile_view": 0.4,
    "post_reaction": 0.3,
    "post_comment": 0.8,
    "company_follow": 0.6,
    "job_change": 1.0,
    "message_reply": 1.8,
    "event_signup": 1.4,
}
PRIOR_BIAS: Final = -3.0  # a prospect nobody has seen act: about 5 %
HALF_LIFE_DAYS: Final = 14.0
LABELS: Final[dict[SignalKind, str]] = {
    "profile_view": "viewed a profile",
    "post_reaction": "reacted to a post",
    "post_comment": "commented on a post",
    "company_follow": "followed the company",
    "job_change": "changed jobs",
    "message_reply": "replied to a message",
    "event_signup": "signed up for an event",
}


def decay(age_days: float, half_life_days: float = HALF_LIFE_DAYS) -> float:
    """What an activity ``age_days`` old still counts for (1 now, ½ after one half-life; future ones count 1)."""
    return math.exp(-math.log(2) * max(age_days, 0.0) / half_life_days)
