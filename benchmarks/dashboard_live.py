"""The dashboard's live path, measured: commit-to-DOM latency in a real browser, first-load weight and render
time, and 200 concurrent live-stream clients on this machine.

``python -m benchmarks.dashboard_live`` first measures the dashboard alone; it starts an embedded PostgreSQL
(migrated), the dashboard app in its own process (uvicorn, mounted at ``/dashboard`` as Serve mounts it)
and headless Chromium, then:

1. **First load**: the page's bytes over the wire (HTML, CSS, JS, the vendored chart library) and its first
   contentful paint, from the browser's own Performance API, on a fresh profile (nothing cached).
2. **Commit-to-DOM**: a mention is committed (``ai.social_insights`` row + outbox row, one transaction, as
   the social processor writes them) every 200 ms for the signed-in tenant while other tenants commit at
   the streams benchmark's half load (24 events/s; ``benchmarks/results/streams.json``); a
   ``MutationObserver`` in the page stamps each mention when it enters the DOM. Latency = DOM time -
   commit time (same clock). No model runs here: the load is the database and stream side of that rate.
3. **200 clients**: 200 live streams (20 tenants x 10) held open while each tenant commits one event per
   second; every client's delivery latency (arrival - commit), events lost or foreign (must be 0), and the
   server process's memory.

4. **Through the engine** (``benchmarks/dashboard_engine.py``; ``--no-engine`` skips it): ``vettify up`` as a
   user starts it, real tweets posted to ``/v1/events`` at the same half load, the page signed in with
   ``vettify dashboard-login``; event-to-DOM and 200 clients again, now through Serve's proxy and the models.

Writes ``benchmarks/results/dashboard_live.json`` with ``goals``: commit-to-DOM p95 < 1 s, first load
< 300 KB, all 200 clients served with every event, their p95 < 1 s; the same through the engine.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import random
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import asyncpg
import httpx

from benchmarks.dashboard_engine import OBSERVE_JS, percentile, rss_kib, tally
from infra.browser import headless_chromium
from infra.db.bootstrap import DsnFactory, prepare_embedded_database
from infra.db.embedded import EmbeddedPostgres
from infra.db.pool import init_connection
from infra.db.tenancy import TenantContext, tenant_transaction
from infra.net import free_port
from infra.security import mint_token
from infra.settings import Settings

RESULTS = Path(__file__).resolve().parent / "results"
HALF_STREAMS_LOAD = 24.0  # events/s: half the streams benchmark's sustained maximum (streams.json)
MID = "main"
GOAL_DOM_P95_MS = 1000.0
GOAL_FIRST_LOAD_BYTES = 300 * 1024
GOAL_CLIENT_P95_MS = 1000.0

INSIGHT_SQL = """
INSERT INTO ai.social_insights (tid, mid, id, event_type, platform, brand, author, text, posted_at, sentiment,
                                sentiment_score, probabilities, embedding)
VALUES ($1, $2, $3, 'social.twitter.mention', 'twitter', 'acme', '@bench', $4, now(), $5, $6, $7, $8)
"""
OUTBOX_SQL = """
INSERT INTO crm.outbox (tid, mid, aggregate_type, aggregate_id, event_type, payload)
VALUES ($1, $2, 'social_insight', $3, 'crm.sentiment.detected', $4)
RETURNING seq
"""


def server_app() -> Any:
    """The dashboard mounted at /dashboard (what Serve does), for ``uvicorn --factory``."""
    from fastapi import FastAPI

    from dashboard.app import create_app

    inner = create_app(Settings(), database_url=os.environ["VETTIFY_DATABASE_URL"])

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        async with inner.router.lifespan_context(inner):
            yield

    outer = FastAPI(lifespan=lifespan)
    outer.mount("/dashboard", inner)
    return outer


async def commit_mention(pool: asyncpg.Pool, tid: str, text: str, rng: random.Random) -> int:
    vector = [rng.gauss(0, 1) for _ in range(384)]
    norm = sum(v * v for v in vector) ** 0.5
    label = rng.choice(["positive", "neutral", "negative"])
    insight_id = uuid.uuid4()
    async with tenant_transaction(pool, TenantContext(tid=tid, mid=MID)) as conn:
        await conn.execute(
            INSIGHT_SQL,
            tid,
            MID,
            insight_id,
            text,
            label,
            0.8,
            {label: 0.8},
            [v / norm for v in vector],
        )
        seq = await conn.fetchval(
            OUTBOX_SQL, tid, MID, insight_id, {"brand": "acme", "sentiment": label, "score": 0.8, "platform": "twitter"}
        )
    return int(seq)


async def background_load(pool: asyncpg.Pool, rate: float, stop: asyncio.Event) -> int:
    """Other tenants' mentions at ``rate`` per second until ``stop``."""
    rng, sent, started = random.Random(3), 0, time.monotonic()
    tenants = [f"other-{i}" for i in range(10)]
    while not stop.is_set():
        due = started + sent / rate
        await asyncio.sleep(max(0.0, due - time.monotonic()))
        await commit_mention(pool, tenants[sent % len(tenants)], f"background {sent}", rng)
        sent += 1
    return sent


