"""Which runtime computes the MiniLM encoders' forward pass: PyTorch, ONNX Runtime, or each where it is faster.

One short text through PyTorch's eager BERT costs 17-22 ms on 2 cores in float32 (17-22 ms in bfloat16 where it
is native), much of it Python dispatch around small matrix products; the same graph in ONNX Runtime costs
10-13 ms. From four texts up, PyTorch is as fast or faster (ONNX Runtime 0.92-1.06x of PyTorch float32, and
bfloat16 is about twice float32 at 32 texts): ``python -m benchmarks.text_runtime`` measures it on the machine
it runs on. So ``auto`` keeps the encoder in PyTorch, in the dtype :mod:`models.precision` picks, and also
exports it (float32, LoRA adapters already merged) to ONNX once at load for passes of a single text: what a
lone request, a dashboard lookup or an idle stream runs. ``onnx`` runs every pass in ONNX Runtime (float32),
``torch`` none.

The exported graph is checked against PyTorch float32 on probe texts of several lengths before it is used; if
ONNX is missing or the check fails, PyTorch runs every pass and ``runtime`` says so. Only the encoder's last
hidden state moves: tokenisation, pooling, heads and softmax are the callers' own code either way, so ONNX
Runtime gives PyTorch float32's vectors and probabilities to ~1e-5 (bfloat16's to its rounding: cosine > 0.999).
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

    ``auto``: PyTorch in the dtype :func:`~models.precision.resolve_dtype` picks, with ONNX Runtime for single
    texts when ONNX is installed (else plain ``torch``). ``onnx`` computes in float32, so it takes the dtype
    ``auto`` as float32 and refuses an explicit ``bfloat16``.
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
    if choice == "auto" and onnx_available():
        return "auto", resolved
    return "torch", resolved


def _last_hidden_state(encoder: Any) -> Any:
    """The encoder as a module of (input_ids, attention_mask), with the additive mask built here.

    Built from the encoder's embedding and layer modules rather than its ``forward``: the library's
    mask helpers take shortcuts on the traced values (e.g. "no padding") that would be frozen into the graph.
    """
    import torch

    class LastHiddenState(torch.nn.Module):
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

    return LastHiddenState(encoder).eval()


def _export(encoder: Any, tokenizer: Any, path: Path) -> None:
    import torch

    sample = tokenizer(list(PROBES[:2]), padding=True, return_tensors="pt")
    module = _last_hidden_state(encoder)
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
    # Idle pool threads sleep instead of spinning. In a Serve replica the cores they would spin on are the ones the
    # proxy, the event loop and PyTorch's batches need: spinning raised the gateway's CPU per answer by 12-24 ms at
    # one client and cost 6-20 % of best throughput in three of four rows (benchmarks/README.md, the encoders' runtime).
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
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


class SingleTextInOnnx:
    """ONNX Runtime for a pass of one text, PyTorch for more (``auto``: each where it is faster)."""

    def __init__(self, onnx: Forward, torch_forward: Forward) -> None:
        self.onnx = onnx
        self.torch_forward = torch_forward

    def __call__(self, encoded: Any) -> Any:
        if int(encoded["input_ids"].shape[0]) == 1:
            return self.onnx(encoded)
        return self.torch_forward(encoded)


def encoder_forward(
    encoder: Any, tokenizer: Any, runtime: str, *, dtype: str = "float32", threads: int | None = None
) -> tuple[Forward, str]:
    """Casts the (float32) ``encoder`` to ``dtype`` and returns the forward pass to run with the runtime it is in:
    ``torch``, ``onnx``, or ``auto`` (ONNX for one text); ``torch`` when ONNX could not be used.

    The export and its check run before the cast: ONNX Runtime computes in float32 whatever PyTorch's dtype.
    """
    import torch

    from models.precision import torch_dtype

    def torch_forward(encoded: Any) -> Any:
        return encoder(**encoded).last_hidden_state

    def in_torch() -> tuple[Forward, str]:
        encoder.to(torch_dtype(dtype)).eval()
        return torch_forward, "torch"

    if runtime not in ("onnx", "auto"):
        return in_torch()
    try:
        onnx = OnnxEncoder(export_session(encoder, tokenizer, threads=threads or torch.get_num_threads()))
        difference = max_difference(encoder, tokenizer, onnx)
    except Exception as error:  # any export failure means: compute in PyTorch
        log.warning("ONNX export of the encoder failed (%s); PyTorch computes it", error)
        return in_torch()
    if not difference <= MAX_ABS_DIFF:
        log.warning(
            "the ONNX encoder differs from PyTorch by %.2g (limit %g); PyTorch computes it", difference, MAX_ABS_DIFF
        )
        return in_torch()
    if runtime == "onnx":
        return onnx, "onnx"
    in_torch()
    return SingleTextInOnnx(onnx, torch_forward), "auto"
