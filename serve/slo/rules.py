"""Prometheus rules from the same spec: recording rules for each indicator's bad-event ratio over the burn-rate
windows, and multi-window, multi-burn-rate alerts (the SRE workbook's, as Sloth generates them).

Each kind of objective a live metric can follow is watched by one indicator per promise:

* ``model``: the gateway's per-model ``vettify_model_requests_total`` (errors: refusals and server faults, not
  the caller's bad input) and ``vettify_model_request_seconds``;
* ``crm_rest``: the CRM app's ``vettify_http_requests_total`` / ``vettify_http_request_seconds`` over all its
  routes (errors: 5xx answers);
* ``ingestion``: ``POST /v1/events`` on the gateway — an event is stored when it is answered, so the lag
  promise reads as the answer time (events from RabbitMQ and Kafka show in ``/v1/insights/stream-lag``);
* ``insight_query``: ``POST /v1/insights/mentions/similar`` on the gateway.

A latency promise "p95 ≤ 250 ms" reads "at most 5 % of requests slower than the 250 ms bucket" (a target
between buckets uses the bucket below it, the stricter reading). Objectives sharing an indicator (sentiment over
HTTP and gRPC: the gateway counts calls, not protocols) are watched at the strictest of their targets. Voice,
vision and availability are measured by ``vettify slo run``; the file lists them in its header.

Burn factors follow the budget window: paging when 2 % of the budget goes in 1 h (or 5 % in 6 h), a ticket
when 10 % goes in a day (or in 3 days) — for a 30-day window the familiar 14.4, 6, 3 and 1.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import yaml
from prometheus_client.utils import floatToGoString

from infra.http.metrics import LATENCY_BUCKETS, UNMATCHED
from serve.slo.spec import (
    CrmRestObjective,
    IngestionObjective,
    InsightQueryObjective,
    ModelObjective,
    Objective,
    SloSpec,
    window_seconds,
)

SERVER_FAULTS = ("resource_exhausted", "unavailable", "internal", "deadline_exceeded", "unknown", "data_loss",
                 "unimplemented")  # fmt: skip
RATE_WINDOWS = ("5m", "30m", "1h", "2h", "6h", "1d", "3d")
LiveObjective = ModelObjective | CrmRestObjective | IngestionObjective | InsightQueryObjective
LIVE_KINDS = (ModelObjective, CrmRestObjective, IngestionObjective, InsightQueryObjective)


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
class Source:
    """Where an indicator's requests are counted: the metric names and the label matchers that pick them."""

    key: str  # names the indicators: sentiment, crm, events, similar-mentions
    counter: str
    histogram: str
    labels: dict[str, str]  # equality matchers
    exclude: dict[str, str] = field(default_factory=dict)  # inequality matchers
    bad: tuple[str, tuple[str, ...]] = ("code", ("5xx",))  # the label and its values that mark a failed request
    scrape: str = "/metrics"  # the path that serves these metrics (the dashboard reads it)

    def matchers(self, *extra: str) -> str:
        parts = [f'{k}="{v}"' for k, v in self.labels.items()]
        parts += [f'{k}!="{v}"' for k, v in self.exclude.items()]
        return "{" + ",".join([*parts, *extra]) + "}"


def source_of(objective: LiveObjective) -> Source:
    if isinstance(objective, ModelObjective):
        return Source(objective.model, "vettify_model_requests_total", "vettify_model_request_seconds",
                      {"model": objective.model}, bad=("outcome", SERVER_FAULTS))  # fmt: skip
    http = ("vettify_http_requests_total", "vettify_http_request_seconds")
    if isinstance(objective, CrmRestObjective):
        return Source("crm", *http, {"app": "crm"}, {"route": UNMATCHED}, scrape="/v1/crm/metrics")
    if isinstance(objective, IngestionObjective):
        return Source("events", *http, {"app": "gateway", "route": "/v1/events", "method": "POST"})
    route = "/v1/insights/mentions/similar"
    return Source("similar-mentions", *http, {"app": "gateway", "route": route, "method": "POST"})


def latency_targets(objective: LiveObjective) -> dict[float, float]:
    if isinstance(objective, IngestionObjective):
        return {0.95: objective.lag_p95_ms}
    return objective.latency_ms.targets()


