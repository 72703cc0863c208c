"""The repricer: each product whose repricing is due gets its next price proposed, or applied, in its tenant.

Every ``pricing_scan_interval_s`` the worker role finds the products of every tenant whose ``reprice_every_s``
has passed (:func:`crm_core.pricing.book.due`). For each, in one tenant transaction: the product is locked,
its last year of sales read, and :func:`models.pricing.live.propose` answers within the guard rails (priors:
the pricing model's pooled and cross-price elasticities fitted on the Cigar panel). A ``change`` is applied at
once in ``auto`` mode (``crm.pricing.adjusted`` published) or stored as the open proposal in ``suggest`` mode
(unless the same price already waits); ``hold``, ``not_enough_data`` and rails that leave no price are kept
on the product as ``last_proposal``, so the price book shows why nothing moved. A crash between two scans
loses nothing: the product stays due.
"""

from __future__ import annotations

import dataclasses
import logging
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID

import asyncpg
import numpy as np

from crm_core.pricing import book
from crm_core.schemas.pricing import ChangeSource, Product
from infra import decisions
from infra.db.tenancy import TenantContext, tenant_transaction
from infra.errors import InvalidInput
from infra.loops import PollingLoop
from models.pricing.live import GuardRails, LiveProposal, ProductState, SalesPeriod, propose
from models.pricing.service import PricingService

logger = logging.getLogger(__name__)

ACTOR = "repricer"
HISTORY_DAYS = 365


def state_of(product: Product, sales: list[asyncpg.Record], now: datetime) -> ProductState:
    return ProductState(
        price=float(product.price),
        rails=GuardRails(
            cost=float(product.cost),
            min_price=float(product.min_price) if product.min_price is not None else None,
            max_price=float(product.max_price) if product.max_price is not None else None,
            max_step=product.max_step,
            min_margin=product.min_margin,
        ),
        sales=[
            SalesPeriod(
                price=r["price"],
                units=r["units"],
                days=max((r["period_end"] - r["period_start"]).total_seconds() / 86_400, 1 / 24),
                age_days=max((now - r["period_end"]).total_seconds() / 86_400, 0.0),
            )
            for r in sales
        ],
        competitor_price=float(product.competitor_price) if product.competitor_price is not None else None,
        reference_competitor_price=(
            float(product.reference_competitor_price) if product.reference_competitor_price is not None else None
        ),
        inventory=product.inventory_per_day,
        elasticity=product.elasticity,
        explore=product.explore,
    )


async def reprice(
    conn: asyncpg.Connection,
    *,
    tenant: TenantContext,
    product_id: UUID,
    priors: PricingService,
    rng: np.random.Generator,
    now: datetime,
) -> dict[str, Any]:
    """One product's repricing (see the module), inside the caller's tenant transaction; what it did."""
    product = await book.lock(conn, tenant=tenant, product_id=product_id)
    sales = await book.sales(conn, tenant=tenant, product_id=product.id, since=now - timedelta(days=HISTORY_DAYS))
    state = state_of(product, sales, now)
    try:
        proposal = propose(
            state,
            prior_elasticity=priors.elasticity,
            prior_std=priors.elasticity_std,
            cross_elasticity=priors.cross_elasticity,
            rng=rng,
        )
    except InvalidInput as exc:  # rails that leave no price: shown on the product, nothing changes
        summary: dict[str, Any] = {"action": "blocked", "reason": str(exc), "at": now.isoformat()}
        await book.mark_repriced(conn, tenant=tenant, product_id=product.id, at=now, proposal=summary)
        return summary
    summary = LiveProposal.of(proposal).model_dump(exclude_none=True) | {"at": now.isoformat()}
    if proposal.action == "change":
        price = Decimal(str(proposal.price)).quantize(Decimal("0.01"))
        expected: dict[str, Any] = {
            k: summary[k]
            for k in ("elasticity", "elasticity_source", "expected_units_per_day", "expected_profit_per_day")
            if k in summary
        }
        source: ChangeSource = "explorer" if proposal.source == "explorer" else "optimiser"
        offer: dict[str, Any] = {"tenant": tenant, "product": product, "price": price, "source": source}
        offer |= {"reason": proposal.reason, "expected": expected, "proposed_by": ACTOR}
        if product.mode == "auto":
            change = (await book.apply(conn, **offer, decided_by=ACTOR)).id
            summary["applied"] = str(change)
        else:
            waiting = await book.changes(conn, tenant=tenant, product_id=product.id, status="proposed", limit=1)
            if waiting and waiting[0].new_price == price and waiting[0].old_price == product.price:
                summary["proposed"] = str(waiting[0].id)  # the same price already waits for a person
                return await _marked(conn, tenant, product.id, now, summary)
            change = (await book.propose(conn, **offer)).id
            summary["proposed"] = str(change)
        await decisions.record(
            conn,
            tenant,
            kind="price_change",
            ref_id=change,
            model=f"dynamic_pricing:{proposal.source}",
            model_version=priors.version,
            input_digest=decisions.input_hash(_plain(state)),
            output={"old_price": str(product.price), "new_price": str(price), "mode": product.mode},
            explanation={
                "reason": proposal.reason,
                "allowed_interval": list(proposal.interval) if proposal.interval else None,
                "guard_rails": {
                    "min_price": _str(product.min_price),
                    "max_price": _str(product.max_price),
                    "max_step": _str(product.max_step),
                    "min_margin": _str(product.min_margin),
                    "cost": _str(product.cost),
                },
                **expected,
            },
        )
    return await _marked(conn, tenant, product.id, now, summary)


