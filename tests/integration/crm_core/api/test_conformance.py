"""HTTP conformance a client relies on: strict bodies, RFC 6750 challenges, strong If-Match, folded search."""

from __future__ import annotations

import httpx
import pytest

from tests.integration.crm_core.api.conftest import Auth, all_names

BASE = "/v1/crm"


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("post", "accounts", {"name": "Acme SRL", "nmae": "typo"}),
        ("post", "contacts", {"first_name": "Ana", "emial": "ana@acme.ro"}),
        ("post", "leads", {"email": "l@acme.ro", "scroe": 10}),
        ("post", "campaigns", {"name": "Spring", "budjet": 5}),
    ],
)
async def test_an_unknown_body_field_is_refused_by_name(
    api: httpx.AsyncClient, tenant_headers: dict[str, str], method: str, path: str, body: dict[str, object]
) -> None:
    response = await getattr(api, method)(f"{BASE}/{path}", json=body, headers=tenant_headers)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    unknown = next(k for k in body if k not in {"name", "first_name", "email"})
    assert unknown in response.text


async def test_an_unknown_field_in_a_patch_is_refused_and_nothing_changes(
    api: httpx.AsyncClient, tenant_headers: dict[str, str]
) -> None:
    created = (await api.post(f"{BASE}/accounts", json={"name": "Acme SRL"}, headers=tenant_headers)).json()
    url = f"{BASE}/accounts/{created['id']}"
    response = await api.patch(url, json={"city": "Cluj", "ctiy": "Cluj"}, headers=tenant_headers)
    assert response.status_code == 422 and "ctiy" in response.text
    assert (await api.get(url, headers=tenant_headers)).json()["version"] == 1


async def test_401_carries_a_bearer_challenge(api: httpx.AsyncClient) -> None:
    missing = await api.get(f"{BASE}/accounts")
    assert missing.status_code == 401
    assert missing.headers["WWW-Authenticate"] == 'Bearer realm="vettify"'  # no token: no error code (§3.1)
    invalid = await api.get(f"{BASE}/accounts", headers={"Authorization": "Bearer not-a-jwt"})
    challenge = invalid.headers["WWW-Authenticate"]
    assert invalid.status_code == 401
    assert challenge.startswith('Bearer realm="vettify", error="invalid_token", error_description="invalid token')


async def test_403_names_the_missing_scope_in_its_challenge(api: httpx.AsyncClient, auth: Auth) -> None:
    reader = auth(tid="t-conformance", scopes=("crm:read",))
    response = await api.post(f"{BASE}/accounts", json={"name": "Acme SRL"}, headers=reader)
    assert response.status_code == 403
    assert (
        response.headers["WWW-Authenticate"] == 'Bearer realm="vettify", error="insufficient_scope", scope="crm:write"'
    )


async def test_if_match_compares_strongly(api: httpx.AsyncClient, tenant_headers: dict[str, str]) -> None:
    created = (await api.post(f"{BASE}/accounts", json={"name": "Acme SRL"}, headers=tenant_headers)).json()
    url = f"{BASE}/accounts/{created['id']}"
    weak = await api.patch(url, json={"city": "Cluj"}, headers={**tenant_headers, "If-Match": 'W/"1"'})
    assert weak.status_code == 412 and weak.json()["code"] == "precondition_failed"
    assert (await api.get(url, headers=tenant_headers)).json()["version"] == 1  # nothing applied
    listed = await api.patch(url, json={"city": "Cluj"}, headers={**tenant_headers, "If-Match": 'W/"7", "1"'})
    assert listed.status_code == 200 and listed.headers["ETag"] == '"2"'
    anything = await api.patch(url, json={"city": "Iasi"}, headers={**tenant_headers, "If-Match": "*"})
    assert anything.status_code == 200 and anything.headers["ETag"] == '"3"'
    gone = await api.patch(
        f"{BASE}/accounts/00000000-0000-4000-8000-000000000000",
        json={"city": "x"},
        headers={**tenant_headers, "If-Match": "*"},
    )
    assert gone.status_code == 404  # "*" needs a current representation


async def test_search_over_http_folds_diacritics_and_ranks(
    api: httpx.AsyncClient, tenant_headers: dict[str, str]
) -> None:
    for name in ("Brașov Trans SRL", "ȘTEFĂNEȘTI Agro SRL", "Țara Noastră SA", "Agro Ștefănești Nord SRL"):
        assert (await api.post(f"{BASE}/accounts", json={"name": name}, headers=tenant_headers)).status_code == 201
    found = await api.get(f"{BASE}/accounts", params={"q": "stefanesti agro srl"}, headers=tenant_headers)
    assert [a["name"] for a in found.json()["items"]] == ["ȘTEFĂNEȘTI Agro SRL", "Agro Ștefănești Nord SRL"]
    cedilla = await api.get(f"{BASE}/accounts", params={"q": "ŢARA"}, headers=tenant_headers)
    assert [a["name"] for a in cedilla.json()["items"]] == ["Țara Noastră SA"]
    nothing = await api.get(f"{BASE}/accounts", params={"q": "   "}, headers=tenant_headers)
    assert nothing.status_code == 422  # nothing to search for, said so


ROMANIAN_ORDER = [
    "alpha",
    "Ana",
    "Ăla",
    "Âna",
    "bravo",
    "Charlie",
    "Delta",
    "Inel",
    "Îmi",
    "Sora",
    "Şase",
    "Tanti",
    "Țară",
    "Zeta",
]


@pytest.mark.parametrize("descending", [False, True])
async def test_sort_by_name_is_romanian_alphabetical_and_pages_in_that_order(
    api: httpx.AsyncClient, tenant_headers: dict[str, str], descending: bool
) -> None:
    for name in reversed(ROMANIAN_ORDER):
        assert (await api.post(f"{BASE}/accounts", json={"name": name}, headers=tenant_headers)).status_code == 201
    params: dict[str, str | int] = {"sort": "-name" if descending else "name", "limit": 3}
    seen = await all_names(api, f"{BASE}/accounts", params, tenant_headers)
    assert seen == (ROMANIAN_ORDER[::-1] if descending else ROMANIAN_ORDER)


async def test_contacts_sort_by_last_name_the_same_way(api: httpx.AsyncClient, tenant_headers: dict[str, str]) -> None:
    for last in ("Țurcanu", "Tudor", "Ștefan", "Sima", "albu"):
        body = {"first_name": "X", "last_name": last}
        assert (await api.post(f"{BASE}/contacts", json=body, headers=tenant_headers)).status_code == 201
    page = (await api.get(f"{BASE}/contacts", params={"sort": "last_name"}, headers=tenant_headers)).json()
    assert [c["last_name"] for c in page["items"]] == ["albu", "Sima", "Ștefan", "Tudor", "Țurcanu"]
