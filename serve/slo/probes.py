"""One driver per kind of objective: what it sends, what it measures, and the checks against the spec's targets.

Every probe talks to the engine over its public interfaces only (HTTP, gRPC), as an operator's tool pointed
at a remote deployment must; only the availability probe's fault (killing a replica) needs the local Ray
cluster. Probe data goes to the spec's own tenant and is marked with the run's id.
"""

from __future__ import annotations

import asyncio
import math
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx

from serve.slo.load import Outcome, Sample, closed_loop_samples, grpc_text_call, http_outcome, open_loop_samples
from serve.slo.spec import (
    AvailabilityObjective,
    CrmRestObjective,
    IngestionObjective,
    InsightQueryObjective,
    ModelObjective,
    Percentiles,
    VisionObjective,
    VoiceObjective,
)
from serve.slo.stats import Estimate, percentile, ratio

Progress = Callable[[str], None]
MODEL_PATHS = {"sentiment": "/v1/sentiment", "embedding": "/v1/embed"}
BRANDS_PER_RUN = 4  # one brand's mentions commit in order (its spike window); several keep that queue out of the lag


@dataclass(frozen=True)
class Target:
    """Where the engine answers and who the probes are."""

    http: str
    grpc: str | None
    token: str | None
    tenant: str
    run_id: str
    local_ray: bool = False  # fault injection allowed: the target runs on this process's Ray cluster

    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"} if self.token else {}


@dataclass(frozen=True)
class Check:
    """One promise: the measured value (with its 95 % interval), the target, and the verdict."""

    name: str
    unit: str
    value: float
    low: float
    high: float
    samples: int
    target: float
    passed: bool
    certainty: str
    higher_is_better: bool = False

    @property
    def margin(self) -> float:
        """How far inside (+) or outside (-) the target the value is, as a fraction of the target."""
        if not math.isfinite(self.value) or self.target == 0:
            return 0.0 if self.passed else -1.0
        gap = self.value - self.target if self.higher_is_better else self.target - self.value
        return gap / self.target


def at_most(name: str, unit: str, estimate: Estimate, target: float) -> Check:
    passed = math.isfinite(estimate.value) and estimate.value <= target
    return Check(
        name, unit, estimate.value, estimate.low, estimate.high, estimate.samples, target, passed,
        estimate.certainty(target) if estimate.samples else "inconclusive",
    )  # fmt: skip


def at_least(name: str, unit: str, estimate: Estimate, target: float) -> Check:
    passed = math.isfinite(estimate.value) and estimate.value >= target
    sure = estimate.low >= target or estimate.high < target
    return Check(
        name, unit, estimate.value, estimate.low, estimate.high, estimate.samples, target, passed,
        "conclusive" if sure and estimate.samples else "inconclusive", higher_is_better=True,
    )  # fmt: skip


@dataclass
class Observation:
    """What one objective's run produced: its checks, the raw samples behind them and anything worth saying."""

    checks: list[Check]
    samples: list[Sample] = field(default_factory=list)
    offered_rps: float = 0.0
    figures: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    events: list[tuple[float, str]] = field(default_factory=list)  # (seconds from start, what happened)


def latency_checks(samples: list[Sample], targets: Percentiles) -> list[Check]:
    answered = [1000 * s.latency_s for s in samples if s.outcome == "ok"]
    return [
        at_most(f"p{round(q * 100)} latency", "ms", percentile(answered, q), target)
        for q, target in targets.targets().items()
    ]


def error_check(samples: list[Sample], target: float) -> Check:
    failed = sum(1 for s in samples if s.outcome != "ok")
    return at_most("error ratio", "ratio", ratio(failed, len(samples)), target)


def after_warmup(samples: list[Sample], warmup_s: float) -> list[Sample]:
    return [s for s in samples if s.at_s >= warmup_s]


def _rate_progress(progress: Progress, label: str, total: float) -> Callable[[float, int, int], None]:
    def report(elapsed: float, sent: int, answered: int) -> None:
        if int(elapsed) % 5 == 0:
            progress(f"{label}: {elapsed:4.0f}/{total:g} s, {sent} sent, {answered} answered")

    return report


