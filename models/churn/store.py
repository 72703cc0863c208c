"""Online churn features backed by Redis.

Orders are kept per account in a sorted set (score = day ordinal, member =
order id + amounts), engagement signals in a hash. :meth:`features` computes
the vector with :func:`models.churn.features.customer_features`, the very
function used for training, so online scores see no train/serve skew. Order ids
make recording idempotent: a redelivered ``sales.order.created`` changes
nothing. Keys are namespaced by tenant by the caller (``account_key``).
"""

from __future__ import annotations

import json
from datetime import date
from typing import cast

import redis.asyncio as aioredis
from redis.exceptions import WatchError

from models.churn.features import Engagement, Order, customer_features
from models.errors import InvalidInput

PREFIX = "vettify:churn:"


def account_key(tid: str, mid: str, account_id: str) -> str:
    """The tenant-scoped key every writer and reader of the store uses for one account."""
    if not (tid and mid and account_id):
        raise InvalidInput("tid, mid and account_id are all required for a churn feature key")
    return f"{tid}:{mid}:{account_id}"


class RedisFeatureStore:
    def __init__(self, redis: aioredis.Redis, prefix: str = PREFIX, retention_days: int | None = None) -> None:
        """``retention_days``: drop orders older than that many days before today when recording."""
        self.redis = redis
        self.prefix = prefix
        self.retention_days = retention_days

    def _orders_key(self, account_key: str) -> str:
        if not account_key:
            raise InvalidInput("account_key is required, e.g. '<tid>:<mid>:<account id>'")
        return f"{self.prefix}{account_key}:orders"

    def _engagement_key(self, account_key: str) -> str:
        return f"{self.prefix}{account_key}:engagement"

    async def record_order(self, account_key: str, order_id: str, order: Order) -> bool:
        """Store an order; ``False`` when this order id was already recorded."""
        if not order_id:
            raise InvalidInput("order_id is required (it makes recording idempotent)")
        member = json.dumps({"id": order_id, "amount": order.amount, "quantity": order.quantity}, sort_keys=True)
        key = self._orders_key(account_key)
        seen_key = f"{key}:ids"
        # The id and the order are written in one MULTI/EXEC, so a crash between the two can
        # neither lose the order (id marked, order missing) nor count it twice; WATCH makes
        # two concurrent deliveries of the same id agree on which one records it.
        async with self.redis.pipeline(transaction=True) as pipe:
            while True:
                try:
                    await pipe.watch(seen_key)
                    if await pipe.sismember(seen_key, order_id):
                        return False
                    pipe.multi()  # type: ignore[no-untyped-call]
                    pipe.sadd(seen_key, order_id)
                    pipe.zadd(key, {member: order.day.toordinal()})
                    if self.retention_days is not None:
                        pipe.zremrangebyscore(key, "-inf", date.today().toordinal() - self.retention_days)
                    await pipe.execute()
                    return True
                except WatchError:
                    continue  # another delivery touched the ids in between: look again

    async def set_engagement(self, account_key: str, engagement: Engagement) -> None:
        values = {
            k: v
            for k, v in (
                ("sentiment_trend", engagement.sentiment_trend),
                ("support_calls_90d", engagement.support_calls_90d),
                ("campaign_clicks_90d", engagement.campaign_clicks_90d),
            )
            if v is not None
        }
        if values:
            await self.redis.hset(self._engagement_key(account_key), mapping=values)  # type: ignore[arg-type]

    async def orders(self, account_key: str) -> list[Order]:
        rows = cast(
            "list[tuple[bytes, float]]", await self.redis.zrange(self._orders_key(account_key), 0, -1, withscores=True)
        )
        result = []
        for member, score in rows:
            data = json.loads(member)
            result.append(
                Order(day=date.fromordinal(int(score)), amount=float(data["amount"]), quantity=int(data["quantity"]))
            )
        return result

    async def features(self, account_key: str, as_of: date) -> dict[str, float]:
        raw = await self.redis.hgetall(self._engagement_key(account_key))
        decoded = {k.decode() if isinstance(k, bytes) else k: float(v) for k, v in raw.items()}
        engagement = Engagement(
            sentiment_trend=decoded.get("sentiment_trend"),
            support_calls_90d=int(decoded["support_calls_90d"]) if "support_calls_90d" in decoded else None,
            campaign_clicks_90d=int(decoded["campaign_clicks_90d"]) if "campaign_clicks_90d" in decoded else None,
        )
        return customer_features(await self.orders(account_key), as_of, engagement)
