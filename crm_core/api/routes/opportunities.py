"""/v1/crm/opportunities, plus stage transitions."""

from uuid import UUID

from fastapi import APIRouter, Response
from pydantic import BaseModel, Field

from crm_core.api.deps import ConnDep, CurrentUser, Readers, Writers
from crm_core.api.routes.crud import IfMatch, ListParams, add_crud_routes, etag, expected_version
from crm_core.schemas.common import WriteModel
from crm_core.schemas.enums import OpportunityStage
from crm_core.schemas.opportunities import OpportunityCreate, OpportunityPublic, OpportunityUpdate
from crm_core.services.opportunities import allowed_next, opportunities_service

router = APIRouter(prefix="/opportunities", tags=["opportunities"])


class OpportunityFilters(ListParams):
    account_id: UUID | None = None
    contact_id: UUID | None = None
    lead_id: UUID | None = None
    pipeline: str | None = None
    stage: OpportunityStage | None = None


add_crud_routes(
    router,
    service=opportunities_service,
    create_model=OpportunityCreate,
    update_model=OpportunityUpdate,
    public_model=OpportunityPublic,
    filters_model=OpportunityFilters,
)


class StageChange(WriteModel):
    stage: OpportunityStage
    reason: str | None = Field(default=None, max_length=2000)


class StageInfo(BaseModel):
    stage: OpportunityStage
    allowed_next_stages: list[OpportunityStage]


@router.post(
    "/{opportunity_id}/stage",
    response_model=OpportunityPublic,
    dependencies=[Writers],
    responses={409: {"description": "transition not allowed; the body lists allowed_next_stages"}},
)
async def change_stage(
    opportunity_id: UUID,
    body: StageChange,
    conn: ConnDep,
    user: CurrentUser,
    response: Response,
    if_match: IfMatch = None,
) -> OpportunityPublic:
    """Move the opportunity through the pipeline; emits crm.opportunity.stage_changed."""
    row = await opportunities_service.change_stage(
        conn,
        user=user,
        id=opportunity_id,
        stage=body.stage,
        reason=body.reason,
        expected_version=expected_version(if_match),
    )
    response.headers["ETag"] = etag(row.version)
    return row


@router.get("/{opportunity_id}/stage", response_model=StageInfo, dependencies=[Readers])
async def stage_info(opportunity_id: UUID, conn: ConnDep, user: CurrentUser) -> StageInfo:
    """The current stage and where it may go next."""
    row = await opportunities_service.get(conn, user=user, id=opportunity_id)
    return StageInfo(stage=row.stage, allowed_next_stages=[OpportunityStage(s) for s in allowed_next(row.stage)])
