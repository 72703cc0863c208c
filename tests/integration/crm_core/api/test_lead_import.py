"""Bulk lead import: validation report, dedupe, idempotent re-run, large files streamed."""

from __future__ import annotations

import asyncio
import csv
import json
import sys
import time
import tracemalloc
import uuid
from pathlib import Path

import asyncpg
import httpx
import pytest

from crm_core.services.lead_import import LeadImporter
from infra.db.tenancy import TenantContext, tenant_transaction
from serve.cli import main
from tests.support.databases import ProvisionedDatabase

URL = "/v1/crm/leads/import"
CSV_HEADERS = {"Content-Type": "text/csv"}

SAMPLE = """Prenume,Nume,E-mail,Firma,CIF,Oras
Ana,Pop,ana@alfa.ro,Alfa SRL,RO18547290,Cluj
Ion,Ionescu,ION@beta.ro,Beta SA,,Iasi
Maria,,not-an-email,Gamma,,Bucuresti
Dan,Dinu,,Delta,18547291,Arad
Ana,Pop,ana@alfa.ro,Alfa SRL duplicate,,Cluj
,,,,,
"Radu, Jr.",Stan,radu@eps.ro,"Epsilon ""Trans"" SRL",,"Timisoara
Nord"
"""


async def test_import_reports_rows_and_is_idempotent(api: httpx.AsyncClient, tenant_headers: dict[str, str]) -> None:
    headers = {**tenant_headers, **CSV_HEADERS}
    first = await api.post(URL, content=SAMPLE.encode(), headers=headers)
    assert first.status_code == 200, first.text
    report = first.json()
    assert (report["rows"], report["inserted"], report["duplicates"], report["invalid"]) == (7, 3, 1, 3)
    by_line = {e["line"]: e["errors"] for e in report["errors"]}
    assert any("email" in m for m in by_line[4])
    assert any("check digit" in m for m in by_line[5])
    assert by_line[7] == ["row has no e-mail, CUI, company, name or phone"]

    leads = (await api.get("/v1/crm/leads", params={"sort": "created_at"}, headers=tenant_headers)).json()["items"]
    by_email = {lead["email"]: lead for lead in leads}
    assert by_email["ana@alfa.ro"]["cui"] == "18547290"
    assert by_email["ion@beta.ro"]["company_name"] == "Beta SA"
    assert by_email["radu@eps.ro"]["company_name"] == 'Epsilon "Trans" SRL'
    assert by_email["radu@eps.ro"]["attributes"]["Oras"] == "Timisoara\nNord"
    assert {lead["source"] for lead in leads} == {"import"}

    again = (await api.post(URL, content=SAMPLE.encode(), headers=headers)).json()
    assert (again["inserted"], again["duplicates"]) == (0, 4)


async def test_explicit_mapping_dry_run_and_bad_requests(
    api: httpx.AsyncClient, tenant_headers: dict[str, str]
) -> None:
    body = b"Who,Mail\nAna,ana@x.ro\n"
    mapping = json.dumps({"Who": "first_name", "Mail": "email"})
    dry = await api.post(
        URL, params={"mapping": mapping, "dry_run": "true"}, content=body, headers={**tenant_headers, **CSV_HEADERS}
    )
    assert dry.json()["inserted"] == 1
    assert (await api.get("/v1/crm/leads", headers=tenant_headers)).json()["items"] == []
    cases = [
        ({"mapping": json.dumps({"Who": "salary"})}, body, CSV_HEADERS, 422),
        ({"mapping": "{oops"}, body, CSV_HEADERS, 422),
        ({}, b"", CSV_HEADERS, 422),
        ({}, b"\xff\xfe\x00garbage", CSV_HEADERS, 422),
        ({}, body, {"Content-Type": "application/json"}, 415),
    ]
    for params, content, extra, status in cases:
        response = await api.post(URL, params=params, content=content, headers={**tenant_headers, **extra})
        assert response.status_code == status, (params, content[:10], response.text)


@pytest.mark.slow
async def test_cli_streams_100k_rows_with_bounded_memory(
    tmp_path: Path,
    app_pool: asyncpg.Pool,
    migrated_database: ProvisionedDatabase,
    capsys: pytest.CaptureFixture[str],
) -> None:
    path = tmp_path / "leads.csv"
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["first_name", "last_name", "email", "company_name", "phone"])
        for i in range(100_000):
            writer.writerow([f"N{i}", f"S{i}", f"lead{i}@firma{i % 997}.ro", f"Firma {i % 997} SRL", f"07{i:08d}"])
    tenant = TenantContext(tid=f"bulk-{uuid.uuid4().hex[:6]}", mid="m-1")

    tracemalloc.start()
    started = time.monotonic()
    report = await LeadImporter(app_pool, tenant, actor="test", batch_size=2000).import_file(path)
    elapsed = time.monotonic() - started
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert (report.rows, report.inserted, report.invalid) == (100_000, 100_000, 0)
    assert peak < 64 * 1024 * 1024, f"peak traced memory {peak / 1e6:.0f} MB"  # the file itself is ~7 MB
    print(f"imported 100k leads in {elapsed:.1f}s, peak traced memory {peak / 1e6:.1f} MB", file=sys.stderr)
    async with tenant_transaction(app_pool, tenant) as conn:
        assert await conn.fetchval("SELECT count(*) FROM crm.leads WHERE tid = $1", tenant.tid) == 100_000
        assert await conn.fetchval("SELECT count(*) FROM crm.outbox WHERE tid = $1", tenant.tid) == 100_000

    args = ["leads", "import", str(path), "--tid", tenant.tid, "--mid", tenant.mid, "--dsn", migrated_database.urls.app]
    assert await asyncio.to_thread(main, args) == 0
    captured = capsys.readouterr()
    assert "[import] 100,000 rows" in captured.err
    assert json.loads(captured.out)["inserted"] == 0  # the re-run is a no-op
