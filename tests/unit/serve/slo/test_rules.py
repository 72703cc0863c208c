"""The generated burn-rate alerts, evaluated on metrics the gateway's real registry recorded over three days."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest
import yaml

from infra.http.metrics import HttpMetrics
from serve.metrics import GatewayMetrics
from serve.slo.rules import BURN_ALERTS, bucket_at_most, factor, render, rule_groups
from serve.slo.spec import parse_spec
from tests.support.promql_eval import Store, evaluate, firing

SPEC = parse_spec(
    """
objectives:
  - {name: sentiment-http, kind: model, model: sentiment, rate_rps: 10,
     latency_ms: {p50: 100, p95: 250, p99: 1000}, error_ratio: 0.001}
  - {name: sentiment-grpc, kind: model, model: sentiment, protocol: grpc, rate_rps: 10,
     latency_ms: {p95: 300}, error_ratio: 0.01}
  - {name: crm, kind: crm_rest, clients: 5, latency_ms: {p95: 250}}
  - {name: calls, kind: voice, real_time_factor_p95: 0.5}
"""
)
HOUR = 3600.0
END = 3 * 24 * HOUR + 2 * HOUR
Request = Callable[[float, np.random.Generator], tuple[float, str]]  # (time) -> (latency s, outcome)


def healthy(_: float, rng: np.random.Generator) -> tuple[float, str]:
    return float(rng.uniform(0.01, 0.08)), "ok"


def record(request: Request, per_minute: int = 10, *, crm: Request | None = None) -> Store:
    """Drives the gateway's metrics registry (and the CRM app's HTTP metrics) through simulated time and scrapes
    their exposition: every 30 min for most of three days, every minute over the last 7 hours (the short
    windows need close samples)."""
    metrics, http, store, rng = GatewayMetrics(), HttpMetrics("crm"), Store(), np.random.default_rng(3)
    t = 0.0
    while t < END:
        step = 60.0 if t >= END - 7 * HOUR else 1800.0
        for k in range(int(per_minute * step / 60)):
            latency, outcome = request(t + k * 60 / per_minute, rng)
            metrics.requests.labels("sentiment", outcome).inc()
            metrics.latency.labels("sentiment").observe(latency)
            latency, code = (crm or healthy_crm)(t + k * 60 / per_minute, rng)
            route = "/v1/crm/accounts/{item_id}"
            http.requests.labels("crm", route, "GET", code).inc()
            http.latency.labels("crm", route, "GET").observe(latency)
            http.requests.labels("crm", "unmatched", "GET", "4xx").inc()  # scanners: never the CRM's latency
            http.latency.labels("crm", "unmatched", "GET").observe(5.0)
        t += step
        store.add_exposition(metrics.render()[0].decode(), t)
        store.add_exposition(http.render()[0].decode(), t)
    return store


def healthy_crm(_: float, rng: np.random.Generator) -> tuple[float, str]:
    return float(rng.uniform(0.005, 0.05)), "4xx" if rng.random() < 0.2 else "2xx"  # a 404 is the caller's


def alerts(store: Store) -> set[tuple[str, str]]:
    return {(a["alertname"], a["slo"]) for a in firing(rule_groups(SPEC), store, END)}


def test_a_healthy_service_raises_nothing() -> None:
    assert alerts(record(healthy)) == set()


def test_an_hour_of_refusals_pages_for_the_error_budget_only() -> None:
    def refusing(t: float, rng: np.random.Generator) -> tuple[float, str]:
        latency, _ = healthy(t, rng)
        return latency, "resource_exhausted" if t > END - HOUR and rng.random() < 0.3 else "ok"

    fired = alerts(record(refusing))
    assert ("VettifySloBurnPage", "sentiment-errors") in fired
    assert not {slo for _, slo in fired} - {"sentiment-errors"}


def test_callers_bad_input_does_not_burn_the_budget() -> None:
    def invalid(t: float, rng: np.random.Generator) -> tuple[float, str]:
        latency, _ = healthy(t, rng)
        return latency, "invalid_argument" if t > END - 2 * HOUR and rng.random() < 0.5 else "ok"

    assert alerts(record(invalid)) == set()


def test_two_slow_hours_page_for_p95_but_not_for_the_looser_percentiles() -> None:
    def slow(t: float, rng: np.random.Generator) -> tuple[float, str]:
        return (0.4, "ok") if t > END - 2 * HOUR and rng.random() < 0.8 else healthy(t, rng)

    fired = alerts(record(slow))
    assert ("VettifySloBurnPage", "sentiment-p95") in fired
    assert {slo for _, slo in fired} == {"sentiment-p95"}


def test_the_recorded_ratio_is_the_bad_share_of_requests() -> None:
    def refusing(t: float, rng: np.random.Generator) -> tuple[float, str]:
        return 0.02, "unavailable" if t > END - HOUR and rng.random() < 0.25 else "ok"

    store = record(refusing)
    firing(rule_groups(SPEC), store, END)
    ratio = evaluate('vettify:slo_bad_ratio:rate30m{slo="sentiment-errors"}', store, END)
    assert isinstance(ratio, dict) and len(ratio) == 1
    assert 0.18 < next(iter(ratio.values())) < 0.32


def test_crm_5xx_answers_page_and_its_latency_reads_its_own_routes_only() -> None:
    def failing(t: float, rng: np.random.Generator) -> tuple[float, str]:
        return 0.01, "5xx" if t > END - HOUR and rng.random() < 0.3 else "2xx"

    assert alerts(record(healthy, crm=failing)) >= {("VettifySloBurnPage", "crm-errors")}
    assert not {slo for _, slo in alerts(record(healthy, crm=failing))} - {"crm-errors"}

    def slow(t: float, rng: np.random.Generator) -> tuple[float, str]:
        return (0.6, "2xx") if t > END - 2 * HOUR and rng.random() < 0.9 else (0.01, "2xx")

    assert {slo for _, slo in alerts(record(healthy, crm=slow))} == {"crm-p95"}


def test_http_and_grpc_objectives_of_one_model_share_one_sli_at_the_strictest_targets() -> None:
    groups = rule_groups(SPEC)
    recorded = {r["labels"]["slo"] for r in groups["groups"][0]["rules"]}
    assert recorded == {"sentiment-errors", "sentiment-p50", "sentiment-p95", "sentiment-p99", "crm-errors", "crm-p95"}
    page = next(r for r in groups["groups"][1]["rules"] if r["labels"]["slo"] == "sentiment-errors")
    assert "(14.4 * 0.001)" in page["expr"]  # the HTTP objective's 0.1 %, not gRPC's 1 %
    assert page["labels"]["objective"] == "sentiment-http,sentiment-grpc"
    p95 = next(r for r in groups["groups"][0]["rules"] if r["labels"]["slo"] == "sentiment-p95")
    assert 'le="0.25"' in p95["expr"]  # 250 ms is stricter than the gRPC objective's 300 ms


def test_rendered_file_is_yaml_that_names_what_only_runs_measure() -> None:
    text = render(SPEC, "cluster/slo.yaml")
    assert "vettify slo run` only (no live metric yet): calls" in text
    assert yaml.safe_load(text)["groups"][1]["rules"][0]["alert"] == "VettifySloBurnPage"


@pytest.mark.parametrize(("seconds", "bucket"), [(0.25, 0.25), (0.3, 0.25), (1.0, 1.0), (0.001, 0.002), (99, 30.0)])
def test_a_target_between_buckets_reads_the_stricter_bucket(seconds: float, bucket: float) -> None:
    assert bucket_at_most(seconds) == bucket


def test_burn_factors_follow_the_budget_window() -> None:
    assert [round(factor(a, "30d"), 6) for a in BURN_ALERTS] == [14.4, 6.0, 3.0, 1.0]
    assert round(factor(BURN_ALERTS[0], "7d"), 6) == 3.36