@dataclass(frozen=True)
class Sli:
    """One promise as a bad-event ratio: ``bad(w) / total(w)`` must stay under ``budget``."""

    slo: str  # the indicator and the promise (e.g. sentiment-errors, crm-p95)
    objective: str  # the spec's objectives it stands for, comma-separated
    window: str
    budget: float
    source: Source
    summary: str
    le: float | None = None  # latency SLIs: requests in this bucket are good; error SLIs: None

    def bad(self, w: str) -> str:
        """PromQL of the bad-event rate over the window ``w``."""
        s = self.source
        if self.le is None:
            values = "|".join(s.bad[1])
            return f"sum(rate({s.counter}{s.matchers(f'{s.bad[0]}=~{chr(34)}{values}{chr(34)}')}[{w}]))"
        fast = f"sum(rate({s.histogram}_bucket{s.matchers(f'le={chr(34)}{go_float(self.le)}{chr(34)}')}[{w}]))"
        return f"({self.total(w)} - {fast})"

    def total(self, w: str) -> str:
        s = self.source
        if self.le is None:
            return f"sum(rate({s.counter}{s.matchers()}[{w}]))"
        return f"sum(rate({s.histogram}_count{s.matchers()}[{w}]))"

    def as_dict(self) -> dict[str, Any]:
        """What a client computing the budget from the metrics page itself needs (the dashboard's System view)."""
        s = self.source
        return {
            "slo": self.slo, "objective": self.objective, "window": self.window, "budget": self.budget,
            "summary": self.summary, "kind": "errors" if self.le is None else "latency", "scrape": s.scrape,
            "counter": s.counter, "histogram": s.histogram, "labels": s.labels, "exclude": s.exclude,
            "bad_label": s.bad[0], "bad_values": list(s.bad[1]), "le": None if self.le is None else go_float(self.le),
        }  # fmt: skip


def go_float(value: float) -> str:
    """A float as Prometheus client libraries write a bucket's ``le`` (``1.0``, ``0.25``, ``+Inf``)."""
    text: str = floatToGoString(value)  # type: ignore[no-untyped-call]
    return text


def bucket_at_most(seconds: float) -> float:
    """The largest latency bucket ≤ ``seconds`` (the smallest bucket when the target is below all of them)."""
    below = [b for b in LATENCY_BUCKETS if b <= seconds + 1e-12]
    return below[-1] if below else LATENCY_BUCKETS[0]


def live(objectives: Sequence[Objective]) -> list[LiveObjective]:
    return [o for o in objectives if isinstance(o, LIVE_KINDS)]


def slis(objectives: Sequence[Objective]) -> list[Sli]:
    """One error indicator and one per promised percentile for each source; objectives sharing a source are
    watched at the strictest of their targets and the shortest window."""
    groups: dict[str, list[LiveObjective]] = {}
    for objective in live(objectives):
        groups.setdefault(source_of(objective).key, []).append(objective)
    out: list[Sli] = []
    for key, group in sorted(groups.items()):
        source = source_of(group[0])
        label = ",".join(o.name for o in group)
        window = min((o.window for o in group), key=window_seconds)
        error_ratio = min(o.error_ratio for o in group)
        out.append(
            Sli(f"{key}-errors", label, window, error_ratio, source,
                f"{key}: failed or refused requests above {100 * error_ratio:g} %")
        )  # fmt: skip
        quantiles = sorted({q for o in group for q in latency_targets(o)})
        for q in quantiles:
            target_ms = min(latency_targets(o)[q] for o in group if q in latency_targets(o))
            le = bucket_at_most(target_ms / 1000)
            out.append(
                Sli(f"{key}-p{round(100 * q)}", label, window, round(1 - q, 6), source,
                    f"{key}: more than {100 * (1 - q):g} % of requests slower than {1000 * le:g} ms", le)
            )  # fmt: skip
    return out


def factor(alert: BurnAlert, window: str) -> float:
    """How many times faster than even the budget burns when ``budget_spent`` of it goes within ``alert.long``."""
    return alert.budget_spent * window_seconds(window) / window_seconds(alert.long)


def recorded(w: str) -> str:
    return f"vettify:slo_bad_ratio:rate{w}"


def rule_groups(spec: SloSpec) -> dict[str, Any]:
    recording: list[dict[str, Any]] = []
    alerts: list[dict[str, Any]] = []
    for sli in slis(spec.objectives):
        labels = {"slo": sli.slo, "objective": sli.objective}
        for w in RATE_WINDOWS:
            expr = f"({sli.bad(w)}) / ({sli.total(w)})"
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
    watched = [o.name for o in live(spec.objectives)]
    runs_only = [o.name for o in spec.objectives if o.name not in watched]
    header = [
        f"# Generated by `vettify slo rules --spec {source}`; do not edit by hand.",
        f"# Objectives with live burn-rate alerts: {', '.join(watched) or 'none'}.",
        f"# Measured by `vettify slo run` only (no live metric yet): {', '.join(runs_only) or 'none'}.",
        "# Scrape every gateway replica's /metrics and every CRM replica's /v1/crm/metrics.",
    ]
    body: str = yaml.safe_dump(rule_groups(spec), sort_keys=False, width=10_000, allow_unicode=True)
    return "\n".join(header) + "\n" + body
