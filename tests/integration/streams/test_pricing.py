"""Live repricing on real PostgreSQL: the repricer proposes within the guard rails from a product's sales, a
person approves or rejects over REST, ``auto`` mode applies at once, and every applied change is one
``crm.pricing.adjusted`` event in the outbox (suggest and auto), with nothing for holds or missing data."""

from __future__ import annotations

import itertools
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import asyncpg
import httpx
import numpy as np
import pytest

from infra import decisions
from infra.db.tenancy import TenantContext, tenant_transaction
from streams.pricing import Repricer
from streams.schemas import PUBLISHED
from tests.integration.crm_core.api.conftest import Auth

pytestmark = pytest.mark.integration

URL = "/v1/crm/price-book"
SCOPES = ("crm:read", "crm:write", "pricing:approve")
RAILS = {"cost": "6.00", "min_price": "7", "max_price": "15", "max_step": 0.05, "min_margin": 0.1}


def _weeks(price: float, elasticity: float, n: int, *, base: float = 200.0, seed: int = 3) -> list[dict[str, Any]]:
    """``n`` past weeks of Poisson sales on a market whose demand at 8.00 is ``base`` units a week."""
    rng = np.random.default_rng(seed)
    end = datetime.now(UTC).replace(microsecond=0)
    weeks = []
    for i in range(n):
        p = round(price * (1 + 0.04 * ((i % 3) - 1)), 2)  # three prices, ±4 %: enough to fit an elasticity
        stop = end - timedelta(days=7 * i)
        units = int(rng.poisson(base * (p / 8.0) ** elasticity))
        weeks.append(
            {
                "period_start": (stop - timedelta(days=7)).isoformat(),
                "period_end": stop.isoformat(),
                "price": p,
                "units": units,
            }
        )
    return weeks


async def _outbox(app_pool: asyncpg.Pool, tenant: TenantContext) -> list[dict[str, Any]]:
    async with tenant_transaction(app_pool, tenant, readonly=True) as conn:
        rows = await conn.fetch(
            "SELECT payload FROM crm.outbox WHERE tid = $1 AND event_type = 'crm.pricing.adjusted' ORDER BY seq",
            tenant.tid,
        )
    return [r["payload"] for r in rows]


async def _due(app_pool: asyncpg.Pool, tenant: TenantContext) -> None:
    """Make the tenant's products due now (their last repricing long ago)."""
    async with tenant_transaction(app_pool, tenant) as conn:
        await conn.execute(
            "UPDATE crm.price_book SET repriced_at = now() - interval '400 days' WHERE tid = $1", tenant.tid
        )


