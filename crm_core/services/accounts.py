"""Accounts: CUI validated locally on every write; ANAF verification is queued."""

from __future__ import annotations

from typing import Any

import asyncpg

from crm_core.anaf.cui import InvalidCui, normalize_cui
from crm_core.repositories.accounts import ACCOUNTS
from crm_core.schemas.accounts import AccountPublic
from crm_core.schemas.enums import ComplianceStatus
from crm_core.services.crud import EntityService
from infra.errors import InvalidInput
from infra.security import Principal


def mark_pending_when_cui_set(values: dict[str, Any]) -> None:
    """A new or changed CUI needs an ANAF check: the compliance worker picks it up."""
    if values.get("cui") is not None:
        values["compliance_status"] = ComplianceStatus.PENDING.value
        values["anaf_data"] = None
    elif "cui" in values:
        values["compliance_status"] = ComplianceStatus.UNCHECKED.value
        values["anaf_data"] = None


def checked_cui(values: dict[str, Any]) -> None:
    """Normalise ``values['cui']`` in place, or raise 422 before anything else happens."""
    raw = values.get("cui")
    if raw is None:
        return
    try:
        values["cui"] = normalize_cui(raw)
    except InvalidCui as exc:
        raise InvalidInput(str(exc), fields=["cui"]) from exc


class AccountService(EntityService[AccountPublic]):
    required_fields = frozenset({"name", "country", "attributes"})
    audited = frozenset({"create", "update", "delete", "restore"})

    async def prepare_create(self, conn: asyncpg.Connection, user: Principal, values: dict[str, Any]) -> None:
        checked_cui(values)
        mark_pending_when_cui_set(values)

    async def prepare_update(self, conn: asyncpg.Connection, user: Principal, changes: dict[str, Any]) -> None:
        checked_cui(changes)
        mark_pending_when_cui_set(changes)


accounts_service = AccountService(ACCOUNTS)
