"""ANAF client and compliance checks against a local ANAF-shaped server and real Redis."""

from __future__ import annotations

import asyncio
import itertools
import uuid
from collections.abc import AsyncIterator, Iterator

import asyncpg
import httpx
import pytest
import redis.asyncio as aioredis

from crm_core.anaf.client import AnafClient, AnafUnavailable
from crm_core.anaf.cui import control_digit
from crm_core.anaf.resilience import CircuitBreaker
from crm_core.api.app import create_app
from crm_core.repositories.accounts import ACCOUNTS
from crm_core.schemas.enums import ComplianceStatus
from crm_core.services.compliance import ComplianceWorker
from infra.db.tenancy import TenantContext, tenant_transaction
from infra.local_servers import RunningServer
from infra.security import mint_token
from infra.settings import Settings
from tests.support.databases import ProvisionedDatabase
from tests.support.fake_anaf import FakeAnaf

ACTIVE, INACTIVE, DEREGISTERED = "18547290", "14399840", "13548146"


def valid_cui(n: int) -> str:
    body = str(2_000_000 + n)
    return body + str(control_digit(body))


@pytest.fixture
def fake_anaf() -> Iterator[FakeAnaf]:
    server = FakeAnaf(timeout_sleep_s=0.5).start()
    yield server
    server.stop()


@pytest.fixture
async def redis_client(redis_server: RunningServer) -> AsyncIterator[aioredis.Redis]:
    client = aioredis.Redis.from_url(redis_server.url)
    await client.flushdb()
    yield client
    await client.aclose()


def make_client(fake: FakeAnaf, redis: aioredis.Redis, **overrides: object) -> AnafClient:
    options: dict[str, object] = {
        "timeout_s": 0.3,
        "min_interval_s": 0.05,
        "backoff_base_s": 0.01,
        "max_attempts": 3,
    }
    options.update(overrides)
    return AnafClient(base_url=fake.url, redis=redis, **options)  # type: ignore[arg-type]


async def test_found_and_not_found_are_mapped(fake_anaf: FakeAnaf, redis_client: aioredis.Redis) -> None:
    client = make_client(fake_anaf, redis_client)
    unknown = valid_cui(1)
    records = await client.lookup([f"RO{ACTIVE}", INACTIVE, DEREGISTERED, unknown])
    await client.aclose()
    active = records[ACTIVE]
    assert active.official_name == "EXEMPLU LOGISTIC SRL"
    assert active.registration_number == "J12/3456/2006"
    assert active.vat_registered is True
    assert active.e_invoice_registered is True
    assert active.registration_status is not None
    assert active.registration_status.startswith("INREGISTRAT")
    assert active.compliance is ComplianceStatus.VERIFIED
    assert records[INACTIVE].compliance is ComplianceStatus.INACTIVE
    assert records[DEREGISTERED].compliance is ComplianceStatus.INACTIVE
    assert records[unknown].compliance is ComplianceStatus.NOT_FOUND
    request = fake_anaf.calls[0].body
    assert sorted(item["cui"] for item in request) == sorted(int(c) for c in (ACTIVE, INACTIVE, DEREGISTERED, unknown))
    assert all(len(item["data"]) == 10 for item in request)


async def test_batches_of_at_most_100_spaced_by_the_rate_limit(
    fake_anaf: FakeAnaf, redis_client: aioredis.Redis
) -> None:
    client = make_client(fake_anaf, redis_client, min_interval_s=0.2)
    records = await client.lookup([valid_cui(i) for i in range(250)])
    await client.aclose()
    assert len(records) == 250
    # A batch that timed out under load is sent again, so count distinct batches, in order of first sending.
    batches = list(dict.fromkeys(frozenset(item["cui"] for item in call.body) for call in fake_anaf.calls))
    assert [len(batch) for batch in batches] == [100, 100, 50]
    assert len(frozenset().union(*batches)) == 250
    gaps = [b.at - a.at for a, b in zip(fake_anaf.calls, fake_anaf.calls[1:], strict=False)]
    assert min(gaps) >= 0.18


async def test_rate_limit_is_shared_across_clients(fake_anaf: FakeAnaf, redis_client: aioredis.Redis) -> None:
    clients = [make_client(fake_anaf, redis_client, min_interval_s=0.25, cache_ttl_s=0) for _ in range(3)]
    await asyncio.gather(*(c.lookup([valid_cui(i)]) for i, c in enumerate(clients)))
    for c in clients:
        await c.aclose()
    times = sorted(call.at for call in fake_anaf.calls)
    assert len(times) == 3
    assert min(b - a for a, b in itertools.pairwise(times)) >= 0.22