FIRST_LOAD_JS = """
const nav = performance.getEntriesByType('navigation')[0];
const res = performance.getEntriesByType('resource');
const paint = performance.getEntriesByName('first-contentful-paint')[0];
return {html: nav.transferSize, resources: res.map(r => [r.name, r.transferSize]),
        fcp_ms: paint ? paint.startTime : null, dom_content_loaded_ms: nav.domContentLoadedEventEnd};
"""


async def browser_phase(base: str, pool: asyncpg.Pool, settings: Settings, mentions: int, work: Path) -> dict[str, Any]:
    from selenium.webdriver.support.ui import WebDriverWait

    tid = "bench-viewer"
    token = mint_token(settings, sub="bench", tid=tid, mid=MID, scopes=("insights:read", "crm:read"))
    driver = await asyncio.to_thread(headless_chromium, work / "chromium")
    try:
        # A same-origin page without the dashboard's assets, to hold the token; then the first (uncached) load.
        await asyncio.to_thread(driver.get, f"{base}/dashboard/healthz")
        await asyncio.to_thread(driver.execute_script, f"sessionStorage.setItem('vettify.dashboard.token', '{token}')")
        await asyncio.to_thread(driver.get, f"{base}/dashboard/#mentions")
        await asyncio.to_thread(
            WebDriverWait(driver, 60).until,
            lambda d: d.find_element("id", "live-state").text == "live",
        )
        first = await asyncio.to_thread(driver.execute_script, FIRST_LOAD_JS)
        await asyncio.to_thread(driver.execute_script, OBSERVE_JS)
        stop = asyncio.Event()
        load = asyncio.create_task(background_load(pool, HALF_STREAMS_LOAD, stop))
        rng, committed = random.Random(5), {}
        print(
            f"[dashboard] {mentions} mentions at 5/s for the open page, others at {HALF_STREAMS_LOAD}/s …", flush=True
        )
        for i in range(mentions):
            marker = f"bench mention {i:04d} {uuid.uuid4().hex[:6]}"
            await commit_mention(pool, tid, marker, rng)
            committed[marker] = time.time() * 1000
            await asyncio.sleep(0.2)
        await asyncio.sleep(2.0)
        stop.set()
        background = await load
        seen = await asyncio.to_thread(driver.execute_script, "return window.__seen")
    finally:
        await asyncio.to_thread(driver.quit)
    latencies = []
    for text, at in seen:
        found = next((m for m in committed if text.startswith(m)), None)
        if found is not None:
            latencies.append(at - committed.pop(found))
    total = first["html"] + sum(size for _, size in first["resources"])
    return {
        "first_load": {
            "bytes": total,
            "html_bytes": first["html"],
            "resources": {name.rsplit("/dashboard/", 1)[-1]: size for name, size in first["resources"]},
            "first_contentful_paint_ms": round(first["fcp_ms"], 1) if first["fcp_ms"] is not None else None,
            "dom_content_loaded_ms": round(first["dom_content_loaded_ms"], 1),
        },
        "commit_to_dom": {
            "mentions": mentions,
            "arrived": len(latencies),
            "missing": len(committed),
            "p50_ms": percentile(latencies, 0.5),
            "p95_ms": percentile(latencies, 0.95),
            "max_ms": round(max(latencies), 1) if latencies else None,
            "background_events": background,
            "background_rate_per_s": HALF_STREAMS_LOAD,
        },
    }


