"""Payloads of the events the CRM core consumes (other producers' contracts)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from crm_core.schemas.common import Cui, Currency


class _Payload(BaseModel):
    model_config = ConfigDict(extra="allow", frozen=True)


class SalesOrderCreated(_Payload):
    """``sales.order.created`` (from the sales/ERP module)."""

    order_id: str = Field(min_length=1, max_length=100)
    account_id: UUID | None = None
    customer_cui: Cui | None = None
    opportunity_id: UUID | None = None
    total: Decimal = Field(ge=0, max_digits=18, decimal_places=2)
    currency: Currency = "RON"
    ordered_at: datetime | None = None
    items_count: int | None = Field(default=None, ge=0)


class ShipmentDelivered(_Payload):
    """``wms.shipment.delivered`` (from the warehouse module)."""

    shipment_id: str = Field(min_length=1, max_length=100)
    order_id: str | None = Field(default=None, max_length=100)
    account_id: UUID | None = None
    customer_cui: Cui | None = None
    delivered_at: datetime
    carrier: str | None = Field(default=None, max_length=100)
    tracking_number: str | None = Field(default=None, max_length=100)
