"""Overload and failure: a burst is shed with 503 (never an unbounded queue), a killed replica comes back."""

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
        started = time.monotonic()
        responses = await asyncio.gather(
            *(client.post("/v1/sentiment", json={"texts": [LONG_TEXT] * 16}) for _ in range(120))
        )
        elapsed = time.monotonic() - started
    codes = [r.status_code for r in responses]
    shed = [r for r in responses if r.status_code == 503]
    assert set(codes) <= {200, 503}, codes
    assert shed, "a burst of 120 requests over a queue of 8 must be shed"
    assert codes.count(200) >= 8
    assert shed[0].headers.get("retry-after") == "1"
    assert shed[0].json()["code"] == "at_capacity"
    assert elapsed < 60, f"the burst took {elapsed:.1f}s: shedding should be immediate"


def _sentiment_replicas() -> list[str]:
    return [
        actor["name"]
        for actor in ray.util.list_named_actors(all_namespaces=True)
        if "Sentiment" in actor["name"] and actor["name"].startswith("SERVE_REPLICA")
    ]


def test_killed_replica_is_restarted_and_requests_succeed_again(serve_stack: ServeStack, http: httpx.Client) -> None:
    assert http.post("/v1/sentiment", json={"text": "all good"}).status_code == 200
    names = _sentiment_replicas()
    assert names, "no Sentiment replica actor found"
    for name in names:
        ray.kill(ray.get_actor(name, namespace="serve"), no_restart=True)
    deadline = time.monotonic() + 180
    recovered = None
    while time.monotonic() < deadline:
        response = http.post("/v1/sentiment", json={"text": "we are back"})
        if response.status_code == 200:
            recovered = response
            break
        assert response.status_code in (500, 503, 504), response.text
        time.sleep(1)
    assert recovered is not None, "Serve did not bring the Sentiment deployment back within 180 s"
    assert set(_sentiment_replicas()).isdisjoint(names), "the replacement must be a new replica"
