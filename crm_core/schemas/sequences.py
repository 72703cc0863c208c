"""Sequences (automations): a trigger, steps, and what ends a contact's journey early."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, model_validator

from crm_core.schemas.common import Attributes, EntityPublic, Name, RowPublic, WriteModel

MAX_STEPS = 50
MAX_WAIT_S = 365 * 86400
Event = Literal["opened", "clicked", "converted", "replied"]
ExitReason = Literal["converted", "unsubscribed", "replied"]


class _Step(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SendEmail(_Step):
    """Queue the campaign's e-mail for the contact (consent and suppressions apply at send time)."""

    type: Literal["send_email"]
    campaign_id: UUID


class Wait(_Step):
    """Wait ``seconds``; or wait ``until`` an event of this journey's e-mails, at most ``timeout_seconds``."""

    type: Literal["wait"]
    seconds: float | None = Field(default=None, gt=0, le=MAX_WAIT_S)
    until: Event | None = None
    timeout_seconds: float | None = Field(default=None, gt=0, le=MAX_WAIT_S)

    @model_validator(mode="after")
    def _one_kind(self) -> Wait:
        if (self.seconds is None) == (self.until is None):
            raise ValueError("a wait has either `seconds` or `until` (with `timeout_seconds`)")
        if self.until is not None and self.timeout_seconds is None:
            raise ValueError("a wait `until` an event needs `timeout_seconds`")
        return self


class Condition(_Step):
    """Exactly one of: an event of this journey's e-mails happened, or the contact's lead score reached a value."""

    event: Event | None = None
    score_gte: int | None = Field(default=None, ge=0, le=100)

    @model_validator(mode="after")
    def _exactly_one(self) -> Condition:
        if (self.event is None) == (self.score_gte is None):
            raise ValueError("a condition has exactly one of `event` or `score_gte`")
        return self


Target = int | Literal["next", "exit"]


class Branch(_Step):
    """Go to step ``then`` when the condition holds, else to ``otherwise`` (a step index, "next" or "exit")."""

    type: Literal["branch"]
    condition: Condition
    then: Target = "next"
    otherwise: Target = "next"


class UpdateLead(_Step):
    """Change the contact's lead (converted from it, or with the same e-mail): score by a delta, status."""

    type: Literal["update_lead"]
    score_delta: int | None = Field(default=None, ge=-100, le=100)
    status: Literal["qualified", "disqualified"] | None = None

    @model_validator(mode="after")
    def _something(self) -> UpdateLead:
        if self.score_delta is None and self.status is None:
            raise ValueError("update_lead needs `score_delta` or `status`")
        return self


class CreateActivity(_Step):
    """Add an activity (a task for a salesperson, a note) to the contact's timeline."""

    type: Literal["create_activity"]
    kind: str = Field(default="task", min_length=1, max_length=100)
    subject: str = Field(min_length=1, max_length=500)


class Exit(_Step):
    type: Literal["exit"]


Step = Annotated[SendEmail | Wait | Branch | UpdateLead | CreateActivity | Exit, Field(discriminator="type")]
STEPS = TypeAdapter(list[Step])


class Segment(BaseModel):
    """Contacts a segment trigger enrols: all of the tenant's, narrowed by these (every one given must match)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    account_id: UUID | None = None
    title_contains: str | None = Field(default=None, min_length=1, max_length=200)
    consenting_only: bool = True


class Trigger(BaseModel):
    """What enrols contacts: ``manual`` (the API), ``contact_created``, ``lead_created`` (consenting contacts
    with the lead's e-mail), ``segment`` (matching contacts when the sequence is created or refreshed) or
    ``behavior`` (a ``web.user.behavior.tracked`` event naming a contact, with this ``action``: a form
    submission, a pricing-page visit)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    type: Literal["manual", "contact_created", "lead_created", "segment", "behavior"]
    segment: Segment | None = None
    action: str | None = Field(default=None, min_length=1, max_length=100, pattern=r"^[a-z0-9_:.-]+$")

    @model_validator(mode="after")
    def _segment(self) -> Trigger:
        if (self.type == "segment") != (self.segment is not None):
            raise ValueError("`segment` goes with (and only with) a segment trigger")
        if (self.type == "behavior") != (self.action is not None):
            raise ValueError("`action` goes with (and only with) a behavior trigger")
        return self


def default_exits() -> list[ExitReason]:
    return ["converted", "unsubscribed", "replied"]


def _targets_in_range(steps: list[Any] | None) -> list[Any] | None:
    for i, step in enumerate(steps or []):
        if isinstance(step, Branch):
            for target in (step.then, step.otherwise):
                if isinstance(target, int) and not 0 <= target < len(steps or []):
                    raise ValueError(f"step {i} branches to step {target}, which does not exist")
    return steps


class SequenceCreate(WriteModel):
    name: Name
    status: Literal["active", "paused"] = "active"
    trigger: Trigger
    steps: Annotated[list[Step], Field(min_length=1, max_length=MAX_STEPS)]
    exit_on: list[ExitReason] = Field(default_factory=default_exits)
    attributes: Attributes

    @model_validator(mode="after")
    def _targets(self) -> SequenceCreate:
        _targets_in_range(self.steps)
        return self


class SequenceUpdate(WriteModel):
    name: Name | None = None
    status: Literal["active", "paused"] | None = None
    steps: Annotated[list[Step], Field(min_length=1, max_length=MAX_STEPS)] | None = None
    exit_on: list[ExitReason] | None = None
    attributes: dict[str, Any] | None = None

    @model_validator(mode="after")
    def _targets(self) -> SequenceUpdate:
        _targets_in_range(self.steps)
        return self


class SequencePublic(EntityPublic):
    name: str
    status: str
    trigger: Trigger
    steps: list[Step]
    exit_on: list[str]
    attributes: dict[str, Any]


class EnrollmentPublic(RowPublic):
    sequence_id: UUID
    contact_id: UUID
    state: str
    step: int
    due_at: datetime
    waiting_since: datetime | None
    exit_reason: str | None
    source: str
    history: list[dict[str, Any]]
