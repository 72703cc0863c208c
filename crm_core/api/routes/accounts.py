"""/v1/crm/accounts"""

from fastapi import APIRouter

from crm_core.api.routes.crud import ListParams, add_crud_routes
from crm_core.schemas.accounts import AccountCreate, AccountPublic, AccountUpdate
from crm_core.schemas.enums import ComplianceStatus
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
