"""/v1/crm/accounts"""

from datetime import datetime
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query
from pydantic import Field

from crm_core.api.deps import AnafDep, ConnDep, CurrentUser, PoolDep, Readers, Writers
from crm_core.api.routes.crud import ListParams, add_crud_routes
from crm_core.schemas.accounts import AccountCreate, AccountPublic, AccountUpdate
from crm_core.schemas.activities import ActivityPublic
from crm_core.schemas.common import WriteModel
from crm_core.schemas.enums import ComplianceStatus
from crm_core.services import compliance, timeline
from crm_core.services.account360 import Account360, account_360
from crm_core.services.accounts import accounts_service

router = APIRouter(prefix="/accounts", tags=["accounts"])


class AccountFilters(ListParams):
    cui: str | None = None
    country: str | None = None
    industry: str | None = None
    owner_id: str | None = None
    compliance_status: ComplianceStatus | None = None


add_crud_routes(
    router,
    service=accounts_service,
    create_model=AccountCreate,
    update_model=AccountUpdate,
    public_model=AccountPublic,
    filters_model=AccountFilters,
)


@router.post("/{account_id}/compliance-check", response_model=AccountPublic, dependencies=[Writers])
async def recheck_compliance(account_id: UUID, pool: PoolDep, anaf: AnafDep, user: CurrentUser) -> AccountPublic:
    """Check the account's CUI with ANAF now (cached for a day).

    `compliance_status` becomes verified, not_found or inactive; `pending` means ANAF
    could not answer and the background worker will try again.
    """
    return await compliance.check_now(pool, anaf, user=user, account_id=account_id)


@router.get("/{account_id}/360", response_model=Account360, dependencies=[Readers])
async def get_account_360(
    account_id: UUID,
    conn: ConnDep,
    user: CurrentUser,
    timeline_limit: Annotated[int, Query(ge=1, le=200)] = 50,
    timeline_cursor: Annotated[str | None, Query(max_length=1000)] = None,
) -> Account360:
    """The account with its contacts, open opportunities, timeline (newest first, paginated),
    compliance status and, when the AI stages have data, churn risk and sentiment trend."""
    return await account_360(
        conn, user=user, account_id=account_id, timeline_limit=timeline_limit, timeline_cursor=timeline_cursor
    )


class ActivityIn(WriteModel):
    kind: str = Field(pattern=r"^(note|call|meeting|email|task)$", description="note, call, meeting, email or task")
    subject: str = Field(min_length=1, max_length=500)
    body: str | None = Field(default=None, max_length=20_000)
    contact_id: UUID | None = None
    opportunity_id: UUID | None = None
    occurred_at: datetime | None = None


@router.post("/{account_id}/activities", status_code=201, response_model=ActivityPublic, dependencies=[Writers])
async def add_activity(account_id: UUID, body: ActivityIn, conn: ConnDep, user: CurrentUser) -> ActivityPublic:
    """Log a note, call, meeting, e-mail or task on the account's timeline."""
    await accounts_service.get(conn, user=user, id=account_id)
    entry = await timeline.record(
        conn,
        tenant=user.tenant,
        account_id=account_id,
        kind=body.kind,
        subject=body.subject,
        contact_id=body.contact_id,
        opportunity_id=body.opportunity_id,
        payload={
            "body": body.body,
            "by": user.sub,
            "occurred_at": body.occurred_at.isoformat() if body.occurred_at else None,
        },
    )
    assert entry is not None
    return entry
