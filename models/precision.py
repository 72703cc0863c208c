"""The floating-point type the text encoders (MiniLM sentiment, embeddings) compute in.

On a CPU with native bfloat16 dot products (AVX512-BF16 or AMX, which oneDNN
uses), the encoders' weights cast to bfloat16 run 2-3x faster than float32 and
give the same answers to within rounding. ``python -m models.sentiment.evaluate``
scores both precisions side by side (``benchmarks/results/sentiment_eval.json``,
2 cores): 184 → 549 texts/s in batches, one text 8.2 → 5.4 ms p50, macro-F1
0.793 on the tweet test set either way. Embeddings keep a cosine above 0.999 to
the float32 vectors (``tests/unit/models/test_embeddings.py``).

Where the CPU lacks native bfloat16, PyTorch emulates it (slower than float32),
so ``auto`` (the default) picks bfloat16 only where it is native. Pooling,
normalisation and softmax run in float32 either way.

The choice is the caller's: ``VETTIFY_INFERENCE_DTYPE`` = ``auto`` | ``float32`` | ``bfloat16`` is read once by
:class:`infra.settings.Settings` and passed down (``ModelOptions.dtype``); this module reads no environment.
What computes the chosen dtype (PyTorch, and ONNX Runtime for single texts) is :mod:`models.text.encoder_runtime`'s.
"""

from __future__ import annotations

import functools
from typing import Any, Literal

Precision = Literal["auto", "float32", "bfloat16"]
CHOICES: tuple[str, ...] = ("auto", "float32", "bfloat16")


@functools.cache
def native_bfloat16() -> bool:
    """Whether this CPU computes bfloat16 matrix products natively (oneDNN's own check)."""
    import torch

    try:
        return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except (AttributeError, RuntimeError):  # a build without oneDNN
        return False


def resolve_dtype(requested: str | None = None) -> str:
    """``float32`` or ``bfloat16`` for a requested choice (None: ``auto``)."""
    choice = (requested or "auto").strip().lower()
    if choice not in CHOICES:
        raise ValueError(f"inference dtype must be one of {', '.join(CHOICES)}; got {choice!r}")
    if choice == "auto":
        return "bfloat16" if native_bfloat16() else "float32"
    return choice


def torch_dtype(name: str) -> Any:
    """The ``torch.dtype`` for a resolved name."""
    import torch

    return {"float32": torch.float32, "bfloat16": torch.bfloat16}[name]
