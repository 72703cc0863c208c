"""Closed vocabularies shared by schemas, repositories and the database CHECKs."""

from __future__ import annotations

from enum import StrEnum


class OpportunityStage(StrEnum):
    PROSPECTING = "prospecting"
    QUALIFICATION = "qualification"
    PROPOSAL = "proposal"
    NEGOTIATION = "negotiation"
    CLOSED_WON = "closed_won"
    CLOSED_LOST = "closed_lost"


class LeadStatus(StrEnum):
    NEW = "new"
    QUALIFIED = "qualified"
    DISQUALIFIED = "disqualified"
    CONVERTED = "converted"


class ComplianceStatus(StrEnum):
    UNCHECKED = "unchecked"
    PENDING = "pending"
    VERIFIED = "verified"
    NOT_FOUND = "not_found"
    INACTIVE = "inactive"


class CampaignChannel(StrEnum):
    EMAIL = "email"
    SMS = "sms"
    SOCIAL = "social"
    ADS = "ads"


class CampaignStatus(StrEnum):
    DRAFT = "draft"
    SCHEDULED = "scheduled"
    SENDING = "sending"
    SENT = "sent"
    CANCELLED = "cancelled"


class RecipientStatus(StrEnum):
    PENDING = "pending"
    SENT = "sent"
    FAILED = "failed"
    OPENED = "opened"
    CLICKED = "clicked"
    UNSUBSCRIBED = "unsubscribed"
