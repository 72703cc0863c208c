"""``vettify batch``'s arguments, where it finds the engine, and the KubeRay RayJob manifests that run it."""

from __future__ import annotations

import argparse
import os
import shlex
from pathlib import Path
from typing import Any

import pytest
import yaml

from infra.settings import Settings
from serve import direct_ingress, engine_file
from serve.cli import build_parser
from serve.cli.batch import endpoints_from, parse_tenant

ROOT = Path(__file__).resolve().parents[4]
KUBERAY = ROOT / "cluster" / "kuberay"


def test_a_tenant_is_tid_mid_and_optionally_a_branch() -> None:
    assert parse_tenant("acme/ro-01") == parse_tenant("acme/ro-01")
    assert (parse_tenant("acme/ro-01/cluj").tid, parse_tenant("acme/ro-01/cluj").whid) == ("acme", "cluj")
    for bad in ("acme", "acme/", "/m1", "a/b/c/d", "acme/ /x"):
        with pytest.raises(argparse.ArgumentTypeError, match="TID/MID"):
            parse_tenant(bad)


def test_the_database_comes_from_the_flag_then_the_environment_then_the_running_engine(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("VETTIFY_DATABASE_URL", "VETTIFY_WORKER_DATABASE_URL", "VETTIFY_REDIS_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("VETTIFY_DATA_DIR", str(tmp_path))
    args = build_parser().parse_args(["batch", "score-churn", "--tenant", "t/m"])
    with pytest.raises(SystemExit, match="vettify up"):
        endpoints_from(args)
    engine_file.write(
        tmp_path, engine_file.EngineFile("postgresql://app@h/db", "postgresql://w@h/db", "redis://r", os.getpid())
    )
    assert (tmp_path / "engine.json").stat().st_mode & 0o077 == 0  # DSNs may hold passwords
    found = endpoints_from(args)
    assert (found.database_url, found.worker_database_url, found.redis_url) == (
        "postgresql://app@h/db",
        "postgresql://w@h/db",
        "redis://r",
    )
    monkeypatch.setenv("VETTIFY_DATABASE_URL", "postgresql://env@h/db")
    assert endpoints_from(args).database_url == "postgresql://env@h/db"
    flagged = build_parser().parse_args(["batch", "embed", "--tenant", "t/m", "--dsn", "postgresql://flag@h/db"])
    assert endpoints_from(flagged).database_url == "postgresql://flag@h/db"


def test_an_engine_file_left_by_a_dead_process_is_ignored(tmp_path: Path) -> None:
    engine_file.write(tmp_path, engine_file.EngineFile("postgresql://a@h/db", None, "redis://r", pid=2**22 + 12345))
    assert engine_file.read(tmp_path) is None
    engine_file.remove(tmp_path)
    assert not (tmp_path / "engine.json").exists()


def test_jobs_refuse_to_start_without_a_tenant(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("VETTIFY_DATA_DIR", str(tmp_path))
    args = build_parser().parse_args(["batch", "embed", "--dsn", "postgresql://a@h/db"])
    with pytest.raises(SystemExit, match="name a tenant"):
        args.func(args)
    wrong = build_parser().parse_args(["batch", "embed", "--tenant", "t/m", "--targets", "mentions,tweets"])
    with pytest.raises(SystemExit, match=r"unknown --targets \['tweets'\]"):
        wrong.func(wrong)
    calls = build_parser().parse_args(["batch", "analyze-calls", str(tmp_path), "--dsn", "postgresql://a@h/db"])
    with pytest.raises(SystemExit, match="one tenant"):
        calls.func(calls)


def _manifest(name: str) -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load((KUBERAY / f"rayjob-{name}.yaml").read_text())
    return data


def _containers(spec: dict[str, Any]) -> list[dict[str, Any]]:
    cluster = spec["rayClusterSpec"]
    groups = [cluster["headGroupSpec"], *cluster["workerGroupSpecs"]]
    return [c for g in groups for c in g["template"]["spec"]["containers"]]


@pytest.mark.parametrize("job", ["embed", "score-churn", "analyze-calls"])
def test_each_rayjob_runs_its_job_with_the_rayservice_image_env_and_secrets(job: str) -> None:
    manifest = _manifest(job)
    service = yaml.safe_load((KUBERAY / "rayservice.yaml").read_text())
    assert manifest["apiVersion"] == service["apiVersion"] and manifest["kind"] == "RayJob"
    argv = shlex.split(manifest["spec"]["entrypoint"])
    assert argv[:3] == ["vettify", "batch", job]
    args = build_parser().parse_args(argv[1:])  # the entrypoint parses as this CLI reads it
    assert args.job == job
    assert "--dsn" not in argv and "--address" not in argv  # from the secrets and KubeRay's RAY_ADDRESS
    expected_image = service["spec"]["rayClusterConfig"]["headGroupSpec"]["template"]["spec"]["containers"][0]
    assert manifest["spec"]["rayClusterSpec"]["rayVersion"] == service["spec"]["rayClusterConfig"]["rayVersion"]
    # A batch job serves no requests: the RayService's front (HAProxy mode) is the one thing it leaves out.
    front = set(direct_ingress.environment(Settings(serve_haproxy=True, _env_file=None)))  # type: ignore[call-arg]
    service_env = [e for e in expected_image["env"] if e["name"] not in front]
    for container in _containers(manifest["spec"]):
        assert container["image"] == expected_image["image"]
        assert container["env"] == service_env
        assert container["envFrom"] == expected_image["envFrom"]
    workers = manifest["spec"]["rayClusterSpec"]["workerGroupSpecs"]
    cpus = sum(
        int(g["replicas"]) * int(g["template"]["spec"]["containers"][0]["resources"]["limits"]["cpu"]) for g in workers
    )
    assert args.actors * args.cpus_per_actor <= cpus  # the actor pool fits the workers it asks for
    assert manifest["spec"]["backoffLimit"] >= 1  # a retried job resumes its run


def test_the_calls_job_reads_its_folder_from_the_mounted_media_volume() -> None:
    manifest = _manifest("analyze-calls")
    folder = shlex.split(manifest["spec"]["entrypoint"])[3]
    for container in _containers(manifest["spec"]):
        mounts = {m["mountPath"]: m for m in container["volumeMounts"]}
        assert any(folder.startswith(path + "/") and m.get("readOnly") for path, m in mounts.items())
