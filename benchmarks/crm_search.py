"""CRM search at 100k accounts: folded, ranked search vs the ASCII-only ILIKE it replaced.

    python -m benchmarks.crm_search [--accounts 100000] [--queries 300]

Seeds one tenant with Romanian company names (diacritics as written, a share in the legacy cedilla forms
and in capitals, the way CSV exports arrive), then searches through ``ACCOUNTS.list`` as the application
role under forced RLS, one query at a time:

* **hit**: three of an account's words (founder, trade, number) typed the way users type them: no
  diacritics, any case, not adjacent in the name;
* **miss**: a made-up word that matches nothing (the case that used to scan the tenant), which also takes
  the near-miss pass;
* **broad**: one town name, matching thousands of rows (reported, no goal: ranking reads every match).

The baseline is the previous query (``ILIKE '%q%'`` on name, CUI, domain and city, newest first) on the
same rows in the same run. Besides latency it reports *found*: the share of hit queries whose account is
on the first page. Writes ``benchmarks/results/crm_search.json`` with the goals of the CRM conformance
issue: p95 < 20 ms for hits and for misses, and every hit found.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import random
import tempfile
import time
import unicodedata
import uuid
from pathlib import Path
from typing import Any

import asyncpg

from crm_core.repositories.accounts import ACCOUNTS
from infra.db.bootstrap import DsnFactory, prepare_embedded_database
from infra.db.embedded import EmbeddedPostgres
from infra.db.pool import init_connection
from infra.db.tenancy import TenantContext, tenant_transaction

RESULTS = Path(__file__).resolve().parent / "results"
TENANT = TenantContext(tid="bench-search", mid="m-1", whid=None)
GOAL_P95_MS = 20.0

TOWNS = [
    "Ștefănești", "Brașov", "Iași", "Timișoara", "Constanța", "Pitești", "Bârlad", "Târgu Mureș", "Călărași",
    "Focșani", "Botoșani", "Mărășești", "Sfântu Gheorghe", "Râmnicu Vâlcea", "Găești", "Țăndărei", "Cluj",
    "Arad", "Oradea", "Suceava", "Buzău", "Galați", "Brăila", "Făgăraș", "Șimleu",
]  # fmt: skip
TRADES = [
    "Agro", "Trans", "Construcții", "Impex", "Comerț", "Distribuție", "Tehnologii", "Servicii", "Logistică",
    "Prod", "Consult", "Farm", "Mobilă", "Panificație", "Lactate",
]  # fmt: skip
FOUNDERS = ["Ștefan", "Țurcanu", "Mihăilă", "Bălan", "Gheorghiță", "Popescu", "Ionescu", "Dumitrașcu", "Tănase"]
FORMS = ["SRL", "SA", "SNC", "PFA", "II"]
CEDILLA = str.maketrans("șțȘȚ", "şţŞŢ")


def plain(text: str) -> str:
    """How a user without a Romanian keyboard types it: no diacritics."""
    return "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))


def company(rng: random.Random, serial: int) -> tuple[str, str]:
    town = rng.choice(TOWNS)
    name = f"{rng.choice(FOUNDERS)} {town} {rng.choice(TRADES)} {serial} {rng.choice(FORMS)}"
    if rng.random() < 0.3:
        name = name.translate(CEDILLA)
    if rng.random() < 0.2:
        name = name.upper()
    return name, town


def nonsense(rng: random.Random) -> str:
    """A pronounceable word no company has: it takes both passes (substring, then near-miss) to answer."""
    return "".join(rng.choice("bcdfghjklmnprstvz") + rng.choice("aeiou") for _ in range(4)) + "x"


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))], 2)


BASELINE_SQL = """
SELECT * FROM crm.accounts WHERE tid = $1 AND mid = $2 AND deleted_at IS NULL
  AND (name ILIKE $3 OR cui ILIKE $3 OR domain ILIKE $3 OR city ILIKE $3)
