"""Fields every stored row has, and small reusable field types."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=300)]
ShortText = Annotated[str, StringConstraints(strip_whitespace=True, max_length=200)]
Email = Annotated[
    str, StringConstraints(strip_whitespace=True, to_lower=True, max_length=320, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
]
# Shape only (optional RO prefix); services normalise and verify the check digit.
Cui = Annotated[str, StringConstraints(strip_whitespace=True, pattern=r"^(?:[Rr][Oo])?\s?[0-9]{2,10}$")]
Currency = Annotated[str, StringConstraints(strip_whitespace=True, to_upper=True, pattern=r"^[A-Z]{3}$")]
CountryCode = Annotated[str, StringConstraints(strip_whitespace=True, to_upper=True, pattern=r"^[A-Z]{2}$")]
Attributes = Annotated[dict[str, Any], Field(default_factory=dict)]


class WriteModel(BaseModel):
    """A request body: a field the schema does not know is refused (422 naming it), never dropped."""

    model_config = ConfigDict(extra="forbid")


class RowPublic(BaseModel):
    """Tenancy keys and timestamps, as stored."""

    model_config = ConfigDict(from_attributes=True, extra="ignore")  # rows carry more than they publish

    id: UUID
    tid: str
    whid: str | None
    mid: str
    created_at: datetime
    updated_at: datetime


class EntityPublic(RowPublic):
    """A mutable business entity: versioned for optimistic concurrency, soft-deletable."""

    version: int
    deleted_at: datetime | None
