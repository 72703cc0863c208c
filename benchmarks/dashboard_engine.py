"""The dashboard measured through the whole engine: ``vettify up`` as a user starts it, real mentions posted to
``/v1/events`` (Serve's proxy, the models, PostgreSQL) and the page and live streams read through Serve's proxy.

Used by ``python -m benchmarks.dashboard_live`` (its ``engine`` results); see that module for the goals.

0. **Capacity**: single-event requests answered per second (closed loop, 8 in flight); the load below is the
   streams benchmark's half load, or half this capacity when that is lower.
1. **Event-to-DOM**: the page is opened with a one-time link from ``vettify dashboard-login``; real tweets are
   posted as ``social.twitter.mention`` events at that load in all (open loop, one event per request, one in
   five for the open page's tenant, the rest for ten other tenants); latency =
   the time the page showed the mention minus the time its request was *scheduled* — sentiment, embedding,
   the stored insight, the live stream and both proxy hops included. A commit happens between the two, so
   commit-to-DOM is at most this.
2. **200 clients through the proxy**: 200 live streams (20 tenants x 10) opened at Serve's proxy while the
   20 tenants post real mentions at the same load; per delivery, arrival minus scheduled send; lost and foreign
   deliveries counted; the dashboard replica's memory.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any, TypeVar

import httpx

from infra.browser import headless_chromium
from infra.net import free_port

MID = "main"
VIEWER = "bench-viewer"
OTHERS = [f"bench-other-{i}" for i in range(10)]
READY_TIMEOUT_S = 900.0
BRANDS = ("acme", "globex", "initech", "umbrella")  # as benchmarks/streams.py


def _say(message: str) -> None:
    print(f"[dashboard/engine] {message}", flush=True)


def percentile(values: list[float], q: float) -> float | None:
    """The ``q`` quantile (nearest rank), rounded to 0.1; None without values."""
    if not values:
        return None
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))], 1)


class Engine:
    """``vettify up`` in a subprocess with its own data dir and ports; the CLI run against the same settings."""

    def __init__(self, work: Path) -> None:
        self.work = work
        self.http_port = free_port()
        self.base = f"http://127.0.0.1:{self.http_port}"
        self.env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("VETTIFY_")},  # embedded defaults
            "VETTIFY_DATA_DIR": str(work / "engine"),
            "VETTIFY_HTTP_PORT": str(self.http_port),
            "VETTIFY_GRPC_PORT": str(free_port()),
            "VETTIFY_EMBEDDED_PG_PORT": str(free_port()),
            "VETTIFY_PUBLIC_URL": self.base,
        }
        self.vettify = str(Path(sys.executable).parent / "vettify")
        self.process: subprocess.Popen[bytes] | None = None
        self.log = work / "vettify-up.log"

    def cli(self, *args: str) -> str:
        done = subprocess.run([self.vettify, *args], env=self.env, capture_output=True, text=True, check=True)
        return done.stdout

    async def start(self) -> float:
        started = time.monotonic()
        with self.log.open("wb") as out:
            self.process = subprocess.Popen(  # noqa: ASYNC220 - started once, before any load
                [self.vettify, "up"], env=self.env, stdout=out, stderr=subprocess.STDOUT
            )
        _say(f"vettify up (log {self.log}) …")
        last_report = 0.0
        async with httpx.AsyncClient(timeout=5) as http:
            while True:
                if self.process.poll() is not None:
                    raise RuntimeError(f"vettify up exited with {self.process.returncode}; see {self.log}")
                try:
                    if (await http.get(f"{self.base}/readyz")).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                waited = time.monotonic() - started
                if waited > READY_TIMEOUT_S:
                    raise RuntimeError(f"the engine was not ready after {READY_TIMEOUT_S:.0f} s; see {self.log}")
                if waited - last_report >= 30:
                    _say(f"waiting for the models … {waited:.0f} s")
                    last_report = waited
                await asyncio.sleep(1.0)
        ready_s = time.monotonic() - started
        _say(f"engine ready in {ready_s:.0f} s at {self.base}")
        return ready_s

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(2)  # SIGINT: Serve, Ray and PostgreSQL shut down in order
            try:
                self.process.wait(timeout=120)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


class Poster:
    """Real mentions posted one per request, each at its scheduled time (open loop)."""

    def __init__(self, engine: Engine, texts: list[str]) -> None:
        self.engine, self.texts = engine, texts
        self.tokens = {
            tid: engine.cli("token", "--tid", tid, "--mid", MID, "--scope", "events:write").strip()
            for tid in [VIEWER, *OTHERS, *(f"fan-{i:02d}" for i in range(20))]
        }
        self.http = httpx.AsyncClient(timeout=120, limits=httpx.Limits(max_connections=200))
        self.statuses: dict[int, int] = {}
        self.answer_ms: list[float] = []
        self._n = 0
        self._tasks: set[asyncio.Task[None]] = set()

    def event(self, tid: str, marker: str) -> dict[str, Any]:
        text = f"{marker} {self.texts[self._n % len(self.texts)]}"
        self._n += 1
        return {
            "id": str(uuid.uuid4()),
            "type": "social.twitter.mention",
            "tid": tid,
            "mid": MID,
            # Several brands, as the streams benchmark sends: one brand's mentions commit in order (its
            # spike window), so a single brand would measure that queue, not the engine.
            "payload": {
                "post_id": uuid.uuid4().hex,
                "brand": BRANDS[self._n % len(BRANDS)],
                "text": text,
                "author": "@bench",
            },
        }

    def post(self, tid: str, marker: str) -> None:
        task = asyncio.create_task(self._send(tid, self.event(tid, marker)))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _send(self, tid: str, event: dict[str, Any]) -> None:
        sent = time.monotonic()
        try:
            answer = await self.http.post(
                f"{self.engine.base}/v1/events",
                json=event,
                headers={"Authorization": f"Bearer {self.tokens[tid]}"},
            )
            status = answer.status_code
        except httpx.HTTPError:
            status = 0
        self.statuses[status] = self.statuses.get(status, 0) + 1
        self.answer_ms.append((time.monotonic() - sent) * 1000)

    async def drain(self) -> None:
        if self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def close(self) -> None:
        await self.drain()
        await self.http.aclose()

    def outcome(self) -> dict[str, Any]:
        return {
            "posted": sum(self.statuses.values()),
            "statuses": {str(k): v for k, v in sorted(self.statuses.items())},
            "answer_p50_ms": percentile(self.answer_ms, 0.5),
            "answer_p95_ms": percentile(self.answer_ms, 0.95),
        }


async def capacity(engine: Engine, poster: Poster, seconds: float = 20.0, concurrency: int = 8) -> float:
    """Single-event mentions per second this engine answers, closed loop (``concurrency`` in flight), after a
    warm-up: the rate the load below is set from."""
    tid = OTHERS[0]

    async def worker(until: float, done: list[int]) -> None:
        while time.monotonic() < until:
            await poster._send(tid, poster.event(tid, "[capacity]"))
            done.append(1)

    warm: list[int] = []
    await asyncio.gather(*(worker(time.monotonic() + 5.0, warm) for _ in range(concurrency)))
    done: list[int] = []
    started = time.monotonic()
    await asyncio.gather(*(worker(started + seconds, done) for _ in range(concurrency)))
    return len(done) / (time.monotonic() - started)


OBSERVE_JS = """
window.__seen = [];
new MutationObserver((changes) => {
  const now = Date.now();
  for (const c of changes) for (const n of c.addedNodes)
    if (n.nodeType === 1 && n.dataset && n.dataset.testid === 'mention') window.__seen.push([n.textContent, now]);
}).observe(document.getElementById('mention-feed'), {childList: true});
"""


async def browser_phase(engine: Engine, poster: Poster, rate: float, seconds: float) -> dict[str, Any]:
    """The open page's mentions, from scheduled send to shown, while other tenants post the rest of ``rate``."""
    from selenium.webdriver.support.ui import WebDriverWait

    link = engine.cli("dashboard-login", "--tid", VIEWER, "--mid", MID, "--url", engine.base).splitlines()[0]
    driver = await asyncio.to_thread(headless_chromium, engine.work / "chromium")
    scheduled: dict[str, float] = {}
    try:
        await asyncio.to_thread(driver.get, link)
        await asyncio.to_thread(driver.execute_script, "location.hash = '#mentions'")
        await asyncio.to_thread(
            WebDriverWait(driver, 60).until, lambda d: d.find_element("id", "live-state").text == "live"
        )
        await asyncio.to_thread(driver.execute_script, OBSERVE_JS)
        viewer_every = 5  # one request in five is for the open page
        total = int(rate * seconds)
        _say(f"{total} mentions at {rate:g}/s through /v1/events, {total // viewer_every} for the open page …")
        clock_offset_ms = time.time() * 1000 - time.monotonic() * 1000
        started = time.monotonic()
        for i in range(total):
            due = started + i / rate
            await asyncio.sleep(max(0.0, due - time.monotonic()))
            if i % viewer_every == 0:
                marker = f"[bench {i:05d} {uuid.uuid4().hex[:6]}]"
                scheduled[marker] = due * 1000 + clock_offset_ms
                poster.post(VIEWER, marker)
            else:
                poster.post(OTHERS[i % len(OTHERS)], f"[other {i:05d}]")
        await poster.drain()
        await asyncio.sleep(3.0)
        seen = await asyncio.to_thread(driver.execute_script, "return window.__seen")
    finally:
        await asyncio.to_thread(driver.quit)
    latencies = []
    for text, at in seen:
        found = next((m for m in scheduled if m in text), None)
        if found is not None:
            latencies.append(at - scheduled.pop(found))
    return {
        "mentions_for_the_page": len(latencies) + len(scheduled),
        "arrived": len(latencies),
        "missing": len(scheduled),
        "p50_ms": percentile(latencies, 0.5),
        "p95_ms": percentile(latencies, 0.95),
        "max_ms": round(max(latencies), 1) if latencies else None,
        "rate_per_s": rate,
        "seconds": seconds,
    }


