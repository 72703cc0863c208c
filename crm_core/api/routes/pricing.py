"""/v1/crm/price-book: products with their prices, guard rails and repricing mode; sales; price changes.

The repricer (``streams``: :mod:`streams.pricing`) proposes each product's next price from its sales within
the guard rails: in ``suggest`` mode the proposal waits here for a person with ``pricing:approve`` to approve
(applied, ``crm.pricing.adjusted`` published) or reject it; in ``auto`` mode it is applied at once. Every
change, whoever made it, is in ``GET …/changes`` and the audit log (:mod:`crm_core.pricing.book`).
"""

from __future__ import annotations

from typing import Annotated, Literal
from uuid import UUID

from fastapi import APIRouter, Query, Response

from crm_core.api.deps import ConnDep, CurrentUser, Pricers, Readers, TenantDep, Writers
from crm_core.pricing import book
from crm_core.schemas.pricing import (
    Decision,
    ManualPrice,
    PriceChange,
    Product,
    ProductIn,
    SalesImport,
    SalesRecorded,
    Sku,
)

router = APIRouter(prefix="/price-book", tags=["pricing"])


@router.get("", response_model=list[Product], dependencies=[Readers])
async def list_products(
    conn: ConnDep,
    tenant: TenantDep,
    after: Annotated[str | None, Query(max_length=64, description="the last sku of the previous page")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[Product]:
    """Products by sku."""
    return await book.products(conn, tenant=tenant, after=after, limit=limit)


@router.put("/{sku}", response_model=Product, dependencies=[Writers, Pricers])
async def put_product(sku: Sku, body: ProductIn, conn: ConnDep, user: CurrentUser, response: Response) -> Product:
    """Create or update a product's entry (201 when created). A changed price is a manual change (bounds and floor
    checked, audited, published); changed rails supersede the open proposal."""
    product, created = await book.upsert(conn, tenant=user.tenant, sku=sku, body=body, actor=user.sub)
    response.status_code = 201 if created else 200
    return product


@router.get("/{sku}", response_model=Product, dependencies=[Readers])
async def get_product(sku: Sku, conn: ConnDep, tenant: TenantDep) -> Product:
    """One product with the repricer's last answer (``last_proposal``: change, hold or not enough data)."""
    return await book.get(conn, tenant=tenant, sku=sku)


@router.post("/{sku}/price", response_model=PriceChange, dependencies=[Writers, Pricers])
async def set_price(sku: Sku, body: ManualPrice, conn: ConnDep, user: CurrentUser) -> PriceChange:
    """Set the price by hand, within the bounds and the floor (the step limit leashes the repricer only)."""
    product = await book.get(conn, tenant=user.tenant, sku=sku, for_update=True)
    return await book.apply(
        conn,
        tenant=user.tenant,
        product=product,
        price=body.price,
        source="manual",
        reason=body.reason,
        proposed_by=user.sub,
        decided_by=user.sub,
    )


@router.post("/{sku}/sales", response_model=SalesRecorded, dependencies=[Writers])
async def record_sales(sku: Sku, body: SalesImport, conn: ConnDep, tenant: TenantDep) -> SalesRecorded:
    """Units sold per period at a price (what demand is fitted on); the same period again replaces it."""
    product = await book.get(conn, tenant=tenant, sku=sku)
    return SalesRecorded(
        recorded=await book.record_sales(conn, tenant=tenant, product_id=product.id, periods=body.periods)
    )


@router.get("/{sku}/changes", response_model=list[PriceChange], dependencies=[Readers])
async def list_changes(
    sku: Sku,
    conn: ConnDep,
    tenant: TenantDep,
    status: Literal["proposed", "applied", "rejected", "superseded"] | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[PriceChange]:
    """The product's price changes, newest first: the open proposal, what was applied, rejected or superseded."""
    product = await book.get(conn, tenant=tenant, sku=sku)
    return await book.changes(conn, tenant=tenant, product_id=product.id, status=status, limit=limit)


@router.post("/{sku}/changes/{change_id}/{decision}", response_model=PriceChange, dependencies=[Writers, Pricers])
async def decide(
    sku: Sku,
    change_id: UUID,
    decision: Literal["approve", "reject"],
    conn: ConnDep,
    user: CurrentUser,
    body: Decision | None = None,
) -> PriceChange:
    """``approve`` applies a proposed price (409 when it is no longer open or was made from an older price);
    ``reject`` turns it down, keeping the reason given."""
    return await book.decide(
        conn,
        tenant=user.tenant,
        sku=sku,
        change_id=change_id,
        approve=decision == "approve",
        actor=user.sub,
        note=body.reason if body else None,
    )
