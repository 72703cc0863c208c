"""The marketing models through Ray Serve: HTTP routes and gRPC methods, answers and refusals."""

from __future__ import annotations

from collections.abc import Iterator

import grpc
import httpx
import pytest

from models.marketing.budget_simulate import CURRENT, NAMES
from protos import inference_pb2 as pb
from protos.inference_pb2_grpc import AnalyticsStub
from serve.application import APP_NAME
from tests.integration.serve.conftest import ServeStack

pytestmark = [pytest.mark.integration, pytest.mark.slow]
METADATA = (("application", APP_NAME),)


@pytest.fixture(scope="module")
def stub(serve_stack: ServeStack) -> Iterator[AnalyticsStub]:
    with grpc.insecure_channel(serve_stack.grpc) as channel:
        yield AnalyticsStub(channel)


def test_an_experiment_is_read_at_any_peek(http: httpx.Client) -> None:
    arms = [
        {"name": "A", "recipients": 20000, "conversions": 1000},
        {"name": "B", "recipients": 20000, "conversions": 1300},
    ]
    response = http.post("/v1/ab/analyze", json={"arms": arms, "seed": 1})
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["decision"], body["winner"], body["allocation"]) == ("winner", "B", {"A": 0.0, "B": 1.0})
    early = http.post("/v1/ab/analyze", json={"arms": [{**a, "recipients": 40, "conversions": 1} for a in arms]})
    assert early.json()["decision"] == "not_enough_data" and early.json()["missing"]
    one_arm = http.post("/v1/ab/analyze", json={"arms": arms[:1]})
    assert one_arm.status_code == 422 and "at least two arms" in one_arm.json()["detail"]
    impossible = http.post("/v1/ab/analyze", json={"arms": [{**arms[0], "conversions": 30000}, arms[1]]})
    assert impossible.status_code == 422


def test_attribution_with_spend(http: httpx.Client) -> None:
    journeys = [
        {"touches": ["display", "email"], "converted": True, "value": 120, "count": 3},
        {"touches": ["display"], "count": 40},
        {"touches": ["email"], "converted": True, "value": 80},
        {"touches": [], "converted": True, "count": 2},
    ]
    response = http.post("/v1/attribution", json={"journeys": journeys, "spend": {"display": 100, "email": 20}})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["conversions"] == 4 and len(body["results"]) == 7
    for result in body["results"]:
        assert sum(c["conversions"] for c in result["channels"]) == pytest.approx(4)
    last = {c["channel"]: c for c in next(r for r in body["results"] if r["model"] == "last_touch")["channels"]}
    assert last["email"]["roas"] == pytest.approx((360 + 80) / 20)
    unknown = http.post("/v1/attribution", json={"journeys": journeys, "channels": ["email"]})
    assert unknown.status_code == 422 and "display" in unknown.json()["detail"]


def test_budget_plan_and_pace(http: httpx.Client) -> None:
    from models.marketing.budget_simulate import simulate_history

    history = simulate_history(seed=3)
    request = {
        "channels": [
            {"name": n, "spend": list(history.spend[:, i]), "current": float(CURRENT[i])} for i, n in enumerate(NAMES)
        ],
        "outcome": list(history.outcome),
        "budget": float(CURRENT.sum()),
        "bootstrap": 5,
    }
    response = http.post("/v1/budget/plan", json=request, timeout=120)
    assert response.status_code == 200, response.text
    plan = response.json()
    assert plan["state"] == "ok" and sum(c["recommended"] for c in plan["channels"]) == pytest.approx(CURRENT.sum())
    assert plan["gain"] > 0 and len(plan["gain_interval"]) == 2
    short = http.post(
        "/v1/budget/plan",
        json={
            **request,
            "channels": [{**c, "spend": c["spend"][:10]} for c in request["channels"]],
            "outcome": request["outcome"][:10],
        },
    )
    assert short.json()["state"] == "not_enough_data" and "more periods" in short.json()["reason"]
    paced = http.post("/v1/budget/pace", json={"daily_budget": 240, "spent": 60, "hour": 12})
    assert paced.json()["state"] == "underspending" and paced.json()["multiplier"] == pytest.approx(1.5)
    assert http.post("/v1/budget/pace", json={"daily_budget": 240, "spent": 0, "hour": 25}).status_code == 422


def test_the_grpc_methods(stub: AnalyticsStub) -> None:
    arms = [
        pb.ArmInput(name="A", recipients=20000, conversions=1000),
        pb.ArmInput(name="B", recipients=20000, conversions=1300),
    ]
    analysis = stub.AnalyzeExperiment(pb.ExperimentRequest(arms=arms, seed=1), metadata=METADATA, timeout=60)
    assert (analysis.decision, analysis.winner) == ("winner", "B")
    assert len(analysis.arms[1].interval) == 2 and analysis.sample_ratio.p_value == pytest.approx(1.0)
    revenue = stub.AnalyzeExperiment(
        pb.ExperimentRequest(
            arms=[
                pb.ArmInput(name="A", recipients=200, conversions=0),
                pb.ArmInput(name="B", recipients=200, conversions=2, revenue=[10.0, 12.0]),
            ],
            metric="revenue",
        ),
        metadata=METADATA,
        timeout=60,
    )
    assert revenue.decision == "not_enough_data"  # arm A has no buyers: protobuf's empty list is "none"
    journeys = [pb.Journey(touches=["a", "b"], converted=True, value=10), pb.Journey(touches=["b"])]
    credits = stub.Attribute(pb.AttributionRequest(journeys=journeys, models=["linear"]), metadata=METADATA, timeout=60)
    assert [c.conversions for c in credits.results[0].channels] == pytest.approx([0.5, 0.5])
    pace = stub.PaceBudget(pb.PaceRequest(daily_budget=240, spent=120, hour=12), metadata=METADATA, timeout=60)
    assert pace.state == "on_pace"
    with pytest.raises(grpc.RpcError) as raised:
        stub.AnalyzeExperiment(pb.ExperimentRequest(arms=arms[:1]), metadata=METADATA, timeout=60)
    assert raised.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    with pytest.raises(grpc.RpcError) as raised:
        stub.PlanBudget(
            pb.BudgetRequest(channels=[pb.ChannelSpend(name="x", spend=[1, 2])], outcome=[1], budget=5),
            metadata=METADATA,
            timeout=60,
        )
    assert raised.value.code() == grpc.StatusCode.INVALID_ARGUMENT
