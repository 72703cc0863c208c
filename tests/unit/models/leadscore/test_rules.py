"""Unit tests of ``models.leadscore.rules``."""

from __future__ import annotations

from models.leadscore.facts import LeadFacts
from models.leadscore.rules import rule_score


def test_every_fact_adds_its_points_with_a_reason() -> None:
    strong = rule_score(
        LeadFacts(
            email_domain="firma.ro",
            has_phone=True,
            company_named=True,
            valid_cui=True,
            source="referral",
            full_name=True,
        )
    )
    assert strong.score == 100  # 20 + 10 + 15 + 20 + 25 + 10, capped
    assert "business e-mail domain firma.ro (+20)" in strong.reasons
    assert "valid Romanian CUI (+20)" in strong.reasons


def test_free_mail_and_an_unknown_source_score_low() -> None:
    weak = rule_score(LeadFacts(email_domain="gmail.com", source="fax"), source_label="Fax")
    assert weak.score == 10
    assert weak.reason == "free-mail address (+5); source Fax (+5)"


def test_no_email_scores_no_email_points() -> None:
    assert rule_score(LeadFacts(source="web")).score == 15
