"""A lead's score (0-100) with the reasons that produced it, from the rule every tenant starts with.

Used when a caller qualifies a lead without giving a score. The rule itself lives with the lead-scoring
model (:mod:`models.leadscore.rules`), which is evaluated against it; this module turns a CRM lead into the
facts the rule reads.
"""

from __future__ import annotations

from crm_core.anaf.cui import is_valid_cui
from crm_core.schemas.leads import LeadPublic
from models.leadscore.facts import LeadFacts
from models.leadscore.rules import QUALIFY_THRESHOLD, RuleScore, rule_score

LeadScore = RuleScore
__all__ = ["QUALIFY_THRESHOLD", "LeadScore", "lead_facts", "record_facts", "score_lead"]


def record_facts(
    *,
    email: str | None,
    phone: str | None,
    company_name: str | None,
    cui: str | None,
    source: str,
    first_name: str | None,
    last_name: str | None,
) -> LeadFacts:
    """What a lead's record says; firmographics and engagement stay unknown until they are joined in."""
    return LeadFacts(
        email_domain=email.rsplit("@", 1)[-1].lower() if email else None,
        has_phone=bool(phone),
        company_named=bool(company_name),
        valid_cui=bool(cui and is_valid_cui(cui)),
        source=source.lower(),
        full_name=bool(first_name and last_name),
    )


def lead_facts(lead: LeadPublic) -> LeadFacts:
    return record_facts(
        email=lead.email,
        phone=lead.phone,
        company_name=lead.company_name,
        cui=lead.cui,
        source=lead.source,
        first_name=lead.first_name,
        last_name=lead.last_name,
    )


def score_lead(lead: LeadPublic) -> LeadScore:
    return rule_score(lead_facts(lead), source_label=lead.source)