async def test_suggest_mode_proposes_within_the_rails_and_a_person_approves_or_rejects(
    api: httpx.AsyncClient,
    auth: Auth,
    app_pool: asyncpg.Pool,
    worker_pool: asyncpg.Pool,
) -> None:
    tid = f"t-{uuid.uuid4().hex[:8]}"
    tenant, headers = TenantContext(tid=tid, mid="m-1"), auth(tid=tid, scopes=SCOPES, sub="ana")
    created = await api.put(f"{URL}/CAF", json={"name": "Cafea", "price": "8.00", **RAILS}, headers=headers)
    assert created.status_code == 201, created.text
    fresh = await api.put(f"{URL}/NEW", json={"name": "Nou", "price": "9.00", **RAILS}, headers=headers)
    assert fresh.status_code == 201
    sales = await api.post(f"{URL}/CAF/sales", json={"periods": _weeks(8.0, -2.2, 12)}, headers=headers)
    assert sales.status_code == 200, sales.text

    repricer = Repricer(app_pool, worker_pool, interval_s=0.01, seed=1)
    await repricer.drain()
    coffee = (await api.get(f"{URL}/CAF", headers=headers)).json()
    proposal = coffee["last_proposal"]
    # Demand is elastic (-2.2, fitted from the three prices) and the cost 6.00: the best price (11.00) is
    # above; the step limit allows 8.40 at most.
    assert proposal["action"] == "change" and proposal["source"] == "optimiser", proposal
    assert proposal["price"] == 8.40 and proposal["interval"] == [7.6, 8.4]
    assert proposal["elasticity_source"].startswith("own sales") and -3.2 < proposal["elasticity"] < -1.4
    assert coffee["price"] == "8.00"  # suggest: nothing applied yet
    new = (await api.get(f"{URL}/NEW", headers=headers)).json()["last_proposal"]
    assert new["action"] == "not_enough_data" and new["missing"] == ["sales periods"]

    open_ = (await api.get(f"{URL}/CAF/changes", params={"status": "proposed"}, headers=headers)).json()
    assert len(open_) == 1 and open_[0]["new_price"] == "8.40" and open_[0]["proposed_by"] == "repricer"
    assert await _outbox(app_pool, tenant) == []  # a proposal is not a price change

    await _due(app_pool, tenant)
    await repricer.drain()  # the same price proposed again: the open proposal stays, no duplicate
    assert len((await api.get(f"{URL}/CAF/changes", headers=headers)).json()) == 1

    approved = await api.post(f"{URL}/CAF/changes/{open_[0]['id']}/approve", headers=headers)
    assert (
        approved.status_code == 200
        and approved.json()["status"] == "applied"
        and approved.json()["decided_by"] == "ana"
    )
    assert (await api.get(f"{URL}/CAF", headers=headers)).json()["price"] == "8.40"
    again = await api.post(f"{URL}/CAF/changes/{open_[0]['id']}/approve", headers=headers)
    assert again.status_code == 409
    [event] = await _outbox(app_pool, tenant)
    PUBLISHED["crm.pricing.adjusted"].model_validate(event)
    assert (event["sku"], event["old_price"], event["new_price"], event["source"], event["mode"]) == (
        "CAF",
        "8.00",
        "8.40",
        "optimiser",
        "suggest",
    )

    await _due(app_pool, tenant)
    await repricer.drain()
    [second] = (await api.get(f"{URL}/CAF/changes", params={"status": "proposed"}, headers=headers)).json()
    assert second["old_price"] == "8.40" and second["new_price"] == "8.82"
    # A manual change makes the proposal stale (superseded): approving it is a conflict.
    manual = await api.post(f"{URL}/CAF/price", json={"price": "9.00", "reason": "promo over"}, headers=headers)
    assert manual.status_code == 200
    stale = await api.post(f"{URL}/CAF/changes/{second['id']}/approve", headers=headers)
    assert stale.status_code == 409 and "superseded" in stale.json()["detail"]

    await _due(app_pool, tenant)
    await repricer.drain()
    [third] = (await api.get(f"{URL}/CAF/changes", params={"status": "proposed"}, headers=headers)).json()
    rejected = await api.post(
        f"{URL}/CAF/changes/{third['id']}/reject", json={"reason": "Black Friday week"}, headers=headers
    )
    assert rejected.status_code == 200 and rejected.json()["status"] == "rejected"
    assert "Black Friday week" in rejected.json()["reason"]
    assert (await api.get(f"{URL}/CAF", headers=headers)).json()["price"] == "9.00"
    assert [e["source"] for e in await _outbox(app_pool, tenant)] == ["optimiser", "manual"]


