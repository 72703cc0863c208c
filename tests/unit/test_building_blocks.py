"""Small pure pieces: CUI check digit, cursors, topic matching, envelope names, breaker, scoring."""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from crm_core.anaf.cui import InvalidCui, control_digit, is_valid_cui, normalize_cui
from crm_core.anaf.resilience import CircuitBreaker, CircuitOpen
from crm_core.events.bus import topic_matches
from crm_core.events.envelope import Envelope
from crm_core.repositories.base import Cursor, Sort, like_pattern
from crm_core.schemas.leads import LeadPublic
from crm_core.services.lead_scoring import score_lead


@pytest.mark.parametrize("cui", ["18547290", "RO18547290", "ro 18547290", "4267117", "14399840"])
def test_known_cuis_are_valid(cui: str) -> None:
    assert is_valid_cui(cui)


@pytest.mark.parametrize("cui", ["18547291", "1", "RO", "12345678901", "18-547-290", ""])
def test_malformed_cuis_are_rejected(cui: str) -> None:
    with pytest.raises(InvalidCui):
        normalize_cui(cui)


@given(st.integers(min_value=1, max_value=99_999_999))
def test_every_body_has_exactly_one_valid_control_digit(body: int) -> None:
    digits = str(body)
    valid = [d for d in range(10) if is_valid_cui(f"{digits}{d}")]
    assert valid == [control_digit(digits)]


@given(
    st.one_of(st.datetimes(timezones=st.just(UTC)), st.text(max_size=50), st.integers(-(10**9), 10**9)),
    st.uuids(),
)
def test_cursors_round_trip(value: object, ident: uuid.UUID) -> None:
    cursor = Cursor(value=value, id=ident)
    assert Cursor.decode(cursor.encode()) == cursor


@pytest.mark.parametrize("token", ["", "!!!", "e30", "WzEsMiwzXQ"])
def test_garbage_cursors_are_a_clear_error(token: str) -> None:
    with pytest.raises(ValueError, match="invalid cursor"):
        Cursor.decode(token)


def test_sort_parsing() -> None:
    assert Sort.parse("-updated_at") == Sort("updated_at", descending=True)
    assert Sort.parse("name") == Sort("name", descending=False)
    assert Sort.parse(None) == Sort("created_at", descending=True)


def test_like_pattern_escapes_wildcards() -> None:
    assert like_pattern("50%_off\\") == "%50\\%\\_off\\\\%"


@pytest.mark.parametrize(
    ("pattern", "event", "expected"),
    [
        ("crm.#", "crm.lead.created", True),
        ("crm.*", "crm.lead.created", False),
        ("crm.*.created", "crm.lead.created", True),
        ("#", "sales.order.created", True),
        ("sales.order.created", "sales.order.created", True),
        ("sales.#.created", "sales.created", True),
        ("wms.#", "sales.order.created", False),
    ],
)
def test_topic_patterns_follow_amqp_semantics(pattern: str, event: str, expected: bool) -> None:
    assert topic_matches(pattern, event) is expected


@pytest.mark.parametrize("name", ["LeadCreated", "crm.lead", "crm..created", "CRM.lead.created", "crm.lead.created!"])
def test_event_names_must_follow_the_convention(name: str) -> None:
    with pytest.raises(ValidationError):
        Envelope(type=name, tid="t", mid="m", payload={})


def test_envelope_round_trips_as_json() -> None:
    event = Envelope(type="crm.lead.created", tid="t", mid="m", corr_id="c", payload={"a": 1})
    assert Envelope.from_json(event.to_json()) == event


def test_breaker_opens_after_the_threshold_and_half_opens_after_the_cooldown() -> None:
    breaker = CircuitBreaker(failure_threshold=2, reset_after_s=0.05)
    breaker.before_call()
    breaker.record_failure()
    breaker.before_call()
    breaker.record_failure()
    assert breaker.state == "open"
    with pytest.raises(CircuitOpen):
        breaker.before_call()
    time.sleep(0.06)
    breaker.before_call()  # the single trial call
    with pytest.raises(CircuitOpen):
        breaker.before_call()  # no second concurrent trial
    breaker.record_failure()
    assert breaker.state == "open"  # a failed trial re-opens immediately
    time.sleep(0.06)
    breaker.before_call()
    breaker.record_success()
    assert breaker.state == "closed"


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
