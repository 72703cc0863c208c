"""Leads: creation emits ``crm.lead.created``; qualify; convert.

Conversion creates (or reuses) the account, the contact and an opportunity in
the caller's transaction, with the lead row locked, so two concurrent or
retried conversions produce one result: the second sees the lead converted and
returns the same ids.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

import asyncpg

from crm_core.repositories import accounts as accounts_repo
from crm_core.repositories import contacts as contacts_repo
from crm_core.repositories.accounts import ACCOUNTS
from crm_core.repositories.contacts import CONTACTS
from crm_core.repositories.leads import LEADS
from crm_core.repositories.opportunities import OPPORTUNITIES
from crm_core.schemas.enums import LeadStatus
from crm_core.schemas.leads import LeadPublic
from crm_core.sequences import enroll
from crm_core.services import events, lead_models, timeline
from crm_core.services.accounts import checked_cui
from crm_core.services.crud import EntityService, audit_view
from infra.errors import Conflict, InvalidInput
from infra.security import Principal


@dataclass(frozen=True, slots=True)
class Conversion:
    lead: LeadPublic
    account_id: UUID
    contact_id: UUID
    opportunity_id: UUID | None
    already_converted: bool


class LeadService(EntityService[LeadPublic]):
    required_fields = frozenset({"source", "attributes"})
    audited = frozenset({"create", "update", "delete", "restore"})

    async def prepare_create(self, conn: asyncpg.Connection, user: Principal, values: dict[str, Any]) -> None:
        checked_cui(values)

    async def prepare_update(self, conn: asyncpg.Connection, user: Principal, changes: dict[str, Any]) -> None:
        checked_cui(changes)

    async def after_create(self, conn: asyncpg.Connection, user: Principal, row: LeadPublic) -> LeadPublic:
        await events.emit(
            conn,
            tenant=user.tenant,
            event_type=events.LEAD_CREATED,
            aggregate_type="lead",
            aggregate_id=row.id,
            payload={
                "lead_id": str(row.id),
                "email": row.email,
                "company_name": row.company_name,
                "cui": row.cui,
                "source": row.source,
                "created_by": user.sub,
            },
        )
        if row.email:
            await enroll.on_lead_created(conn, tenant=user.tenant, email=row.email)
        return row

    async def qualify(
        self,
        conn: asyncpg.Connection,
        *,
        user: Principal,
        id: UUID,
        score: int | None,
        reason: str | None,
        disqualify: bool = False,
    ) -> LeadPublic:
        """Set score and status. Without ``score`` the score in force decides: the tenant's model once its
        training adopted one (qualified from its threshold), else the rule (qualified at >= 50);
        ``disqualify`` always disqualifies."""
        lead = await self.get_locked(conn, user=user, id=id)
        if lead.status is LeadStatus.CONVERTED:
            raise Conflict("the lead is already converted; qualify a new lead instead")
        if score is None:
            scored = await lead_models.score(conn, user.tenant, lead)
            score, auto_reason, qualified = scored.score.score, scored.score.reason, scored.qualified
            await lead_models.record(conn, user.tenant, lead.id, scored)
        else:
            auto_reason, qualified = "score given by user", True
        status = LeadStatus.DISQUALIFIED if disqualify or not qualified else LeadStatus.QUALIFIED
        changes = {"score": score, "score_reason": reason or auto_reason, "status": status.value}
        updated = await LEADS.update(conn, tenant=user.tenant, id=id, changes=changes)
        assert updated is not None
        await self._audit(conn, user, "qualify", id, before=audit_view(lead), after=audit_view(updated))
        return updated

    async def convert(
        self,
        conn: asyncpg.Connection,
        *,
        user: Principal,
        id: UUID,
        account_id: UUID | None = None,
        account_name: str | None = None,
        opportunity_name: str | None = None,
        amount: Decimal | None = None,
        currency: str = "RON",
        create_opportunity: bool = True,
    ) -> Conversion:
        lead = await self.get_locked(conn, user=user, id=id)
        if lead.status is LeadStatus.CONVERTED:
            assert lead.converted_account_id is not None
            assert lead.converted_contact_id is not None
            return Conversion(
                lead, lead.converted_account_id, lead.converted_contact_id, lead.converted_opportunity_id, True
            )
        if lead.status is not LeadStatus.QUALIFIED:
            raise Conflict(f"only qualified leads convert; this one is {lead.status.value}: qualify it first")
        account = await self._account_for(conn, user, lead, account_id, account_name)
        contact = await self._contact_for(conn, user, lead, account)
        opportunity_id = None
        if create_opportunity:
            opportunity = await OPPORTUNITIES.insert(
                conn,
                tenant=user.tenant,
                values={
                    "account_id": account,
                    "contact_id": contact,
                    "lead_id": lead.id,
                    "name": opportunity_name or f"{lead.company_name or 'New business'} - {lead.source}",
                    "amount": amount,
                    "currency": currency,
                },
            )
            opportunity_id = opportunity.id
        converted = await LEADS.update(
            conn,
            tenant=user.tenant,
            id=id,
            changes={
                "status": LeadStatus.CONVERTED.value,
                "converted_at": datetime.now(UTC),
                "converted_account_id": account,
                "converted_contact_id": contact,
                "converted_opportunity_id": opportunity_id,
            },
        )
        assert converted is not None
        await self._audit(conn, user, "convert", id, before=audit_view(lead), after=audit_view(converted))
        await timeline.record(
            conn,
            tenant=user.tenant,
            account_id=account,
            contact_id=contact,
            opportunity_id=opportunity_id,
            kind="lead.converted",
            subject=f"Lead {lead.email or lead.company_name or lead.id} converted",
            payload={"lead_id": str(lead.id), "source": lead.source, "score": lead.score, "by": user.sub},
        )
        return Conversion(converted, account, contact, opportunity_id, False)

    async def _account_for(
        self, conn: asyncpg.Connection, user: Principal, lead: LeadPublic, account_id: UUID | None, name: str | None
    ) -> UUID:
        if account_id is not None:
            if await ACCOUNTS.get(conn, tenant=user.tenant, id=account_id) is None:
                raise InvalidInput(f"no account with id {account_id}", fields=["account_id"])
            return account_id
        if lead.cui:
            existing = await accounts_repo.find_by_cui(conn, tenant=user.tenant, cui=lead.cui)
            if existing is not None:
                return existing.id
        name = name or lead.company_name or " ".join(p for p in (lead.first_name, lead.last_name) if p)
        if not name:
            raise InvalidInput("the lead has no company or person name: pass account_name", fields=["account_name"])
        account = await ACCOUNTS.insert(conn, tenant=user.tenant, values={"name": name, "cui": lead.cui})
        return account.id

    async def _contact_for(self, conn: asyncpg.Connection, user: Principal, lead: LeadPublic, account: UUID) -> UUID:
        if lead.email:
            existing = await contacts_repo.find_by_email(conn, tenant=user.tenant, email=lead.email)
            if existing is not None and existing.account_id in (None, account):
                return existing.id
        contact = await CONTACTS.insert(
            conn,
            tenant=user.tenant,
            values={
                "account_id": account,
                "first_name": lead.first_name or (lead.email or "contact").split("@")[0],
                "last_name": lead.last_name or "",
                "email": lead.email,
                "phone": lead.phone,
            },
        )
        return contact.id


leads_service = LeadService(LEADS)
