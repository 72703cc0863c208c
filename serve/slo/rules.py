"""Prometheus rules from the same spec: recording rules for each objective's bad-event ratio over the burn-rate
windows, and multi-window, multi-burn-rate alerts (the SRE workbook's, as Sloth generates them).

Only objectives a live metric can follow get rules: the model endpoints, from the gateway's
``vettify_model_requests_total`` (errors: refusals and server faults, not the caller's bad input) and
``vettify_model_request_seconds`` (a latency promise "p95 ≤ 250 ms" reads "at most 5 % of requests slower
than the 250 ms bucket"; a target between buckets uses the bucket below it, the stricter reading). The other
kinds are measured by ``vettify slo run``; the file lists them in its header.

Burn factors follow the budget window: paging when 2 % of the budget goes in 1 h (or 5 % in 6 h), a ticket
when 10 % goes in a day (or in 3 days) — for a 30-day window the familiar 14.4, 6, 3 and 1.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import yaml
from prometheus_client.utils import floatToGoString

from serve.metrics import LATENCY_BUCKETS
from serve.slo.spec import ModelObjective, SloSpec, window_seconds

SERVER_FAULTS = "resource_exhausted|unavailable|internal|deadline_exceeded|unknown|data_loss|unimplemented"
RATE_WINDOWS = ("5m", "30m", "1h", "2h", "6h", "1d", "3d")


@dataclass(frozen=True)
class BurnAlert:
    severity: str
    long: str
    short: str
    budget_spent: float  # the fraction of the whole budget spent within ``long`` that raises it


BURN_ALERTS = (
    BurnAlert("page", "1h", "5m", 0.02),
    BurnAlert("page", "6h", "30m", 0.05),
    BurnAlert("ticket", "1d", "2h", 0.10),
    BurnAlert("ticket", "3d", "6h", 0.10),
)


@dataclass(frozen=True)
class Sli:
    """One promise as a bad-event ratio: ``bad(w) / total(w)`` must stay under ``budget``."""

    slo: str  # the model and the promise (e.g. sentiment-errors, sentiment-p95)
    objective: str  # the spec's objectives it stands for, comma-separated
    window: str
    budget: float
    bad: str  # PromQL of the bad-event rate over the window written ``$w``
    total: str
    summary: str
    model: str = ""
    le: float | None = None  # latency SLIs: requests in this bucket are good; error SLIs: None

    def as_dict(self) -> dict[str, Any]:
        """What a client computing the budget from ``/metrics`` itself needs (the dashboard's System view)."""
        return {
            "slo": self.slo, "objective": self.objective, "model": self.model, "window": self.window,
            "budget": self.budget, "summary": self.summary, "kind": "errors" if self.le is None else "latency",
            "le": None if self.le is None else go_float(self.le), "bad_outcomes": SERVER_FAULTS.split("|"),
        }  # fmt: skip


def go_float(value: float) -> str:
    """A float as Prometheus client libraries write a bucket's ``le`` (``1.0``, ``0.25``, ``+Inf``)."""
    text: str = floatToGoString(value)  # type: ignore[no-untyped-call]
    return text


def bucket_at_most(seconds: float) -> float:
    """The largest latency bucket ≤ ``seconds`` (the smallest bucket when the target is below all of them)."""
    below = [b for b in LATENCY_BUCKETS if b <= seconds + 1e-12]
    return below[-1] if below else LATENCY_BUCKETS[0]


def slis(objectives: list[ModelObjective]) -> list[Sli]:
    """One error SLI and one per promised percentile for each model: objectives over HTTP and gRPC for the same
    model read the same per-model metric (the gateway counts calls, not protocols), so the strictest of their
    targets and the shortest window is what the rules watch."""
    out: list[Sli] = []
    for name in sorted({o.model for o in objectives}):
        group = [o for o in objectives if o.model == name]
        label = ",".join(o.name for o in group)
        window = min((o.window for o in group), key=window_seconds)
        model = f'model="{name}"'
        total = f"sum(rate(vettify_model_requests_total{{{model}}}[$w]))"
        error_ratio = min(o.error_ratio for o in group)
        out.append(
            Sli(
                f"{name}-errors", label, window, error_ratio,
                f'sum(rate(vettify_model_requests_total{{{model},outcome=~"{SERVER_FAULTS}"}}[$w]))', total,
                f"{name}: refused or failed requests above {100 * error_ratio:g} %", name,
            )
        )  # fmt: skip
        quantiles = sorted({q for o in group for q in o.latency_ms.targets()})
        for q in quantiles:
            target_ms = min(o.latency_ms.targets()[q] for o in group if q in o.latency_ms.targets())
            le = bucket_at_most(target_ms / 1000)
            count = f"sum(rate(vettify_model_request_seconds_count{{{model}}}[$w]))"
            # ``le`` spelled as the client library writes it ("1.0", "0.25"): the label must match exactly
            fast = f'sum(rate(vettify_model_request_seconds_bucket{{{model},le="{go_float(le)}"}}[$w]))'
            out.append(
                Sli(
                    f"{name}-p{round(100 * q)}", label, window, round(1 - q, 6), f"({count} - {fast})", count,
                    f"{name}: more than {100 * (1 - q):g} % of requests slower than {1000 * le:g} ms", name, le,
                )
            )  # fmt: skip
    return out


def factor(alert: BurnAlert, window: str) -> float:
    """How many times faster than even the budget burns when ``budget_spent`` of it goes within ``alert.long``."""
    return alert.budget_spent * window_seconds(window) / window_seconds(alert.long)


def recorded(w: str) -> str:
    return f"vettify:slo_bad_ratio:rate{w}"


def rule_groups(spec: SloSpec) -> dict[str, Any]:
    objectives = [o for o in spec.objectives if isinstance(o, ModelObjective)]
    recording: list[dict[str, Any]] = []
    alerts: list[dict[str, Any]] = []
    for sli in slis(objectives):
        labels = {"slo": sli.slo, "objective": sli.objective}
        for w in RATE_WINDOWS:
            expr = f"({sli.bad.replace('$w', w)}) / ({sli.total.replace('$w', w)})"
            recording.append({"record": recorded(w), "expr": expr, "labels": dict(labels)})
        for severity in ("page", "ticket"):
            pairs = [a for a in BURN_ALERTS if a.severity == severity]
            clauses = []
            for alert in pairs:
                threshold = f"{factor(alert, sli.window):g} * {sli.budget:g}"
                selector = f'{{slo="{sli.slo}"}}'
                clauses.append(
                    f"({recorded(alert.long)}{selector} > ({threshold}) "
                    f"and {recorded(alert.short)}{selector} > ({threshold}))"
                )
            alerts.append({
                "alert": f"VettifySloBurn{severity.capitalize()}",
                "expr": " or ".join(clauses),
                "labels": {"severity": severity, **labels},
                "annotations": {
                    "summary": sli.summary,
                    "description": (
                        f"{sli.slo} is spending its {sli.window} error budget ({100 * sli.budget:g} %) "
                        f"{'fast enough to page' if severity == 'page' else 'faster than it can last'}"
                    ),
                },
            })  # fmt: skip
    return {
        "groups": [
            {"name": "vettify-slo-recording", "interval": "30s", "rules": recording},
            {"name": "vettify-slo-alerts", "interval": "30s", "rules": alerts},
        ]
    }


def render(spec: SloSpec, source: str) -> str:
    live = [o.name for o in spec.objectives if isinstance(o, ModelObjective)]
    runs_only = [o.name for o in spec.objectives if not isinstance(o, ModelObjective)]
    header = [
        f"# Generated by `vettify slo rules --spec {source}`; do not edit by hand.",
        f"# Objectives with live burn-rate alerts: {', '.join(live) or 'none'}.",
        f"# Measured by `vettify slo run` only (no live metric yet): {', '.join(runs_only) or 'none'}.",
        "# The metrics come from each gateway replica's /metrics (scrape every replica).",
    ]
    body: str = yaml.safe_dump(rule_groups(spec), sort_keys=False, width=10_000, allow_unicode=True)
    return "\n".join(header) + "\n" + body
