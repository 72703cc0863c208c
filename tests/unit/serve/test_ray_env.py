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
    }


def test_the_message_limit_covers_the_largest_upload() -> None:
    from serve.model_calls import MAX_AUDIO_BYTES

    assert ray_env.MAX_REQUEST_MESSAGE_BYTES > MAX_AUDIO_BYTES
