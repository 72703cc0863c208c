"""The price book over the CRM API: products with guard rails, manual changes audited and published, sales,
scopes and tenancy (the repricer's proposals and approvals: ``tests/integration/streams/test_pricing.py``)."""

from __future__ import annotations

import uuid

import httpx
import pytest

from tests.integration.crm_core.api.conftest import Auth

URL = "/v1/crm/price-book"
PRICERS = ("crm:read", "crm:write", "crm:admin", "pricing:approve")
COFFEE = {"name": "Cafea boabe 1 kg", "price": "80.00", "cost": "50.00", "min_price": "60", "max_price": "120"}


@pytest.fixture
def pricer(auth: Auth) -> dict[str, str]:
    return auth(tid=f"t-{uuid.uuid4().hex[:8]}", scopes=PRICERS, sub="ana.pricing")


async def test_a_product_is_created_read_and_its_manual_price_change_is_audited(
    api: httpx.AsyncClient, pricer: dict[str, str]
) -> None:
    created = await api.put(f"{URL}/CAF-1KG", json=COFFEE, headers=pricer)
    assert created.status_code == 201, created.text
    product = created.json()
    assert (product["price"], product["mode"], product["max_step"], product["last_proposal"]) == (
        "80.00",
        "suggest",
        0.1,
        None,
    )
    again = await api.put(f"{URL}/CAF-1KG", json={**COFFEE, "mode": "auto"}, headers=pricer)
    assert again.status_code == 200 and again.json()["mode"] == "auto" and again.json()["id"] == product["id"]

    # A person may move the price more than the step limit, never outside the bounds or under the floor.
    manual = await api.post(f"{URL}/CAF-1KG/price", json={"price": "99.90", "reason": "new supplier"}, headers=pricer)
    assert manual.status_code == 200, manual.text
    assert (manual.json()["status"], manual.json()["source"], manual.json()["decided_by"]) == (
        "applied",
        "manual",
        "ana.pricing",
    )
    for price, broken in (("130", "above max_price"), ("55", "below min_price")):
        refused = await api.post(f"{URL}/CAF-1KG/price", json={"price": price, "reason": "x"}, headers=pricer)
        assert refused.status_code == 422 and broken in refused.json()["detail"], refused.text
    assert (await api.get(f"{URL}/CAF-1KG", headers=pricer)).json()["price"] == "99.90"
    margin = await api.put(f"{URL}/CAF-1KG", json={**COFFEE, "price": "99.90", "min_margin": 0.3}, headers=pricer)
    assert margin.status_code == 200
    under = await api.post(f"{URL}/CAF-1KG/price", json={"price": "62", "reason": "x"}, headers=pricer)
    assert under.status_code == 422 and "below the floor 65.00" in under.json()["detail"], under.text
    history = (await api.get(f"{URL}/CAF-1KG/changes", headers=pricer)).json()
    assert [(c["old_price"], c["new_price"], c["status"]) for c in history] == [("80.00", "99.90", "applied")]

    # The PUT of a new price is a manual change too; the audit log has every one.
    put_price = await api.put(f"{URL}/CAF-1KG", json={**COFFEE, "price": "95"}, headers=pricer)
    assert put_price.status_code == 200 and put_price.json()["price"] == "95.00"
    audit = await api.get("/v1/crm/audit/export", headers=pricer)
    assert audit.status_code == 200
    lines = [line for line in audit.text.splitlines() if product["id"] in line]
    assert sum("price_change" in line for line in lines) == 2 and any(",create," in line for line in lines)


async def test_rails_that_contradict_each_other_or_leave_the_price_outside_are_422(
    api: httpx.AsyncClient, pricer: dict[str, str]
) -> None:
    swapped = await api.put(f"{URL}/X", json={**COFFEE, "min_price": "130"}, headers=pricer)
    assert swapped.status_code == 422 and "min_price" in swapped.text
    outside = await api.put(f"{URL}/X", json={**COFFEE, "price": "45"}, headers=pricer)
    assert outside.status_code == 422 and "guard rails" in outside.json()["detail"]
    bad_sku = await api.put(f"{URL}/has space", json=COFFEE, headers=pricer)
    assert bad_sku.status_code == 422
    assert (await api.get(f"{URL}/X", headers=pricer)).status_code == 404


async def test_sales_are_upserted_per_period(api: httpx.AsyncClient, pricer: dict[str, str]) -> None:
    assert (await api.put(f"{URL}/TEA", json=COFFEE, headers=pricer)).status_code == 201
    week = {"period_start": "2026-11-01T00:00:00Z", "period_end": "2026-11-08T00:00:00Z", "price": "80", "units": 140}
    stored = await api.post(f"{URL}/TEA/sales", json={"periods": [week]}, headers=pricer)
    assert stored.status_code == 200 and stored.json() == {"recorded": 1}
    again = await api.post(f"{URL}/TEA/sales", json={"periods": [{**week, "units": 150}]}, headers=pricer)
    assert again.json() == {"recorded": 1}
    backwards = {**week, "period_end": "2026-10-01T00:00:00Z"}
    assert (await api.post(f"{URL}/TEA/sales", json={"periods": [backwards]}, headers=pricer)).status_code == 422
    twice = await api.post(f"{URL}/TEA/sales", json={"periods": [week, week]}, headers=pricer)
    assert twice.status_code == 422 and "twice" in twice.json()["detail"]


async def test_prices_need_pricing_approve_and_another_tenants_product_is_404(
    api: httpx.AsyncClient, auth: Auth, pricer: dict[str, str]
) -> None:
    assert (await api.put(f"{URL}/MINE", json=COFFEE, headers=pricer)).status_code == 201
    writer = auth(tid=f"t-{uuid.uuid4().hex[:8]}", scopes=("crm:read", "crm:write"))
    assert (await api.put(f"{URL}/MINE", json=COFFEE, headers=writer)).status_code == 403
    other = auth(tid=f"t-{uuid.uuid4().hex[:8]}", scopes=PRICERS)
    assert (await api.get(f"{URL}/MINE", headers=other)).status_code == 404
    assert (await api.post(f"{URL}/MINE/price", json={"price": 90, "reason": "x"}, headers=other)).status_code == 404
    assert (await api.get(URL, headers=other)).json() == []
    change = f"{URL}/MINE/changes/{uuid.uuid4()}/approve"
    assert (await api.post(change, headers=pricer)).status_code == 404
