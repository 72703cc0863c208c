"""Unit tests of ``crm_core.services.lead_scoring``."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from crm_core.schemas.leads import LeadPublic
from crm_core.services.lead_scoring import score_lead


def _lead(**fields: object) -> LeadPublic:
    now = datetime.now(UTC)
    base: dict[str, object] = {
        "id": uuid.uuid4(),
        "tid": "t",
        "whid": None,
        "mid": "m",
        "created_at": now,
        "updated_at": now,
        "version": 1,
        "deleted_at": None,
        "status": "new",
        "score": None,
        "score_reason": None,
        "converted_at": None,
        "converted_account_id": None,
        "converted_contact_id": None,
        "converted_opportunity_id": None,
        "source": "manual",
    }
    base.update(fields)
    return LeadPublic.model_validate(base)


def test_lead_score_rewards_business_facts_and_explains_itself() -> None:
    strong = score_lead(
        _lead(
            email="cto@firma.ro",
            phone="+40700000000",
            company_name="Firma",
            cui="18547290",
            source="referral",
            first_name="A",
            last_name="B",
        )
    )
    weak = score_lead(_lead(email="someone@gmail.com", source="manual"))
    assert strong.score == 100
    assert weak.score < 50
    assert "valid Romanian CUI" in strong.reason
    assert "free-mail" in weak.reason
