"""Channel spend import over the CRM API: JSON and CSV, replace on re-import, bad lines named, tenancy."""

from __future__ import annotations

import httpx

from tests.integration.crm_core.api.conftest import Auth

URL = "/v1/crm/channel-spend"


async def test_json_and_csv_imports_upsert_and_list(api: httpx.AsyncClient, tenant_headers: dict[str, str]) -> None:
    rows = [
        {"channel": "google_ads", "period_start": "2026-11-01", "period_end": "2026-11-07", "amount": "700.50"},
        {"channel": "facebook", "period_start": "2026-11-01", "period_end": "2026-11-07", "amount": 300},
    ]
    stored = await api.put(URL, json={"rows": rows}, headers=tenant_headers)
    assert stored.status_code == 200 and stored.json() == {"imported": 2}, stored.text
    csv = (
        "channel,period_start,period_end,amount,currency\n"
        "google_ads,2026-11-01,2026-11-07,650,\n"
        "tiktok,2026-11-08,2026-11-14,120.25,EUR\n"
    )
    again = await api.post(URL + "/csv", content=csv.encode(), headers={**tenant_headers, "content-type": "text/csv"})
    assert again.status_code == 200 and again.json() == {"imported": 2}, again.text
    listed = (await api.get(URL, headers=tenant_headers)).json()
    assert [(r["channel"], r["amount"], r["currency"], r["source"]) for r in listed] == [
        ("facebook", "300.00", "RON", "api"),
        ("google_ads", "650.00", "RON", "csv"),  # the CSV's row replaced the JSON one
        ("tiktok", "120.25", "EUR", "csv"),
    ]
    only = (await api.get(URL, params={"since": "2026-11-08", "channel": "tiktok"}, headers=tenant_headers)).json()
    assert [r["channel"] for r in only] == ["tiktok"]


async def test_bad_imports_say_what_is_wrong(api: httpx.AsyncClient, tenant_headers: dict[str, str]) -> None:
    bad_csv = "channel,period_start,period_end,amount\nGoogle Ads,2026-11-01,2026-11-07,5\nok,2026-11-09,2026-11-08,5\n"
    response = await api.post(
        URL + "/csv", content=bad_csv.encode(), headers={**tenant_headers, "content-type": "text/csv"}
    )
    assert response.status_code == 422
    detail = response.json()["detail"]
    assert "line 2: channel" in detail and "line 3" in detail and "period_end is before period_start" in detail
    header = await api.post(URL + "/csv", content=b"a,b\n1,2\n", headers={**tenant_headers, "content-type": "text/csv"})
    assert header.status_code == 422 and "header" in header.json()["detail"]
    wrong_type = await api.post(
        URL + "/csv", content=b"{}", headers={**tenant_headers, "content-type": "application/json"}
    )
    assert wrong_type.status_code == 415
    twice = {"channel": "x", "period_start": "2026-11-01", "period_end": "2026-11-01", "amount": 1}
    assert (await api.put(URL, json={"rows": [twice, twice]}, headers=tenant_headers)).status_code == 422
    negative = {**twice, "amount": -1}
    assert (await api.put(URL, json={"rows": [negative]}, headers=tenant_headers)).status_code == 422


async def test_spend_is_per_tenant_and_needs_write_scope(api: httpx.AsyncClient, auth: Auth) -> None:
    mine = auth(tid="t-spend-a", scopes=("crm:read", "crm:write"))
    theirs = auth(tid="t-spend-b", scopes=("crm:read", "crm:write"))
    row = {"channel": "email", "period_start": "2026-10-01", "period_end": "2026-10-31", "amount": 10}
    assert (await api.put(URL, json={"rows": [row]}, headers=mine)).status_code == 200
    assert (await api.get(URL, headers=theirs)).json() == []
    reader = auth(tid="t-spend-a", scopes=("crm:read",))
    assert (await api.put(URL, json={"rows": [row]}, headers=reader)).status_code == 403
