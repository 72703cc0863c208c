"""The report: verdict table, notes, comparison with the previous run (regressions called out), self-contained HTML."""

from __future__ import annotations

import json
import math
from pathlib import Path

from serve.slo import report
from serve.slo.load import Sample
from serve.slo.probes import Check, Observation, at_least, at_most
from serve.slo.runner import ObjectiveResult, RunResult, _series
from serve.slo.stats import Estimate


def _result(p95: float, recall: float, *, kill: bool = False) -> RunResult:
    samples = [Sample(i / 10, (p95 if i % 20 == 0 else 20.0) / 1000, "ok" if i != 7 else "error") for i in range(100)]
    model = ObjectiveResult("sentiment-http", "model", "one text per request", "pass", warmup_s=1.0)
    model.checks = [
        at_most("p95 latency", "ms", Estimate(p95, p95 * 0.9, p95 * 1.1, 100), 250.0),
        at_most("error ratio", "ratio", Estimate(0.01, 0.002, 0.05, 100), 0.001),
    ]
    model.status = "pass" if all(c.passed for c in model.checks) else "fail"
    model.series = _series(Observation(model.checks, samples))
    model.events = [(3.0, "killed SERVE_REPLICA::vettify#Sentiment#x")] if kill else []
    query = ObjectiveResult("similar", "insight_query", "k-NN", "pass")
    query.checks = [at_least("known-item recall@10", "ratio", Estimate(recall, recall - 0.02, 1.0, 200), 0.95)]
    query.status = "pass" if query.checks[0].passed else "fail"
    broken = ObjectiveResult("crm", "crm_rest", "", "error", notes=["RuntimeError: creating accounts failed: 401"])
    return RunResult("abc123", "2026-12-02T10:00:00+00:00", "2026-12-02T10:05:00+00:00",
                     {"http": "http://127.0.0.1:8000"}, "cluster/slo.yaml", [model, query, broken])  # fmt: skip


def test_verdicts_and_failures_are_named() -> None:
    document = _result(100.0, 0.99).as_dict()
    assert document["passed"] is False
    assert document["failed"] == ["sentiment-http", "crm"]  # the error ratio missed; crm could not be measured
    text = report.markdown(document)
    assert text.startswith("# SLO run abc123: FAIL (sentiment-http, crm)")
    assert "| sentiment-http | error ratio | 1.00 % | ≤ 0.10 % | -900 % |" in text
    assert "- crm: RuntimeError: creating accounts failed: 401" in text


def test_a_check_that_passed_before_and_fails_now_or_worsened_beyond_noise_is_a_regression() -> None:
    before, now = _result(100.0, 0.99).as_dict(), _result(130.0, 0.90).as_dict()
    rows = {(r["objective"], r["check"]): r for r in report.compare(now, before)}
    assert rows[("sentiment-http", "p95 latency")]["regressed"]  # +30 %, intervals apart, still within 250 ms
    assert rows[("similar", "known-item recall@10")]["regressed"]  # passed, now fails
    assert not rows[("sentiment-http", "error ratio")]["regressed"]  # unchanged
    assert math.isclose(rows[("sentiment-http", "p95 latency")]["change"], 0.3)
    assert report.compare(now, None) == []
    # +21 % but the intervals (±10 %) overlap: noise on a busy machine, not a regression
    noisy = {(r["objective"], r["check"]): r for r in report.compare(_result(121.0, 0.99).as_dict(), before)}
    assert not noisy[("sentiment-http", "p95 latency")]["regressed"]


def test_files_written_and_the_newest_is_compared_by_default(tmp_path: Path) -> None:
    first = report.write(_result(100.0, 0.99), tmp_path, None)
    assert report.latest_report(tmp_path) == first["json"]
    second_result = _result(140.0, 0.99)
    second_result.run_id = "def456"
    second = report.write(second_result, tmp_path, report.load_previous(first["json"]))
    document = json.loads(second["json"].read_text())
    assert document["compared_with"] == "abc123"
    assert any(r["regressed"] for r in document["comparison"])
    assert "regression" in second["md"].read_text()


def test_html_is_self_contained_with_plots_and_fault_marks() -> None:
    page = report.html_report(_result(100.0, 0.99, kill=True).as_dict())
    assert page.count("<svg") == 1  # the model objective's figure (over time, percentiles); none without samples
    assert "percentiles" in page and "warm-up (not measured)" in page
    assert not any(tag in page for tag in ("<script", "<link", "src=", "<img"))  # nothing fetched
    assert "Missed: sentiment-http, crm" in page
    assert "killed SERVE_REPLICA" in page


def test_unbounded_values_are_null_in_json_and_infinite_in_words() -> None:
    check = at_most("recovery", "s", Estimate(math.inf, math.inf, math.inf, 1), 120.0)
    assert not check.passed and check.margin == -1.0
    result = ObjectiveResult("kill", "availability", "", "fail", checks=[check])
    as_json = result.as_dict()["checks"][0]
    assert as_json["value"] is None
    json.dumps(as_json, allow_nan=False)
    assert "| kill | recovery | ∞ |" in report.markdown(
        RunResult("r", "t", "t", {"http": "h"}, "s", [result]).as_dict()
    )


def test_checks_margin_sign() -> None:
    assert Check("p95", "ms", 50, 40, 60, 10, 100, True, "conclusive").margin == 0.5
    assert at_least("recall", "ratio", Estimate(0.9, 0.8, 0.95, 10), 0.95).margin < 0