async def _client(
    base: str,
    token: str,
    tid: str,
    got: list[tuple[str, str, float]],
    ready: asyncio.Event,
    failed: list[str],
    reconnects: list[int],
) -> None:
    """One live-stream client as the page behaves: after ``bye`` (or a dropped connection) it reconnects
    with ``Last-Event-ID``, so a stream's 45 s lifetime loses nothing; repeated rows are dropped by ``seq``."""
    last_id: str | None = None
    seen: set[int] = set()
    async with httpx.AsyncClient(timeout=httpx.Timeout(30, read=120)) as http:
        while True:
            headers = {"Authorization": f"Bearer {token}"}
            if last_id is not None:
                headers["Last-Event-ID"] = last_id
            try:
                async with http.stream("GET", f"{base}/dashboard/events", headers=headers) as response:
                    response.raise_for_status()
                    event = ""
                    async for line in response.aiter_lines():
                        if line.startswith("id: "):
                            last_id = line[4:]
                        elif line.startswith("event: "):
                            event = line[7:]
                            if event == "ready":
                                ready.set()
                        elif line.startswith("data: ") and event == "insight":
                            data = json.loads(line[6:])
                            if data["seq"] in seen:
                                continue
                            seen.add(data["seq"])
                            text = (data.get("mention") or {}).get("text") or ""
                            got.append((tid, text.split("]", 1)[0] + "]", time.time() * 1000))
            except (httpx.HTTPError, OSError) as exc:
                failed.append(repr(exc))
                await asyncio.sleep(0.5)
            reconnects.append(1)


