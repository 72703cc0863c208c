"""Recommendation latency at 10k catalogue items, on embedded PostgreSQL + pgvector, in-process.

    python -m benchmarks.recommendations [--items 10000] [--requests 400] [--name recommendations]

The catalogue is MovieLens's 9,066 titles (their MiniLM vectors, cached by ``models.marketing.evaluate
recommend`` or computed here) topped up to ``--items`` with perturbed copies; the interactions are its 100k
ratings, one contact per user. Each request is the whole service call (``streams.recommendations.recommend``
in a tenant transaction: history, three candidate queries, blend, filters, recording the showing), for a
known contact (300) or a new session (100). Baseline from the same run: the same calls with the HNSW index
switched off (exact nearest-neighbour scan). Goal: p95 < 50 ms at 10k items.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import platform
import random
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
import numpy as np

from infra.db.bootstrap import DsnFactory, prepare_embedded_database
from infra.db.embedded import EmbeddedPostgres
from infra.db.pool import init_connection
from infra.db.tenancy import TenantContext, tenant_transaction
from models.marketing import recommend_evaluate
from streams import recommendations as rec

RESULTS = Path(__file__).resolve().parent / "results"
TENANT = TenantContext(tid="bench-rec", mid="m-1", whid=None)


def percentile(values: list[float], q: float) -> float:
    return round(float(np.percentile(values, q)), 2)


async def seed(admin: asyncpg.Connection, pool: asyncpg.Pool, items: int) -> tuple[list[uuid.UUID], int, float]:
    """The catalogue and the interactions; returns the contacts, the interactions and the API's ingest rate."""
    frame, movies = recommend_evaluate.load()
    vectors, _ = recommend_evaluate._vectors(recommend_evaluate.item_texts(movies), None)
    rng = np.random.default_rng(7)
    extra = items - len(movies)
    if extra > 0:
        base = vectors[rng.integers(0, len(vectors), extra)] + rng.normal(0, 0.05, (extra, vectors.shape[1]))
        vectors = np.vstack([vectors, base / np.linalg.norm(base, axis=1, keepdims=True)]).astype(np.float32)
    titles = [t if isinstance(t, str) and t else "Untitled" for t in movies["title"]]
    titles += [f"Extra item {i}" for i in range(max(extra, 0))]
    records = [
        (TENANT.tid, TENANT.mid, f"m{i}", "product", titles[i][:500], True, vectors[i], "minilm") for i in range(items)
    ]
    await admin.copy_records_to_table(
        "catalog_items",
        schema_name="ai",
        columns=["tid", "mid", "external_id", "kind", "title", "in_stock", "embedding", "model_version"],
        records=records,
    )
    users = sorted(frame["userId"].unique())
    contact = {u: uuid.uuid5(uuid.NAMESPACE_URL, f"movielens-user-{u}") for u in users}
    ids = {r["external_id"]: r["id"] for r in await admin.fetch("SELECT external_id, id FROM ai.catalog_items")}
    external = {v: k for k, v in ids.items()}
    rows = frame[frame["item"] < items][["userId", "item", "timestamp"]]
    interactions: list[tuple[Any, ...]] = [
        (TENANT.tid, TENANT.mid, ids[f"m{item}"], contact[user], "view", datetime.fromtimestamp(int(ts), UTC))
        for user, item, ts in rows.itertuples(index=False)
    ]
    # Bulk load, then the counters in one statement; the API's own path is timed on the last 5,000 rows.
    bulk, timed_rows = interactions[:-5000], interactions[-5000:]
    await admin.copy_records_to_table(
        "item_interactions",
        schema_name="ai",
        columns=["tid", "mid", "item_id", "contact_id", "kind", "occurred_at"],
        records=bulk,
    )
    await admin.execute(
        "INSERT INTO ai.item_stats (tid, mid, item_id, people) "
        "SELECT tid, mid, item_id, count(DISTINCT person) FROM ai.item_interactions GROUP BY tid, mid, item_id"
    )
    await admin.execute("ANALYZE ai.item_interactions")
    started = time.perf_counter()
    for start in range(0, len(timed_rows), 1000):
        batch = rec.InteractionBatch(
            interactions=[
                rec.Interaction(item=external[r[2]], contact_id=r[3], kind="view", occurred_at=r[5])
                for r in timed_rows[start : start + 1000]
            ]
        )
        async with tenant_transaction(pool, TENANT) as conn:
            await rec.add_interactions(conn, TENANT, batch)
    ingest = len(timed_rows) / (time.perf_counter() - started)
    started = time.perf_counter()
    async with tenant_transaction(pool, TENANT) as conn:
        pairs = await rec.refresh_neighbours(conn, TENANT)
    print(f"[rec] item neighbours: {pairs:,} pairs in {time.perf_counter() - started:.1f} s", flush=True)
    await admin.execute("ANALYZE ai.catalog_items")
    await admin.execute("ANALYZE ai.item_interactions")
    return list(contact.values()), len(interactions), ingest


