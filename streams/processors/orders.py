"""Orders and deliveries: the CRM core's timeline consumer, then churn features and ``crm.churn.scored``.

``sales.order.created`` first goes through the CRM core's own consumer (it links
the order to its opportunity and writes the account timeline, idempotent by
event id), which also resolves the account. The order is then recorded in the
Redis feature store (idempotent by order id), the account is re-scored by the
churn deployment from the *same* feature function training used, and
``ai.churn_scores`` keeps the latest score. ``crm.churn.scored`` is published
only when the account's risk bucket changes (or on its first score).
``wms.shipment.delivered`` goes to the CRM consumer only.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import date
from uuid import UUID

import asyncpg

from crm_core.events.consumers import CrmEventConsumer
from crm_core.events.payloads import SalesOrderCreated, ShipmentDelivered
from infra import decisions
from infra.events.envelope import Envelope
from models.churn.features import Order
from models.churn.model import ChurnScore
from models.churn.store import RedisFeatureStore, account_key
from streams import store
from streams.processors.base import Context, InvalidEvent, Processor
from streams.schemas import ChurnScored

PREVIOUS_SQL = "SELECT bucket FROM ai.churn_scores WHERE tid = $1 AND mid = $2 AND account_id = $3 FOR UPDATE"

UPSERT_SQL = """
INSERT INTO ai.churn_scores (tid, whid, mid, account_id, probability, bucket, model_version)
VALUES ($1, $2, $3, $4, $5, $6, $7)
ON CONFLICT (tid, mid, account_id) DO UPDATE SET
    probability = EXCLUDED.probability, bucket = EXCLUDED.bucket, model_version = EXCLUDED.model_version,
    scored_at = now()
"""


@dataclass(frozen=True)
class Rescored:
    account_id: UUID
    score: ChurnScore | None  # the churn model's answer; None: nothing to score (a delivery, no feature store)
    features: dict[str, float] | None = None  # what the model read (hashed into the decision record)


class OrderProcessor(Processor[SalesOrderCreated | ShipmentDelivered, Rescored]):
    analyze_in_turn = True  # a delivery that names only its order finds the account through the order's link

    def __init__(self, context: Context) -> None:
        super().__init__(context)
        self.crm = CrmEventConsumer(context.pool)
        self.features = RedisFeatureStore(context.redis) if context.redis is not None else None

    def ordering_key(self, event: Envelope, payload: SalesOrderCreated | ShipmentDelivered) -> tuple[str, ...]:
        """By order: a delivery that names only its order finds the account through the order's link."""
        key = payload.order_id or payload.account_id or payload.customer_cui or "?"
        return (event.tid, event.mid, "order", str(key))

    def account_of(self, payload: SalesOrderCreated | ShipmentDelivered) -> UUID | None:
        return None  # the CRM consumer resolved and checked it (a soft-deleted account still takes its orders)

    async def analyze(self, event: Envelope, payload: SalesOrderCreated | ShipmentDelivered) -> Rescored:
        applied = await self.crm.apply(event)  # raises InvalidEvent (no such account, opportunity …)
        if isinstance(payload, ShipmentDelivered) or self.features is None:
            return Rescored(applied.account_id, None)
        key = account_key(event.tid, event.mid, str(applied.account_id))
        day = (payload.ordered_at or event.occurred_at).date()
        await self.features.record_order(
            key, payload.order_id, Order(day, float(payload.total), payload.items_count or 1)
        )
        features = await self.features.features(key, max(date.today(), day))
        return Rescored(applied.account_id, (await self.context.models.churn([features]))[0], features)

    async def write(
        self,
        conn: asyncpg.Connection,
        event: Envelope,
        payload: SalesOrderCreated | ShipmentDelivered,
        rescored: Rescored,
    ) -> None:
        score, account_id = rescored.score, rescored.account_id
        if score is None:
            return
        version = self.context.models.churn_version
        previous = await conn.fetchval(PREVIOUS_SQL, event.tid, event.mid, account_id)
        await conn.execute(
            UPSERT_SQL, event.tid, event.whid, event.mid, account_id, score.probability, score.bucket, version
        )
        await decisions.record(
            conn,
            store.tenant_of(event),
            kind="churn_score",
            ref_id=account_id,
            model="churn",
            model_version=version,
            input_digest=decisions.input_hash(rescored.features or {}),
            output={"probability": score.probability, "bucket": score.bucket},
            explanation={
                "top_contributions": [asdict(c) for c in score.top_contributions],
                "features": rescored.features,
            },
            account_id=account_id,
        )
        if previous != score.bucket:
            scored = ChurnScored(
                account_id=account_id,
                probability=score.probability,
                bucket=score.bucket,
                previous_bucket=previous,
                model_version=version,
                top_factors=[asdict(c) for c in score.top_contributions],
            )
            await store.publish(
                conn, event, "crm.churn.scored", scored, aggregate_type="account", aggregate_id=account_id
            )


__all__ = ["InvalidEvent", "OrderProcessor"]
