"""CRM REST latency and throughput, side by side with raw asyncpg for the same operations.

    python -m benchmarks.crm_rest [--accounts 100000] [--duration 20] [--clients 50 200]

Starts an embedded PostgreSQL (durable: fsync on), seeds one tenant with
``--accounts`` accounts (plus contacts and opportunities), serves the CRM core
with uvicorn (``--workers`` processes) and drives a mixed workload from
closed-loop clients:

    45% GET /accounts/{id}   20% GET /accounts?sort=name   10% GET /accounts?q=…
    15% PATCH /accounts/{id} (audited)                     10% POST /leads (audit + outbox event)

Each client count runs twice: as *interactive users* (``--think-ms`` pause
between requests, how dashboards and CRM screens behave) and *saturated* (no
pause: the server's limit). The baseline runs the same statements with plain
asyncpg inside the same tenant transaction (set_config + query), at the same
concurrency, in this process. Results: table on stdout and
``benchmarks/results/crm_rest.json``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import random
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg

from infra.db.bootstrap import DsnFactory, prepare_embedded_database
from infra.db.embedded import EmbeddedPostgres
from infra.net import free_port
from infra.security import mint_token
from infra.settings import Settings

RESULTS = Path(__file__).resolve().parent / "results" / "crm_rest.json"
TID, MID = "bench", "main"
WORDS = ["Trans", "Logistic", "Soft", "Agro", "Construct", "Medical", "Foods", "Energy", "Retail", "Tech"]
MIX = [("get_account", 45), ("list_accounts", 20), ("search_accounts", 10), ("update_account", 15), ("create_lead", 10)]

SEED_SQL = [
    """INSERT INTO crm.accounts (tid, mid, name, industry, city, country)
       SELECT $1, $2, (ARRAY['Trans','Logistic','Soft','Agro','Construct','Medical','Foods','Energy','Retail','Tech'])
              [1 + g % 10] || ' ' || g || ' SRL', (ARRAY['it','logistics','retail','agro'])[1 + g % 4],
              (ARRAY['Cluj','Iasi','Timisoara','Bucuresti','Brasov'])[1 + g % 5], 'RO'
       FROM generate_series(1, $3::int) g""",
    """INSERT INTO crm.contacts (tid, mid, account_id, first_name, last_name, email)
       SELECT tid, mid, id, 'Ana', 'Pop', 'ana' || row_number() OVER () || '@example.ro'
       FROM crm.accounts WHERE tid = $1 AND mid = $2 AND random() < 0.5""",
    """INSERT INTO crm.opportunities (tid, mid, account_id, name, amount)
       SELECT tid, mid, id, 'Deal ' || name, (random() * 100000)::numeric(18, 2)
       FROM crm.accounts WHERE tid = $1 AND mid = $2 AND random() < 0.3""",
]

RAW = {
    "get": "SELECT * FROM crm.accounts WHERE tid = $1 AND mid = $2 AND id = $3 AND deleted_at IS NULL",
    "list": "SELECT * FROM crm.accounts WHERE tid = $1 AND mid = $2 AND deleted_at IS NULL "
    "ORDER BY name ASC, id ASC LIMIT 21",
    "search": "SELECT * FROM crm.accounts WHERE tid = $1 AND mid = $2 AND (name ILIKE $3 OR cui ILIKE $3 "
    "OR domain ILIKE $3 OR city ILIKE $3) AND deleted_at IS NULL ORDER BY created_at DESC, id DESC LIMIT 21",
    "update": "UPDATE crm.accounts SET city = $4, updated_at = now(), version = version + 1 "
    "WHERE tid = $1 AND mid = $2 AND id = $3 AND deleted_at IS NULL RETURNING *",
    "audit": "INSERT INTO crm.audit_log (tid, mid, actor, action, entity_type, entity_id) "
    "VALUES ($1, $2, 'bench', 'update', 'account', $3)",
    "lead": "INSERT INTO crm.leads (tid, mid, email, source) VALUES ($1, $2, $3, 'bench') RETURNING *",
    "outbox": "INSERT INTO crm.outbox (tid, mid, aggregate_type, aggregate_id, event_type, payload) "
    "VALUES ($1, $2, 'lead', $3, 'crm.lead.created', '{}'::jsonb)",
}


@dataclass
class RunResult:
    target: str
    clients: int
    think_ms: int
    requests: int
    errors: int
    duration_s: float
    throughput_rps: float
    p50_ms: float
    p95_ms: float
    p99_ms: float
    per_operation_p95_ms: dict[str, float] = field(default_factory=dict)


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q / 100 * len(ordered)) - 1))
    return ordered[index]


def pick_operation(rng: random.Random) -> str:
    return rng.choices([name for name, _ in MIX], weights=[w for _, w in MIX])[0]


async def closed_loop(
    run_one: Callable[[str, random.Random], Awaitable[bool]],
    *,
    target: str,
    clients: int,
    duration_s: float,
    think_ms: int,
    warmup_s: float = 2.0,
) -> RunResult:
    """``clients`` loops each doing request → (think) → request until the deadline."""
    latencies: dict[str, list[float]] = {name: [] for name, _ in MIX}
    errors = 0
    started = time.monotonic()
    measure_from = started + warmup_s
    deadline = measure_from + duration_s

    async def client(seed: int) -> None:
        nonlocal errors
        rng = random.Random(seed)
        if think_ms:
            await asyncio.sleep(rng.random() * think_ms / 1000)  # spread the arrivals
        while (now := time.monotonic()) < deadline:
            operation = pick_operation(rng)
            ok = await run_one(operation, rng)
            done = time.monotonic()
            if now >= measure_from:
                latencies[operation].append((done - now) * 1000)
                errors += 0 if ok else 1
            if think_ms:
                await asyncio.sleep(rng.expovariate(1000 / think_ms))

    await asyncio.gather(*(client(i) for i in range(clients)))
    all_latencies = [v for values in latencies.values() for v in values]
    return RunResult(
        target=target,
        clients=clients,
        think_ms=think_ms,
        requests=len(all_latencies),
        errors=errors,
        duration_s=duration_s,
        throughput_rps=round(len(all_latencies) / duration_s, 1),
        p50_ms=round(percentile(all_latencies, 50), 2),
        p95_ms=round(percentile(all_latencies, 95), 2),
        p99_ms=round(percentile(all_latencies, 99), 2),
        per_operation_p95_ms={k: round(percentile(v, 95), 2) for k, v in latencies.items() if v},
    )


class ApiTarget:
    def __init__(self, base_url: str, token: str, account_ids: list[uuid.UUID]) -> None:
        self.base = f"{base_url}/v1/crm"
        self.headers = {"Authorization": f"Bearer {token}"}
        self.ids = [str(i) for i in account_ids]
        self.session: aiohttp.ClientSession | None = None

    async def __aenter__(self) -> ApiTarget:
        connector = aiohttp.TCPConnector(limit=0, limit_per_host=0)
        self.session = aiohttp.ClientSession(headers=self.headers, connector=connector)
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self.session is not None
        await self.session.close()

    async def run(self, operation: str, rng: random.Random) -> bool:
        assert self.session is not None
        account = rng.choice(self.ids)
        if operation == "get_account":
            request = self.session.get(f"{self.base}/accounts/{account}")
        elif operation == "list_accounts":
            request = self.session.get(f"{self.base}/accounts", params={"sort": "name", "limit": "20"})
        elif operation == "search_accounts":
            request = self.session.get(f"{self.base}/accounts", params={"q": rng.choice(WORDS), "limit": "20"})
        elif operation == "update_account":
            request = self.session.patch(f"{self.base}/accounts/{account}", json={"city": f"City {rng.randint(1, 99)}"})
        else:
            request = self.session.post(f"{self.base}/leads", json={"email": f"{uuid.uuid4().hex[:12]}@bench.ro"})
        async with request as response:
            await response.read()
            return response.status < 400


class RawTarget:
    """The same statements with plain asyncpg (no HTTP, no FastAPI, no pydantic)."""

    def __init__(self, pool: asyncpg.Pool, account_ids: list[uuid.UUID]) -> None:
        self.pool = pool
        self.ids = account_ids

    async def run(self, operation: str, rng: random.Random) -> bool:
        account = rng.choice(self.ids)
        async with self.pool.acquire() as conn, conn.transaction():
            await conn.execute("SELECT set_config('app.tid', $1, true), set_config('app.whid', '', true)", TID)
            if operation == "get_account":
                await conn.fetchrow(RAW["get"], TID, MID, account)
            elif operation == "list_accounts":
                await conn.fetch(RAW["list"], TID, MID)
            elif operation == "search_accounts":
                await conn.fetch(RAW["search"], TID, MID, f"%{rng.choice(WORDS)}%")
            elif operation == "update_account":
                await conn.fetchrow(RAW["update"], TID, MID, account, f"City {rng.randint(1, 99)}")
                await conn.execute(RAW["audit"], TID, MID, account)
            else:
                lead = await conn.fetchrow(RAW["lead"], TID, MID, f"{uuid.uuid4().hex[:12]}@bench.ro")
                await conn.execute(RAW["outbox"], TID, MID, lead["id"])
        return True


def start_api(urls: Any, port: int, workers: int, data_dir: Path) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "VETTIFY_DATABASE_URL": urls.app,
        "VETTIFY_WORKER_DATABASE_URL": urls.worker,
        "VETTIFY_DATA_DIR": str(data_dir),
        "VETTIFY_DB_POOL_MAX_SIZE": "40",
        "VETTIFY_LOG_LEVEL": "WARNING",
    }
    argv = [
        sys.executable,
        "-m",
        "uvicorn",
        "crm_core.api.app:create_app",
        "--factory",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--workers",
        str(workers),
        "--log-level",
        "warning",
        "--no-access-log",
        "--loop",
        "uvloop",
        "--http",
        "httptools",
    ]
    return subprocess.Popen(argv, env=env, start_new_session=True)


async def wait_healthy(url: str, timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    async with aiohttp.ClientSession() as session:
        while time.monotonic() < deadline:
            try:
                async with session.get(f"{url}/health") as response:
                    if response.status == 200:
                        return
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.2)
    raise RuntimeError("the CRM API did not become healthy")


async def main_async(args: argparse.Namespace) -> dict[str, Any]:
    work = Path(tempfile.mkdtemp(prefix="vettify-bench-"))
    with EmbeddedPostgres(data_dir=work / "pg", durable=True) as pg:
        urls = await prepare_embedded_database(DsnFactory("127.0.0.1", pg.port))
        print(f"[bench] seeding {args.accounts:,} accounts …", flush=True)
        admin = await asyncpg.connect(urls.admin)
        seeded = time.monotonic()
        for sql in SEED_SQL:
            await admin.execute(sql, TID, MID, *([args.accounts] if "$3" in sql else []))
        await admin.execute("ANALYZE")
        ids = [r["id"] for r in await admin.fetch("SELECT id FROM crm.accounts WHERE tid = $1", TID)]
        counts = {
            t: await admin.fetchval(f"SELECT count(*) FROM crm.{t}") for t in ("accounts", "contacts", "opportunities")
        }
        await admin.close()
        print(f"[bench] seeded {counts} in {time.monotonic() - seeded:.1f}s", flush=True)

        settings = Settings(data_dir=work)
        token = mint_token(settings, sub="bench", tid=TID, mid=MID, scopes=("crm:read", "crm:write"), ttl_s=7200)
        port = free_port()
        server = start_api(urls, port, args.workers, work)
        base = f"http://127.0.0.1:{port}"
        results: list[RunResult] = []
        try:
            await wait_healthy(base)
            raw_pool = await asyncpg.create_pool(urls.app, min_size=10, max_size=40)
            raw = RawTarget(raw_pool, ids)
            for clients in args.clients:
                for think in (args.think_ms, 0):
                    async with ApiTarget(base, token, ids) as api:
                        results.append(
                            await closed_loop(
                                api.run, target="api", clients=clients, duration_s=args.duration, think_ms=think
                            )
                        )
                    print(f"[bench] api  {clients:>3} clients think={think}ms: {results[-1].p95_ms} ms p95", flush=True)
                    results.append(
                        await closed_loop(
                            raw.run, target="raw_asyncpg", clients=clients, duration_s=args.duration, think_ms=think
                        )
                    )
                    print(f"[bench] raw  {clients:>3} clients think={think}ms: {results[-1].p95_ms} ms p95", flush=True)
            await raw_pool.close()
        finally:
            os.killpg(server.pid, signal.SIGTERM)
            server.wait(30)
    return {
        "benchmark": "crm_rest",
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform()},
        "config": {
            "accounts": args.accounts,
            "duration_s": args.duration,
            "workers": args.workers,
            "think_ms": args.think_ms,
            "mix": dict(MIX),
            "postgres": "embedded 18, durable (fsync on)",
            "seeded": counts,
        },
        "goal": "p95 < 250 ms at 200 concurrent clients",
        "results": [asdict(r) for r in results],
    }


def print_table(report: dict[str, Any]) -> None:
    rows = report["results"]
    print("\nCRM REST vs raw asyncpg (same operations, same concurrency)")
    print(f"{'clients':>7} {'think':>6}  {'target':<12}{'rps':>8}{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}{'errors':>8}")
    for r in rows:
        print(
            f"{r['clients']:>7} {r['think_ms']:>5}ms  {r['target']:<12}{r['throughput_rps']:>8.0f}"
            f"{r['p50_ms']:>9.1f}{r['p95_ms']:>9.1f}{r['p99_ms']:>9.1f}{r['errors']:>8}"
        )
    pairs = {}
    for r in rows:
        pairs.setdefault((r["clients"], r["think_ms"]), {})[r["target"]] = r
    print("\noverhead of the API over raw queries (p50 / p95):")
    for (clients, think), pair in pairs.items():
        api, raw = pair["api"], pair["raw_asyncpg"]
        print(
            f"  {clients:>3} clients, think {think:>4} ms: +{api['p50_ms'] - raw['p50_ms']:.1f} ms / "
            f"+{api['p95_ms'] - raw['p95_ms']:.1f} ms"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--accounts", type=int, default=100_000)
    parser.add_argument("--duration", type=float, default=20.0, help="measured seconds per run")
    parser.add_argument("--clients", type=int, nargs="+", default=[50, 200])
    parser.add_argument("--think-ms", type=int, default=1000, help="mean pause of an interactive user")
    parser.add_argument("--workers", type=int, default=2, help="uvicorn worker processes")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()
    report = asyncio.run(main_async(args))
    print_table(report)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2))
    print(f"\nwrote {args.out}")


if __name__ == "__main__":
    main()