K = TypeVar("K")


def tally(
    owners: list[str], got: list[list[tuple[str, K, float]]], sent: dict[K, tuple[str, float]]
) -> tuple[list[float], int, int]:
    """Per client (its tenant in ``owners``, what it received in ``got`` as (tenant, key, arrival ms)), against
    what was sent (key → (tenant, sent ms)): every delivery's latency, the deliveries of another tenant's
    event, and the events of its own tenant it never received. Keys not in ``sent`` (another phase) are
    ignored."""
    latencies: list[float] = []
    foreign = missing = 0
    for tid, received in zip(owners, got, strict=True):
        keys = {key for _, key, _ in received}
        for _, key, at in received:
            if key not in sent:
                continue
            owner, sent_ms = sent[key]
            foreign += owner != tid
            latencies.append(at - sent_ms)
        missing += sum(1 for key, (owner, _) in sent.items() if owner == tid and key not in keys)
    return latencies, foreign, missing


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def _replica_rss_mib(name: str = "ServeReplica:dashboard") -> float | None:
    """The dashboard replica's resident memory, found by its process title."""
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            if name.encode() in (proc / "cmdline").read_bytes() and (kib := rss_kib(int(proc.name))):
                return round(kib / 1024, 1)
        except OSError:
            continue
    return None


