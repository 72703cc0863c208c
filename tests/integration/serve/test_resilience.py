"""Overload and failure: a burst is shed at once (503 / RESOURCE_EXHAUSTED with Retry-After, never an unbounded
queue), a killed replica comes back."""

from __future__ import annotations

import asyncio
import time

import httpx
import pytest
import ray

from tests.integration.serve.conftest import ServeStack

pytestmark = [pytest.mark.integration, pytest.mark.slow]

LONG_TEXT = "The onboarding call went fine but the pricing discussion stalled on the discount. " * 6


async def test_burst_beyond_capacity_is_shed_with_503(serve_stack: ServeStack) -> None:
    limits = httpx.Limits(max_connections=200, max_keepalive_connections=200)
    async with httpx.AsyncClient(base_url=serve_stack.http, timeout=60, limits=limits) as client:
        await client.post("/v1/sentiment", json={"text": "warm-up"})

        async def timed(body: dict[str, object]) -> tuple[float, httpx.Response]:
            started = time.monotonic()
            response = await client.post("/v1/sentiment", json=body)
            return time.monotonic() - started, response

        answers = await asyncio.gather(*(timed({"texts": [LONG_TEXT] * 16}) for _ in range(120)))
    codes = [r.status_code for _, r in answers]
    shed = [(t, r) for t, r in answers if r.status_code == 503]
    assert set(codes) <= {200, 503}, codes
    assert shed, "a burst of 120 x 16 long texts is far past the gateway's 0.5 s queue budget"
    assert codes.count(200) >= 1
    assert all(int(r.headers["retry-after"]) >= 1 for _, r in shed)
    assert {r.json()["code"] for _, r in shed} == {"at_capacity"}
    # Refused at once, not after queueing: the slowest refusal is far below the time the admitted took.
    slowest_refusal = max(t for t, _ in shed)
    assert slowest_refusal < 10, f"a refusal took {slowest_refusal:.1f}s: shedding should be immediate"


async def test_grpc_burst_is_refused_with_resource_exhausted_and_retry_after(serve_stack: ServeStack) -> None:
    import grpc

    from protos import inference_pb2 as pb
    from protos.inference_pb2_grpc import AnalyticsStub

    async with grpc.aio.insecure_channel(serve_stack.grpc) as channel:
        stub = AnalyticsStub(channel)  # type: ignore[no-untyped-call]
        metadata = (("application", "vettify"),)

        async def call() -> grpc.StatusCode | str:
            try:
                await stub.Sentiment(pb.SentimentRequest(texts=[LONG_TEXT] * 16), metadata=metadata)
            except grpc.aio.AioRpcError as error:
                retry = dict(error.trailing_metadata() or ()).get("retry-after")
                return error.code() if retry is None else f"{error.code().name} retry-after={retry}"
            return grpc.StatusCode.OK

        outcomes = await asyncio.gather(*(call() for _ in range(80)))
    refused = [o for o in outcomes if isinstance(o, str)]
    assert refused, outcomes
    assert all(o.startswith("RESOURCE_EXHAUSTED retry-after=") for o in refused)
    assert set(outcomes) - set(refused) <= {grpc.StatusCode.OK}, outcomes
    assert grpc.StatusCode.OK in outcomes


def _sentiment_replicas() -> list[str]:
    return [
        actor["name"]
        for actor in ray.util.list_named_actors(all_namespaces=True)
        if "Sentiment" in actor["name"] and actor["name"].startswith("SERVE_REPLICA")
    ]


def test_killed_replica_is_restarted_and_requests_succeed_again(serve_stack: ServeStack, http: httpx.Client) -> None:
    """The stream processors' Sentiment deployment dies: Serve replaces it, and the gateway's HTTP answers
    (its own hosted copy) never depended on it."""
    from ray import serve

    from serve.application import APP_NAME

    handle = serve.get_deployment_handle("Sentiment", app_name=APP_NAME)
    assert handle.classify.remote(["all good"]).result().value[0].label == "positive"
    names = _sentiment_replicas()
    assert names, "no Sentiment replica actor found"
    for name in names:
        ray.kill(ray.get_actor(name, namespace="serve"), no_restart=True)
    assert http.post("/v1/sentiment", json={"text": "the dashboard keeps working"}).status_code == 200
    deadline = time.monotonic() + 180
    recovered = None
    while time.monotonic() < deadline:
        try:
            recovered = handle.classify.remote(["we are back and happy"]).result(timeout_s=30)
            break
        except Exception:  # the replica is down or starting: Serve answers with its own errors meanwhile
            time.sleep(1)
    assert recovered is not None, "Serve did not bring the Sentiment deployment back within 180 s"
    assert set(_sentiment_replicas()).isdisjoint(names), "the replacement must be a new replica"