async def _texts_sender(
    objective: ModelObjective | AvailabilityObjective, target: Target, texts: list[str], stack: Any
) -> Callable[[int], Any]:
    if objective.protocol == "grpc":
        import grpc

        if not target.grpc:
            raise ValueError(f"objective {objective.name} is over gRPC: give --grpc HOST:PORT")
        channel = await stack.enter_async_context(grpc.aio.insecure_channel(target.grpc))
        call = grpc_text_call(channel, objective.model)

        async def send_grpc(i: int) -> Outcome:
            return await call([texts[i % len(texts)]])

        return send_grpc
    limits = httpx.Limits(max_connections=512, max_keepalive_connections=512)
    client = await stack.enter_async_context(httpx.AsyncClient(base_url=target.http, timeout=30, limits=limits))
    path = MODEL_PATHS[objective.model]

    async def send_http(i: int) -> Outcome:
        response = await client.post(path, json={"text": texts[i % len(texts)]})
        return http_outcome(response.status_code, response.headers)

    return send_http


async def model_endpoint(
    objective: ModelObjective, target: Target, texts: list[str], progress: Progress
) -> Observation:
    from contextlib import AsyncExitStack

    async with AsyncExitStack() as stack:
        send = await _texts_sender(objective, target, texts, stack)
        total = objective.warmup_s + objective.duration_s
        samples = await open_loop_samples(
            send, objective.rate_rps, total, progress=_rate_progress(progress, objective.name, total)
        )
    measured = after_warmup(samples, objective.warmup_s)
    checks = [*latency_checks(measured, objective.latency_ms), error_check(measured, objective.error_ratio)]
    return Observation(checks, samples, objective.rate_rps, _throughput(measured, objective.duration_s))


def _throughput(samples: list[Sample], seconds: float) -> dict[str, Any]:
    ok = sum(1 for s in samples if s.outcome == "ok")
    counts = {k: sum(1 for s in samples if s.outcome == k) for k in ("ok", "refused", "error", "not_sent")}
    return {"answered_rps": round(ok / seconds, 1), "outcomes": counts}


def mention_event(target: Target, text: str, n: int, occurred_at: datetime | None = None) -> dict[str, Any]:
    """A ``social.twitter.mention`` carrying the run's marker, so its stored mention can be found again."""
    event: dict[str, Any] = {
        "id": str(uuid.uuid4()),
        "type": "social.twitter.mention",
        "tid": target.tenant,
        "mid": "main",
        "payload": {
            "post_id": f"slo-{target.run_id}-{n}",
            "brand": f"slo-{target.run_id}-{n % BRANDS_PER_RUN}",
            "text": f"[slo {target.run_id} #{n}] {text}",
            "author": "@vettify-slo",
        },
    }
    if occurred_at is not None:
        event["occurred_at"] = occurred_at.isoformat()
    return event


async def _stored_mentions(client: httpx.AsyncClient, target: Target) -> int:
    """Mentions the engine holds for this run's brands, counted per brand through the insight API's timeline
    (exact per brand, however many other brands the probe tenant has collected over earlier runs)."""
    stored = 0
    for n in range(BRANDS_PER_RUN):
        params: dict[str, str | int] = {"brand": f"slo-{target.run_id}-{n}", "bucket": "day", "days": 1}
        response = await client.get("/v1/insights/sentiment", params=params, headers=target.headers())
        response.raise_for_status()
        stored += sum(int(row["mentions"]) for row in response.json())
    return stored


