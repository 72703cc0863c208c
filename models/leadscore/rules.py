"""The rule score (0-100) with the reasons that produced it: the prior every tenant starts with.

Each rule is a fact a sales team can check, so the score is explainable. A tenant's own model
(:mod:`models.leadscore.model`) replaces it only once it beats it on that tenant's held-out leads.
"""

from __future__ import annotations

from dataclasses import dataclass

from models.leadscore.facts import LeadFacts

SOURCE_POINTS = {"referral": 25, "partner": 20, "web": 15, "event": 15, "linkedin": 15, "import": 5, "manual": 5}
QUALIFY_THRESHOLD = 50


@dataclass(frozen=True, slots=True)
class RuleScore:
    score: int
    reasons: tuple[str, ...]

    @property
    def reason(self) -> str:
        return "; ".join(self.reasons)


def rule_score(facts: LeadFacts, source_label: str | None = None) -> RuleScore:
    """``source_label`` is the source as the user typed it (the reasons quote it); ``facts.source`` is normalised."""
    points = 0
    reasons: list[str] = []

    def add(value: int, why: str) -> None:
        nonlocal points
        points += value
        reasons.append(f"{why} (+{value})")

    if facts.email_kind == "free":
        add(5, "free-mail address")
    elif facts.email_kind == "business":
        add(20, f"business e-mail domain {facts.email_domain}")
    if facts.has_phone:
        add(10, "phone number given")
    if facts.company_named:
        add(15, "company named")
    if facts.valid_cui:
        add(20, "valid Romanian CUI")
    add(SOURCE_POINTS.get(facts.source, 5), f"source {source_label or facts.source}")
    if facts.full_name:
        add(10, "full name known")
    return RuleScore(score=min(points, 100), reasons=tuple(reasons))
