"""/v1/crm/lead-scoring: the tenant's predictive lead scoring — train it, see what scores its leads and why."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal
from uuid import UUID

from fastapi import APIRouter
from pydantic import BaseModel, Field

from crm_core.api.deps import Admins, ConnDep, CurrentUser, Readers, TenantDep
from crm_core.repositories import audit
from crm_core.services import lead_models
from models.leadscore.model import HOLDOUT_SHARE, MIN_PER_CLASS

router = APIRouter(prefix="/lead-scoring", tags=["lead scoring"])


class ComparisonOut(BaseModel):
    holdout: int = Field(description="The tenant's newest ended leads, kept out of the trial model's training.")
    model_auc: float
    rule_auc: float
    difference_low: float = Field(
        description="5th percentile of the bootstrapped AUC difference (model - rule): above 0, the model wins."
    )


class DecisionOut(BaseModel):
    id: UUID
    trained_at: datetime
    scope: str = Field(description="'tenant', or the branch (whid) the model was trained for.")
    uses: Literal["model", "rule"] = Field(description="What scores the tenant's leads after this training.")
    reason: str
    outcomes: int = Field(description="Ended leads trained on: converted, disqualified, or open too long.")
    converted: int
    comparison: ComparisonOut | None = None
    threshold: float | None = Field(
        default=None, description="P(convert) from which the model qualifies a lead (as many as the rule did)."
    )
    trained_by: str


class LeadScoringOut(BaseModel):
    current: DecisionOut | None = Field(description="The decision in force; null: never trained (the rule scores).")
    history: list[DecisionOut]
    min_outcomes_per_class: int = MIN_PER_CLASS
    holdout_share: float = HOLDOUT_SHARE


def _out(row: dict[str, Any]) -> DecisionOut:
    comparison = row["comparison"]  # jsonb: decoded by the pool's codec
    return DecisionOut(
        id=row["id"],
        trained_at=row["created_at"],
        scope=row["whid"] or "tenant",
        uses=row["uses"],
        reason=row["reason"],
        outcomes=row["outcomes"],
        converted=row["converted"],
        comparison=ComparisonOut(**comparison) if comparison else None,
        threshold=row["threshold"],
        trained_by=row["trained_by"],
    )


@router.get("", response_model=LeadScoringOut, dependencies=[Readers])
async def get_lead_scoring(conn: ConnDep, tenant: TenantDep) -> LeadScoringOut:
    """What scores the tenant's leads now (its model or the rule), the comparison that decided it, and the last
    20 trainings."""
    current = await lead_models.latest(conn, tenant)
    return LeadScoringOut(
        current=_out(current) if current else None,
        history=[_out(r) for r in await lead_models.history(conn, tenant)],
    )


@router.post("/train", response_model=DecisionOut, status_code=201, dependencies=[Admins])
async def train_lead_scoring(conn: ConnDep, user: CurrentUser) -> DecisionOut:
    """Train the tenant's model on its ended leads and adopt it only if it beats the rule score on the newest
    of them (``crm:admin``). The first training opts the tenant in: it is then retrained daily
    (``VETTIFY_LEAD_SCORING_RETRAIN_S``). Leads qualified without a score from then on get the score in force."""
    row = await lead_models.train(conn, user.tenant, by=user.sub)
    await audit.record(
        conn,
        tenant=user.tenant,
        actor=user.sub,
        entity_type="lead_scoring",
        entity_id=row["id"],
        action="train",
        before=None,
        after={"uses": row["uses"], "reason": row["reason"], "outcomes": row["outcomes"]},
    )
    return _out(row)
