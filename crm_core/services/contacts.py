"""Contacts; a new one joins the active ``contact_created`` sequences in the same transaction."""

from __future__ import annotations

import asyncpg

from crm_core.repositories.contacts import CONTACTS
from crm_core.schemas.contacts import ContactPublic
from crm_core.sequences import enroll
from crm_core.services.crud import EntityService
from infra.security import Principal


class ContactService(EntityService[ContactPublic]):
    required_fields = frozenset({"first_name", "last_name", "consent_marketing", "attributes"})

    async def after_create(self, conn: asyncpg.Connection, user: Principal, row: ContactPublic) -> ContactPublic:
        await enroll.on_contact_created(conn, tenant=user.tenant, contact_id=row.id)
        return row


contacts_service = ContactService(CONTACTS)
