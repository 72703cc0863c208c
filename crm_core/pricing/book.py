"""A tenant's price book: products, their sales, and every price change with its fate.

Every price the book takes goes through :func:`apply`, in the caller's tenant transaction: the product's price
is updated, the change is stored as ``applied`` (who proposed and who decided), the audit log gets an entry
and ``crm.pricing.adjusted`` is queued in the outbox, so the change, its record and its event commit
together or not at all. A repricer proposal in ``suggest`` mode is stored as ``proposed`` (one open proposal
per product: a newer one supersedes it) until a person approves it (applied) or rejects it; in ``auto`` mode
it is applied at once. A price change of any kind, or an edit of the rails, supersedes the open proposal.

**Guard rails** bind every price: within ``[min_price, max_price]`` and never under the floor
``cost · (1 + min_margin)``; a repricer's price also moves at most ``max_step`` of the current price.
A person's manual price obeys the bounds and the floor (the step limit is the repricer's leash); an approval
re-checks the rails as they are then, and a proposal made from an older price is stale (409).
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

import asyncpg

from crm_core.repositories import audit
from crm_core.schemas.pricing import (
    ChangeSource,
    PriceChange,
    PricingAdjusted,
    Product,
    ProductIn,
    SalesPeriodIn,
)
from crm_core.services.events import emit
from infra.db.tenancy import TenantContext
from infra.errors import Conflict, InvalidInput, NotFound
from infra.http.correlation import current_corr_id

EVENT = "crm.pricing.adjusted"
PRODUCT_COLUMNS = """id, sku, name, currency, price, cost, min_price, max_price, max_step::float8 AS max_step,
    min_margin::float8 AS min_margin, mode, explore, elasticity::float8 AS elasticity, competitor_price,
    reference_competitor_price, inventory_per_day::float8 AS inventory_per_day, reprice_every_s, repriced_at,
    last_proposal, updated_at"""
CHANGE_COLUMNS = """id, product_id, created_at, old_price, new_price, source, status, reason, expected, proposed_by,
    decided_by, decided_at"""

GET_SQL = f"SELECT {PRODUCT_COLUMNS} FROM crm.price_book WHERE tid = $1 AND mid = $2 AND sku = $3"
GET_BY_ID_SQL = f"SELECT {PRODUCT_COLUMNS} FROM crm.price_book WHERE tid = $1 AND mid = $2 AND id = $3 FOR UPDATE"
LIST_SQL = f"""SELECT {PRODUCT_COLUMNS} FROM crm.price_book WHERE tid = $1 AND mid = $2
    AND ($3::text IS NULL OR sku > $3) ORDER BY sku LIMIT $4"""

INSERT_SQL = f"""
INSERT INTO crm.price_book (tid, whid, mid, sku, name, currency, price, cost, min_price, max_price, max_step,
    min_margin, mode, explore, elasticity, competitor_price, reference_competitor_price, inventory_per_day,
    reprice_every_s)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19)
RETURNING {PRODUCT_COLUMNS}
"""

UPDATE_SQL = f"""
UPDATE crm.price_book SET name = $4, currency = $5, cost = $6, min_price = $7, max_price = $8, max_step = $9,
    min_margin = $10, mode = $11, explore = $12, elasticity = $13, competitor_price = $14,
    reference_competitor_price = $15, inventory_per_day = $16, reprice_every_s = $17, updated_at = now()
WHERE tid = $1 AND mid = $2 AND id = $3
RETURNING {PRODUCT_COLUMNS}
"""

SET_PRICE_SQL = "UPDATE crm.price_book SET price = $4, updated_at = now() WHERE tid = $1 AND mid = $2 AND id = $3"

SUPERSEDE_SQL = """
UPDATE crm.price_changes SET status = 'superseded', decided_at = now(), decided_by = $4, updated_at = now()
WHERE tid = $1 AND mid = $2 AND product_id = $3 AND status = 'proposed'
"""

INSERT_CHANGE_SQL = f"""
INSERT INTO crm.price_changes (tid, whid, mid, product_id, old_price, new_price, source, status, reason, expected,
    proposed_by, decided_by, decided_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, CASE WHEN $12::text IS NULL THEN NULL ELSE now() END)
