"""Which precision the text encoders compute in: choices, environment override, clear errors."""

from __future__ import annotations

import pytest

from models.precision import DTYPE_ENV, native_bfloat16, resolve_dtype, torch_dtype


def test_auto_is_bfloat16_only_where_the_cpu_has_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(DTYPE_ENV, raising=False)
    assert resolve_dtype() == ("bfloat16" if native_bfloat16() else "float32")
    assert resolve_dtype("auto") == resolve_dtype()


def test_an_explicit_choice_wins_over_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(DTYPE_ENV, "float32")
    assert resolve_dtype() == "float32"
    assert resolve_dtype("bfloat16") == "bfloat16"
    monkeypatch.setenv(DTYPE_ENV, " BFloat16 ")
    assert resolve_dtype() == "bfloat16"


def test_an_unknown_precision_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(DTYPE_ENV, "float16")
    with pytest.raises(ValueError, match="auto, float32, bfloat16"):
        resolve_dtype()


def test_names_map_to_torch_types() -> None:
    import torch

    assert torch_dtype("bfloat16") is torch.bfloat16
    assert torch_dtype("float32") is torch.float32
