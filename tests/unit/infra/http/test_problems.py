"""Unit tests of ``infra.http.problems``."""

from __future__ import annotations

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from pydantic import BaseModel, Field

from infra.errors import NotFound, VersionConflict
from infra.http.problems import install_error_handlers


class Payload(BaseModel):
    email: str = Field(pattern=r"@")
    score: int = Field(ge=0, le=100)


def _app() -> FastAPI:
    app = FastAPI()
    install_error_handlers(app)

    @app.post("/things")
    async def create(payload: Payload) -> Payload:
        return payload

    @app.get("/things/{name}")
    async def read(name: str) -> dict[str, str]:
        if name == "stale":
            raise VersionConflict(entity="thing", expected=1, current=3)
        if name == "boom":
            raise RuntimeError("secret internals")
        raise NotFound(f"thing {name!r} does not exist")

    return app


@pytest.fixture
def client() -> TestClient:
    return TestClient(_app(), raise_server_exceptions=False)


def test_validation_errors_name_each_field(client: TestClient) -> None:
    response = client.post("/things", json={"email": "nope", "score": 101})
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert body["code"] == "validation_error"
    assert {e["field"] for e in body["errors"]} == {"body.email", "body.score"}


def test_domain_errors_map_to_their_status(client: TestClient) -> None:
    missing = client.get("/things/x")
    assert missing.status_code == 404
    assert missing.json()["code"] == "not_found"
    stale = client.get("/things/stale")
    assert stale.status_code == 412
    assert stale.json()["current_version"] == 3


def test_unexpected_errors_do_not_leak_internals(client: TestClient) -> None:
    response = client.get("/things/boom")
    assert response.status_code == 500
    assert "secret" not in response.text


def test_unknown_route_is_problem_json(client: TestClient) -> None:
    response = client.get("/nowhere")
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"


def test_a_body_that_is_not_json_is_400_malformed_request(client: TestClient) -> None:
    response = client.post("/things", content=b'{"email": ', headers={"content-type": "application/json"})
    assert response.status_code == 400
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["code"] == "malformed_request"


def test_a_deliberate_error_carries_its_headers() -> None:
    from infra.errors import AtCapacity
    from infra.http.problems import error_response

    response = error_response(AtCapacity("full"), "/v1/sentiment")
    assert (response.status_code, response.headers["retry-after"]) == (503, "1")
