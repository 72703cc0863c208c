"""Rule-based lead score (0-100) with the reasons that produced it.

Used when a caller qualifies a lead without giving a score. Each rule is a
fact a sales team can check; the reason lists them so the score is explainable.
"""

from __future__ import annotations

from dataclasses import dataclass

from crm_core.anaf.cui import is_valid_cui
from crm_core.schemas.leads import LeadPublic

FREE_MAIL = frozenset(
    {"gmail.com", "yahoo.com", "yahoo.ro", "hotmail.com", "outlook.com", "icloud.com", "proton.me", "mail.com"}
)
SOURCE_POINTS = {"referral": 25, "partner": 20, "web": 15, "event": 15, "linkedin": 15, "import": 5, "manual": 5}
QUALIFY_THRESHOLD = 50


@dataclass(frozen=True, slots=True)
class LeadScore:
    score: int
    reasons: tuple[str, ...]

    @property
    def reason(self) -> str:
        return "; ".join(self.reasons)


def score_lead(lead: LeadPublic) -> LeadScore:
    points = 0
    reasons: list[str] = []

    def add(value: int, why: str) -> None:
        nonlocal points
        points += value
        reasons.append(f"{why} (+{value})")

    if lead.email:
        domain = lead.email.rsplit("@", 1)[-1]
        if domain in FREE_MAIL:
            add(5, "free-mail address")
        else:
            add(20, f"business e-mail domain {domain}")
    if lead.phone:
        add(10, "phone number given")
    if lead.company_name:
        add(15, "company named")
    if lead.cui and is_valid_cui(lead.cui):
        add(20, "valid Romanian CUI")
    source_points = SOURCE_POINTS.get(lead.source.lower(), 5)
    add(source_points, f"source {lead.source}")
    if lead.first_name and lead.last_name:
        add(10, "full name known")
    return LeadScore(score=min(points, 100), reasons=tuple(reasons))