ORDER BY created_at DESC, id DESC LIMIT 51
"""


async def timed_queries(
    pool: asyncpg.Pool, queries: list[tuple[str, uuid.UUID | None]], baseline: bool
) -> tuple[list[float], float]:
    """Latency per query (ms) and the share of targeted queries whose account came back on the first page."""
    latencies, found = [], 0
    for q, target in queries:
        started = time.perf_counter()
        async with tenant_transaction(pool, TENANT, readonly=True) as conn:
            if baseline:
                ids = [r["id"] for r in await conn.fetch(BASELINE_SQL, TENANT.tid, TENANT.mid, f"%{q}%")]
            else:
                ids = [a.id for a in (await ACCOUNTS.list(conn, tenant=TENANT, q=q, limit=50)).items]
        latencies.append((time.perf_counter() - started) * 1000)
        found += target is not None and target in ids[:50]
    targeted = sum(target is not None for _, target in queries)
    return latencies, round(found / targeted, 4) if targeted else 1.0


async def run(args: argparse.Namespace) -> dict[str, Any]:
    rng = random.Random(7)
    work = Path(tempfile.mkdtemp(prefix="vettify-search-"))
    with EmbeddedPostgres(data_dir=work / "pg", durable=False) as pg:
        urls = await prepare_embedded_database(DsnFactory("127.0.0.1", pg.port))
        rows = [company(rng, i) for i in range(args.accounts)]
        print(f"[search] seeding {args.accounts:,} accounts …", flush=True)
        started = time.monotonic()
        admin = await asyncpg.connect(urls.admin)
        records = [(TENANT.tid, TENANT.mid, name, town) for name, town in rows]
        await admin.copy_records_to_table(
            "accounts", schema_name="crm", columns=["tid", "mid", "name", "city"], records=records
        )
        await admin.execute("ANALYZE crm.accounts")
        ids = {r["name"]: r["id"] for r in await admin.fetch("SELECT id, name FROM crm.accounts")}
        await admin.close()
        print(f"[search] seeded in {time.monotonic() - started:.1f} s", flush=True)

        picks = rng.sample(rows, args.queries)
        hits = []
        for name, _town in picks:
            founder, *rest = name.split()
            serial = next(w for w in rest if w.isdigit())
            typed = plain(f"{founder} {rest[-3]} {serial}")  # "stefan agro 1234": founder, trade, serial
            hits.append((typed.lower() if rng.random() < 0.5 else typed.upper(), ids[name]))
        misses = [(nonsense(rng), None) for _ in range(args.queries)]
        broad = [(plain(rng.choice(TOWNS)).lower(), None) for _ in range(max(20, args.queries // 10))]

        pool = await asyncpg.create_pool(urls.app, min_size=1, max_size=2, init=init_connection)
        report: dict[str, Any] = {}
        for label, queries in (("hit", hits), ("miss", misses), ("broad", broad)):
            for system, baseline in (("folded_search", False), ("ilike_baseline", True)):
                await timed_queries(pool, queries[:10], baseline)  # warm the caches and plans
                latencies, found = await timed_queries(pool, queries, baseline)
                report.setdefault(label, {})[system] = {
                    "queries": len(queries),
                    "p50_ms": percentile(latencies, 0.5),
                    "p95_ms": percentile(latencies, 0.95),
                    **({"found_on_first_page": found} if label == "hit" else {}),
                }
                print(f"[search] {label:<5} {system:<15} {report[label][system]}", flush=True)
        await pool.close()
    return {
        "benchmark": "crm_search",
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform()},
        "config": {"accounts": args.accounts, "queries": args.queries, "postgres": "embedded 18, one tenant"},
        "results": report,
        "goals": {
            "hit_p95_under_20ms": report["hit"]["folded_search"]["p95_ms"] < GOAL_P95_MS,
            "miss_p95_under_20ms": report["miss"]["folded_search"]["p95_ms"] < GOAL_P95_MS,
            "every_hit_found": report["hit"]["folded_search"]["found_on_first_page"] == 1.0,
            "finds_more_than_ilike": report["hit"]["folded_search"]["found_on_first_page"]
            > report["hit"]["ilike_baseline"]["found_on_first_page"],
        },
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--accounts", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=300, help="hit and miss queries each")
    parser.add_argument("--name", default="crm_search", help="result file: benchmarks/results/NAME.json")
    args = parser.parse_args()
    report = asyncio.run(run(args))
    print("\n              folded p50/p95 ms   ILIKE p50/p95 ms   found (folded / ILIKE)")
    for label, systems in report["results"].items():
        new, old = systems["folded_search"], systems["ilike_baseline"]
        found = f"{new.get('found_on_first_page', '')} / {old.get('found_on_first_page', '')}"
        print(f"{label:<12} {new['p50_ms']:>8} / {new['p95_ms']:<8} {old['p50_ms']:>8} / {old['p95_ms']:<8} {found}")
    print(f"goals: {report['goals']}")
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / f"{args.name}.json"
    path.write_text(json.dumps(report, indent=2) + "\n")
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
