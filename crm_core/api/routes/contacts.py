"""/v1/crm/contacts"""

from uuid import UUID

from fastapi import APIRouter

from crm_core.api.routes.crud import ListParams, add_crud_routes
from crm_core.schemas.contacts import ContactCreate, ContactPublic, ContactUpdate
from crm_core.services.contacts import contacts_service

router = APIRouter(prefix="/contacts", tags=["contacts"])


class ContactFilters(ListParams):
    account_id: UUID | None = None
    email: str | None = None
    consent_marketing: bool | None = None


add_crud_routes(
    router,
    service=contacts_service,
    create_model=ContactCreate,
    update_model=ContactUpdate,
    public_model=ContactPublic,
    filters_model=ContactFilters,
)
