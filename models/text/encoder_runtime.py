"""Which runtime computes the MiniLM encoders' forward pass: PyTorch, or ONNX Runtime.

A single short text through PyTorch's eager BERT costs ~15 ms on 2 cores in float32, most of it
Python dispatch around small matrix products; the same graph in ONNX Runtime costs ~6-7 ms, and a
batch of 32 costs the same in both (``python -m benchmarks.text_runtime`` measures it on the machine
it runs on). So where the encoders compute in float32 (CPUs without native bfloat16,
:mod:`models.precision`), ``auto`` exports the loaded encoder (LoRA adapters already merged) to ONNX
once at load and runs that. The exported graph is checked against PyTorch on probe texts of several
lengths before it is used; if ONNX is missing or the check fails, PyTorch runs and ``runtime`` says so.
Where bfloat16 is native, PyTorch in bfloat16 is faster than either in float32, and it stays.

Only the encoder's last hidden state moves to ONNX: tokenisation, pooling, heads and softmax are the
callers' own code either way, so both runtimes give the same vectors and probabilities to ~1e-5.
"""

from __future__ import annotations

import importlib.util
import logging
import tempfile
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal

import numpy as np

log = logging.getLogger(__name__)

Runtime = Literal["auto", "torch", "onnx"]
RUNTIMES: tuple[str, ...] = ("auto", "torch", "onnx")
MAX_ABS_DIFF = 1e-3  # the export is used only when its hidden states match PyTorch's this closely
PROBES = (
    "ok",
    "The onboarding call ran long, but the team answered every question about the annual plan.",
    "Livrarea a întârziat două săptămâni și nimeni nu a răspuns la e-mailuri; anulăm contractul. " * 3,
)

Forward = Callable[[Any], Any]  # a tokenizer's BatchEncoding (torch tensors) -> last hidden state (torch tensor)


def onnx_available() -> bool:
    return all(importlib.util.find_spec(name) is not None for name in ("onnx", "onnxruntime"))


def resolve_runtime(requested: str | None, dtype: str | None) -> tuple[str, str]:
    """``(runtime, dtype)`` to compute in, for a requested runtime and a requested dtype (:mod:`models.precision`).

    ``auto``: the dtype as :func:`~models.precision.resolve_dtype` picks it, in ONNX Runtime when that is float32 and
    ONNX is installed, else PyTorch (bfloat16 stays in PyTorch). ``onnx`` computes in float32, so it takes the
    dtype ``auto`` as float32 and refuses an explicit ``bfloat16``.
    """
    from models.precision import resolve_dtype

    choice = (requested or "auto").strip().lower()
    if choice not in RUNTIMES:
        raise ValueError(f"inference runtime must be one of {', '.join(RUNTIMES)}; got {choice!r}")
    if choice == "onnx":
        if resolve_dtype(dtype) != "float32" and (dtype or "auto").strip().lower() != "auto":
            raise ValueError(f"the ONNX runtime computes in float32; the requested dtype is {dtype}")
        return "onnx", "float32"
    resolved = resolve_dtype(dtype)
    if choice == "auto" and resolved == "float32" and onnx_available():
        return "onnx", resolved
    return "torch", resolved


class _LastHiddenState:
    """The encoder as a function of (input_ids, attention_mask), with the additive mask built here.

    Built from the encoder's embedding and layer modules rather than its ``forward``: the library's
    mask helpers take shortcuts on the traced values (e.g. "no padding") that would be frozen into the graph.
    """

    def __init__(self, encoder: Any) -> None:
        import torch

        class Module(torch.nn.Module):
            def __init__(self, inner: Any) -> None:
                super().__init__()
                self.inner = inner

            def forward(self, input_ids: Any, attention_mask: Any) -> Any:
                hidden = self.inner.embeddings(input_ids=input_ids, token_type_ids=torch.zeros_like(input_ids))
                additive = (1.0 - attention_mask[:, None, None, :].to(hidden.dtype)) * torch.finfo(hidden.dtype).min
                for layer in self.inner.encoder.layer:
                    out = layer(hidden, attention_mask=additive)
                    hidden = out[0] if isinstance(out, tuple) else out
                return hidden

        self.module = Module(encoder).eval()