async def test_answers_are_cached_in_redis(fake_anaf: FakeAnaf, redis_client: aioredis.Redis) -> None:
    first = make_client(fake_anaf, redis_client)
    await first.lookup([ACTIVE, valid_cui(7)])
    second = make_client(fake_anaf, redis_client)  # another process would see the same cache
    records = await second.lookup([ACTIVE, valid_cui(7)])
    await first.aclose()
    await second.aclose()
    assert len(fake_anaf.calls) == 1
    assert records[ACTIVE].official_name == "EXEMPLU LOGISTIC SRL"
    assert await redis_client.ttl(f"vettify:anaf:v9:{ACTIVE}:{records[ACTIVE].checked_for_date}") > 0


@pytest.mark.parametrize("failure", ["timeout", "500", "503", "429", "malformed", "maintenance"])
async def test_transient_failures_are_retried(fake_anaf: FakeAnaf, redis_client: aioredis.Redis, failure: str) -> None:
    fake_anaf.script.extend([failure, "ok"])
    client = make_client(fake_anaf, redis_client)
    records = await client.lookup([ACTIVE])
    await client.aclose()
    assert records[ACTIVE].found
    assert len(fake_anaf.calls) == 2


async def test_http_404_with_a_valid_body_is_an_answer(fake_anaf: FakeAnaf, redis_client: aioredis.Redis) -> None:
    fake_anaf.script.append("404-json")
    client = make_client(fake_anaf, redis_client)
    records = await client.lookup([ACTIVE, valid_cui(3)])
    await client.aclose()
    assert records[ACTIVE].found
    assert not records[valid_cui(3)].found
    assert len(fake_anaf.calls) == 1


async def test_persistent_failure_raises_unavailable_then_the_breaker_opens(
    fake_anaf: FakeAnaf, redis_client: aioredis.Redis
) -> None:
    fake_anaf.script.extend(["500"] * 6)
    client = make_client(fake_anaf, redis_client, breaker=CircuitBreaker(failure_threshold=2, reset_after_s=0.5))
    for _ in range(2):
        with pytest.raises(AnafUnavailable, match="after 3 attempts"):
            await client.lookup([valid_cui(11)])
    calls = len(fake_anaf.calls)
    with pytest.raises(AnafUnavailable, match="paused"):
        await client.lookup([valid_cui(11)])
    assert len(fake_anaf.calls) == calls  # short-circuited: ANAF was not called
    await asyncio.sleep(0.55)
    fake_anaf.script.clear()
    assert (await client.lookup([ACTIVE]))[ACTIVE].found  # half-open trial succeeds, breaker closes
    assert client.breaker.state == "closed"
    await client.aclose()


async def test_default_limits_match_anafs_rules(redis_client: aioredis.Redis) -> None:
    client = AnafClient(base_url="http://127.0.0.1:9", redis=redis_client)
    assert client.limiter.interval_ms == 1000
    assert client.timeout_s == 10.0
    await client.aclose()


# --- compliance in the CRM ----------------------------------------------------
async def test_worker_settles_pending_accounts_and_rechecks_when_anaf_returns(
    fake_anaf: FakeAnaf,
    redis_client: aioredis.Redis,
    app_pool: asyncpg.Pool,
    worker_pool: asyncpg.Pool,
) -> None:
    tenant = TenantContext(tid=f"anaf-{uuid.uuid4().hex[:6]}", mid="m-1")
    unknown = valid_cui(42)
    async with tenant_transaction(app_pool, tenant) as conn:
        ids = {}
        for cui in (ACTIVE, INACTIVE, unknown):
            row = await ACCOUNTS.insert(
                conn, tenant=tenant, values={"name": f"A{cui}", "cui": cui, "compliance_status": "pending"}
            )
            ids[cui] = row.id
    client = make_client(fake_anaf, redis_client, cache_ttl_s=0)
    worker = ComplianceWorker(worker_pool, client)

    fake_anaf.script.extend(["503"] * 3)  # ANAF down: everything stays pending
    await worker.run_once()
    async with tenant_transaction(app_pool, tenant) as conn:
        still = [await ACCOUNTS.get(conn, tenant=tenant, id=i) for i in ids.values()]
    assert {a.compliance_status for a in still if a} == {ComplianceStatus.PENDING}
    assert all(a and a.compliance_checked_at is not None for a in still)

    while await worker.run_once() > 0:  # ANAF back: the automatic re-check settles them
        pass
    async with tenant_transaction(app_pool, tenant) as conn:
        settled = {cui: await ACCOUNTS.get(conn, tenant=tenant, id=i) for cui, i in ids.items()}
    await client.aclose()
    assert settled[ACTIVE] is not None
    assert settled[ACTIVE].compliance_status is ComplianceStatus.VERIFIED
    assert settled[ACTIVE].anaf_data is not None
    assert settled[ACTIVE].anaf_data["official_name"] == "EXEMPLU LOGISTIC SRL"
    assert settled[ACTIVE].address == "JUD. CLUJ, MUN. CLUJ-NAPOCA, STR. FABRICII, NR.12"
    assert settled[INACTIVE] is not None
    assert settled[INACTIVE].compliance_status is ComplianceStatus.INACTIVE
    assert settled[unknown] is not None
    assert settled[unknown].compliance_status is ComplianceStatus.NOT_FOUND


