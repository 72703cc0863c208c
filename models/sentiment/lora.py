"""Low-rank adapters (LoRA) for the linear layers of a frozen transformer.

Fine-tuning all of MiniLM would make a 90 MB artifact; rank-r adapters on every
linear layer of the encoder keep the trainable state below a megabyte, so the
trained sentiment model can be committed and rebuilt on a CPU. At load time the
adapters are merged into the base weights (``W + scale·B·A``), so inference
costs exactly what the plain encoder costs.
"""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import nn


class LoRALinear(nn.Module):
    def __init__(self, base: nn.Linear, rank: int, alpha: float, dropout: float = 0.0) -> None:
        super().__init__()
        self.base = base
        for parameter in self.base.parameters():
            parameter.requires_grad = False
        self.rank = rank
        self.scale = alpha / rank
        self.lora_a = nn.Parameter(torch.empty(rank, base.in_features))
        self.lora_b = nn.Parameter(torch.zeros(base.out_features, rank))
        nn.init.kaiming_uniform_(self.lora_a, a=math.sqrt(5))
        self.dropout = nn.Dropout(dropout) if dropout > 0 else nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out: torch.Tensor = self.base(x) + (self.dropout(x) @ self.lora_a.T @ self.lora_b.T) * self.scale
        return out

    def merged(self) -> nn.Linear:
        merged = nn.Linear(self.base.in_features, self.base.out_features, bias=self.base.bias is not None)
        with torch.no_grad():
            merged.weight.copy_(self.base.weight + self.scale * (self.lora_b @ self.lora_a))
            if self.base.bias is not None:
                merged.bias.copy_(self.base.bias)
        return merged


def _linear_children(module: nn.Module) -> list[tuple[nn.Module, str, nn.Linear]]:
    found = []
    for parent in module.modules():
        for name, child in parent.named_children():
            if isinstance(child, nn.Linear):
                found.append((parent, name, child))
    return found


def add_adapters(encoder: nn.Module, rank: int, alpha: float, dropout: float = 0.0) -> list[str]:
    """Freeze ``encoder`` and wrap each of its linear layers; returns the wrapped layer names."""
    for parameter in encoder.parameters():
        parameter.requires_grad = False
    names = {id(child): name for name, child in encoder.named_modules()}
    wrapped = []
    for parent, attribute, child in _linear_children(encoder):
        setattr(parent, attribute, LoRALinear(child, rank, alpha, dropout))
        wrapped.append(names[id(child)])
    return wrapped


def adapter_state(encoder: nn.Module) -> dict[str, torch.Tensor]:
    return {name: tensor.detach().cpu() for name, tensor in encoder.state_dict().items() if ".lora_" in name}


def load_adapters(encoder: nn.Module, state: dict[str, Any], rank: int, alpha: float) -> None:
    """Wrap ``encoder`` as at training time, load the adapter weights and merge them in place."""
    add_adapters(encoder, rank, alpha)
    missing = [name for name in adapter_state(encoder) if name not in state]
    if missing:
        raise ValueError(f"adapter weights missing for {len(missing)} layers, e.g. {missing[0]}")
    encoder.load_state_dict(state, strict=False)
    merge_adapters(encoder)


def merge_adapters(encoder: nn.Module) -> None:
    for parent in list(encoder.modules()):
        for name, child in list(parent.named_children()):
            if isinstance(child, LoRALinear):
                setattr(parent, name, child.merged())
