"""Sequences (CRUD through :data:`SEQUENCES`)."""

from __future__ import annotations

from crm_core.repositories.base import TableSpec
from crm_core.schemas.sequences import SequencePublic

SEQUENCES: TableSpec[SequencePublic] = TableSpec(
    "crm.sequences",
    entity="sequence",
    model=SequencePublic,
    writable=("name", "status", "trigger", "steps", "exit_on", "attributes"),
    filterable=("status",),
    searchable=("name",),
    sortable=("created_at", "updated_at"),
)
