"""Sequence definitions: what a journey may say, and the clear refusals for what it may not."""

from __future__ import annotations

import uuid

import pytest
from pydantic import ValidationError

from crm_core.schemas.sequences import SequenceCreate, Trigger

SEND = {"type": "send_email", "campaign_id": str(uuid.uuid4())}


def create(steps: list[dict[str, object]], trigger: dict[str, object] | None = None) -> SequenceCreate:
    return SequenceCreate.model_validate({"name": "N", "trigger": trigger or {"type": "manual"}, "steps": steps})


def test_a_full_journey_validates() -> None:
    sequence = create(
        [
            SEND,
            {"type": "wait", "until": "opened", "timeout_seconds": 86400},
            {"type": "branch", "condition": {"score_gte": 50}, "then": 3, "otherwise": "exit"},
            {"type": "update_lead", "status": "qualified"},
            {"type": "create_activity", "subject": "Call"},
            {"type": "wait", "seconds": 3600},
            {"type": "exit"},
        ]
    )
    assert [s.type for s in sequence.steps][:3] == ["send_email", "wait", "branch"]
    assert sequence.exit_on == ["converted", "unsubscribed", "replied"]


@pytest.mark.parametrize(
    ("steps", "message"),
    [
        ([], "at least 1"),
        ([{"type": "wait", "seconds": 5, "until": "opened", "timeout_seconds": 5}], "either"),
        ([{"type": "branch", "condition": {"event": "opened", "score_gte": 1}}], "exactly one"),
        ([{"type": "branch", "condition": {"event": "opened"}, "otherwise": -1}], "does not exist"),
        ([{"type": "update_lead"}], "score_delta"),
        ([{"type": "update_lead", "status": "converted"}], "status"),
        ([{"type": "send_email", "campaign_id": "x"}], "campaign_id"),
        ([{"type": "exit", "extra": 1}], "extra"),
    ],
)
def test_bad_steps_are_refused(steps: list[dict[str, object]], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        create(steps)


@pytest.mark.parametrize(
    "trigger",
    [
        {"type": "segment"},
        {"type": "manual", "segment": {}},
        {"type": "behavior"},
        {"type": "behavior", "action": "Form Submit"},
        {"type": "manual", "action": "form_submit"},
        {"type": "webhook"},
    ],
)
def test_bad_triggers_are_refused(trigger: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        Trigger.model_validate(trigger)