RETURNING {CHANGE_COLUMNS}
"""

LOAD_CHANGE_SQL = f"""SELECT {CHANGE_COLUMNS} FROM crm.price_changes
WHERE tid = $1 AND mid = $2 AND product_id = $3 AND id = $4 FOR UPDATE"""

DECIDE_SQL = f"""
UPDATE crm.price_changes SET status = $4, decided_by = $5, decided_at = now(), updated_at = now(),
    reason = CASE WHEN $6::text IS NULL THEN reason ELSE reason || ' | ' || $6 END
WHERE tid = $1 AND mid = $2 AND id = $3
RETURNING {CHANGE_COLUMNS}
"""

CHANGES_SQL = f"""SELECT {CHANGE_COLUMNS} FROM crm.price_changes WHERE tid = $1 AND mid = $2 AND product_id = $3
    AND ($4::text IS NULL OR status = $4) ORDER BY created_at DESC, id LIMIT $5"""

SALES_UPSERT_SQL = """
INSERT INTO crm.price_sales (tid, whid, mid, product_id, period_start, period_end, price, units)
SELECT $1, $2, $3, $4, s.period_start, s.period_end, s.price, s.units
FROM unnest($5::timestamptz[], $6::timestamptz[], $7::numeric[], $8::numeric[])
    AS s(period_start, period_end, price, units)
