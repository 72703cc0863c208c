"""401 without a valid token, 403 without the scope, tenant from the token."""

from __future__ import annotations

import time

import httpx
import jwt
import pytest

from infra.settings import Settings
from tests.integration.crm_core.api.conftest import Auth


async def test_no_token_is_401_with_a_hint(api: httpx.AsyncClient) -> None:
    response = await api.get("/v1/crm/accounts")
    assert response.status_code == 401
    assert response.headers["content-type"] == "application/problem+json"
    assert "vettify token" in response.json()["detail"]


@pytest.mark.parametrize(
    "token",
    ["not-a-jwt", jwt.encode({"sub": "x", "tid": "t", "mid": "m"}, "wrong-secret-0123456789abcdef0123", "HS256")],
)
async def test_bad_token_is_401(api: httpx.AsyncClient, token: str) -> None:
    response = await api.get("/v1/crm/accounts", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 401


async def test_expired_token_is_401(api: httpx.AsyncClient, test_settings: Settings) -> None:
    now = int(time.time())
    claims = {
        "sub": "u",
        "tid": "t",
        "mid": "m",
        "scope": "crm:read",
        "iss": test_settings.jwt_issuer,
        "aud": test_settings.jwt_audience,
        "iat": now - 7200,
        "exp": now - 3600,
    }
    token = jwt.encode(claims, test_settings.jwt_secret.get_secret_value(), "HS256")
    response = await api.get("/v1/crm/accounts", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 401
    assert "expired" in response.json()["detail"]


async def test_token_without_tenant_is_401(api: httpx.AsyncClient, test_settings: Settings) -> None:
    now = int(time.time())
    claims = {
        "sub": "u",
        "scope": "crm:read",
        "iss": test_settings.jwt_issuer,
        "aud": test_settings.jwt_audience,
        "exp": now + 60,
    }
    token = jwt.encode(claims, test_settings.jwt_secret.get_secret_value(), "HS256")
    response = await api.get("/v1/crm/accounts", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 401


async def test_missing_scope_is_403(api: httpx.AsyncClient, auth: Auth) -> None:
    readonly = auth(scopes=("crm:read",))
    assert (await api.get("/v1/crm/accounts", headers=readonly)).status_code == 200
    response = await api.post("/v1/crm/accounts", json={"name": "X"}, headers=readonly)
    assert response.status_code == 403
    assert response.json()["missing_scopes"] == ["crm:write"]


async def test_campaign_send_needs_marketing_scope(api: httpx.AsyncClient, auth: Auth) -> None:
    writer = auth(tid="t-scope", scopes=("crm:read", "crm:write"))
    campaign = (await api.post("/v1/crm/campaigns", json={"name": "Spring"}, headers=writer)).json()
    response = await api.post(f"/v1/crm/campaigns/{campaign['id']}/send", json={}, headers=writer)
    assert response.status_code == 403


def test_vettify_token_command_mints_a_usable_token(
    test_settings: Settings, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from infra.security import verify_token
    from serve.cli import main

    monkeypatch.setenv("VETTIFY_JWT_SECRET", test_settings.jwt_secret.get_secret_value())
    assert main(["token", "--tid", "acme", "--mid", "ro", "--whid", "cluj", "--scope", "crm:read"]) == 0
    principal = verify_token(test_settings, capsys.readouterr().out.strip())
    assert (principal.tenant.tid, principal.tenant.mid, principal.tenant.whid) == ("acme", "ro", "cluj")
    assert principal.scopes == {"crm:read"}
