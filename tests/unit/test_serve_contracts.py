"""Contracts of the serving layer that need no Ray runtime: config drift, stub freshness, error mapping."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import grpc
import pytest
import yaml

from models.errors import InvalidInput

ROOT = Path(__file__).resolve().parents[2]


def test_serve_config_yaml_matches_the_code_and_validates() -> None:
    from ray.serve.schema import ServeDeploySchema

    from serve.cli.serve_config import render

    assert (ROOT / "cluster" / "serve_config.yaml").read_text() == render(), "run `vettify serve-config --write`"
    schema = ServeDeploySchema.parse_obj(yaml.safe_load(render()))
    assert [app.name for app in schema.applications] == ["vettify", "crm"]


def test_rayservice_manifest_embeds_the_same_serve_config() -> None:
    manifest = yaml.safe_load((ROOT / "cluster" / "kuberay" / "rayservice.yaml").read_text())
    assert manifest["kind"] == "RayService"
    assert yaml.safe_load(manifest["spec"]["serveConfigV2"]) == yaml.safe_load(
        (ROOT / "cluster" / "serve_config.yaml").read_text()
    )


def test_generated_grpc_stubs_are_fresh(tmp_path: Path) -> None:
    subprocess.run(
        ["bash", str(ROOT / "scripts" / "gen-protos.sh"), str(tmp_path)],
        check=True,
        env={"PYTHON": sys.executable, "PATH": "/usr/bin:/bin"},
    )
    for name in ("inference_pb2.py", "inference_pb2.pyi", "inference_pb2_grpc.py"):
        assert (tmp_path / "protos" / name).read_text() == (ROOT / "protos" / name).read_text(), (
            f"protos/{name} is stale: run scripts/gen-protos.sh"
        )


@pytest.mark.parametrize(
    ("error", "status", "code"),
    [
        (InvalidInput("bad"), 400, grpc.StatusCode.INVALID_ARGUMENT),
        (TimeoutError(), 504, grpc.StatusCode.DEADLINE_EXCEEDED),
        (RuntimeError("boom"), 500, grpc.StatusCode.INTERNAL),
    ],
)
def test_errors_map_to_http_and_grpc_codes(error: Exception, status: int, code: grpc.StatusCode) -> None:
    from serve.gateway import classify_error

    mapped = classify_error(error)
    assert (mapped.status, mapped.code) == (status, code)


def test_backpressure_maps_to_503_and_resource_exhausted() -> None:
    from ray.serve.exceptions import BackPressureError

    from serve.gateway import classify_error

    mapped = classify_error(BackPressureError(num_queued_requests=9, max_queued_requests=8))
    assert (mapped.status, mapped.code, mapped.headers) == (
        503,
        grpc.StatusCode.RESOURCE_EXHAUSTED,
        {"Retry-After": "1"},
    )


def test_deployment_overrides_must_name_real_deployments() -> None:
    from serve.application import build

    with pytest.raises(ValueError, match="unknown deployments"):
        build({"deployment_overrides": {"Sentimnet": {"max_queued_requests": 1}}})