def _export(encoder: Any, tokenizer: Any, path: Path) -> None:
    import torch

    sample = tokenizer(list(PROBES[:2]), padding=True, return_tensors="pt")
    module = _LastHiddenState(encoder).module
    was_training = encoder.training
    with warnings.catch_warnings(), torch.inference_mode(False), torch.no_grad():
        warnings.simplefilter("ignore")  # the tracer's notes on shapes taken as constants: checked below instead
        torch.onnx.export(
            module,
            (sample["input_ids"], sample["attention_mask"]),
            str(path),
            input_names=["input_ids", "attention_mask"],
            output_names=["last_hidden_state"],
            dynamic_axes={
                "input_ids": {0: "batch", 1: "tokens"},
                "attention_mask": {0: "batch", 1: "tokens"},
                "last_hidden_state": {0: "batch", 1: "tokens"},
            },
            opset_version=17,
            dynamo=False,
        )
    encoder.train(was_training)


def export_session(encoder: Any, tokenizer: Any, *, threads: int, int8: bool = False) -> Any:
    """An ONNX Runtime session over ``encoder`` exported now (``int8``: weights quantised dynamically, which
    ``benchmarks/text_runtime.py`` measures and the engine does not use: it moves embeddings too far)."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = max(1, threads)
    options.inter_op_num_threads = 1
    options.log_severity_level = 3
    with tempfile.TemporaryDirectory(prefix="vettify-onnx-") as folder:
        path = Path(folder) / "encoder.onnx"
        _export(encoder, tokenizer, path)
        if int8:
            from onnxruntime.quantization import QuantType, quantize_dynamic

            quantized = path.with_name("encoder.int8.onnx")
            quantize_dynamic(str(path), str(quantized), weight_type=QuantType.QInt8)
            path = quantized
        # The session holds the graph in memory; the file goes with the folder.
        return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


class OnnxEncoder:
    """An exported encoder in an ONNX Runtime session: ``forward(encoded)`` like the PyTorch model's."""

    def __init__(self, session: Any) -> None:
        self.session = session

    def __call__(self, encoded: Any) -> Any:
        import torch

        feeds = {
            "input_ids": encoded["input_ids"].numpy().astype(np.int64, copy=False),
            "attention_mask": encoded["attention_mask"].numpy().astype(np.int64, copy=False),
        }
        return torch.from_numpy(self.session.run(None, feeds)[0])


def max_difference(encoder: Any, tokenizer: Any, forward: Forward) -> float:
    """The largest absolute difference of ``forward``'s hidden states from PyTorch's, on unpadded positions."""
    import torch

    encoded = tokenizer(list(PROBES), padding=True, truncation=True, max_length=128, return_tensors="pt")
    with torch.inference_mode():
        expected = encoder(**encoded).last_hidden_state.float()
    got = forward(encoded).float()
    mask = encoded["attention_mask"].unsqueeze(-1).to(torch.float32)
    return float(((got - expected).abs() * mask).max())


def encoder_forward(encoder: Any, tokenizer: Any, runtime: str, *, threads: int | None = None) -> tuple[Forward, str]:
    """The forward pass to run and the runtime it is in (``torch`` when ONNX could not be used)."""
    import torch

    def torch_forward(encoded: Any) -> Any:
        return encoder(**encoded).last_hidden_state

    if runtime != "onnx":
        return torch_forward, "torch"
    try:
        onnx = OnnxEncoder(export_session(encoder, tokenizer, threads=threads or torch.get_num_threads()))
        difference = max_difference(encoder, tokenizer, onnx)
    except Exception as error:  # any export failure means: compute in PyTorch
        log.warning("ONNX export of the encoder failed (%s); PyTorch computes it", error)
        return torch_forward, "torch"
    if not difference <= MAX_ABS_DIFF:
        log.warning(
            "the ONNX encoder differs from PyTorch by %.2g (limit %g); PyTorch computes it", difference, MAX_ABS_DIFF
        )
        return torch_forward, "torch"
    return onnx, "onnx"