async def test_auto_mode_applies_inside_the_rails_and_the_explorer_never_leaves_them(
    api: httpx.AsyncClient,
    auth: Auth,
    app_pool: asyncpg.Pool,
    worker_pool: asyncpg.Pool,
) -> None:
    tid = f"t-{uuid.uuid4().hex[:8]}"
    tenant, headers = TenantContext(tid=tid, mid="m-1"), auth(tid=tid, scopes=SCOPES)
    body = {"name": "Ceai", "price": "9.00", **RAILS, "mode": "auto", "explore": True, "elasticity": -3.0}
    assert (await api.put(f"{URL}/TEA", json=body, headers=headers)).status_code == 201
    assert (
        await api.post(f"{URL}/TEA/sales", json={"periods": _weeks(9.0, -1.6, 2)}, headers=headers)
    ).status_code == 200
    repricer = Repricer(app_pool, worker_pool, interval_s=0.01, seed=7)
    prices = [Decimal("9.00")]
    for _ in range(12):
        await _due(app_pool, tenant)
        await repricer.drain()
        prices.append(Decimal((await api.get(f"{URL}/TEA", headers=headers)).json()["price"]))
    steps = [abs(b - a) / a for a, b in itertools.pairwise(prices)]
    assert all(Decimal(7) <= p <= Decimal(15) for p in prices) and max(steps) <= Decimal("0.0501"), prices
    events = await _outbox(app_pool, tenant)
    assert len(events) == sum(a != b for a, b in itertools.pairwise(prices)) >= 3
    assert {e["source"] for e in events} == {"explorer"} and {e["mode"] for e in events} == {"auto"}
    history = (await api.get(f"{URL}/TEA/changes", headers=headers)).json()
    assert {c["status"] for c in history} == {"applied"} and all(c["decided_by"] == "repricer" for c in history)
    for change in history:  # each change's decision record: the model, its version and the rails that bound it
        (record,) = await decisions.for_ref(app_pool, tenant, uuid.UUID(change["id"]))
        assert record["kind"] == "price_change" and record["model"] == "dynamic_pricing:explorer"
        assert record["output"]["new_price"] == change["new_price"] and record["input_hash"].startswith("sha256:")
        assert record["explanation"]["guard_rails"]["max_step"] == "0.05" and record["explanation"]["reason"]


async def test_rails_edited_under_an_open_proposal_supersede_it_and_must_hold_the_current_price(
    api: httpx.AsyncClient, auth: Auth, app_pool: asyncpg.Pool, worker_pool: asyncpg.Pool
) -> None:
    tid = f"t-{uuid.uuid4().hex[:8]}"
    headers = auth(tid=tid, scopes=SCOPES)
    body = {"name": "Miere", "price": "8.00", **RAILS}
    assert (await api.put(f"{URL}/HONEY", json=body, headers=headers)).status_code == 201
    await api.post(f"{URL}/HONEY/sales", json={"periods": _weeks(8.0, -2.2, 9)}, headers=headers)
    await Repricer(app_pool, worker_pool, interval_s=0.01, seed=1).drain()
    [open_] = (await api.get(f"{URL}/HONEY/changes", params={"status": "proposed"}, headers=headers)).json()
    # The same entry sent again changes nothing: the proposal stays open.
    assert (await api.put(f"{URL}/HONEY", json=body, headers=headers)).status_code == 200
    assert (await api.get(f"{URL}/HONEY/changes", params={"status": "proposed"}, headers=headers)).json() == [open_]
    # Rails that would leave today's price under the floor are refused, and change nothing.
    tighter = await api.put(f"{URL}/HONEY", json={**body, "min_margin": 0.5}, headers=headers)
    assert tighter.status_code == 422 and "below the floor 9.00" in tighter.json()["detail"]
    assert (await api.get(f"{URL}/HONEY/changes", params={"status": "proposed"}, headers=headers)).json() == [open_]
    # A narrower ceiling is accepted: the proposal made under the old rails is superseded, not approvable.
    narrower = await api.put(f"{URL}/HONEY", json={**body, "max_price": "8.20"}, headers=headers)
    assert narrower.status_code == 200
    [superseded] = (await api.get(f"{URL}/HONEY/changes", headers=headers)).json()
    assert superseded["id"] == open_["id"] and superseded["status"] == "superseded"
    assert (await api.post(f"{URL}/HONEY/changes/{open_['id']}/approve", headers=headers)).status_code == 409
