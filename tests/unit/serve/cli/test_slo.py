"""``vettify slo check|rules|run``: what the operator sees before any load is sent."""

from __future__ import annotations

from pathlib import Path

import pytest

from serve.cli import main
from serve.slo.rules import render
from serve.slo.spec import DEFAULT_SPEC, load_spec

RULES = DEFAULT_SPEC.parent / "prometheus" / "vettify-slo-rules.yaml"


def test_the_committed_alert_rules_are_generated_from_the_committed_spec() -> None:
    assert RULES.read_text() == render(load_spec(DEFAULT_SPEC), "cluster/slo.yaml"), (
        f"{RULES} is stale: vettify slo rules --out cluster/prometheus/vettify-slo-rules.yaml"
    )


def test_check_lists_the_objectives(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["slo", "check"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("cluster/slo.yaml: 9 objective(s), tenant slo-probe")
    assert "sentiment-replica-kill" in out


def test_rules_to_stdout_or_a_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["slo", "rules"]) == 0
    assert capsys.readouterr().out == RULES.read_text()
    out = tmp_path / "rules" / "slo.yaml"
    assert main(["slo", "rules", "--out", str(out)]) == 0
    assert out.read_text() == RULES.read_text()


def test_a_bad_spec_exits_2_with_every_problem(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    spec = tmp_path / "slo.yaml"
    spec.write_text("objectives:\n  - {name: a, kind: model, model: sentiment, rate_rps: 0}\n")
    with pytest.raises(SystemExit) as exit_:
        main(["slo", "run", "--spec", str(spec)])
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert "rate_rps: Input should be greater than 0" in err and "latency_ms: Field required" in err


def test_an_unknown_objective_or_someone_elses_host_exits_2_before_any_load(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["slo", "run", "--only", "nope"]) == 2
    assert "no objective named nope" in capsys.readouterr().err
    assert main(["slo", "run", "--target", "http://192.0.2.10:8000"]) == 2  # TEST-NET-1: never this machine
    assert "--allow-host 192.0.2.10" in capsys.readouterr().err


def test_loopback_names_are_allowed() -> None:
    from serve.slo.runner import check_host

    assert check_host("http://127.0.0.1:8000", []) == "127.0.0.1"
    assert check_host("localhost:9000", []) == "localhost"
    assert check_host("http://[::1]:8000", []) == "::1"
    assert check_host("http://engine.internal:8000", ["engine.internal"]) == "engine.internal"
