"""CRUD behaviour shared by every resource, exercised over HTTP."""

from __future__ import annotations

import asyncio
import uuid

import httpx
import pytest

from tests.integration.crm_core.api.conftest import Auth, all_names

BASE = "/v1/crm"
MINIMAL = {
    "accounts": {"name": "Acme SRL"},
    "contacts": {"first_name": "Ana"},
    "leads": {"email": "lead@acme.ro"},
    "campaigns": {"name": "Spring"},
}


async def _create(api: httpx.AsyncClient, headers: dict[str, str], resource: str, body: dict[str, object]) -> dict:
    response = await api.post(f"{BASE}/{resource}", json=body, headers=headers)
    assert response.status_code == 201, response.text
    return dict(response.json())


async def _opportunity(api: httpx.AsyncClient, headers: dict[str, str]) -> dict:
    account = await _create(api, headers, "accounts", {"name": "Deal Co"})
    return await _create(api, headers, "opportunities", {"account_id": account["id"], "name": "Big deal"})


@pytest.mark.parametrize("resource", sorted(MINIMAL))
async def test_create_read_patch_delete_restore(
    api: httpx.AsyncClient, tenant_headers: dict[str, str], resource: str
) -> None:
    created = await api.post(f"{BASE}/{resource}", json=MINIMAL[resource], headers=tenant_headers)
    assert created.status_code == 201
    item = created.json()
    assert created.headers["ETag"] == '"1"'
    assert created.headers["Location"].endswith(item["id"])
    url = f"{BASE}/{resource}/{item['id']}"

    read = await api.get(url, headers=tenant_headers)
    assert read.status_code == 200
    assert read.json() == item

    patched = await api.patch(url, json={"attributes": {"tier": "gold"}}, headers={**tenant_headers, "If-Match": '"1"'})
    assert patched.status_code == 200
    assert patched.headers["ETag"] == '"2"'
    assert patched.json()["attributes"] == {"tier": "gold"}

    assert (await api.delete(url, headers=tenant_headers)).status_code == 204
    assert (await api.get(url, headers=tenant_headers)).status_code == 404
    listed = await api.get(f"{BASE}/{resource}", headers=tenant_headers)
    assert item["id"] not in [i["id"] for i in listed.json()["items"]]
    with_deleted = await api.get(f"{BASE}/{resource}", params={"include_deleted": "true"}, headers=tenant_headers)
    assert item["id"] in [i["id"] for i in with_deleted.json()["items"]]

    restored = await api.post(f"{url}/restore", headers=tenant_headers)
    assert restored.status_code == 200
    assert restored.json()["deleted_at"] is None
    assert (await api.post(f"{url}/restore", headers=tenant_headers)).status_code == 404


async def test_stale_if_match_is_412(api: httpx.AsyncClient, tenant_headers: dict[str, str]) -> None:
    account = await _create(api, tenant_headers, "accounts", {"name": "Racy"})
    url = f"{BASE}/accounts/{account['id']}"
    ok = await api.patch(url, json={"city": "Cluj"}, headers={**tenant_headers, "If-Match": '"1"'})
    assert ok.status_code == 200
    stale = await api.patch(url, json={"city": "Iasi"}, headers={**tenant_headers, "If-Match": '"1"'})
    assert stale.status_code == 412
    assert stale.json()["current_version"] == 2
    bad = await api.patch(url, json={"city": "Iasi"}, headers={**tenant_headers, "If-Match": "yesterday"})
    assert bad.status_code == 422


async def test_two_concurrent_conflicting_patches_one_wins_one_412(
    api: httpx.AsyncClient, tenant_headers: dict[str, str]
) -> None:
    account = await _create(api, tenant_headers, "accounts", {"name": "Contended"})
    url = f"{BASE}/accounts/{account['id']}"
    headers = {**tenant_headers, "If-Match": '"1"'}
    first, second = await asyncio.gather(
        api.patch(url, json={"city": "Cluj"}, headers=headers),
        api.patch(url, json={"city": "Timisoara"}, headers=headers),
    )
    assert sorted([first.status_code, second.status_code]) == [200, 412]
    final = (await api.get(url, headers=tenant_headers)).json()
    assert final["version"] == 2


