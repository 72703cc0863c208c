"""What the CRM knows about a lead when it is scored: the record, the company (ANAF) and the engagement.

Every field has a "not known" value, so a lead scored at creation (no engagement yet, no ANAF lookup) and one
scored after a month of e-mails go through the same model. The CRM fills these from its own rows
(``crm_core.services.lead_scoring``); the simulator (:mod:`models.leadscore.simulate`) draws them.
"""

from __future__ import annotations

from dataclasses import dataclass

FREE_MAIL = frozenset(
    {"gmail.com", "yahoo.com", "yahoo.ro", "hotmail.com", "outlook.com", "icloud.com", "proton.me", "mail.com"}
)
SOURCES = ("referral", "partner", "web", "event", "linkedin", "import", "manual")


@dataclass(frozen=True, slots=True)
class LeadFacts:
    """One lead's facts. Counts are over the lead's life so far; ``None`` means not known."""

    email_domain: str | None = None  # the part after "@", lower case
    has_phone: bool = False
    company_named: bool = False
    valid_cui: bool = False
    source: str = "manual"
    full_name: bool = False
    # ANAF / firmographics (``None`` until the company is looked up)
    employees: int | None = None
    turnover_ron: float | None = None
    vat_registered: bool | None = None
    company_age_years: float | None = None
    # engagement
    emails_opened: int = 0
    emails_clicked: int = 0
    site_visits: int = 0
    days_since_activity: float | None = None  # None: no activity recorded
    intent: float | None = None  # the prospect's intent score (0-100), when the tenant tracks it

    @property
    def email_kind(self) -> str:
        if not self.email_domain:
            return "none"
        return "free" if self.email_domain in FREE_MAIL else "business"