async def ingestion(objective: IngestionObjective, target: Target, texts: list[str], progress: Progress) -> Observation:
    """Posts one mention per request at the rate; lag is from each event's scheduled time (its ``occurred_at``)
    until the engine answered that it stored it. Afterwards the insight API must hold every accepted one."""
    accepted = 0
    total = objective.warmup_s + objective.duration_s
    async with httpx.AsyncClient(base_url=target.http, timeout=60, limits=httpx.Limits(max_connections=512)) as client:
        start_wall = time.time()

        async def send(i: int) -> Outcome:
            nonlocal accepted
            due = datetime.fromtimestamp(start_wall + i / objective.rate_rps, UTC)
            event = mention_event(target, texts[i % len(texts)], i, occurred_at=due)
            response = await client.post("/v1/events", json=event, headers=target.headers())
            if response.status_code == 202 and response.json().get("stored") == 1:
                accepted += 1
                return True
            return http_outcome(response.status_code, response.headers)

        samples = await open_loop_samples(
            send, objective.rate_rps, total, progress=_rate_progress(progress, objective.name, total)
        )
        deadline = time.monotonic() + 30
        stored = await _stored_mentions(client, target)
        while stored < accepted and time.monotonic() < deadline:  # a store behind its answer would show here
            await asyncio.sleep(1)
            stored = await _stored_mentions(client, target)
    measured = after_warmup(samples, objective.warmup_s)
    lost = max(len(samples) - stored, 0)
    lag = percentile([1000 * s.latency_s for s in measured if s.outcome == "ok"], 0.95)
    lost_estimate = Estimate(float(lost), float(lost), float(lost), len(samples))
    checks = [
        at_most("lag p95", "ms", lag, objective.lag_p95_ms),
        at_most("events lost", "events", lost_estimate, objective.max_lost),
    ]
    figures = {
        **_throughput(measured, objective.duration_s),
        "sent": len(samples),
        "accepted": accepted,
        "stored": stored,
    }
    notes = [] if lost == 0 else [f"{lost} of {len(samples)} events were not stored (refused, failed or missing)"]
    return Observation(checks, samples, objective.rate_rps, figures, notes)


async def insight_query(
    objective: InsightQueryObjective, target: Target, texts: list[str], progress: Progress
) -> Observation:
    """Stores ``seed_mentions`` marked mentions, then asks for each one's nearest neighbours by its own text at
    the rate: latency per query, and how often the mention itself is among the k returned (known-item recall)."""
    found: list[bool] = []
    async with httpx.AsyncClient(base_url=target.http, timeout=60, limits=httpx.Limits(max_connections=512)) as client:
        seeds = [mention_event(target, texts[n % len(texts)], 100_000 + n) for n in range(objective.seed_mentions)]
        progress(f"{objective.name}: storing {len(seeds)} mentions to look up …")
        for start in range(0, len(seeds), 32):
            response = await client.post("/v1/events", json=seeds[start : start + 32], headers=target.headers())
            if response.status_code != 202:
                raise RuntimeError(f"seeding mentions failed: HTTP {response.status_code} {response.text[:200]}")

        async def send(i: int) -> Outcome:
            seed = seeds[i % len(seeds)]
            text = seed["payload"]["text"]
            body = {"text": text, "k": objective.k}
            response = await client.post("/v1/insights/mentions/similar", json=body, headers=target.headers())
            if response.status_code != 200:
                return http_outcome(response.status_code, response.headers)
            marker = text.split("]", 1)[0] + "]"
            found.append(any(str(row.get("text", "")).startswith(marker) for row in response.json()))
            return True

        total = objective.warmup_s + objective.duration_s
        samples = await open_loop_samples(
            send, objective.rate_rps, total, progress=_rate_progress(progress, objective.name, total)
        )
    measured = after_warmup(samples, objective.warmup_s)
    hits = sum(found)
    checks = [
        *latency_checks(measured, objective.latency_ms),
        at_least(f"known-item recall@{objective.k}", "ratio", ratio(hits, len(found)), objective.recall_at_k),
        error_check(measured, objective.error_ratio),
    ]
    return Observation(checks, samples, objective.rate_rps, _throughput(measured, objective.duration_s))


