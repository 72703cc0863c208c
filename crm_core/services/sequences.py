"""Sequences: steps checked against the tenant's campaigns when saved; segment enrolment on create."""

from __future__ import annotations

from typing import Any
from uuid import UUID

import asyncpg

from crm_core.repositories.sequences import SEQUENCES
from crm_core.schemas.sequences import STEPS, SendEmail, SequencePublic, Trigger
from crm_core.sequences import enroll
from crm_core.services.campaigns import campaigns_service, missing_content
from crm_core.services.crud import EntityService
from infra.errors import InvalidInput, NotFound
from infra.security import Principal

RESCHEDULE_SQL = """
UPDATE crm.sequence_enrollments SET due_at = now(), updated_at = now()
WHERE tid = $1 AND mid = $2 AND sequence_id = $3 AND state = 'active'
"""


class SequenceService(EntityService[SequencePublic]):
    required_fields = frozenset({"name", "status", "steps", "exit_on", "attributes"})
    audited = frozenset({"create", "update", "delete", "restore"})

    async def _checked_steps(self, conn: asyncpg.Connection, user: Principal, values: dict[str, Any]) -> None:
        """Every e-mail step names a live e-mail campaign with content; steps and trigger stored as JSON."""
        if values.get("steps") is None:
            return
        steps = STEPS.validate_python(values["steps"])
        for i, step in enumerate(steps):
            if not isinstance(step, SendEmail):
                continue
            campaign = await campaigns_service.spec.get(conn, tenant=user.tenant, id=step.campaign_id)
            if campaign is None or campaign.deleted_at is not None:
                raise InvalidInput(f"step {i}: no campaign with id {step.campaign_id}", fields=[f"steps[{i}]"])
            if campaign.channel.value != "email" or missing_content(campaign):
                raise InvalidInput(
                    f"step {i}: campaign {campaign.name!r} is not an e-mail with a subject and a body",
                    fields=[f"steps[{i}]"],
                )
        values["steps"] = STEPS.dump_python(steps, mode="json")

    async def prepare_create(self, conn: asyncpg.Connection, user: Principal, values: dict[str, Any]) -> None:
        await self._checked_steps(conn, user, values)
        values["trigger"] = Trigger.model_validate(values["trigger"]).model_dump(mode="json")

    async def prepare_update(self, conn: asyncpg.Connection, user: Principal, changes: dict[str, Any]) -> None:
        await self._checked_steps(conn, user, changes)

    async def after_create(self, conn: asyncpg.Connection, user: Principal, row: SequencePublic) -> SequencePublic:
        if row.trigger.segment is not None and row.status == "active":
            await enroll.enroll_segment(conn, tenant=user.tenant, sequence_id=row.id, segment=row.trigger.segment)
        return row

    async def after_update(
        self, conn: asyncpg.Connection, user: Principal, before: SequencePublic, row: SequencePublic
    ) -> SequencePublic:
        if before.status == "paused" and row.status == "active":  # resumed: paused journeys continue now
            await conn.execute(RESCHEDULE_SQL, user.tenant.tid, user.tenant.mid, row.id)
        return row

    async def require(self, conn: asyncpg.Connection, *, user: Principal, id: UUID) -> None:
        """404 unless the tenant has this live sequence (without reading its steps)."""
        found = await conn.fetchval(
            "SELECT 1 FROM crm.sequences WHERE tid = $1 AND mid = $2 AND id = $3 AND deleted_at IS NULL",
            user.tenant.tid,
            user.tenant.mid,
            id,
        )
        if found is None:
            raise NotFound(f"no sequence with id {id}")

    async def refresh_segment(self, conn: asyncpg.Connection, *, user: Principal, id: UUID) -> int:
        sequence = await self.get(conn, user=user, id=id)
        if sequence.trigger.segment is None:
            raise InvalidInput("only a segment sequence can be refreshed; enrol contacts by id instead")
        return await enroll.enroll_segment(conn, tenant=user.tenant, sequence_id=id, segment=sequence.trigger.segment)


sequences_service = SequenceService(SEQUENCES)
