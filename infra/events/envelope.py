"""The event envelope (docs/architecture.md, *Events*): naming ``<module>.<ctx>.<event>``."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

EVENT_NAME = re.compile(r"^[a-z0-9_]+(\.[a-z0-9_]+){2,}$")
CORR_HEADER = "x-corr-id"


class Envelope(BaseModel):
    """One event. ``id`` is the idempotency key: consumers ignore an id they have seen."""

    model_config = ConfigDict(frozen=True)

    id: uuid.UUID = Field(default_factory=uuid.uuid4)
    type: str
    tid: str = Field(min_length=1, max_length=128)
    whid: str | None = Field(default=None, min_length=1, max_length=128)
    mid: str = Field(min_length=1, max_length=128)
    occurred_at: datetime = Field(default_factory=lambda: datetime.now(UTC))
    corr_id: str | None = Field(default=None, max_length=128)
    schema_version: int = Field(default=1, ge=1)
    payload: dict[str, Any]

    @field_validator("type")
    @classmethod
    def _named(cls, value: str) -> str:
        if not EVENT_NAME.match(value):
            raise ValueError(f"event type {value!r} does not follow <module>.<ctx>.<event>")
        return value

    def to_json(self) -> bytes:
        return self.model_dump_json().encode()

    @classmethod
    def from_json(cls, body: bytes | str) -> Envelope:
        return cls.model_validate_json(body)
