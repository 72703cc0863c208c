"""One fault, one answer: the same faults sent to every kind of route on the engine's host (Serve's proxy:
CRM, model, event and insight routes) get the same status, code and RFC 9457 problem+json shape."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from infra.security import mint_token
from infra.settings import Settings
from tests.integration.conftest import ServeStack

PROBLEM_MEMBERS = {"type", "title", "status", "detail", "instance", "code"}

# route → (a body that matches its schema, the scope it needs or None when it is open)
ROUTES: dict[str, tuple[object, str | None]] = {
    "/v1/crm/accounts": ({"name": "Contract Test SRL"}, "crm:write"),
    "/v1/sentiment": ({"text": "fine"}, None),
    "/v1/embed": ({"texts": ["fine"]}, None),
    "/v1/churn/score": ({"rows": [{"recency_days": 1.0}]}, None),
    "/v1/pricing/optimize": ({"cost": 5, "current_price": 10, "current_quantity": 100}, None),
    "/v1/summary": ({"document": "One sentence here. Another one there."}, None),
    "/v1/ab/analyze": ({"arms": [{"name": "A", "recipients": 0, "conversions": 0}]}, None),
    "/v1/attribution": ({"journeys": [{"touches": ["email"], "converted": True}]}, None),
    "/v1/budget/pace": ({"daily_budget": 100, "spent": 10, "hour": 9}, None),
    "/v1/events": ([], "events:write"),
    "/v1/insights/mentions/similar": ({"text": "fine", "k": 3}, "insights:read"),
    "/v1/insights/calls/similar": ({"text": "pricing", "k": 3}, "insights:read"),
}
PROTECTED = [route for route, (_, scope) in ROUTES.items() if scope is not None]
# /v1/events takes any JSON: an event that does not match its schema is a dead letter, answered 202 per event.
SCHEMA_BOUND = [route for route in ROUTES if route != "/v1/events"]


@pytest.fixture(scope="module")
def client(serve_stack: ServeStack) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=serve_stack.http, timeout=60) as http:
        yield http


def _token(*scopes: str) -> str:
    return mint_token(Settings(), sub="contract", tid="t-contract", mid="m1", scopes=scopes)


def _headers(route: str) -> dict[str, str]:
    """What a well-behaved caller sends: JSON, and a token with the route's scope."""
    scope = ROUTES[route][1]
    headers = {"content-type": "application/json"}
    if scope is not None:
        headers["authorization"] = f"Bearer {_token(scope)}"
    return headers


def _assert_problem(response: httpx.Response, status: int, code: str) -> dict[str, object]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json"), response.headers
    body = response.json()
    assert set(body) >= PROBLEM_MEMBERS, body
    assert (body["status"], body["code"]) == (status, code)
    assert body["type"].endswith(f"/{code}")
    return body  # type: ignore[no-any-return]


@pytest.mark.parametrize("route", list(ROUTES))
def test_a_body_that_is_not_json_is_400_malformed_request(client: httpx.Client, route: str) -> None:
    response = client.post(route, content=b'{"unterminated": ', headers=_headers(route))
    _assert_problem(response, 400, "malformed_request")


@pytest.mark.parametrize("route", SCHEMA_BOUND)
def test_a_body_that_does_not_match_the_schema_is_422_validation_error_with_fields(
    client: httpx.Client, route: str
) -> None:
    response = client.post(route, json=[1, 2], headers=_headers(route))
    body = _assert_problem(response, 422, "validation_error")
    errors = body["errors"]
    assert isinstance(errors, list) and errors
    assert all(str(e["field"]).startswith("body") for e in errors), errors


@pytest.mark.parametrize("route", list(ROUTES))
def test_an_oversized_body_is_413_payload_too_large(client: httpx.Client, route: str) -> None:
    response = client.post(route, content=b"[" + b" " * (9 << 20) + b"]", headers=_headers(route))
    _assert_problem(response, 413, "payload_too_large")


@pytest.mark.parametrize("route", PROTECTED)
@pytest.mark.parametrize("authorization", [None, "Bearer not-a-jwt", "Basic dXNlcjpwYXNz"])
def test_no_or_a_bad_token_is_401_unauthorized(client: httpx.Client, route: str, authorization: str | None) -> None:
    headers = {"content-type": "application/json"}
    if authorization is not None:
        headers["authorization"] = authorization
    response = client.post(route, json=ROUTES[route][0], headers=headers)
    _assert_problem(response, 401, "unauthorized")


@pytest.mark.parametrize("route", PROTECTED)
def test_a_token_without_the_scope_is_403_forbidden(client: httpx.Client, route: str) -> None:
    other = "crm:read" if ROUTES[route][1] != "crm:read" else "events:write"
    headers = {"content-type": "application/json", "authorization": f"Bearer {_token(other)}"}
    body = _assert_problem(client.post(route, json=ROUTES[route][0], headers=headers), 403, "forbidden")
    assert ROUTES[route][1] in str(body["detail"])


def test_churn_by_account_needs_a_token_like_every_protected_route(client: httpx.Client) -> None:
    anonymous = client.post("/v1/churn/score", json={"account_id": "a-1"})
    _assert_problem(anonymous, 401, "unauthorized")
    wrong_scope = client.post(
        "/v1/churn/score", json={"account_id": "a-1"}, headers={"authorization": f"Bearer {_token('events:write')}"}
    )
    _assert_problem(wrong_scope, 403, "forbidden")