async def client(base: str, token: str, tid: str, got: list[tuple[str, int, float]], ready: asyncio.Event) -> None:
    headers = {"Authorization": f"Bearer {token}"}
    async with (
        httpx.AsyncClient(timeout=httpx.Timeout(10, read=120)) as http,
        http.stream("GET", f"{base}/dashboard/events", headers=headers) as response,
    ):
        response.raise_for_status()
        event = ""
        async for line in response.aiter_lines():
            if line.startswith("event: "):
                event = line[7:]
                if event == "ready":
                    ready.set()
            elif line.startswith("data: ") and event == "insight":
                data = json.loads(line[6:])
                got.append((tid, int(data["seq"]), time.time() * 1000))
            elif event == "bye":
                return


async def clients_phase(
    base: str, pool: asyncpg.Pool, settings: Settings, server_pid: int, seconds: int
) -> dict[str, Any]:
    tenants = [f"fan-{i:02d}" for i in range(20)]
    per_tenant = 10
    rss_before = rss_kib(server_pid)
    got: list[list[tuple[str, int, float]]] = []
    client_tenants: list[str] = []
    readies: list[asyncio.Event] = []
    tasks = []
    for tid in tenants:
        token = mint_token(settings, sub="bench", tid=tid, mid=MID, scopes=("insights:read",))
        for _ in range(per_tenant):
            got.append([])
            client_tenants.append(tid)
            readies.append(asyncio.Event())
            tasks.append(asyncio.create_task(client(base, token, tid, got[-1], readies[-1])))
    await asyncio.wait_for(asyncio.gather(*(r.wait() for r in readies)), 60)
    connected = sum(r.is_set() for r in readies)
    print(f"[dashboard] {connected} clients connected; each tenant commits 1 event/s for {seconds} s …", flush=True)
    rng, commits = random.Random(9), dict[int, tuple[str, float]]()
    for second in range(seconds):
        tick = time.monotonic()
        for tid in tenants:
            seq = await commit_mention(pool, tid, f"fan-out {second}", rng)
            commits[seq] = (tid, time.time() * 1000)
        await asyncio.sleep(max(0.0, 1.0 - (time.monotonic() - tick)))
    await asyncio.sleep(2.0)
    rss_peak = rss_kib(server_pid)
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    latencies, foreign, missing = tally(client_tenants, got, commits)
    return {
        "clients": len(tasks),
        "connected": connected,
        "tenants": len(tenants),
        "events_committed": len(commits),
        "deliveries": len(latencies),
        "missing_deliveries": missing,
        "foreign_deliveries": foreign,
        "p50_ms": percentile(latencies, 0.5),
        "p95_ms": percentile(latencies, 0.95),
        "p99_ms": percentile(latencies, 0.99),
        "server_rss_mib_before": round(rss_before / 1024, 1),
        "server_rss_mib_with_200_clients": round(rss_peak / 1024, 1),
    }