async def _marked(
    conn: asyncpg.Connection, tenant: TenantContext, product_id: UUID, now: datetime, summary: dict[str, Any]
) -> dict[str, Any]:
    await book.mark_repriced(conn, tenant=tenant, product_id=product_id, at=now, proposal=summary)
    return summary


def _str(value: Any) -> str | None:
    return None if value is None else str(value)


def _plain(state: Any) -> Any:
    """The pricing state as JSON-able data, for its input hash."""
    return dataclasses.asdict(state) if dataclasses.is_dataclass(state) and not isinstance(state, type) else repr(state)


class Repricer(PollingLoop):
    """Reprices the products that are due, once per ``interval_s`` scan (see the module)."""

    task_name = "repricer"

    def __init__(
        self,
        pool: asyncpg.Pool,
        scan_pool: asyncpg.Pool,
        *,
        interval_s: float = 30.0,
        batch: int = 50,
        priors: PricingService | None = None,
        seed: int | None = None,
    ) -> None:
        self.pool = pool
        self.scan_pool = scan_pool
        self.interval_s = interval_s
        self.idle_sleep_s = interval_s
        self.batch = batch
        self._priors = priors
        self.rng = np.random.default_rng(seed)
        self.changes = 0

    @property
    def priors(self) -> PricingService:
        """The pooled elasticities, fitted (about a second) when the first product falls due, not at start-up:
        most tenants never keep a price book."""
        if self._priors is None:
            self._priors = PricingService.fit_default()
        return self._priors

    async def run_once(self) -> int:
        now = datetime.now(UTC)
        async with self.scan_pool.acquire() as conn:
            due = await book.due(conn, now=now, limit=self.batch)
        for tenant, product_id in due:
            try:
                async with tenant_transaction(self.pool, tenant) as conn:
                    done = await reprice(
                        conn, tenant=tenant, product_id=product_id, priors=self.priors, rng=self.rng, now=now
                    )
            except (asyncpg.PostgresError, OSError):
                raise
            except InvalidInput as exc:  # the book's rails refused (changed under us): shown, retried when due
                logger.warning("repricing product %s refused: %s", product_id, exc)
                async with tenant_transaction(self.pool, tenant) as conn:
                    summary = {"action": "blocked", "reason": str(exc), "at": now.isoformat()}
                    await book.mark_repriced(conn, tenant=tenant, product_id=product_id, at=now, proposal=summary)
                continue
            self.changes += "applied" in done or "proposed" in done
        return len(due)

    def more_waiting(self, done: int) -> bool:
        return done >= self.batch
