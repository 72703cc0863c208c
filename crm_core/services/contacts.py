"""Contacts."""

from __future__ import annotations

from crm_core.repositories.contacts import CONTACTS
from crm_core.schemas.contacts import ContactPublic
from crm_core.services.crud import EntityService


class ContactService(EntityService[ContactPublic]):
    required_fields = frozenset({"first_name", "last_name", "consent_marketing", "attributes"})


contacts_service = ContactService(CONTACTS)
