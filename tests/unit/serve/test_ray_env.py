"""serve.ray_env: the engine's Serve settings go into the environment Ray inherits, an operator's own win."""

from __future__ import annotations

import pytest

from serve import ray_env


def test_defaults_are_set_and_an_operators_value_is_kept(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ray_env.SERVE_ENVIRONMENT:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("RAY_SERVE_PROXY_USE_GRPC", "0")
    applied = ray_env.configure()
    assert applied == {
        "RAY_SERVE_PROXY_USE_GRPC": "0",
        "RAY_SERVE_REPLICA_GRPC_MAX_MESSAGE_LENGTH": str(64 << 20),
        "RAY_SERVE_RUN_USER_CODE_IN_SEPARATE_THREAD": "0",
        "RAY_SERVE_RUN_ROUTER_IN_SEPARATE_LOOP": "0",
        "RAY_SERVE_REQUEST_PATH_LOG_BUFFER_SIZE": "1000",
        "RAY_SERVE_LOG_TO_STDERR": "0",
    }


def test_the_ab_baseline_names_every_request_path_setting_with_rays_own_value() -> None:
    from ray.serve._private import constants

    assert set(ray_env.REQUEST_PATH_RAY_DEFAULTS) < set(ray_env.SERVE_ENVIRONMENT)
    for name, value in ray_env.REQUEST_PATH_RAY_DEFAULTS.items():
        assert ray_env.SERVE_ENVIRONMENT[name] != value
        assert hasattr(constants, name), name  # a variable this Ray reads


def test_the_message_limit_covers_the_largest_upload() -> None:
    from serve.model_calls import MAX_AUDIO_BYTES

    assert ray_env.MAX_REQUEST_MESSAGE_BYTES > MAX_AUDIO_BYTES
