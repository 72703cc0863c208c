"""/v1/crm/accounts"""

from uuid import UUID

from fastapi import APIRouter

from crm_core.api.deps import AnafDep, CurrentUser, PoolDep, Writers
from crm_core.api.routes.crud import ListParams, add_crud_routes
from crm_core.schemas.accounts import AccountCreate, AccountPublic, AccountUpdate
from crm_core.schemas.enums import ComplianceStatus
from crm_core.services import compliance
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
