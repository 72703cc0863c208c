"""Unit tests of ``infra.events.envelope``."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from infra.events.envelope import Envelope


@pytest.mark.parametrize("name", ["LeadCreated", "crm.lead", "crm..created", "CRM.lead.created", "crm.lead.created!"])
def test_event_names_must_follow_the_convention(name: str) -> None:
    with pytest.raises(ValidationError):
        Envelope(type=name, tid="t", mid="m", payload={})


def test_envelope_round_trips_as_json() -> None:
    event = Envelope(type="crm.lead.created", tid="t", mid="m", corr_id="c", payload={"a": 1})
    assert Envelope.from_json(event.to_json()) == event
