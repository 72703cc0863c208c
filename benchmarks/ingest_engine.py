"""Mention ingestion through ``vettify up``: how many a second, and where each one's CPU goes.

``python -m benchmarks.ingest_engine`` starts the engine as a user would (embedded defaults, its own data
dir and ports), then posts real tweets to ``POST /v1/events`` through Serve's proxy, closed loop, in two
phases after a warm-up:

* **single** — one event per request, 8 requests in flight (what a webhook producer does);
* **batched** — 32 events per request (the array form), 2 requests in flight (what a producer that lingers
  like Kafka's ``linger.ms`` does).

Around each phase it reads every Ray process's CPU time (``/proc/<pid>/stat``: the Serve proxy, the
Gateway, the Streams, Sentiment and Embedding replicas, …), the embedded PostgreSQL's and the load
generator's own, and reports CPU milliseconds per stored mention per process: the figure issue 15's levers
are judged by. Writes ``benchmarks/results/ingest_engine.json`` with its ``goals``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

from benchmarks.dashboard_engine import MID, Engine, Poster, percentile

RESULTS = Path(__file__).parent / "results" / "ingest_engine.json"
TENANT = "bench-ingest"
HZ = os.sysconf("SC_CLK_TCK")


def _say(message: str) -> None:
    print(f"[ingest] {message}", flush=True)


def _name(pid: int) -> str | None:
    """A process's name for the CPU table: Ray's process title, ``postgres``, or None (not the engine's)."""
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")[0].decode(errors="replace")
        comm = Path(f"/proc/{pid}/comm").read_text().strip()
    except OSError:
        return None
    if cmdline.startswith("ray::"):
        return cmdline.split(" ")[0].removeprefix("ray::").removeprefix("ServeReplica:")
    if comm == "postgres" or cmdline.startswith("postgres"):
        return "postgres"
    if pid == os.getpid():
        return "load generator"
    return None


def cpu_seconds() -> dict[str, float]:
    """CPU seconds (user + system) so far, summed per process name."""
    out: dict[str, float] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        name = _name(int(entry.name))
        if name is None:
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        out[name] = out.get(name, 0.0) + (int(fields[11]) + int(fields[12])) / HZ
    return out


async def phase(poster: Poster, *, per_request: int, in_flight: int, seconds: float) -> dict[str, Any]:
    """Closed loop: ``in_flight`` senders, each posting ``per_request`` events and waiting for the answer."""
    token = poster.tokens[TENANT]
    stored = 0
    answers: list[float] = []
    statuses: dict[int, int] = {}

    async def sender(until: float) -> None:
        nonlocal stored
        while time.monotonic() < until:
            events = [poster.event(TENANT, "[ingest]") for _ in range(per_request)]
            body: Any = events[0] if per_request == 1 else events
            sent = time.monotonic()
            try:
                answer = await poster.http.post(
                    f"{poster.engine.base}/v1/events", json=body, headers={"Authorization": f"Bearer {token}"}
                )
                status = answer.status_code
                if status == 202:
                    stored += int(answer.json()["stored"])
            except httpx.HTTPError:
                status = 0
            statuses[status] = statuses.get(status, 0) + 1
            answers.append((time.monotonic() - sent) * 1000)

    await asyncio.gather(*(sender(time.monotonic() + 5.0) for _ in range(in_flight)))  # warm-up
    warm_up_statuses = dict(statuses)
    statuses.clear()
    answers.clear()
    stored = 0
    before, started = cpu_seconds(), time.monotonic()
    await asyncio.gather(*(sender(started + seconds) for _ in range(in_flight)))
    elapsed, after = time.monotonic() - started, cpu_seconds()
    used = {k: after[k] - before.get(k, 0.0) for k in after}
    per_mention = {k: round(v * 1000 / max(stored, 1), 1) for k, v in sorted(used.items(), key=lambda kv: -kv[1])}
    return {
        "events_per_request": per_request,
        "requests_in_flight": in_flight,
        "seconds": round(elapsed, 1),
        "stored": stored,
        "mentions_per_s": round(stored / elapsed, 1),
        "answer_p50_ms": percentile(answers, 0.5),
        "answer_p95_ms": percentile(answers, 0.95),
        "statuses": {str(k): v for k, v in sorted(statuses.items())},
        "warm_up_statuses": {str(k): v for k, v in sorted(warm_up_statuses.items())},
        "cpu_ms_per_mention": {k: v for k, v in per_mention.items() if v >= 0.1},
        "cpu_ms_per_mention_total": round(sum(used.values()) * 1000 / max(stored, 1), 1),
    }


async def run(work: Path, seconds: float) -> dict[str, Any]:
    from benchmarks.serve_models import tweets

    engine = Engine(work)
    try:
        ready_s = await engine.start()
        poster = Poster(engine, tweets())
        poster.tokens[TENANT] = engine.cli("token", "--tid", TENANT, "--mid", MID, "--scope", "events:write").strip()
        try:
            _say(f"single: one event per request, 8 in flight, {seconds:g} s …")
            single = await phase(poster, per_request=1, in_flight=8, seconds=seconds)
            _say(f"single: {single['mentions_per_s']}/s, CPU per mention {single['cpu_ms_per_mention']}")
            _say(f"batched: 32 events per request, 2 in flight, {seconds:g} s …")
            batched = await phase(poster, per_request=32, in_flight=2, seconds=seconds)
            _say(f"batched: {batched['mentions_per_s']}/s, CPU per mention {batched['cpu_ms_per_mention']}")
        finally:
            await poster.close()
    finally:
        engine.stop()
    return {"ready_s": round(ready_s, 1), "single": single, "batched": batched}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=40.0, help="length of each measured phase")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="vettify-ingest-") as work:
        results = asyncio.run(run(Path(work), args.seconds))
    single, batched = results["single"], results["batched"]
    print()
    print(f"{'':24}{'single':>10}{'batched':>10}")
    print(f"{'mentions/s':24}{single['mentions_per_s']:>10}{batched['mentions_per_s']:>10}")
    print(f"{'CPU ms per mention':24}{single['cpu_ms_per_mention_total']:>10}{batched['cpu_ms_per_mention_total']:>10}")
    for name in single["cpu_ms_per_mention"]:
        print(f"  {name:22}{single['cpu_ms_per_mention'][name]:>10}{batched['cpu_ms_per_mention'].get(name, 0.0):>10}")
    document = {
        "benchmark": "ingest_engine",
        "command": "python -m benchmarks.ingest_engine",
        "results": results,
        "goals": {
            # a producer that batches gets at least twice the single-event rate from the same engine
            "batched_rate_at_least_twice_single_event": batched["mentions_per_s"] >= 2 * single["mentions_per_s"],
            "no_request_failed": set(single["statuses"]) | set(batched["statuses"]) <= {"202"},
        },
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(document, indent=2) + "\n")
    print(f"\ngoals: {document['goals']}\nwrote {RESULTS}")


if __name__ == "__main__":
    main()