@pytest.fixture
async def anaf_api(
    fake_anaf: FakeAnaf, redis_server: RunningServer, migrated_database: ProvisionedDatabase, tmp_path: object
) -> AsyncIterator[httpx.AsyncClient]:
    settings = Settings(
        anaf_base_url=fake_anaf.url,
        redis_url=redis_server.url,
        anaf_timeout_s=0.3,
        anaf_min_interval_s=0.05,
        anaf_cache_ttl_s=0,
        db_pool_min_size=1,
    )
    app = create_app(settings, database_url=migrated_database.urls.app)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://crm.test") as client:
            client.headers["Authorization"] = "Bearer " + mint_token(
                settings, sub="u", tid=f"anaf-api-{uuid.uuid4().hex[:6]}", mid="m", scopes=("crm:read", "crm:write")
            )
            yield client


async def test_account_writes_queue_a_check_and_the_endpoint_runs_it(
    anaf_api: httpx.AsyncClient, fake_anaf: FakeAnaf
) -> None:
    created = (await anaf_api.post("/v1/crm/accounts", json={"name": "Exemplu", "cui": f"RO{ACTIVE}"})).json()
    assert created["compliance_status"] == "pending"
    checked = await anaf_api.post(f"/v1/crm/accounts/{created['id']}/compliance-check")
    assert checked.status_code == 200
    body = checked.json()
    assert body["compliance_status"] == "verified"
    assert body["anaf_data"]["e_invoice_registered"] is True
    assert body["anaf_data"]["vat_registered"] is True

    fake_anaf.script.extend(["timeout"] * 4)
    again = (await anaf_api.post(f"/v1/crm/accounts/{created['id']}/compliance-check")).json()
    assert again["compliance_status"] == "pending"  # unavailable: retried in the background
    assert again["anaf_data"]["official_name"] == "EXEMPLU LOGISTIC SRL"  # last known data kept

    no_cui = (await anaf_api.post("/v1/crm/accounts", json={"name": "No CUI"})).json()
    assert no_cui["compliance_status"] == "unchecked"
    missing = await anaf_api.post(f"/v1/crm/accounts/{no_cui['id']}/compliance-check")
    assert missing.status_code == 422


async def test_recheck_command_checks_every_tenant(
    fake_anaf: FakeAnaf,
    redis_server: RunningServer,
    app_pool: asyncpg.Pool,
    migrated_database: ProvisionedDatabase,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from serve.cli import main

    tenants = [TenantContext(tid=f"batch-{i}-{uuid.uuid4().hex[:4]}", mid="m") for i in range(2)]
    ids = []
    for tenant in tenants:
        async with tenant_transaction(app_pool, tenant) as conn:
            row = await ACCOUNTS.insert(conn, tenant=tenant, values={"name": "B", "cui": ACTIVE})
            ids.append((tenant, row.id))
    monkeypatch.setenv("VETTIFY_ANAF_BASE_URL", fake_anaf.url)
    monkeypatch.setenv("VETTIFY_REDIS_URL", redis_server.url)
    monkeypatch.setenv("VETTIFY_ANAF_MIN_INTERVAL_S", "0.05")
    assert migrated_database.urls.worker is not None
    code = await asyncio.to_thread(main, ["anaf", "recheck", "--dsn", migrated_database.urls.worker])
    assert code == 0
    assert "[anaf] done" in capsys.readouterr().out
    for tenant, account_id in ids:
        async with tenant_transaction(app_pool, tenant) as conn:
            account = await ACCOUNTS.get(conn, tenant=tenant, id=account_id)
        assert account is not None
        assert account.compliance_status is ComplianceStatus.VERIFIED
