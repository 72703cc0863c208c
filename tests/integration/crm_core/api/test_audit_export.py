"""Signed audit exports: over HTTP and with the CLI; tampering is detected."""

from __future__ import annotations

import asyncio
import base64
import csv
import hashlib
import io
import json
from pathlib import Path

import httpx
import pytest

from crm_core.services.audit_export import SignatureMismatch, verify_export
from serve.cli import main
from tests.support.databases import ProvisionedDatabase

BASE = "/v1/crm"


async def _audited_history(api: httpx.AsyncClient, headers: dict[str, str]) -> dict:
    lead = (
        await api.post(f"{BASE}/leads", json={"email": "a@exemplu.ro", "company_name": "Ex"}, headers=headers)
    ).json()
    await api.post(f"{BASE}/leads/{lead['id']}/qualify", json={"score": 70}, headers=headers)
    conversion = (await api.post(f"{BASE}/leads/{lead['id']}/convert", json={}, headers=headers)).json()
    await api.post(
        f"{BASE}/opportunities/{conversion['opportunity_id']}/stage", json={"stage": "qualification"}, headers=headers
    )
    return dict(conversion)


async def test_http_export_is_signed_and_verifies(api: httpx.AsyncClient, tenant_headers: dict[str, str]) -> None:
    await _audited_history(api, tenant_headers)
    response = await api.get(f"{BASE}/audit/export", headers=tenant_headers)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert {"convert", "stage_change", "qualify", "create"} <= {r["action"] for r in rows}
    signature = json.loads(base64.b64decode(response.headers["X-Vettify-Signature"]))
    assert signature["rows"] == len(rows)
    public_key = (await api.get(f"{BASE}/audit/public-key")).content
    verify_export(response.content, signature, public_key)
    tampered = response.content.replace(b"convert", b"CONVERT", 1)
    with pytest.raises(SignatureMismatch, match="SHA-256"):
        verify_export(tampered, signature, public_key)
    forged = {**signature, "sha256": hashlib.sha256(tampered).hexdigest()}
    with pytest.raises(SignatureMismatch, match="does not verify"):
        verify_export(tampered, forged, public_key)


async def test_export_needs_admin_and_valid_window(
    api: httpx.AsyncClient, auth: object, tenant_headers: dict[str, str]
) -> None:
    writer = auth(scopes=("crm:read", "crm:write"))  # type: ignore[operator]
    assert (await api.get(f"{BASE}/audit/export", headers=writer)).status_code == 403
    bad = await api.get(
        f"{BASE}/audit/export",
        params={"since": "2026-02-01T00:00:00Z", "until": "2026-01-01T00:00:00Z"},
        headers=tenant_headers,
    )
    assert bad.status_code == 422
    for params in (
        {"until": "0001-01-05T00:00:00Z"},
        {"since": "2026-01-01T00:00:00"},
        {"until": "9999-12-31T23:59:59Z"},
    ):
        response = await api.get(f"{BASE}/audit/export", params=params, headers=tenant_headers)
        assert response.status_code == 422, params  # found by the schemathesis fuzz test: was a 500


async def test_cli_export_and_verify(
    api: httpx.AsyncClient,
    tenant_headers: dict[str, str],
    tmp_path: Path,
    migrated_database: ProvisionedDatabase,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    await _audited_history(api, tenant_headers)
    me = (await api.get(f"{BASE}/accounts", headers=tenant_headers)).json()["items"][0]
    monkeypatch.setenv("VETTIFY_DATA_DIR", str(tmp_path))
    out = tmp_path / "audit.csv"
    args = [
        "audit",
        "export",
        "--tid",
        me["tid"],
        "--mid",
        me["mid"],
        "--out",
        str(out),
        "--dsn",
        migrated_database.urls.app,
    ]
    assert await asyncio.to_thread(main, args) == 0
    assert main(["audit", "verify", str(out), "--public-key", f"{out}.pub.pem"]) == 0
    assert "OK" in capsys.readouterr().out
    out.write_bytes(out.read_bytes() + b"extra,row\n")
    assert main(["audit", "verify", str(out), "--public-key", f"{out}.pub.pem"]) == 1
    assert "INVALID" in capsys.readouterr().err