async def clients_phase(engine: Engine, poster: Poster, seconds: int, rate: float) -> dict[str, Any]:
    tenants = [f"fan-{i:02d}" for i in range(20)]
    per_tenant = 10
    rss_before = _replica_rss_mib()
    tokens = {t: engine.cli("token", "--tid", t, "--mid", MID, "--scope", "insights:read").strip() for t in tenants}
    got: list[list[tuple[str, str, float]]] = []
    owners: list[str] = []
    readies: list[asyncio.Event] = []
    failed: list[str] = []
    reconnects: list[int] = []
    tasks = []
    for tid in tenants:
        for _ in range(per_tenant):
            got.append([])
            owners.append(tid)
            readies.append(asyncio.Event())
            tasks.append(
                asyncio.create_task(_client(engine.base, tokens[tid], tid, got[-1], readies[-1], failed, reconnects))
            )
    connecting = time.monotonic()
    with_timeout = asyncio.gather(*(r.wait() for r in readies))
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(with_timeout, 90)
    connect_s = time.monotonic() - connecting
    connected = sum(r.is_set() for r in readies)
    _say(f"{connected} clients connected via Serve's proxy; {rate:.1f} mentions/s over 20 tenants for {seconds} s …")
    clock_offset_ms = time.time() * 1000 - time.monotonic() * 1000
    scheduled: dict[str, tuple[str, float]] = {}
    started = time.monotonic()
    for i in range(int(rate * seconds)):
        due = started + i / rate
        await asyncio.sleep(max(0.0, due - time.monotonic()))
        tid = tenants[i % len(tenants)]
        marker = f"[fan {tid} {i:04d}]"
        scheduled[marker] = (tid, due * 1000 + clock_offset_ms)
        poster.post(tid, marker)
    await poster.drain()
    await asyncio.sleep(3.0)
    rss_peak = _replica_rss_mib()
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    latencies, foreign, missing = tally(owners, got, scheduled)
    return {
        "clients": len(tasks),
        "connected": connected,
        "failed": failed[:5],
        "reconnects_after_bye": len(reconnects),
        "seconds_to_connect_all": round(connect_s, 1),
        "tenants": len(tenants),
        "events_posted": len(scheduled),
        "deliveries": len(latencies),
        "missing_deliveries": missing,
        "foreign_deliveries": foreign,
        "p50_ms": percentile(latencies, 0.5),
        "p95_ms": percentile(latencies, 0.95),
        "p99_ms": percentile(latencies, 0.99),
        "replica_rss_mib_before": rss_before,
        "replica_rss_mib_with_200_clients": rss_peak,
    }


async def run_engine(work: Path, target_rate: float, seconds: float, fan_out_seconds: int) -> dict[str, Any]:
    """Both phases at ``target_rate`` (the streams benchmark's half load) or, when this engine answers fewer
    than twice that many single-event requests a second, at half of what it answers."""
    from benchmarks.serve_models import tweets

    engine = Engine(work)
    try:
        ready_s = await engine.start()
        poster = Poster(engine, tweets())
        try:
            _say("single-event POST /v1/events capacity (closed loop, 8 in flight, 20 s) …")
            measured = await capacity(engine, poster)
            rate = min(target_rate, measured / 2)
            _say(f"capacity {measured:.1f} mentions/s; load {rate:.1f}/s (target {target_rate:g}/s)")
            poster.statuses.clear()
            poster.answer_ms.clear()
            browser = await browser_phase(engine, poster, rate, seconds)
            _say(f"event-to-DOM: {browser}")
            load = poster.outcome()
            poster.statuses.clear()
            poster.answer_ms.clear()
            fan_out = await clients_phase(engine, poster, fan_out_seconds, rate)
            _say(f"200 clients: {fan_out}")
            fan_out["posts"] = poster.outcome()
        finally:
            await poster.close()
    finally:
        engine.stop()
    return {
        "ready_s": round(ready_s, 1),
        "single_event_capacity_per_s": round(measured, 1),
        "target_rate_per_s": target_rate,
        "rate_per_s": round(rate, 1),
        "event_to_dom": {**browser, "posts": load},
        "clients_200": fan_out,
    }