async def crm_rest(objective: CrmRestObjective, target: Target, texts: list[str], progress: Progress) -> Observation:
    """CRM users with think time: 50 % account reads, 25 % lists, 15 % searches, 10 % new leads."""
    headers = target.headers()
    limits = httpx.Limits(max_connections=objective.clients + 8, max_keepalive_connections=objective.clients + 8)
    async with httpx.AsyncClient(base_url=f"{target.http}/v1/crm", timeout=30, limits=limits, headers=headers) as c:
        progress(f"{objective.name}: creating 20 accounts to read …")
        ids: list[str] = []
        for n in range(20):
            response = await c.post("/accounts", json={"name": f"SLO probe {target.run_id} {n} SRL", "city": "Cluj"})
            if response.status_code != 201:
                raise RuntimeError(f"creating accounts failed: HTTP {response.status_code} {response.text[:200]}")
            ids.append(response.json()["id"])

        async def send(i: int) -> Outcome:
            slot = i % 20
            if slot < 10:
                response = await c.get(f"/accounts/{ids[i % len(ids)]}")
            elif slot < 15:
                response = await c.get("/accounts", params={"limit": 20})
            elif slot < 18:
                response = await c.get("/accounts", params={"q": "probe", "limit": 20})
            else:
                lead = {"email": f"slo-{target.run_id}-{i}@example.ro", "source": "slo-probe", "company_name": "SLO"}
                response = await c.post("/leads", json=lead)
            return http_outcome(response.status_code, response.headers, ok=(200, 201))

        total = objective.warmup_s + objective.duration_s
        progress(f"{objective.name}: {objective.clients} users, think time {objective.think_time_ms:g} ms, {total:g} s")
        samples = await closed_loop_samples(send, objective.clients, total, think_s=objective.think_time_ms / 1000)
    measured = after_warmup(samples, objective.warmup_s)
    checks = [*latency_checks(measured, objective.latency_ms), error_check(measured, objective.error_ratio)]
    return Observation(checks, samples, 0.0, _throughput(measured, objective.duration_s))


def _replicas(application: str, deployment: str) -> list[str]:
    import ray

    prefix = f"SERVE_REPLICA::{application}#{deployment}#"
    return [a["name"] for a in ray.util.list_named_actors(all_namespaces=True) if a["name"].startswith(prefix)]


def _healthy_again(application: str, deployment: str, killed: set[str]) -> bool:
    from ray import serve

    status = serve.status().applications.get(application)
    if status is None or deployment not in status.deployments:
        return False
    fresh = set(_replicas(application, deployment)) - killed
    return bool(fresh) and str(status.deployments[deployment].status) in ("HEALTHY", "DeploymentStatus.HEALTHY")


def _kill(application: str, deployment: str) -> set[str]:
    import ray

    names = set(_replicas(application, deployment))
    if not names:
        raise RuntimeError(f"no running replica of {application}/{deployment} to kill")
    name = sorted(names)[0]
    ray.kill(ray.get_actor(name, namespace="serve"), no_restart=True)
    return {name}


async def availability(
    objective: AvailabilityObjective, target: Target, texts: list[str], progress: Progress
) -> Observation:
    """Load at the rate; ``kill_after_s`` in, one replica of the deployment is killed. Errors are counted over the
    whole run; recovery runs from the kill until the deployment is healthy on a new replica."""
    from contextlib import AsyncExitStack

    if not target.local_ray:
        raise FaultNotPossible("fault injection needs the target's Ray cluster: run with --ray-address")
    events: list[tuple[float, str]] = []
    recovery_s = math.inf
    started = time.perf_counter()

    async def fault() -> None:
        nonlocal recovery_s
        await asyncio.sleep(objective.kill_after_s)
        killed = await asyncio.to_thread(_kill, objective.application, objective.deployment)
        at = time.perf_counter()
        events.append((at - started, f"killed {', '.join(sorted(killed))}"))
        progress(f"{objective.name}: killed {objective.application}/{objective.deployment} replica")
        deadline = at + objective.recovery_s * 3
        while time.perf_counter() < deadline:
            if await asyncio.to_thread(_healthy_again, objective.application, objective.deployment, killed):
                recovery_s = time.perf_counter() - at
                events.append((time.perf_counter() - started, f"{objective.deployment} healthy on a new replica"))
                progress(f"{objective.name}: {objective.deployment} back after {recovery_s:.1f} s")
                return
            await asyncio.sleep(0.5)

    async with AsyncExitStack() as stack:
        send = await _texts_sender(objective, target, texts, stack)
        total = objective.duration_s
        killer = asyncio.ensure_future(fault())
        samples = await open_loop_samples(
            send, objective.rate_rps, total, progress=_rate_progress(progress, objective.name, total)
        )
        await killer  # recovery may outlast the load; it is timed to the end (at most 3 times its target)
    recovered = Estimate(recovery_s, recovery_s, recovery_s, 1)
    checks = [error_check(samples, objective.error_ratio), at_most("recovery", "s", recovered, objective.recovery_s)]
    observation = Observation(checks, samples, objective.rate_rps, _throughput(samples, total), events=events)
    if not math.isfinite(recovery_s):
        observation.notes.append(f"{objective.deployment} was not healthy again within {objective.recovery_s * 3:g} s")
    return observation


