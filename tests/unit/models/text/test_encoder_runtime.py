"""The encoders' forward pass in ONNX Runtime: chosen when it should be, the same answers as PyTorch, and
PyTorch when the export cannot be trusted."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from models.embeddings.encoder import SentenceEncoder
from models.sentiment.classifier import MiniLMSentiment
from models.text import encoder_runtime
from models.text.encoder_runtime import encoder_forward, resolve_runtime

TEXTS = [
    "ok",
    "The onboarding call ran long, but every question was answered.",
    "Livrarea a întârziat două săptămâni; anulăm contractul.",
    "Terrible support: nobody answered for two weeks and we are cancelling the annual plan. " * 30,
]


@pytest.mark.parametrize(
    ("requested", "dtype", "expected"),
    [
        (None, "float32", ("auto", "float32")),
        ("auto", "float32", ("auto", "float32")),
        ("auto", "bfloat16", ("auto", "bfloat16")),
        ("torch", "float32", ("torch", "float32")),
        ("ONNX", "float32", ("onnx", "float32")),
        ("onnx", "auto", ("onnx", "float32")),  # ONNX computes in float32 even where bfloat16 is native
        ("onnx", None, ("onnx", "float32")),
    ],
)
def test_choices_resolve_to_a_runtime_and_a_dtype(
    requested: str | None, dtype: str | None, expected: tuple[str, str]
) -> None:
    assert resolve_runtime(requested, dtype) == expected


def test_auto_follows_the_cpu(monkeypatch: pytest.MonkeyPatch) -> None:
    import models.precision

    monkeypatch.setattr(models.precision, "native_bfloat16", lambda: True)
    assert resolve_runtime("auto", "auto") == ("auto", "bfloat16")
    monkeypatch.setattr(models.precision, "native_bfloat16", lambda: False)
    assert resolve_runtime("auto", "auto") == ("auto", "float32")


def test_bad_choices_are_refused_by_name() -> None:
    with pytest.raises(ValueError, match="one of auto, torch, onnx"):
        resolve_runtime("tensorrt", "float32")
    with pytest.raises(ValueError, match="computes in float32"):
        resolve_runtime("onnx", "bfloat16")


def test_auto_is_torch_without_onnx(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(encoder_runtime, "onnx_available", lambda: False)
    assert resolve_runtime("auto", "float32") == ("torch", "float32")


@pytest.fixture(scope="module")
def encoders() -> tuple[SentenceEncoder, SentenceEncoder]:
    return (
        SentenceEncoder(threads=2, dtype="float32", runtime="onnx"),
        SentenceEncoder(threads=2, dtype="float32", runtime="torch"),
    )


def test_onnx_embeddings_are_pytorchs(encoders: tuple[SentenceEncoder, SentenceEncoder]) -> None:
    onnx, torch = encoders
    assert (onnx.runtime, torch.runtime) == ("onnx", "torch")
    got, expected = onnx.encode(TEXTS), torch.encode(TEXTS)
    assert got.truncated == expected.truncated and got.chunks == expected.chunks  # the long text read in chunks
    assert float((got.vectors * expected.vectors).sum(axis=1).min()) > 0.99999
    one = onnx.encode(TEXTS[1:2]).vectors[0]  # alone: no padding, another sequence length than the batch's
    assert float(one @ expected.vectors[1]) > 0.99999


def test_onnx_sentiment_gives_pytorchs_probabilities() -> None:
    onnx = MiniLMSentiment(threads=2, dtype="float32", runtime="onnx")
    torch = MiniLMSentiment(threads=2, dtype="float32", runtime="torch")
    assert onnx.runtime == "onnx"
    np.testing.assert_allclose(onnx.predict_proba(TEXTS), torch.predict_proba(TEXTS), atol=1e-4)


def test_auto_runs_a_lone_text_in_onnx_and_batches_in_pytorchs_dtype(
    encoders: tuple[SentenceEncoder, SentenceEncoder],
) -> None:
    onnx, torch = encoders
    mixed = SentenceEncoder(threads=2, dtype="bfloat16", runtime="auto")
    assert (mixed.runtime, mixed.dtype) == ("auto", "bfloat16")
    assert str(next(mixed.model.parameters()).dtype) == "torch.bfloat16"
    alone = mixed.encode(TEXTS[1:2]).vectors[0]
    np.testing.assert_allclose(alone, onnx.encode(TEXTS[1:2]).vectors[0], atol=1e-5)  # float32, in ONNX Runtime
    batch = mixed.encode(TEXTS[:3]).vectors
    bfloat16 = SentenceEncoder(threads=2, dtype="bfloat16", runtime="torch").encode(TEXTS[:3]).vectors
    np.testing.assert_allclose(batch, bfloat16, atol=1e-6)  # PyTorch in bfloat16, as without ONNX
    assert float((batch * torch.encode(TEXTS[:3]).vectors).sum(axis=1).min()) > 0.999


def test_an_export_that_differs_from_pytorch_is_not_used(
    encoders: tuple[SentenceEncoder, SentenceEncoder], monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    torch_encoder = encoders[1]
    monkeypatch.setattr(encoder_runtime, "max_difference", lambda *_: 0.5)
    forward, runtime = encoder_forward(torch_encoder.model, torch_encoder.tokenizer, "onnx", threads=1)
    assert runtime == "torch"
    assert "differs from PyTorch by 0.5" in caplog.text

    def broken(*_: Any, **__: Any) -> None:
        raise RuntimeError("no exporter")

    monkeypatch.setattr(encoder_runtime, "_export", broken)
    forward, runtime = encoder_forward(torch_encoder.model, torch_encoder.tokenizer, "onnx", threads=1)
    assert runtime == "torch" and "no exporter" in caplog.text
    encoded = torch_encoder.tokenizer(TEXTS[:2], padding=True, return_tensors="pt")
    assert tuple(forward(encoded).shape[::2]) == (2, 384)