async def run(args: argparse.Namespace) -> dict[str, Any]:
    work = Path(tempfile.mkdtemp(prefix="vettify-dashboard-"))
    settings = Settings(data_dir=work, _env_file=None)
    with EmbeddedPostgres(data_dir=work / "pg", durable=False) as pg:
        urls = await prepare_embedded_database(DsnFactory("127.0.0.1", pg.port))
        port = free_port()
        env = {**os.environ, "VETTIFY_DATABASE_URL": urls.app, "VETTIFY_DATA_DIR": str(work)}
        server = subprocess.Popen(  # noqa: ASYNC220 - started once, before any load
            [
                sys.executable,
                "-m",
                "uvicorn",
                "--factory",
                "benchmarks.dashboard_live:server_app",
                "--port",
                str(port),
                "--log-level",
                "warning",
            ],
            env=env,
        )
        base = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 60
            while True:
                try:
                    async with httpx.AsyncClient(timeout=2) as http:
                        if (await http.get(f"{base}/dashboard/healthz")).json().get("listening"):
                            break
                except httpx.HTTPError:
                    pass
                if time.monotonic() > deadline or server.poll() is not None:
                    raise RuntimeError("the dashboard server did not start")
                await asyncio.sleep(0.3)
            pool = await asyncpg.create_pool(urls.app, min_size=2, max_size=6, init=init_connection)
            browser = await browser_phase(base, pool, settings, args.mentions, work)
            print(f"[dashboard] browser: {browser}", flush=True)
            fan_out = await clients_phase(base, pool, settings, server.pid, args.seconds)
            print(f"[dashboard] 200 clients: {fan_out}", flush=True)
            await pool.close()
        finally:
            server.terminate()
            server.wait(timeout=20)
    engine: dict[str, Any] | None = None
    if args.engine:
        from benchmarks.dashboard_engine import run_engine

        engine = await run_engine(work, HALF_STREAMS_LOAD, args.engine_seconds, args.seconds)
    dom, first = browser["commit_to_dom"], browser["first_load"]
    goals = {
        "commit_to_dom_p95_under_1s": dom["p95_ms"] is not None and dom["p95_ms"] < GOAL_DOM_P95_MS,
        "every_mention_reached_the_page": dom["missing"] == 0,
        "first_load_under_300kb": first["bytes"] < GOAL_FIRST_LOAD_BYTES,
        "all_200_clients_connected": fan_out["connected"] == fan_out["clients"],
        "no_delivery_missing_or_foreign": fan_out["missing_deliveries"] == 0 and fan_out["foreign_deliveries"] == 0,
        "clients_p95_under_1s": fan_out["p95_ms"] is not None and fan_out["p95_ms"] < GOAL_CLIENT_P95_MS,
    }
    if engine is not None:
        e_dom, e_fan = engine["event_to_dom"], engine["clients_200"]
        goals |= {
            "engine_event_to_dom_p95_under_1s": e_dom["p95_ms"] is not None and e_dom["p95_ms"] < GOAL_DOM_P95_MS,
            "engine_every_mention_reached_the_page": e_dom["missing"] == 0,
            "engine_all_200_clients_connected_through_the_proxy": e_fan["connected"] == e_fan["clients"],
            "engine_no_delivery_missing_or_foreign": e_fan["missing_deliveries"] == 0
            and e_fan["foreign_deliveries"] == 0,
            "engine_clients_p95_under_1s": e_fan["p95_ms"] is not None and e_fan["p95_ms"] < GOAL_CLIENT_P95_MS,
        }
    return {
        "benchmark": "dashboard_live",
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform()},
        "config": {
            "mentions": args.mentions,
            "fan_out_seconds": args.seconds,
            "server": "dashboard app alone under uvicorn (one process), embedded PostgreSQL 18, loopback; "
            "browser and load generator on the same 2 cores",
            "engine": None
            if not args.engine
            else "`vettify up` (embedded defaults): real tweets posted one per request to /v1/events through Serve's "
            f"proxy at {HALF_STREAMS_LOAD}/s, or half the single-event capacity measured first when that is lower, "
            f"for {args.engine_seconds} s; page signed in with `vettify dashboard-login`; streams read through "
            "Serve's proxy; latency from each request's scheduled time",
        },
        "results": {**browser, "clients_200": fan_out, "engine": engine},
        "goals": goals,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--mentions", type=int, default=100, help="mentions committed for the open page")
    parser.add_argument("--seconds", type=int, default=20, help="length of the 200-client phase (< 45 s)")
    parser.add_argument("--name", default="dashboard_live", help="result file: benchmarks/results/NAME.json")
    parser.add_argument(
        "--no-engine", dest="engine", action="store_false", help="skip the run through `vettify up` (minutes)"
    )
    parser.add_argument("--engine-seconds", type=float, default=60.0, help="length of the engine's event-to-DOM run")
    args = parser.parse_args()
    report = asyncio.run(run(args))
    r = report["results"]
    print("\n                         p50 ms   p95 ms   goal")
    print(
        f"commit-to-DOM (browser)  {r['commit_to_dom']['p50_ms']:>6}   {r['commit_to_dom']['p95_ms']:>6}   p95 < 1000"
    )
    print(f"200 clients (delivery)   {r['clients_200']['p50_ms']:>6}   {r['clients_200']['p95_ms']:>6}   p95 < 1000")
    if r["engine"] is not None:
        dom, fan = r["engine"]["event_to_dom"], r["engine"]["clients_200"]
        print("through `vettify up` (Serve proxy, models, real tweets at half the streams load):")
        print(f"event-to-DOM (browser)   {dom['p50_ms']:>6}   {dom['p95_ms']:>6}   p95 < 1000")
        print(f"200 clients (delivery)   {fan['p50_ms']:>6}   {fan['p95_ms']:>6}   p95 < 1000")
    print(
        f"first load: {r['first_load']['bytes'] / 1024:.1f} KB (goal < 300 KB), "
        f"first contentful paint {r['first_load']['first_contentful_paint_ms']} ms"
    )
    print(f"goals: {report['goals']}")
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / f"{args.name}.json"
    path.write_text(json.dumps(report, indent=2) + "\n")
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
