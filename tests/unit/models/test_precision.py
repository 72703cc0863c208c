"""Which precision the text encoders compute in: choices, the auto rule, clear errors."""

from __future__ import annotations

import pytest

from infra.settings import Settings
from models.precision import native_bfloat16, resolve_dtype, torch_dtype


def test_auto_is_bfloat16_only_where_the_cpu_has_it() -> None:
    assert resolve_dtype() == ("bfloat16" if native_bfloat16() else "float32")
    assert resolve_dtype("auto") == resolve_dtype()


def test_an_explicit_choice_is_taken_as_written() -> None:
    assert resolve_dtype("float32") == "float32"
    assert resolve_dtype(" BFloat16 ") == "bfloat16"


def test_the_environment_reaches_the_models_through_settings_only(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VETTIFY_INFERENCE_DTYPE", "float32")
    assert Settings().inference_dtype == "float32"
    assert resolve_dtype() == ("bfloat16" if native_bfloat16() else "float32")  # no environment read here


def test_an_unknown_precision_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ValueError, match="auto, float32, bfloat16"):
        resolve_dtype("float16")
    monkeypatch.setenv("VETTIFY_INFERENCE_DTYPE", "float16")
    with pytest.raises(ValueError, match="inference_dtype"):
        Settings()


def test_names_map_to_torch_types() -> None:
    import torch

    assert torch_dtype("bfloat16") is torch.bfloat16
    assert torch_dtype("float32") is torch.float32
