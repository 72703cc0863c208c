"""``vettify slo run`` against the session's real stack: a spec that holds passes (exit 0), one out of reach fails
naming its objective (exit 1), a run that kills a replica measures the recovery, and the HTML report opens in
headless Chromium without errors."""

from __future__ import annotations

import json
import math
import time
from pathlib import Path

import pytest

from infra.browser import headless_chromium
from infra.security import mint_token
from serve.cli import main
from serve.slo.runner import TOKEN_SCOPES, run_sync
from serve.slo.spec import parse_spec
from tests.integration.serve.conftest import ServeStack

pytestmark = pytest.mark.slow

HOLDS = """
tenant: slo-it
objectives:
  - {name: sentiment-http, kind: model, model: sentiment, rate_rps: 8, warmup_s: 1, duration_s: 4,
     latency_ms: {p50: 2000, p95: 5000}, error_ratio: 0.2}
  - {name: embedding-grpc, kind: model, model: embedding, protocol: grpc, rate_rps: 8, warmup_s: 1, duration_s: 4,
     latency_ms: {p95: 5000}, error_ratio: 0.2}
  - {name: ingestion, kind: ingestion, rate_rps: 3, warmup_s: 1, duration_s: 4, lag_p95_ms: 10000}
  - {name: similar, kind: insight_query, rate_rps: 4, warmup_s: 0.5, duration_s: 3, seed_mentions: 10,
     latency_ms: {p95: 5000}, recall_at_k: 0.8}
  - {name: crm, kind: crm_rest, clients: 4, think_time_ms: 200, warmup_s: 0.5, duration_s: 3,
     latency_ms: {p95: 5000}, error_ratio: 0.2}
  - {name: voice, kind: voice, profile: fast, duration_s: 2, real_time_factor_p95: 20}
  - {name: vision, kind: vision, duration_s: 2, ms_per_frame_p95: 5000}
"""
OUT_OF_REACH = """
tenant: slo-it
objectives:
  - {name: generous, kind: model, model: sentiment, rate_rps: 5, warmup_s: 0.5, duration_s: 2, latency_ms: {p95: 5000}}
  - {name: impossible, kind: model, model: sentiment, rate_rps: 5, warmup_s: 0.5, duration_s: 2,
     latency_ms: {p50: 0.01}}
"""


def _token(stack: ServeStack) -> str:
    return mint_token(stack.settings, sub="slo-test", tid="slo-it", mid="main", scopes=TOKEN_SCOPES, ttl_s=900)


def _run(stack: ServeStack, spec: Path, out: Path) -> int:
    return main([
        "slo", "run", "--spec", str(spec), "--target", stack.http, "--grpc", stack.grpc,
        "--token", _token(stack), "--out", str(out),
    ])  # fmt: skip


def test_a_spec_that_holds_passes_with_every_kind_measured(
    serve_stack: ServeStack, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    spec = tmp_path / "slo.yaml"
    spec.write_text(HOLDS)
    assert _run(serve_stack, spec, tmp_path / "reports") == 0, capsys.readouterr().out
    assert "all 7 objective(s) met" in capsys.readouterr().out
    document = json.loads(next((tmp_path / "reports").glob("slo-*.json")).read_text())
    by_name = {o["name"]: o for o in document["objectives"]}
    assert by_name["ingestion"]["figures"]["stored"] == by_name["ingestion"]["figures"]["sent"] > 0
    recall = next(c for c in by_name["similar"]["checks"] if c["name"].startswith("known-item recall"))
    assert recall["value"] >= 0.8
    assert by_name["crm"]["figures"]["outcomes"]["ok"] > 10
    assert by_name["embedding-grpc"]["figures"]["answered_rps"] > 6
    assert by_name["voice"]["figures"]["profile"] == "fast" and by_name["voice"]["figures"]["words"] > 10
    assert by_name["vision"]["figures"]["frames"] == 20


def test_an_out_of_reach_target_fails_naming_its_objective_and_the_report_opens_in_a_browser(
    serve_stack: ServeStack, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    spec = tmp_path / "slo.yaml"
    spec.write_text(OUT_OF_REACH)
    out = tmp_path / "reports"
    assert _run(serve_stack, spec, out) == 1
    printed = capsys.readouterr().out
    assert "objective(s) missed: impossible" in printed
    assert "PASS     generous" in printed and "FAIL     impossible" in printed
    page = next(out.glob("slo-*.html"))
    driver = headless_chromium(tmp_path / "chromium", console_log=True)
    try:
        driver.get(page.as_uri())
        assert driver.title.endswith(": fail")
        banner = driver.find_element("css selector", ".banner").text
        assert banner == "Missed: impossible"
        assert len(driver.find_elements("css selector", "section svg")) == 2
        assert [e for e in driver.get_log("browser") if e["level"] == "SEVERE"] == []
    finally:
        driver.quit()


def test_killing_a_replica_mid_run_is_measured_and_the_deployment_recovers(serve_stack: ServeStack) -> None:
    spec = parse_spec(
        """
tenant: slo-it
objectives:
  - {name: kill, kind: availability, model: sentiment, rate_rps: 5, duration_s: 8, kill_after_s: 2,
     deployment: Sentiment, error_ratio: 0.5, recovery_s: 240}
"""
    )
    result = run_sync(
        spec, spec.objectives, http=serve_stack.http, grpc=serve_stack.grpc, token=_token(serve_stack),
        spec_source="test", local_ray=True, texts=["the dashboard keeps working", "support was slow"],
    )  # fmt: skip
    objective = result.objectives[0]
    assert objective.status == "pass", objective.notes
    assert objective.events[0][1].startswith("killed SERVE_REPLICA::vettify#Sentiment#")
    recovery = next(c for c in objective.checks if c.name == "recovery")
    assert math.isfinite(recovery.value) and recovery.value > 0
    # the HTTP path (the gateway's own copy of the model) never depended on the killed replica
    assert next(c for c in objective.checks if c.name == "error ratio").value == 0.0
    _sentiment_answers_again()


def _sentiment_answers_again(within_s: float = 240) -> None:
    """Healthy is not yet serving: wait until the new replica answers, so later tests find it ready."""
    from ray import serve

    handle = serve.get_deployment_handle("Sentiment", app_name="vettify")
    deadline = time.monotonic() + within_s
    while time.monotonic() < deadline:
        try:
            handle.classify.remote(["back again"]).result(timeout_s=30)
            return
        except Exception:  # still starting
            time.sleep(1)
    pytest.fail(f"the Sentiment deployment did not answer within {within_s} s of the kill")
