"""Unit tests run with no servers: starting Ray here is a bug, so ``ray.init`` raises."""

from __future__ import annotations

import importlib
import importlib.util

import pytest


@pytest.fixture(autouse=True)
def _forbid_ray_init(monkeypatch: pytest.MonkeyPatch) -> None:
    if importlib.util.find_spec("ray") is None:
        return
    ray = importlib.import_module("ray")

    def refuse(*args: object, **kwargs: object) -> None:
        raise RuntimeError("unit tests must not start Ray; move this test to tests/integration")

    monkeypatch.setattr(ray, "init", refuse)