async def timed(pool: asyncpg.Pool, requests: list[rec.RecommendationRequest], exact: bool) -> list[float]:
    latencies = []
    for request in requests:
        started = time.perf_counter()
        async with tenant_transaction(pool, TENANT) as conn:
            if exact:
                await conn.execute("SET LOCAL enable_indexscan = off")
            result = await rec.recommend(conn, TENANT, request)
        latencies.append((time.perf_counter() - started) * 1000)
        assert len(result.items) == request.k, result.reason
    return latencies


async def run(args: argparse.Namespace) -> dict[str, Any]:
    work = Path(tempfile.mkdtemp(prefix="vettify-rec-"))
    with EmbeddedPostgres(data_dir=work / "pg", durable=False) as pg:
        urls = await prepare_embedded_database(DsnFactory("127.0.0.1", pg.port))
        admin = await asyncpg.connect(urls.admin)
        from pgvector.asyncpg import register_vector

        await register_vector(admin)
        pool = await asyncpg.create_pool(urls.app, min_size=1, max_size=2, init=init_connection, command_timeout=600)
        print(f"[rec] seeding {args.items:,} items and the MovieLens interactions …", flush=True)
        started = time.monotonic()
        contacts, interactions, ingest = await seed(admin, pool, args.items)
        print(
            f"[rec] seeded {interactions:,} interactions in {time.monotonic() - started:.0f} s "
            f"(the API's path: {ingest:,.0f} interactions/s)",
            flush=True,
        )
        rng = random.Random(7)
        known = [rec.RecommendationRequest(contact_id=c, k=10) for c in rng.sample(contacts, 300)]
        new = [rec.RecommendationRequest(session_id=f"visitor-{i}", k=10) for i in range(100)]
        requests = known + new
        rng.shuffle(requests)
        requests = requests[: args.requests]
        await timed(pool, requests[:20], exact=False)  # warm the caches and plans
        report: dict[str, Any] = {}
        for name, exact in (("engine_hnsw", False), ("exact_scan_baseline", True)):
            latencies = await timed(pool, requests, exact)
            report[name] = {
                "requests": len(latencies),
                "p50_ms": percentile(latencies, 50),
                "p95_ms": percentile(latencies, 95),
                "p99_ms": percentile(latencies, 99),
            }
            print(
                f"[rec] {name:<22} p50 {report[name]['p50_ms']:.1f} ms  p95 {report[name]['p95_ms']:.1f} ms", flush=True
            )
        await pool.close()
        await admin.close()
    return {
        "benchmark": "recommendations",
        "machine": f"{platform.machine()}, {platform.processor() or 'cpu'}, {__import__('os').cpu_count()} cores",
        "items": args.items,
        "interactions": interactions,
        "interactions_api_ingest_per_s": round(ingest, 1),
        "people": len(contacts),
        "mix": "3 known contacts : 1 new session, k = 10, showings recorded",
        **report,
        "goals": {"p95_lt_50ms_at_10k_items": report["engine_hnsw"]["p95_ms"] < 50.0 and args.items >= 10_000},
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--items", type=int, default=10_000)
    parser.add_argument("--requests", type=int, default=400)
    parser.add_argument("--name", default="recommendations", help="result file: benchmarks/results/NAME.json")
    args = parser.parse_args(argv)
    report = asyncio.run(run(args))
    print(f"goals: {report['goals']}")
    path = RESULTS / f"{args.name}.json"
    path.write_text(json.dumps(report, indent=2) + "\n")
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
