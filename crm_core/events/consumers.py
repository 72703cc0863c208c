"""The CRM core's own consumer: orders and deliveries onto account timelines.

``sales.order.created`` links the order to its opportunity and adds a timeline
activity; ``wms.shipment.delivered`` adds one too. Each runs in the event's
tenant (RLS applies) and is idempotent: the activity's ``external_ref`` is the
event id, so a redelivered event changes nothing.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from enum import StrEnum
from uuid import UUID

import asyncpg
from pydantic import ValidationError

from crm_core.anaf.cui import InvalidCui, normalize_cui
from crm_core.events.payloads import SalesOrderCreated, ShipmentDelivered
from crm_core.repositories import accounts, activities
from crm_core.repositories.accounts import ACCOUNTS
from crm_core.repositories.opportunities import OPPORTUNITIES
from crm_core.schemas.activities import ActivityCreate
from infra.db.tenancy import TenantContext, TenantContextError, tenant_transaction
from infra.errors import InvalidEvent
from infra.events.envelope import Envelope

logger = logging.getLogger(__name__)

SALES_ORDER_CREATED = "sales.order.created"
SHIPMENT_DELIVERED = "wms.shipment.delivered"
CONSUMED = (SALES_ORDER_CREATED, SHIPMENT_DELIVERED)

LINK_ORDER_SQL = """
UPDATE crm.opportunities SET sales_order_id = $4, updated_at = now(), version = version + 1
WHERE tid = $1 AND mid = $2 AND id = $3 AND sales_order_id IS NULL
"""

ACCOUNT_BY_ORDER_SQL = """
SELECT account_id FROM crm.opportunities
WHERE tid = $1 AND mid = $2 AND sales_order_id = $3
UNION ALL
SELECT account_id FROM crm.activities
WHERE tid = $1 AND mid = $2 AND kind = 'sales.order.created' AND payload ->> 'order_id' = $3
LIMIT 1
"""


class Outcome(StrEnum):
    APPLIED = "applied"
    DUPLICATE = "duplicate"


@dataclass(frozen=True)
class Applied:
    outcome: Outcome
    account_id: UUID  # the account whose timeline got the activity


class CrmEventConsumer:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool

    async def handle(self, event: Envelope) -> Outcome:
        return (await self.apply(event)).outcome

    async def apply(self, event: Envelope) -> Applied:
        """Like :meth:`handle`, also naming the account it resolved (the streams' churn features need it)."""
        if event.type not in CONSUMED:
            raise InvalidEvent(f"the CRM core does not consume {event.type}")
        try:
            tenant = TenantContext(tid=event.tid, mid=event.mid, whid=event.whid)
        except TenantContextError as exc:
            raise InvalidEvent(f"bad tenant: {exc}") from exc
        try:
            if event.type == SALES_ORDER_CREATED:
                order = SalesOrderCreated.model_validate(event.payload)
                return await self._order_created(event, tenant, order)
            delivery = ShipmentDelivered.model_validate(event.payload)
            return await self._delivered(event, tenant, delivery)
        except ValidationError as exc:
            raise InvalidEvent(f"invalid {event.type} payload: {exc.errors(include_url=False)}") from exc

    async def _account(
        self, conn: asyncpg.Connection, tenant: TenantContext, account_id: UUID | None, cui: str | None
    ) -> UUID | None:
        if account_id is not None:
            if await ACCOUNTS.get(conn, tenant=tenant, id=account_id, include_deleted=True) is None:
                raise InvalidEvent(f"no account matches: {account_id} does not exist in tenant {tenant.tid}")
            return account_id
        if cui is not None:
            try:
                found = await accounts.find_by_cui(conn, tenant=tenant, cui=normalize_cui(cui))
            except InvalidCui as exc:
                raise InvalidEvent(str(exc)) from exc
            return found.id if found is not None else None
        return None

    async def _order_created(self, event: Envelope, tenant: TenantContext, order: SalesOrderCreated) -> Applied:
        async with tenant_transaction(self.pool, tenant) as conn:
            account_id = await self._account(conn, tenant, order.account_id, order.customer_cui)
            if order.opportunity_id is not None:
                opportunity = await OPPORTUNITIES.get(conn, tenant=tenant, id=order.opportunity_id)
                if opportunity is None:
                    raise InvalidEvent(f"opportunity {order.opportunity_id} does not exist in tenant {tenant.tid}")
                account_id = account_id or opportunity.account_id
                await conn.execute(LINK_ORDER_SQL, tenant.tid, tenant.mid, opportunity.id, order.order_id)
            if account_id is None:
                raise InvalidEvent("no account matches the order (account_id, customer_cui or opportunity_id)")
            added = await activities.add(
                conn,
                tenant=tenant,
                activity=ActivityCreate(
                    account_id=account_id,
                    opportunity_id=order.opportunity_id,
                    kind=SALES_ORDER_CREATED,
                    subject=f"Order {order.order_id}: {order.total} {order.currency}",
                    occurred_at=order.ordered_at or event.occurred_at,
                    source="sales",
                    external_ref=str(event.id),
                    payload=order.model_dump(mode="json"),
                ),
            )
        return Applied(Outcome.APPLIED if added is not None else Outcome.DUPLICATE, account_id)

    async def _delivered(self, event: Envelope, tenant: TenantContext, delivery: ShipmentDelivered) -> Applied:
        async with tenant_transaction(self.pool, tenant) as conn:
            account_id = await self._account(conn, tenant, delivery.account_id, delivery.customer_cui)
            if account_id is None and delivery.order_id is not None:
                account_id = await conn.fetchval(ACCOUNT_BY_ORDER_SQL, tenant.tid, tenant.mid, delivery.order_id)
            if account_id is None:
                raise InvalidEvent("no account matches the shipment (account_id, customer_cui or a known order_id)")
            added = await activities.add(
                conn,
                tenant=tenant,
                activity=ActivityCreate(
                    account_id=account_id,
                    kind=SHIPMENT_DELIVERED,
                    subject=f"Shipment {delivery.shipment_id} delivered"
                    + (f" (order {delivery.order_id})" if delivery.order_id else ""),
                    occurred_at=delivery.delivered_at,
                    source="wms",
                    external_ref=str(event.id),
                    payload=delivery.model_dump(mode="json"),
                ),
            )
        return Applied(Outcome.APPLIED if added is not None else Outcome.DUPLICATE, account_id)
