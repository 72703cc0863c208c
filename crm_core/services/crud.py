"""Generic create/read/update/delete for a business entity, with audit and hooks.

Entity services subclass :class:`EntityService` to add rules (which fields a
PATCH may touch, events on create). Every method runs in the caller's tenant
transaction; nothing here commits.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Generic
from uuid import UUID

import asyncpg
from pydantic import BaseModel

from crm_core.repositories import audit
from crm_core.repositories.base import Cursor, Page, PublicT, Sort, TableSpec
from infra.errors import InvalidInput, NotFound
from infra.http.correlation import current_corr_id
from infra.security import Principal


def audit_view(model: BaseModel) -> dict[str, Any]:
    return model.model_dump(mode="json", exclude={"tid", "mid", "whid"})


class EntityService(Generic[PublicT]):
    #: Columns that may never be set to null through a PATCH.
    required_fields: frozenset[str] = frozenset()
    #: Mutations recorded in the audit log (by action name).
    audited: frozenset[str] = frozenset({"delete", "restore"})

    def __init__(self, spec: TableSpec[PublicT]) -> None:
        self.spec = spec
        self.entity = spec.entity

    # -- hooks -----------------------------------------------------------------
    async def prepare_create(self, conn: asyncpg.Connection, user: Principal, values: dict[str, Any]) -> None:
        """Validate or enrich ``values`` before insert (raise :class:`InvalidInput`)."""

    async def prepare_update(self, conn: asyncpg.Connection, user: Principal, changes: dict[str, Any]) -> None:
        """Validate or enrich PATCH ``changes`` before the write."""

    async def after_create(self, conn: asyncpg.Connection, user: Principal, row: PublicT) -> PublicT:
        return row

    async def after_update(self, conn: asyncpg.Connection, user: Principal, before: PublicT, row: PublicT) -> PublicT:
        return row

    # -- operations ------------------------------------------------------------
    async def create(self, conn: asyncpg.Connection, *, user: Principal, data: BaseModel) -> PublicT:
        values = data.model_dump()
        await self.prepare_create(conn, user, values)
        row = await self.spec.insert(conn, tenant=user.tenant, values=values)
        if "create" in self.audited:
            await self._audit(conn, user, "create", row_id(row), after=audit_view(row))
        return await self.after_create(conn, user, row)

    async def get(
        self, conn: asyncpg.Connection, *, user: Principal, id: UUID, include_deleted: bool = False
    ) -> PublicT:
        row = await self.spec.get(conn, tenant=user.tenant, id=id, include_deleted=include_deleted)
        if row is None:
            raise NotFound(f"no {self.entity} with id {id}")
        return row

    async def get_locked(self, conn: asyncpg.Connection, *, user: Principal, id: UUID) -> PublicT:
        """The live row, locked ``FOR UPDATE`` until the transaction ends (serialises concurrent changes)."""
        row = await self.spec.get_for_update(conn, tenant=user.tenant, id=id)
        if row is None or getattr(row, "deleted_at", None) is not None:
            raise NotFound(f"no {self.entity} with id {id}")
        return row

    async def update(
        self,
        conn: asyncpg.Connection,
        *,
        user: Principal,
        id: UUID,
        data: BaseModel,
        expected_version: int | None = None,
    ) -> PublicT:
        changes = data.model_dump(exclude_unset=True)
        self._reject_nulls(changes)
        await self.prepare_update(conn, user, changes)
        before = await self.get(conn, user=user, id=id)
        if not changes:
            return before
        row = await self.spec.update(
            conn, tenant=user.tenant, id=id, changes=changes, expected_version=expected_version
        )
        if row is None:
            raise NotFound(f"no {self.entity} with id {id}")
        if "update" in self.audited:
            await self._audit(conn, user, "update", id, before=audit_view(before), after=audit_view(row))
        return await self.after_update(conn, user, before, row)

    async def delete(self, conn: asyncpg.Connection, *, user: Principal, id: UUID) -> PublicT:
        row = await self.spec.set_deleted(conn, tenant=user.tenant, id=id, deleted=True)
        if row is None:
            raise NotFound(f"no {self.entity} with id {id}")
        await self._audit(conn, user, "delete", id)
        return row

    async def restore(self, conn: asyncpg.Connection, *, user: Principal, id: UUID) -> PublicT:
        row = await self.spec.set_deleted(conn, tenant=user.tenant, id=id, deleted=False)
        if row is None:
            raise NotFound(f"no deleted {self.entity} with id {id}")
        await self._audit(conn, user, "restore", id)
        return row

    async def list(
        self,
        conn: asyncpg.Connection,
        *,
        user: Principal,
        filters: Mapping[str, Any],
        q: str | None,
        sort: str | None,
        limit: int,
        cursor: str | None,
        include_deleted: bool = False,
    ) -> Page[PublicT]:
        try:
            after = Cursor.decode(cursor) if cursor else None
            return await self.spec.list(
                conn,
                tenant=user.tenant,
                filters={k: v for k, v in filters.items() if v is not None},
                q=q,
                sort=Sort.parse(sort) if sort else None,
                limit=limit,
                after=after,
                include_deleted=include_deleted,
            )
        except ValueError as exc:
            raise InvalidInput(str(exc)) from exc

    # -- helpers ---------------------------------------------------------------
    def _reject_nulls(self, changes: Mapping[str, Any]) -> None:
        nulled = sorted(k for k, v in changes.items() if v is None and k in self.required_fields)
        if nulled:
            raise InvalidInput(f"{', '.join(nulled)} cannot be null", fields=nulled)

    async def _audit(
        self,
        conn: asyncpg.Connection,
        user: Principal,
        action: str,
        entity_id: UUID,
        *,
        before: dict[str, Any] | None = None,
        after: dict[str, Any] | None = None,
    ) -> None:
        await audit.record(
            conn,
            tenant=user.tenant,
            actor=user.sub,
            action=action,
            entity_type=self.entity,
            entity_id=entity_id,
            before=before,
            after=after,
            corr_id=current_corr_id(),
        )


def row_id(row: BaseModel) -> UUID:
    value = getattr(row, "id", None)
    assert isinstance(value, UUID)
    return value
