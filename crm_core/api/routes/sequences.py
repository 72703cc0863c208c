"""/v1/crm/sequences: automations (CRUD), their enrolments, manual and segment enrolment."""

from typing import Annotated, Literal
from uuid import UUID

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from crm_core.api.deps import ConnDep, CurrentUser, Readers, Senders
from crm_core.api.routes.crud import ListParams, add_crud_routes
from crm_core.schemas.common import WriteModel
from crm_core.schemas.sequences import EnrollmentPublic, SequenceCreate, SequencePublic, SequenceUpdate
from crm_core.sequences import enroll
from crm_core.services.sequences import sequences_service

router = APIRouter(prefix="/sequences", tags=["sequences"])


class SequenceFilters(ListParams):
    status: Literal["active", "paused"] | None = None


add_crud_routes(
    router,
    service=sequences_service,
    create_model=SequenceCreate,
    update_model=SequenceUpdate,
    public_model=SequencePublic,
    filters_model=SequenceFilters,
)


class EnrollRequest(WriteModel):
    contact_ids: list[UUID] = Field(min_length=1, max_length=10_000)


class Enrolled(BaseModel):
    enrolled: int = Field(description="Contacts newly enrolled (already enrolled or unknown ones are skipped).")


@router.post("/{sequence_id}/enrollments", response_model=Enrolled, dependencies=[Senders])
async def enroll_contacts(sequence_id: UUID, body: EnrollRequest, conn: ConnDep, user: CurrentUser) -> Enrolled:
    """Enrol contacts by id (marketing:send); each contact goes through a sequence once."""
    await sequences_service.require(conn, user=user, id=sequence_id)
    count = await enroll.enroll(conn, tenant=user.tenant, sequence_id=sequence_id, contact_ids=body.contact_ids)
    return Enrolled(enrolled=count)


@router.post("/{sequence_id}/refresh", response_model=Enrolled, dependencies=[Senders])
async def refresh_segment(sequence_id: UUID, conn: ConnDep, user: CurrentUser) -> Enrolled:
    """Enrol the segment's contacts that joined it since the sequence was created or last refreshed."""
    return Enrolled(enrolled=await sequences_service.refresh_segment(conn, user=user, id=sequence_id))


class EnrollmentPage(BaseModel):
    items: list[EnrollmentPublic]
    next_cursor: str | None


LIST_SQL = """
SELECT * FROM crm.sequence_enrollments
WHERE tid = $1 AND mid = $2 AND sequence_id = $3 AND ($4::text IS NULL OR state = $4)
  AND ($5::uuid IS NULL OR id > $5)
ORDER BY id LIMIT $6
"""


@router.get("/{sequence_id}/enrollments", response_model=EnrollmentPage, dependencies=[Readers])
async def list_enrollments(
    sequence_id: UUID,
    conn: ConnDep,
    user: CurrentUser,
    state: Literal["active", "completed", "exited"] | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    cursor: Annotated[UUID | None, Query(description="`next_cursor` of the previous page.")] = None,
) -> EnrollmentPage:
    """Each contact's journey: the step it is at, when it is next due, how it ended, and the steps' history."""
    await sequences_service.require(conn, user=user, id=sequence_id)
    rows = await conn.fetch(LIST_SQL, user.tenant.tid, user.tenant.mid, sequence_id, state, cursor, limit)
    items = [EnrollmentPublic.model_validate(dict(r)) for r in rows]
    return EnrollmentPage(items=items, next_cursor=str(items[-1].id) if len(items) == limit else None)
