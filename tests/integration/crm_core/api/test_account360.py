"""Account 360 over HTTP: one call, everything about the account."""

from __future__ import annotations

from uuid import UUID

import asyncpg
import httpx

from crm_core.events.consumers import CrmEventConsumer
from infra.events.envelope import Envelope

BASE = "/v1/crm"


async def _post(api: httpx.AsyncClient, url: str, headers: dict[str, str], body: dict[str, object]) -> dict:
    response = await api.post(url, json=body, headers=headers)
    assert response.status_code in (200, 201), response.text
    return dict(response.json())


async def test_account_360_gathers_contacts_deals_timeline_and_compliance(
    api: httpx.AsyncClient, tenant_headers: dict[str, str], app_pool: asyncpg.Pool, admin_pool: asyncpg.Pool
) -> None:
    account = await _post(api, f"{BASE}/accounts", tenant_headers, {"name": "Omega SRL"})
    await _post(api, f"{BASE}/contacts", tenant_headers, {"first_name": "Dan", "account_id": account["id"]})
    open_deal = await _post(
        api,
        f"{BASE}/opportunities",
        tenant_headers,
        {"account_id": account["id"], "name": "Open", "amount": "100.50", "currency": "EUR"},
    )
    won = await _post(
        api, f"{BASE}/opportunities", tenant_headers, {"account_id": account["id"], "name": "Won", "amount": "999"}
    )
    for stage in ("qualification", "proposal", "negotiation", "closed_won"):
        await _post(api, f"{BASE}/opportunities/{won['id']}/stage", tenant_headers, {"stage": stage})
    await _post(
        api,
        f"{BASE}/accounts/{account['id']}/activities",
        tenant_headers,
        {"kind": "call", "subject": "Discovery call", "body": "Needs 40 trucks tracked"},
    )
    me = (await api.get(f"{BASE}/accounts/{account['id']}", headers=tenant_headers)).json()  # tid/mid of the token
    await CrmEventConsumer(app_pool).handle(
        Envelope(
            type="sales.order.created",
            tid=me["tid"],
            mid=me["mid"],
            payload={"order_id": "SO-9", "account_id": account["id"], "total": "999", "currency": "RON"},
        )
    )

    view = (
        await api.get(f"{BASE}/accounts/{account['id']}/360", params={"timeline_limit": 3}, headers=tenant_headers)
    ).json()
    assert view["account"]["id"] == account["id"]
    assert [c["first_name"] for c in view["contacts"]] == ["Dan"]
    assert [o["id"] for o in view["open_opportunities"]] == [open_deal["id"]]
    assert view["pipeline_value"] == {"EUR": "100.50"}
    assert view["compliance"]["status"] == "unchecked"
    assert view["churn_risk"] == {"available": False, "data": None}
    # What the streams' churn processor writes shows up once it is there.
    await admin_pool.execute(
        "INSERT INTO ai.churn_scores (tid, mid, account_id, probability, bucket, model_version) "
        "VALUES ($1, $2, $3, 0.72, 'high', 'test')",
        me["tid"],
        me["mid"],
        UUID(account["id"]),
    )
    scored = (await api.get(f"{BASE}/accounts/{account['id']}/360", headers=tenant_headers)).json()
    assert scored["churn_risk"]["available"] is True
    assert scored["churn_risk"]["data"]["bucket"] == "high"
    kinds = [a["kind"] for a in view["timeline"]["items"]]
    assert kinds[0] == "sales.order.created"  # newest first
    assert len(kinds) == 3
    older = (
        await api.get(
            f"{BASE}/accounts/{account['id']}/360",
            params={"timeline_limit": 3, "timeline_cursor": view["timeline"]["next_cursor"]},
            headers=tenant_headers,
        )
    ).json()
    all_kinds = kinds + [a["kind"] for a in older["timeline"]["items"]]
    assert sorted(all_kinds) == sorted(["sales.order.created", "call"] + ["opportunity.stage_changed"] * 4)
    assert older["timeline"]["next_cursor"] is None


async def test_account_360_of_another_tenant_is_404(
    api: httpx.AsyncClient, tenant_headers: dict[str, str], auth: object
) -> None:
    account = await _post(api, f"{BASE}/accounts", tenant_headers, {"name": "Private"})
    other = auth(tid="someone-else")  # type: ignore[operator]
    assert (await api.get(f"{BASE}/accounts/{account['id']}/360", headers=other)).status_code == 404
    response = await api.post(
        f"{BASE}/accounts/{account['id']}/activities", json={"kind": "note", "subject": "x"}, headers=other
    )
    assert response.status_code == 404