ON CONFLICT (tid, mid, product_id, period_start, period_end)
DO UPDATE SET price = EXCLUDED.price, units = EXCLUDED.units, updated_at = now()
"""

SALES_SQL = """
SELECT period_start, period_end, price::float8 AS price, units::float8 AS units FROM crm.price_sales
WHERE tid = $1 AND mid = $2 AND product_id = $3 AND period_end > $4
ORDER BY period_end DESC LIMIT $5
"""

DUE_SQL = """
SELECT tid, whid, mid, id FROM crm.price_book
WHERE mode <> 'off' AND (repriced_at IS NULL OR repriced_at < $1::timestamptz - make_interval(secs => reprice_every_s))
ORDER BY repriced_at NULLS FIRST
LIMIT $2
"""

MARK_REPRICED_SQL = """
UPDATE crm.price_book SET repriced_at = $4, last_proposal = $5 WHERE tid = $1 AND mid = $2 AND id = $3
"""


def _product(row: asyncpg.Record) -> Product:
    return Product.model_validate(dict(row))


def _change(row: asyncpg.Record) -> PriceChange:
    return PriceChange.model_validate(dict(row))


def rail_breaches(product: Product, price: Decimal, *, step_from: Decimal | None) -> list[str]:
    """The guard rails ``price`` breaks (bounds, floor; the step limit when ``step_from`` is given)."""
    broken = []
    floor = product.cost * Decimal(str(1 + product.min_margin))
    if price < floor.quantize(Decimal("0.01")):
        broken.append(f"below the floor {floor:.2f} (cost {product.cost} with min_margin {product.min_margin:g})")
    if product.min_price is not None and price < product.min_price:
        broken.append(f"below min_price {product.min_price}")
    if product.max_price is not None and price > product.max_price:
        broken.append(f"above max_price {product.max_price}")
    if step_from is not None:
        step = abs(price - step_from) / step_from
        if step > Decimal(str(product.max_step)) + Decimal("0.0005"):
            broken.append(f"a step of {step:.1%} from {step_from} (max_step {product.max_step:.0%})")
    return broken


def _check_rails(product: Product, price: Decimal, *, step_from: Decimal | None) -> None:
    broken = rail_breaches(product, price, step_from=step_from)
    if broken:
        raise InvalidInput(f"{price} {product.currency} breaks the guard rails: {'; '.join(broken)}", rails=broken)


async def _audit(
    conn: asyncpg.Connection,
    tenant: TenantContext,
    actor: str,
    action: str,
    product_id: UUID,
    *,
    before: dict[str, Any] | None = None,
    after: dict[str, Any],
) -> None:
    await audit.record(
        conn,
        tenant=tenant,
        actor=actor,
        action=action,
        entity_type="price_book",
        entity_id=product_id,
        before=before,
        after=after,
        corr_id=current_corr_id(),
    )


async def _insert_change(
    conn: asyncpg.Connection,
    tenant: TenantContext,
    product: Product,
    price: Decimal,
    source: ChangeSource,
    status: str,
    reason: str,
    expected: dict[str, Any] | None,
    proposed_by: str,
    decided_by: str | None,
) -> PriceChange:
    row = await conn.fetchrow(
        INSERT_CHANGE_SQL,
        *(tenant.tid, tenant.whid, tenant.mid, product.id, product.price, price, source, status, reason, expected),
        proposed_by,
        decided_by,
    )
    return _change(row)


async def get(conn: asyncpg.Connection, *, tenant: TenantContext, sku: str, for_update: bool = False) -> Product:
    """The product by sku; ``for_update`` locks it for this transaction (two changes of one price never
    interleave)."""
    row = await conn.fetchrow(GET_SQL + (" FOR UPDATE" if for_update else ""), tenant.tid, tenant.mid, sku)
    if row is None:
        raise NotFound(f"no product {sku!r} in the price book")
    return _product(row)


async def lock(conn: asyncpg.Connection, *, tenant: TenantContext, product_id: UUID) -> Product:
    """The product by id, locked for this transaction (the repricer's way in)."""
    row = await conn.fetchrow(GET_BY_ID_SQL, tenant.tid, tenant.mid, product_id)
    if row is None:
        raise NotFound(f"no product {product_id} in the price book")
    return _product(row)


async def products(conn: asyncpg.Connection, *, tenant: TenantContext, after: str | None, limit: int) -> list[Product]:
    return [_product(r) for r in await conn.fetch(LIST_SQL, tenant.tid, tenant.mid, after, limit)]


async def upsert(
    conn: asyncpg.Connection, *, tenant: TenantContext, sku: str, body: ProductIn, actor: str
) -> tuple[Product, bool]:
    """Create the product or update its entry; a new price is a manual change (:func:`apply`). True: created."""
    existing = await conn.fetchrow(GET_SQL + " FOR UPDATE", tenant.tid, tenant.mid, sku)  # absent: created
    settings = (
        body.name,
        body.currency,
        body.cost,
        body.min_price,
        body.max_price,
        body.max_step,
        body.min_margin,
        body.mode,
        body.explore,
        body.elasticity,
        body.competitor_price,
        body.reference_competitor_price,
        body.inventory_per_day,
        body.reprice_every_s,
    )
    if existing is None:
        candidate = Product.model_validate(
            {
                **body.model_dump(),
                "id": UUID(int=0),
                "sku": sku,
                "repriced_at": None,
                "last_proposal": None,
                "updated_at": datetime.now(),
            }
        )
        _check_rails(candidate, body.price, step_from=None)
        row = await conn.fetchrow(
            INSERT_SQL, tenant.tid, tenant.whid, tenant.mid, sku, *settings[:2], body.price, *settings[2:]
        )
        product = _product(row)
        await _audit(conn, tenant, actor, "create", product.id, after=product.model_dump(mode="json"))
        return product, True
    before = _product(existing)
    row = await conn.fetchrow(UPDATE_SQL, tenant.tid, tenant.mid, before.id, *settings)
    product = _product(row)
    if before.model_dump(exclude={"updated_at"}) != product.model_dump(exclude={"updated_at"}):
        await conn.execute(SUPERSEDE_SQL, tenant.tid, tenant.mid, product.id, actor)  # made under other settings
    await _audit(
        conn,
        tenant,
        actor,
        "update",
        product.id,
        before=before.model_dump(mode="json"),
        after=product.model_dump(mode="json"),
    )
    if body.price != product.price:
        await apply(
            conn,
            tenant=tenant,
            product=product,
            price=body.price,
            source="manual",
            reason="price set in the price book",
            proposed_by=actor,
            decided_by=actor,
        )
        product = await lock(conn, tenant=tenant, product_id=product.id)
    else:
        _check_rails(product, product.price, step_from=None)
    return product, False


async def apply(
    conn: asyncpg.Connection,
    *,
    tenant: TenantContext,
    product: Product,
    price: Decimal,
    source: ChangeSource,
    reason: str,
    proposed_by: str,
    decided_by: str,
    expected: dict[str, Any] | None = None,
    change_id: UUID | None = None,
) -> PriceChange:
    """Set the price (see the module): rails checked, change stored, audited and published, one transaction."""
    _check_rails(product, price, step_from=None if source == "manual" else product.price)
    await conn.execute(SET_PRICE_SQL, tenant.tid, tenant.mid, product.id, price)
    if change_id is None:
        await conn.execute(SUPERSEDE_SQL, tenant.tid, tenant.mid, product.id, decided_by)
        change = await _insert_change(
            conn, tenant, product, price, source, "applied", reason, expected, proposed_by, decided_by
        )
    else:
        change = _change(
            await conn.fetchrow(DECIDE_SQL, tenant.tid, tenant.mid, change_id, "applied", decided_by, None)
        )
    await _audit(
        conn,
        tenant,
        decided_by,
        "price_change",
        product.id,
        before={"price": str(product.price)},
        after={"price": str(price), "change_id": str(change.id), "source": source},
    )
    payload = PricingAdjusted(
        product_id=product.id,
        sku=product.sku,
        currency=product.currency,
        old_price=product.price,
        new_price=price,
        change_id=change.id,
        source=source,
        mode=product.mode,
        reason=change.reason,
        decided_by=decided_by,
    )
    await emit(
        conn,
        tenant=tenant,
        event_type=EVENT,
        aggregate_type="price_book",
        aggregate_id=product.id,
        payload=payload.model_dump(mode="json"),
    )
    return change


async def propose(
    conn: asyncpg.Connection,
    *,
    tenant: TenantContext,
    product: Product,
    price: Decimal,
    source: ChangeSource,
    reason: str,
    expected: dict[str, Any] | None,
    proposed_by: str,
) -> PriceChange:
    """Offer a price for approval: the open proposal (if any) is superseded by this one."""
    _check_rails(product, price, step_from=product.price)
    await conn.execute(SUPERSEDE_SQL, tenant.tid, tenant.mid, product.id, proposed_by)
    return await _insert_change(conn, tenant, product, price, source, "proposed", reason, expected, proposed_by, None)


async def decide(
    conn: asyncpg.Connection,
    *,
    tenant: TenantContext,
    sku: str,
    change_id: UUID,
    approve: bool,
    actor: str,
    note: str | None,
) -> PriceChange:
    """A person's answer to a proposal: approved (applied, if still valid) or rejected."""
    product = await get(conn, tenant=tenant, sku=sku, for_update=True)
    row = await conn.fetchrow(LOAD_CHANGE_SQL, tenant.tid, tenant.mid, product.id, change_id)
    if row is None:
        raise NotFound(f"no price change {change_id} for {sku!r}")
    change = _change(row)
    if change.status != "proposed":
        raise Conflict(f"the change is {change.status}, not proposed: nothing to decide")
    if not approve:
        return _change(await conn.fetchrow(DECIDE_SQL, tenant.tid, tenant.mid, change_id, "rejected", actor, note))
    if change.old_price != product.price:
        raise Conflict(f"stale proposal: made from {change.old_price}, the price is now {product.price}")
    return await apply(
        conn,
        tenant=tenant,
        product=product,
        price=change.new_price,
        source=change.source,
        reason=change.reason,
        proposed_by=change.proposed_by,
        decided_by=actor,
        change_id=change.id,
    )


async def changes(
    conn: asyncpg.Connection, *, tenant: TenantContext, product_id: UUID, status: str | None, limit: int
) -> list[PriceChange]:
    return [_change(r) for r in await conn.fetch(CHANGES_SQL, tenant.tid, tenant.mid, product_id, status, limit)]


async def record_sales(
    conn: asyncpg.Connection, *, tenant: TenantContext, product_id: UUID, periods: list[SalesPeriodIn]
) -> int:
    keys = {(p.period_start, p.period_end) for p in periods}
    if len(keys) != len(periods):
        raise InvalidInput("the same period appears twice in one import")
    await conn.execute(
        SALES_UPSERT_SQL,
        tenant.tid,
        tenant.whid,
        tenant.mid,
        product_id,
        [p.period_start for p in periods],
        [p.period_end for p in periods],
        [p.price for p in periods],
        [p.units for p in periods],
    )
    return len(periods)


async def sales(
    conn: asyncpg.Connection, *, tenant: TenantContext, product_id: UUID, since: datetime, limit: int = 500
) -> list[asyncpg.Record]:
    """Sales periods ending after ``since``, newest first."""
    return list(await conn.fetch(SALES_SQL, tenant.tid, tenant.mid, product_id, since, limit))


async def due(conn: asyncpg.Connection, *, now: datetime, limit: int) -> list[tuple[TenantContext, UUID]]:
    """Products whose repricing is due, oldest first (the worker role's scan)."""
    rows = await conn.fetch(DUE_SQL, now, limit)
    return [(TenantContext(tid=r["tid"], mid=r["mid"], whid=r["whid"]), r["id"]) for r in rows]


async def mark_repriced(
    conn: asyncpg.Connection, *, tenant: TenantContext, product_id: UUID, at: datetime, proposal: dict[str, Any]
) -> None:
    await conn.execute(MARK_REPRICED_SQL, tenant.tid, tenant.mid, product_id, at, proposal)
