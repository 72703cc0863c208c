"""Opportunities: the stage machine.

    prospecting → qualification → proposal → negotiation → closed_won
         every open stage → closed_lost;  one step back is allowed while open
    closed_lost → prospecting | qualification   (reopen)
    closed_won  → negotiation                   (reopen; crm:admin only)

A stage change is audited and emits ``crm.opportunity.stage_changed``.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import asyncpg

from crm_core.repositories.opportunities import OPPORTUNITIES, closed
from crm_core.schemas.enums import OpportunityStage as S
from crm_core.schemas.opportunities import OpportunityPublic
from crm_core.services import events, timeline
from crm_core.services.crud import EntityService, audit_view
from infra.errors import Conflict, Forbidden
from infra.security import Principal

TRANSITIONS: dict[S, frozenset[S]] = {
    S.PROSPECTING: frozenset({S.QUALIFICATION, S.CLOSED_LOST}),
    S.QUALIFICATION: frozenset({S.PROPOSAL, S.PROSPECTING, S.CLOSED_LOST}),
    S.PROPOSAL: frozenset({S.NEGOTIATION, S.QUALIFICATION, S.CLOSED_LOST}),
    S.NEGOTIATION: frozenset({S.CLOSED_WON, S.CLOSED_LOST, S.PROPOSAL}),
    S.CLOSED_LOST: frozenset({S.PROSPECTING, S.QUALIFICATION}),
    S.CLOSED_WON: frozenset({S.NEGOTIATION}),
}
ADMIN_ONLY: frozenset[tuple[S, S]] = frozenset({(S.CLOSED_WON, S.NEGOTIATION)})


def allowed_next(stage: S) -> list[str]:
    order = list(S)
    return sorted((s.value for s in TRANSITIONS[stage]), key=lambda v: order.index(S(v)))


class OpportunityService(EntityService[OpportunityPublic]):
    required_fields = frozenset({"name", "pipeline", "currency", "attributes"})
    audited = frozenset({"create", "update", "delete", "restore"})

    async def change_stage(
        self,
        conn: asyncpg.Connection,
        *,
        user: Principal,
        id: UUID,
        stage: S,
        reason: str | None = None,
        expected_version: int | None = None,
    ) -> OpportunityPublic:
        current = await self.get_locked(conn, user=user, id=id)
        if stage == current.stage:
            return current
        if stage not in TRANSITIONS[current.stage]:
            raise Conflict(
                f"cannot move from {current.stage.value} to {stage.value}",
                current_stage=current.stage.value,
                allowed_next_stages=allowed_next(current.stage),
            )
        if (current.stage, stage) in ADMIN_ONLY and not user.has("crm:admin"):
            raise Forbidden(f"reopening a {current.stage.value} opportunity needs crm:admin")
        changes: dict[str, Any] = {"stage": stage.value}
        if closed(stage):
            changes["closed_at"] = datetime.now(UTC)
            changes["probability"] = 100 if stage is S.CLOSED_WON else 0
        elif closed(current.stage):
            changes["closed_at"] = None
        updated = await OPPORTUNITIES.update(
            conn, tenant=user.tenant, id=id, changes=changes, expected_version=expected_version
        )
        assert updated is not None  # locked above
        await self._audit(
            conn, user, "stage_change", id, before={"stage": current.stage.value}, after=audit_view(updated)
        )
        await timeline.record(
            conn,
            tenant=user.tenant,
            account_id=updated.account_id,
            opportunity_id=id,
            kind="opportunity.stage_changed",
            subject=f"{updated.name}: {current.stage.value} → {stage.value}",
            payload={"from_stage": current.stage.value, "to_stage": stage.value, "reason": reason, "by": user.sub},
        )
        await events.emit(
            conn,
            tenant=user.tenant,
            event_type=events.OPPORTUNITY_STAGE_CHANGED,
            aggregate_type="opportunity",
            aggregate_id=id,
            payload={
                "opportunity_id": str(id),
                "account_id": str(updated.account_id),
                "from_stage": current.stage.value,
                "to_stage": stage.value,
                "amount": str(updated.amount) if updated.amount is not None else None,
                "currency": updated.currency,
                "reason": reason,
                "changed_by": user.sub,
            },
        )
        return updated


opportunities_service = OpportunityService(OPPORTUNITIES)
