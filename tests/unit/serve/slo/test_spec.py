"""The slo.yaml schema: the shipped spec is valid, and every mistake is named with its place in the file."""

from __future__ import annotations

from pathlib import Path

import pytest

from serve.slo.spec import DEFAULT_SPEC, ModelObjective, SpecError, load_spec, parse_spec, window_seconds


def test_the_shipped_spec_covers_every_kind_of_objective() -> None:
    spec = load_spec(DEFAULT_SPEC)
    assert {o.kind for o in spec.objectives} == {
        "model",
        "ingestion",
        "insight_query",
        "crm_rest",
        "availability",
        "voice",
        "vision",
    }
    http = next(o for o in spec.objectives if o.name == "sentiment-http")
    assert isinstance(http, ModelObjective)
    assert http.latency_ms.targets() == {0.5: 100.0, 0.95: 250.0, 0.99: 1000.0}


def test_every_problem_is_reported_at_once_with_its_place() -> None:
    text = """
objectives:
  - {name: Sentiment HTTP, kind: model, model: sentiment, rate_rps: 0, latency_ms: {}}
  - {name: ok-one, kind: crm_rest, clients: 10000, latency_ms: {p95: 250}, surprise: 1}
"""
    with pytest.raises(SpecError) as error:
        parse_spec(text, "team.yaml")
    message = str(error.value)
    assert message.startswith("team.yaml has 5 problem(s)")
    for place in ("objectives.0.model.name", "objectives.0.model.rate_rps", "objectives.0.model.latency_ms",
                  "objectives.1.crm_rest.clients", "objectives.1.crm_rest.surprise"):  # fmt: skip
        assert place in message


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("objectives: []", "objectives: List should have at least 1 item"),
        ("- just a list", "the top level must be a mapping"),
        ("objectives: [: bad", "is not valid YAML"),
        ("objectives:\n  - {name: x, kind: teleport}", "does not match any of the expected tags"),
        (
            "objectives:\n  - {name: a, kind: ingestion, rate_rps: 1, lag_p95_ms: 5}\n"
            "  - {name: a, kind: ingestion, rate_rps: 1, lag_p95_ms: 5}",
            "repeated: a",
        ),
        ("objectives:\n  - {name: a, kind: ingestion, rate_rps: 1000, lag_p95_ms: 5}", "less than or equal to 500"),
        (
            "objectives:\n  - {name: a, kind: availability, rate_rps: 1, kill_after_s: 30, duration_s: 20}",
            "kill_after_s must fall inside duration_s",
        ),
        ("objectives:\n  - {name: a, kind: ingestion, rate_rps: 1, lag_p95_ms: 5, window: 1w}", "m, h or d"),
    ],
)
def test_bad_specs_are_refused_with_the_reason(text: str, expected: str) -> None:
    with pytest.raises(SpecError, match=expected.replace("[", r"\[")):
        parse_spec(text)


def test_an_unreadable_file_is_a_spec_error(tmp_path: Path) -> None:
    with pytest.raises(SpecError, match="cannot read the spec"):
        load_spec(tmp_path / "missing.yaml")


def test_selecting_objectives_by_name() -> None:
    spec = load_spec(DEFAULT_SPEC)
    assert [o.name for o in spec.select(["crm-users"])] == ["crm-users"]
    assert len(spec.select(None)) == len(spec.objectives)
    with pytest.raises(SpecError, match="no objective named nope"):
        spec.select(["nope"])


def test_windows() -> None:
    assert window_seconds("30d") == 30 * 86400
    assert window_seconds("90m") == 5400
