"""Contracts of the serving layer that need no Ray runtime: config drift, stub freshness, app building."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from infra.settings import Settings
from serve import direct_ingress

ROOT = Path(__file__).resolve().parents[3]


def deploy_schema() -> Any:
    """The cluster config the code renders, validated by Serve's own schema."""
    from ray.serve.schema import ServeDeploySchema

    from serve.cli.serve_config import render

    return ServeDeploySchema.model_validate(yaml.safe_load(render()))


def test_serve_config_yaml_matches_the_code_and_validates() -> None:
    from serve.cli.serve_config import render

    assert (ROOT / "cluster" / "serve_config.yaml").read_text() == render(), "run `vettify serve-config --write`"
    schema = deploy_schema()
    assert [(app.name, app.route_prefix) for app in schema.applications] == [
        ("vettify", "/"),
        ("crm", "/v1/crm"),
        ("dashboard", "/dashboard"),
    ]


def test_http_ingresses_answer_rays_own_back_pressure_with_retry_after() -> None:
    """Past a replica's queue Ray refuses before the engine's admission runs; that 503 says when to retry too,
    and the cluster config carries it."""
    from serve.crm_app import CrmIngress
    from serve.ingress import Gateway

    for ingress in (Gateway, CrmIngress):
        config = ingress._deployment_config
        assert config.max_queued_requests > 0
        assert (config.backpressure_config.status_code, config.backpressure_config.retry_after_s) == (503, 1.0)
    gateway = next(d for app in deploy_schema().applications for d in app.deployments if d.name == "Gateway")
    assert gateway.backpressure_config.retry_after_s == 1.0


def test_rayservice_manifest_embeds_the_same_serve_config() -> None:
    manifest = yaml.safe_load((ROOT / "cluster" / "kuberay" / "rayservice.yaml").read_text())
    assert manifest["kind"] == "RayService"
    assert yaml.safe_load(manifest["spec"]["serveConfigV2"]) == yaml.safe_load(
        (ROOT / "cluster" / "serve_config.yaml").read_text()
    )


@pytest.mark.parametrize("manifest", sorted((ROOT / "cluster" / "kuberay").glob("*.yaml")), ids=lambda p: p.name)
def test_every_ray_container_carries_the_engines_serve_settings(manifest: Path) -> None:
    from serve.ray_env import SERVE_ENVIRONMENT

    def ray_containers(node: object) -> list[dict[str, object]]:
        if isinstance(node, list):
            return [c for item in node for c in ray_containers(item)]
        if not isinstance(node, dict):
            return []
        found = [c for c in node.get("containers", []) if str(c.get("name", "")).startswith("ray-")]
        return found + [c for key, value in node.items() if key != "containers" for c in ray_containers(value)]

    containers = [c for doc in yaml.safe_load_all(manifest.read_text()) for c in ray_containers(doc)]
    assert containers, f"no ray-* container in {manifest.name}"
    # The RayService serves requests: its nodes also run the default front, HAProxy mode, with the same ports.
    front = direct_ingress.environment(Settings(_env_file=None)) if manifest.name == "rayservice.yaml" else {}  # type: ignore[call-arg]
    assert not front or front[direct_ingress.HAPROXY_FLAG] == "1"
    for container in containers:
        env = {e["name"]: e.get("value") for e in container.get("env", [])}  # type: ignore[attr-defined]
        wanted = SERVE_ENVIRONMENT | front
        assert {name: env.get(name) for name in wanted} == wanted, container["name"]


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


def test_deployment_overrides_must_name_real_deployments() -> None:
    from serve.application import build

    with pytest.raises(ValueError, match="unknown deployments"):
        build({"deployment_overrides": {"Sentimnet": {"max_queued_requests": 1}}})


def test_vettify_up_takes_deployment_overrides_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    from infra.settings import Settings
    from serve.application import app_args

    monkeypatch.setenv("VETTIFY_DEPLOYMENT_OVERRIDES", '{"Sentiment": {"num_replicas": 2}}')
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    assert app_args(settings).deployment_overrides == {"Sentiment": {"num_replicas": 2}}
    monkeypatch.setenv("VETTIFY_DEPLOYMENT_OVERRIDES", "[1, 2]")
    with pytest.raises(ValueError, match="deployment_overrides"):
        Settings(_env_file=None)  # type: ignore[call-arg]


def test_a_joined_cluster_gets_the_engines_settings_and_nothing_else(monkeypatch: pytest.MonkeyPatch) -> None:
    from serve.application import engine_environment

    monkeypatch.setenv("VETTIFY_REDIS_URL", "redis://127.0.0.1:6390")
    monkeypatch.setenv("RAY_ADDRESS", "127.0.0.1:6379")
    monkeypatch.setenv("HOME_SECRET_TOKEN", "x")
    forwarded = engine_environment()
    assert forwarded["VETTIFY_REDIS_URL"] == "redis://127.0.0.1:6390"
    assert all(name.startswith("VETTIFY_") for name in forwarded)