async def test_listing_filters_searches_sorts_and_pages(api: httpx.AsyncClient, tenant_headers: dict[str, str]) -> None:
    names = ["Alfa Trans", "Beta Soft", "Gamma Trans", "Delta Foods", "Epsilon Trans"]
    for i, name in enumerate(names):
        await _create(api, tenant_headers, "accounts", {"name": name, "industry": "logistics" if i % 2 == 0 else "it"})
    found = await api.get(f"{BASE}/accounts", params={"q": "trans", "sort": "name"}, headers=tenant_headers)
    assert [a["name"] for a in found.json()["items"]] == ["Alfa Trans", "Epsilon Trans", "Gamma Trans"]
    filtered = await api.get(f"{BASE}/accounts", params={"industry": "it"}, headers=tenant_headers)
    assert {a["name"] for a in filtered.json()["items"]} == {"Beta Soft", "Delta Foods"}

    seen = await all_names(api, f"{BASE}/accounts", {"sort": "-name", "limit": 2}, tenant_headers)
    assert seen == sorted(names, reverse=True)


@pytest.mark.parametrize(
    ("params", "status"),
    [
        ({"sort": "tid"}, 422),
        ({"limit": 0}, 422),
        ({"limit": 501}, 422),
        ({"cursor": "garbage!"}, 422),
        ({"include_deleted": "maybe"}, 422),
    ],
)
async def test_bad_list_parameters_are_422(
    api: httpx.AsyncClient, tenant_headers: dict[str, str], params: dict[str, object], status: int
) -> None:
    response = await api.get(f"{BASE}/accounts", params=params, headers=tenant_headers)
    assert response.status_code == status, response.text


async def test_include_deleted_needs_admin(api: httpx.AsyncClient, auth: Auth) -> None:
    response = await api.get(f"{BASE}/accounts", params={"include_deleted": "true"}, headers=auth())
    assert response.status_code == 403


async def test_other_tenants_ids_are_404_on_every_route(api: httpx.AsyncClient, auth: Auth) -> None:
    owner = auth(tid=f"owner-{uuid.uuid4().hex[:6]}", scopes=("crm:read", "crm:write", "crm:admin", "marketing:send"))
    intruder = auth(
        tid=f"intruder-{uuid.uuid4().hex[:6]}", scopes=("crm:read", "crm:write", "crm:admin", "marketing:send")
    )
    ids = {r: (await _create(api, owner, r, body))["id"] for r, body in MINIMAL.items()}
    ids["opportunities"] = (await _opportunity(api, owner))["id"]
    calls: list[tuple[str, str, dict[str, object] | None]] = []
    for resource, item in ids.items():
        url = f"{BASE}/{resource}/{item}"
        calls += [
            ("GET", url, None),
            ("PATCH", url, {"attributes": {}}),
            ("DELETE", url, None),
            ("POST", f"{url}/restore", None),
        ]
    calls += [
        ("POST", f"{BASE}/leads/{ids['leads']}/qualify", {"score": 90}),
        ("POST", f"{BASE}/leads/{ids['leads']}/convert", {}),
        ("POST", f"{BASE}/opportunities/{ids['opportunities']}/stage", {"stage": "qualification"}),
        ("GET", f"{BASE}/opportunities/{ids['opportunities']}/stage", None),
        ("POST", f"{BASE}/campaigns/{ids['campaigns']}/send", {}),
    ]
    for method, url, body in calls:
        response = await api.request(method, url, json=body, headers=intruder)
        assert response.status_code == 404, (method, url, response.status_code)
    for resource in ids:
        listing = await api.get(f"{BASE}/{resource}", headers=intruder)
        assert listing.json()["items"] == []
    for resource, item in ids.items():  # nothing changed for the owner
        assert (await api.get(f"{BASE}/{resource}/{item}", headers=owner)).json()["version"] == 1