class FaultNotPossible(RuntimeError):
    """The objective needs fault injection, which only a local Ray cluster allows; the objective is skipped."""


async def _media_run(
    objective: VoiceObjective | VisionObjective,
    target: Target,
    progress: Progress,
    post: Callable[[httpx.AsyncClient], Any],
    per_answer: Callable[[dict[str, Any], float], float],
) -> tuple[list[Sample], list[tuple[float, float]], list[dict[str, Any]]]:
    """Closed loop of ``concurrency`` callers posting the recording; per answer, the figure ``per_answer``
    derives from the body and the answer time, with when it was sent."""
    figures: list[tuple[float, float]] = []
    bodies: list[dict[str, Any]] = []
    started = time.perf_counter()
    async with httpx.AsyncClient(base_url=target.http, timeout=600, headers=target.headers()) as client:

        async def send(i: int) -> Outcome:
            sent = time.perf_counter()
            response = await post(client)
            if response.status_code != 200:
                return http_outcome(response.status_code, response.headers)
            body = response.json()
            figures.append((sent - started, per_answer(body, time.perf_counter() - sent)))
            bodies.append(body)
            return True

        total = objective.warmup_s + objective.duration_s
        progress(f"{objective.name}: {objective.concurrency} caller(s) for {total:g} s …")
        samples = await closed_loop_samples(send, objective.concurrency, total)
    return samples, [f for f in figures if f[0] >= objective.warmup_s], bodies


async def voice(objective: VoiceObjective, target: Target, texts: list[str], progress: Progress) -> Observation:
    """Real-time factor as a caller sees it: answer time over the recording's length (the server's own factor,
    without the transfer and queueing, is in the figures)."""
    from serve.slo.media import call_recording

    audio, content_type = await asyncio.to_thread(call_recording, objective.audio_file)
    params = {"profile": objective.profile} if objective.profile else {}

    def post(client: httpx.AsyncClient) -> Any:
        return client.post("/v1/voice/analyze", content=audio, params=params, headers={"Content-Type": content_type})

    samples, rtf, bodies = await _media_run(
        objective, target, progress, post, lambda body, seconds: seconds / max(float(body["duration_s"]), 1e-6)
    )
    measured = after_warmup(samples, objective.warmup_s)
    checks = [
        at_most("real-time factor p95", "x", percentile([f for _, f in rtf], 0.95), objective.real_time_factor_p95),
        error_check(measured, objective.error_ratio),
    ]
    figures: dict[str, Any] = {**_throughput(measured, objective.duration_s), "audio_bytes": len(audio)}
    if bodies:
        figures |= {"audio_s": bodies[-1]["duration_s"], "server_rtf": bodies[-1]["real_time_factor"],
                    "profile": bodies[-1].get("profile"), "words": len(bodies[-1].get("words", []))}  # fmt: skip
    return Observation(checks, samples, 0.0, figures)


async def vision(objective: VisionObjective, target: Target, texts: list[str], progress: Progress) -> Observation:
    """Milliseconds per analysed frame as a caller sees them: answer time over the frames the answer covers."""
    from serve.slo.media import video_call

    video, content_type = await asyncio.to_thread(video_call, objective.video_file)

    def post(client: httpx.AsyncClient) -> Any:
        return client.post(
            "/v1/vision/analyze", content=video, params={"fps": objective.fps}, headers={"Content-Type": content_type}
        )

    samples, per_frame, bodies = await _media_run(
        objective, target, progress, post,
        lambda body, seconds: 1000 * seconds / max(int(body["summary"]["frames"]), 1),
    )  # fmt: skip
    measured = after_warmup(samples, objective.warmup_s)
    checks = [
        at_most("ms per frame p95", "ms", percentile([f for _, f in per_frame], 0.95), objective.ms_per_frame_p95),
        error_check(measured, objective.error_ratio),
    ]
    figures: dict[str, Any] = {**_throughput(measured, objective.duration_s), "video_bytes": len(video)}
    if bodies:
        figures |= {"frames": bodies[-1]["summary"]["frames"], "video_s": bodies[-1]["summary"]["duration_s"]}
    return Observation(checks, samples, 0.0, figures)
