"""The price book's API shapes and the ``crm.pricing.adjusted`` event payload."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import BaseModel, Field, model_validator

from crm_core.schemas.common import Currency, WriteModel

Money = Annotated[Decimal, Field(gt=0, max_digits=14, decimal_places=2)]
Sku = Annotated[str, Field(pattern=r"^[A-Za-z0-9_.:/-]{1,64}$", description="the product's code in the tenant")]
PricingMode = Literal["suggest", "auto", "off"]
ChangeSource = Literal["optimiser", "explorer", "manual"]
ChangeStatus = Literal["proposed", "applied", "rejected", "superseded"]


class ProductIn(WriteModel):
    """A product's price book entry: its price, cost, guard rails and how it is repriced."""

    name: str = Field(min_length=1, max_length=200)
    currency: Currency = "RON"
    price: Money = Field(description="the current price; changing it here is a manual change (audited)")
    cost: Decimal = Field(ge=0, max_digits=14, decimal_places=2)
    min_price: Money | None = None
    max_price: Money | None = None
    max_step: float = Field(default=0.10, gt=0, le=1, description="largest change per step, fraction of the price")
    min_margin: float = Field(default=0.0, ge=-1, le=10, description="price floor: cost · (1 + min_margin)")
    mode: PricingMode = Field(default="suggest", description="suggest: a person approves; auto: applied at once")
    explore: bool = Field(default=False, description="let the Thompson explorer choose prices within the rails")
    elasticity: float | None = Field(default=None, lt=0, description="a known own-price elasticity (prior)")
    competitor_price: Money | None = None
    reference_competitor_price: Money | None = None
    inventory_per_day: float | None = Field(default=None, ge=0)
    reprice_every_s: int = Field(default=86_400, ge=60, le=90 * 86_400)

    @model_validator(mode="after")
    def _rails(self) -> ProductIn:
        if self.min_price is not None and self.max_price is not None and self.min_price > self.max_price:
            raise ValueError(f"min_price {self.min_price} is above max_price {self.max_price}")
        return self


class Product(BaseModel):
    id: UUID
    sku: str
    name: str
    currency: str
    price: Decimal
    cost: Decimal
    min_price: Decimal | None
    max_price: Decimal | None
    max_step: float
    min_margin: float
    mode: PricingMode
    explore: bool
    elasticity: float | None
    competitor_price: Decimal | None
    reference_competitor_price: Decimal | None
    inventory_per_day: float | None
    reprice_every_s: int
    repriced_at: datetime | None
    last_proposal: dict[str, Any] | None = Field(description="the repricer's last answer, hold and not-enough-data too")
    updated_at: datetime


class SalesPeriodIn(WriteModel):
    period_start: datetime
    period_end: datetime
    price: Money
    units: Decimal = Field(ge=0, max_digits=14, decimal_places=3)

    @model_validator(mode="after")
    def _period(self) -> SalesPeriodIn:
        if self.period_end <= self.period_start:
            raise ValueError("period_end must be after period_start")
        return self


class SalesImport(WriteModel):
    periods: list[SalesPeriodIn] = Field(min_length=1, max_length=5000)


class SalesRecorded(BaseModel):
    recorded: int = Field(description="periods stored (new or replacing the same period)")


class ManualPrice(WriteModel):
    price: Money
    reason: str = Field(min_length=1, max_length=500)


class Decision(WriteModel):
    reason: str | None = Field(default=None, max_length=500)


class PriceChange(BaseModel):
    id: UUID
    product_id: UUID
    created_at: datetime
    old_price: Decimal
    new_price: Decimal
    source: ChangeSource
    status: ChangeStatus
    reason: str
    expected: dict[str, Any] | None
    proposed_by: str
    decided_by: str | None
    decided_at: datetime | None


class PricingAdjusted(BaseModel):
    """``crm.pricing.adjusted``: a product's price changed (applied by the repricer, a person's approval or by hand)."""

    product_id: UUID
    sku: str
    currency: str
    old_price: Decimal
    new_price: Decimal
    change_id: UUID
    source: ChangeSource
    mode: PricingMode
    reason: str
    decided_by: str
