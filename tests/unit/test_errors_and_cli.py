"""problem+json error bodies and the CLI surface."""

from __future__ import annotations

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from pydantic import BaseModel, Field

from crm_core.api.errors import install_error_handlers
from crm_core.core.errors import NotFound, VersionConflict
from serve.cli import build_parser, main


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


def test_cli_parses_up_options() -> None:
    args = build_parser().parse_args(["up", "--port", "8123", "--data-dir", "data"])
    assert (args.command, args.port, args.data_dir) == ("up", 8123, "data")


def test_cli_version(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["version"]) == 0
    assert capsys.readouterr().out.startswith("vettify ")


def test_cli_db_without_a_database_explains_what_to_do(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("VETTIFY_DATABASE_URL", raising=False)
    monkeypatch.delenv("VETTIFY_ADMIN_DATABASE_URL", raising=False)
    with pytest.raises(SystemExit, match="Pass --dsn"):
        main(["db", "current"])
