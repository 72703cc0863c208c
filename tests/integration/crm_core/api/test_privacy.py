"""Privacy over the CRM API: the tenant's redaction settings and each contact's consent ledger, which the next
campaign send obeys."""

from __future__ import annotations

import uuid

import httpx

from crm_core.delivery.worker import DeliveryWorker
from tests.integration.crm_core.api.conftest import Auth
from tests.integration.crm_core.conftest import Sink

SETTINGS = "/v1/crm/privacy/settings"


async def _contact(api: httpx.AsyncClient, headers: dict[str, str], **fields: object) -> str:
    created = await api.post("/v1/crm/contacts", json={"first_name": "Ana", **fields}, headers=headers)
    assert created.status_code == 201, created.text
    return str(created.json()["id"])


async def test_settings_start_at_the_defaults_and_only_an_admin_changes_them(
    api: httpx.AsyncClient, auth: Auth
) -> None:
    tid = f"t-{uuid.uuid4().hex[:8]}"
    reader = auth(tid=tid, scopes=("crm:read", "crm:write"))
    admin = auth(tid=tid, scopes=("crm:admin",))
    first = await api.get(SETTINGS, headers=reader)
    assert first.json() == {
        "redact_transcripts": True,
        "redact_mentions": False,
        "require_call_consent": True,
        "mention_text_days": None,
        "transcript_days": None,
        "tracking_days": None,
        "default": True,
    }
    refused = await api.put(SETTINGS, json={"redact_transcripts": False, "redact_mentions": True}, headers=reader)
    assert refused.status_code == 403
    changed = await api.put(
        SETTINGS,
        json={"redact_transcripts": False, "redact_mentions": True, "require_call_consent": False},
        headers=admin,
    )
    assert changed.status_code == 200, changed.text
    assert (await api.get(SETTINGS, headers=reader)).json() == {
        "redact_transcripts": False,
        "redact_mentions": True,
        "require_call_consent": False,
        "mention_text_days": None,
        "transcript_days": None,
        "tracking_days": None,
        "default": False,
    }
    other = await api.get(SETTINGS, headers=auth(tid=f"t-{uuid.uuid4().hex[:8]}"))
    assert other.json()["default"] is True  # another tenant is untouched
    unknown = await api.put(SETTINGS, json={"redact_transcripts": True, "redact_all": True}, headers=admin)
    assert unknown.status_code == 422
    exported = await api.get("/v1/crm/audit/export", headers=admin)
    assert exported.status_code == 200 and "privacy_settings" in exported.text  # who changed it, and from what


async def test_consents_are_appended_and_the_latest_answer_is_the_state(
    api: httpx.AsyncClient, tenant_headers: dict[str, str]
) -> None:
    contact = await _contact(api, tenant_headers, email="ana@exemplu.ro", consent_marketing=False)
    url = f"/v1/crm/contacts/{contact}/consents"
    empty = (await api.get(url, headers=tenant_headers)).json()
    assert empty["current"] == {"marketing_email": None, "profiling": None, "call_analysis": None}
    granted = await api.post(
        url,
        json={"purpose": "marketing_email", "granted": True, "source": "web_form", "evidence": {"form": "newsletter"}},
        headers=tenant_headers,
    )
    assert granted.status_code == 201, granted.text
    assert (await api.get(f"/v1/crm/contacts/{contact}", headers=tenant_headers)).json()["consent_marketing"] is True
    await api.post(url, json={"purpose": "call_analysis", "granted": True, "source": "call"}, headers=tenant_headers)
    withdrawn = await api.post(
        url, json={"purpose": "marketing_email", "granted": False, "source": "e-mail reply"}, headers=tenant_headers
    )
    assert withdrawn.status_code == 201
    # A grant dated before the withdrawal (paper evidence filed late) does not override it.
    late = await api.post(
        url,
        json={"purpose": "marketing_email", "granted": True, "source": "paper", "occurred_at": "2020-01-01T00:00:00Z"},
        headers=tenant_headers,
    )
    assert late.status_code == 201
    state = (await api.get(url, headers=tenant_headers)).json()
    assert state["current"] == {"marketing_email": False, "profiling": None, "call_analysis": True}
    assert [(h["purpose"], h["granted"], h["source"]) for h in state["history"]] == [
        ("marketing_email", True, "paper"),
        ("marketing_email", True, "web_form"),
        ("call_analysis", True, "call"),
        ("marketing_email", False, "e-mail reply"),
    ]
    assert state["history"][1]["evidence"] == {"form": "newsletter"}
    assert (await api.get(f"/v1/crm/contacts/{contact}", headers=tenant_headers)).json()["consent_marketing"] is False


async def test_bad_consents_and_other_tenants_contacts(api: httpx.AsyncClient, auth: Auth) -> None:
    mine = auth(tid=f"t-{uuid.uuid4().hex[:8]}")
    theirs = auth(tid=f"t-{uuid.uuid4().hex[:8]}")
    contact = await _contact(api, mine)
    url = f"/v1/crm/contacts/{contact}/consents"
    bad = await api.post(url, json={"purpose": "telepathy", "granted": True, "source": "x"}, headers=mine)
    assert bad.status_code == 422 and "purpose" in bad.text
    no_source = await api.post(url, json={"purpose": "profiling", "granted": True, "source": ""}, headers=mine)
    assert no_source.status_code == 422
    for method in ("get", "post"):
        kwargs = {"json": {"purpose": "profiling", "granted": True, "source": "x"}} if method == "post" else {}
        answer = await getattr(api, method)(url, headers=theirs, **kwargs)
        assert answer.status_code == 404, answer.text
    read_only = auth(tid=f"t-{uuid.uuid4().hex[:8]}", scopes=("crm:read",))
    assert (
        await api.post(url, json={"purpose": "profiling", "granted": True, "source": "x"}, headers=read_only)
    ).status_code == 403


async def test_a_withdrawal_in_the_ledger_stops_the_next_send(
    api: httpx.AsyncClient, auth: Auth, worker: DeliveryWorker, smtp_sink: Sink
) -> None:
    headers = auth(tid=f"t-{uuid.uuid4().hex[:8]}", scopes=("crm:read", "crm:write", "marketing:send"))
    email = f"ana.{uuid.uuid4().hex[:6]}@ok.test"
    contact = await _contact(api, headers, email=email)
    consents = f"/v1/crm/contacts/{contact}/consents"

    async def send(name: str) -> httpx.Response:
        body = {"name": name, "subject": "Salut", "html": "<p>Salut</p>"}
        made = await api.post("/v1/crm/campaigns", json=body, headers=headers)
        sent = await api.post(f"/v1/crm/campaigns/{made.json()['id']}/send", json={}, headers=headers)
        await worker.drain()
        return sent

    granted = {"purpose": "marketing_email", "granted": True, "source": "web_form"}
    assert (await api.post(consents, json=granted, headers=headers)).status_code == 201
    first = await send("first")
    assert first.status_code == 200 and first.json()["recipients"] == 1, first.text
    assert len(smtp_sink.to(email)) == 1
    withdrawn = {**granted, "granted": False, "source": "unsubscribe page"}
    assert (await api.post(consents, json=withdrawn, headers=headers)).status_code == 201
    second = await send("second")
    assert second.status_code == 409 and "no contact with marketing consent" in second.json()["detail"]
    assert len(smtp_sink.to(email)) == 1  # nothing more reached them
