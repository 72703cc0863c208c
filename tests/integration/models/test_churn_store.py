"""The online churn feature store on a real Redis server: same features as training."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import date

import pytest
import redis.asyncio as aioredis

from infra.local_servers import RunningServer
from models.churn.data import load_cdnow
from models.churn.evaluate import CUTOFF
from models.churn.features import Engagement, customer_features
from models.churn.store import RedisFeatureStore
from models.errors import InvalidInput


@pytest.fixture
async def store(redis_server: RunningServer) -> AsyncIterator[RedisFeatureStore]:
    client = aioredis.Redis.from_url(redis_server.url)
    yield RedisFeatureStore(client, prefix=f"test:{uuid.uuid4().hex[:6]}:")
    await client.aclose()


async def test_online_features_equal_training_features_for_real_customers(store: RedisFeatureStore) -> None:
    customers = [c for c in load_cdnow()[:200] if len(c.orders) > 2][:20]
    for customer in customers:
        for i, order in enumerate(customer.orders):
            await store.record_order(f"t:m:{customer.customer_id}", f"{customer.customer_id}-{i}", order)
    for customer in customers:
        online = await store.features(f"t:m:{customer.customer_id}", CUTOFF)
        offline = customer_features(customer.orders, CUTOFF)
        assert online.keys() == offline.keys()
        for name, value in offline.items():
            assert online[name] == pytest.approx(value, nan_ok=True), name


async def test_recording_is_idempotent_and_engagement_is_used(store: RedisFeatureStore) -> None:
    customer = load_cdnow()[5]
    order = customer.orders[0]
    assert await store.record_order("t:m:acct", "SO-1", order) is True
    assert await store.record_order("t:m:acct", "SO-1", order) is False  # redelivery changes nothing
    await store.set_engagement("t:m:acct", Engagement(sentiment_trend=-0.5, support_calls_90d=4))
    features = await store.features("t:m:acct", date(1998, 1, 1))
    assert features["orders_total"] == 1
    assert features["sentiment_trend"] == -0.5
    assert features["support_calls_90d"] == 4
    with pytest.raises(InvalidInput, match="no orders"):
        await store.features("t:m:unknown", date(1998, 1, 1))
    with pytest.raises(InvalidInput, match="order_id"):
        await store.record_order("t:m:acct", "", order)


async def test_concurrent_deliveries_of_one_order_record_it_once(store: RedisFeatureStore) -> None:
    import asyncio
    from dataclasses import replace

    order = load_cdnow()[7].orders[0]
    variants = [replace(order, amount=order.amount + i) for i in range(8)]  # a changed redelivery must not add
    outcomes = await asyncio.gather(*(store.record_order("t:m:race", "SO-9", o) for o in variants))
    assert sorted(outcomes) == [False] * 7 + [True]
    assert len(await store.orders("t:m:race")) == 1