@pytest.mark.parametrize(
    ("resource", "body", "field"),
    [
        ("accounts", {}, "body.name"),
        ("accounts", {"name": ""}, "body.name"),
        ("accounts", {"name": "X", "cui": "12AB"}, "body.cui"),
        ("accounts", {"name": "X", "country": "Romania"}, "body.country"),
        ("contacts", {"first_name": "A", "email": "not-an-email"}, "body.email"),
        ("leads", {"email": "a@b"}, "body.email"),
        ("opportunities", {"name": "x", "account_id": "not-a-uuid"}, "body.account_id"),
        ("opportunities", {"name": "x", "account_id": str(uuid.uuid4()), "amount": -1}, "body.amount"),
        ("campaigns", {"name": "x", "channel": "pigeon"}, "body.channel"),
    ],
)
async def test_invalid_bodies_name_the_field(
    api: httpx.AsyncClient, tenant_headers: dict[str, str], resource: str, body: dict[str, object], field: str
) -> None:
    response = await api.post(f"{BASE}/{resource}", json=body, headers=tenant_headers)
    assert response.status_code == 422
    assert field in [e["field"] for e in response.json()["errors"]]


async def test_cui_with_a_wrong_check_digit_is_422_before_any_lookup(
    api: httpx.AsyncClient, tenant_headers: dict[str, str]
) -> None:
    response = await api.post(f"{BASE}/accounts", json={"name": "X", "cui": "18547291"}, headers=tenant_headers)
    assert response.status_code == 422
    assert "check digit" in response.json()["detail"]
    normalized = await _create(api, tenant_headers, "accounts", {"name": "Y", "cui": "RO18547290"})
    assert normalized["cui"] == "18547290"
    duplicate = await api.post(f"{BASE}/accounts", json={"name": "Z", "cui": "18547290"}, headers=tenant_headers)
    assert duplicate.status_code == 409


async def test_unknown_references_and_nulls_are_422_not_500(
    api: httpx.AsyncClient, tenant_headers: dict[str, str]
) -> None:
    ghost = await api.post(
        f"{BASE}/opportunities", json={"name": "x", "account_id": str(uuid.uuid4())}, headers=tenant_headers
    )
    assert ghost.status_code == 422
    account = await _create(api, tenant_headers, "accounts", {"name": "Nully"})
    nulled = await api.patch(f"{BASE}/accounts/{account['id']}", json={"name": None}, headers=tenant_headers)
    assert nulled.status_code == 422
    nul_byte = await api.post(f"{BASE}/accounts", json={"name": "bad\u0000name"}, headers=tenant_headers)
    assert nul_byte.status_code == 422


@pytest.mark.parametrize(
    ("content", "content_type", "status"),
    [
        (b"{not json", "application/json", 400),
        (b"[1, 2, 3]", "application/json", 422),
        (b"name=x", "application/x-www-form-urlencoded", 422),
        (b'{"name": "' + b"x" * (2 << 20) + b'"}', "application/json", 413),
    ],
)
async def test_malformed_and_oversized_bodies(
    api: httpx.AsyncClient, tenant_headers: dict[str, str], content: bytes, content_type: str, status: int
) -> None:
    response = await api.post(
        f"{BASE}/accounts", content=content, headers={**tenant_headers, "Content-Type": content_type}
    )
    assert response.status_code == status
    assert response.headers["content-type"] == "application/problem+json"


async def test_correlation_id_is_echoed(api: httpx.AsyncClient, tenant_headers: dict[str, str]) -> None:
    response = await api.get(f"{BASE}/accounts", headers={**tenant_headers, "x-corr-id": "abc-123"})
    assert response.headers["x-corr-id"] == "abc-123"
    generated = await api.get(f"{BASE}/accounts", headers=tenant_headers)
    assert len(generated.headers["x-corr-id"]) == 32
