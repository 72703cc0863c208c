"""A tenant's leads with known drivers of conversion, for evaluating lead scoring where the truth is known.

Each lead has an unobserved *interest* that raises both its engagement (opens, clicks, visits, intent) and
its chance to convert, so engagement is a noisy proxy, as in real funnels. The conversion log-odds
(:data:`DRIVERS`) also depend on the facts the rule reads, with other weights than the rule's points
(the phone and the name matter little; the source matters more), and on company size with a sweet spot
(a product for 10-200-person companies), which no additive point rule can express. ANAF firmographics are
known for most leads with a valid CUI and a few without.

``oracle`` is each lead's true conversion probability: the ceiling any score can reach on these leads.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from models.leadscore.facts import FREE_MAIL, SOURCES, LeadFacts

SOURCE_SHARE = {"referral": 0.08, "partner": 0.07, "web": 0.35, "event": 0.1, "linkedin": 0.15, "import": 0.15,
                "manual": 0.1}  # fmt: skip
DRIVERS: dict[str, float] = {
    "intercept": -3.5,
    "interest": 0.9,
    "email_business": 0.6,
    "email_free": -0.2,
    "has_phone": 0.1,
    "company_named": 0.1,
    "valid_cui": 0.3,
    "full_name": 0.05,
    "source_referral": 1.0,
    "source_partner": 0.6,
    "source_event": 0.3,
    "source_linkedin": 0.2,
    "source_web": 0.0,
    "source_manual": -0.2,
    "source_import": -0.7,
    "size_sweet_spot": 0.9,  # times exp(-(ln employees - ln 40)² / 2): a bump around 40 employees
    "vat_registered": 0.2,
    "clicks": 0.35,  # times ln(1 + clicks)
    "visits": 0.25,  # times ln(1 + visits)
    "recency": 0.6,  # times exp(-days since activity / 10)
}
BUSINESS_DOMAINS = ("firma.ro", "acme.ro", "example.com", "contoso.com", "logistica.ro")


@dataclass(frozen=True)
class SimulatedLead:
    facts: LeadFacts
    converted: bool
    oracle: float


def simulate(n: int, *, seed: int, tracks_intent: bool = True) -> list[SimulatedLead]:
    """``n`` leads in creation order (the simulator has no drift: order is only the split's)."""
    rng = np.random.default_rng(seed)
    leads = []
    for _ in range(n):
        interest = rng.normal()
        source = str(rng.choice(SOURCES, p=[SOURCE_SHARE[s] for s in SOURCES]))
        business = rng.random() < (0.7 if source in ("referral", "partner", "event") else 0.45)
        email_kind = "business" if business else ("free" if rng.random() < 0.75 else "none")
        domain = (
            str(rng.choice(BUSINESS_DOMAINS))
            if email_kind == "business"
            else (str(rng.choice(sorted(FREE_MAIL))) if email_kind == "free" else None)
        )
        company_named = business or rng.random() < 0.3
        valid_cui = company_named and rng.random() < (0.65 if business else 0.3)
        known = rng.random() < (0.9 if valid_cui else 0.15)
        employees = int(max(1, round(math.exp(rng.normal(3.2, 1.6))))) if known else None
        turnover = float(employees * math.exp(rng.normal(12.0, 0.8))) if employees else None
        vat = bool(rng.random() < 0.75) if known else None
        age = float(rng.gamma(2.0, 4.0)) if known else None
        opens = int(rng.poisson(math.exp(0.6 + 0.5 * interest)))
        clicks = int(rng.poisson(math.exp(-0.8 + 0.8 * interest)))
        visits = int(rng.poisson(math.exp(0.2 + 0.6 * interest)))
        active = opens + clicks + visits > 0
        days = float(rng.exponential(20 * math.exp(-0.4 * interest))) if active else None
        intent = float(100 / (1 + math.exp(-(0.9 * interest + rng.normal(0, 0.8))))) if tracks_intent else None
        facts = LeadFacts(
            email_domain=domain,
            has_phone=bool(rng.random() < 0.5),
            company_named=bool(company_named),
            valid_cui=bool(valid_cui),
            source=source,
            full_name=bool(rng.random() < 0.8),
            employees=employees,
            turnover_ron=turnover,
            vat_registered=vat,
            company_age_years=age,
            emails_opened=opens,
            emails_clicked=clicks,
            site_visits=visits,
            days_since_activity=days,
            intent=intent,
        )
        logit = _true_log_odds(facts, interest)
        probability = 1 / (1 + math.exp(-logit))
        leads.append(SimulatedLead(facts, bool(rng.random() < probability), probability))
    return leads


def _true_log_odds(facts: LeadFacts, interest: float) -> float:
    d = DRIVERS
    size = 0.0
    if facts.employees is not None:
        size = math.exp(-((math.log(facts.employees) - math.log(40)) ** 2) / 2)
    recency = math.exp(-facts.days_since_activity / 10) if facts.days_since_activity is not None else 0.0
    return (
        d["intercept"]
        + d["interest"] * interest
        + d["email_business"] * (facts.email_kind == "business")
        + d["email_free"] * (facts.email_kind == "free")
        + d["has_phone"] * facts.has_phone
        + d["company_named"] * facts.company_named
        + d["valid_cui"] * facts.valid_cui
        + d["full_name"] * facts.full_name
        + d[f"source_{facts.source}"]
        + d["size_sweet_spot"] * size
        + d["vat_registered"] * bool(facts.vat_registered)
        + d["clicks"] * math.log1p(facts.emails_clicked)
        + d["visits"] * math.log1p(facts.site_visits)
        + d["recency"] * recency
    )
