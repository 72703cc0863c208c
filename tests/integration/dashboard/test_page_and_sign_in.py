"""The page's headers and assets, and one-time sign-in tickets redeemed against real Redis."""

from __future__ import annotations

import time

import httpx
from pydantic import SecretStr

from dashboard.login import mint_ticket
from dashboard.views import VIEWS
from infra.security import verify_token
from tests.integration.dashboard.conftest import Dashboard


def test_the_page_has_a_strict_csp_and_every_view(dashboard: Dashboard) -> None:
    page = httpx.get(f"{dashboard.url}/", timeout=10)
    assert page.status_code == 200
    csp = page.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp and "frame-ancestors 'none'" in csp
    assert page.headers["x-content-type-options"] == "nosniff"
    for view in VIEWS:
        assert f'data-view="{view.key}"' in page.text
        script = httpx.get(f"{dashboard.url}/static/{view.script}", timeout=10)
        assert script.status_code == 200 and "export async function mount" in script.text
    assert "<script>" not in page.text  # no inline script anywhere
    vendor = httpx.get(f"{dashboard.url}/static/vendor/uplot/LICENSE", timeout=10)
    assert "MIT" in vendor.text


def test_a_ticket_opens_one_read_only_session_once(dashboard: Dashboard) -> None:
    ticket = mint_ticket(dashboard.settings, tid="acme-ro", mid="main", sub="ana")
    first = httpx.post(f"{dashboard.url}/session", json={"ticket": ticket}, timeout=10)
    assert first.status_code == 200, first.text
    principal = verify_token(dashboard.settings, first.json()["token"])
    assert (principal.tenant.tid, principal.tenant.mid, principal.sub) == ("acme-ro", "main", "ana")
    assert principal.scopes == {"insights:read", "crm:read"}
    again = httpx.post(f"{dashboard.url}/session", json={"ticket": ticket}, timeout=10)
    assert again.status_code == 401
    assert "already used" in again.json()["detail"]


def test_expired_forged_and_api_tokens_are_not_tickets(dashboard: Dashboard) -> None:
    expired = mint_ticket(dashboard.settings, tid="acme-ro", mid="main", ttl_s=1)
    api_token = dashboard.token("acme-ro")  # a valid API token is not a sign-in ticket (another audience)
    forged = mint_ticket(
        dashboard.settings.model_copy(update={"jwt_secret": SecretStr("x" * 40)}), tid="acme-ro", mid="main"
    )
    time.sleep(1.5)
    answers = {
        name: httpx.post(f"{dashboard.url}/session", json={"ticket": t}, timeout=10)
        for name, t in {"expired": expired, "api": api_token, "forged": forged}.items()
    }
    assert {name: a.status_code for name, a in answers.items()} == {"expired": 401, "api": 401, "forged": 401}
    assert "expired" in answers["expired"].json()["detail"]
    assert "not valid" in answers["forged"].json()["detail"]
