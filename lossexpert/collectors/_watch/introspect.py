"""What the objects say: layers, activations, the config read from model/optimizer/loss/loader."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any, NamedTuple

import torch
from torch import nn

ACTIVATIONS: dict[type[nn.Module], str] = {
    nn.ReLU: "relu",
    nn.ReLU6: "relu",
    nn.LeakyReLU: "leaky_relu",
    nn.ELU: "elu",
    nn.GELU: "gelu",
    nn.SiLU: "silu",
    nn.Sigmoid: "sigmoid",
    nn.Tanh: "tanh",
    nn.Softmax: "softmax",
    nn.LogSoftmax: "log_softmax",
    nn.Hardtanh: "hardtanh",
}
NORMALIZATION = (
    nn.modules.batchnorm._BatchNorm,
    nn.LayerNorm,
    nn.GroupNorm,
    nn.modules.instancenorm._InstanceNorm,
)
LOSSES: dict[str, tuple[str, str | None]] = {
    "CrossEntropyLoss": ("cross_entropy", "classification"),
    "NLLLoss": ("nll", "classification"),
    "BCEWithLogitsLoss": ("bce_with_logits", "classification"),
    "BCELoss": ("bce", "classification"),
    "MSELoss": ("mse", "regression"),
    "L1Loss": ("l1", "regression"),
    "SmoothL1Loss": ("smooth_l1", "regression"),
    "HuberLoss": ("huber", "regression"),
    "CTCLoss": ("ctc", "other"),
}

Reduce = Callable[[torch.Tensor], torch.Tensor]


def local(t: torch.Tensor) -> torch.Tensor:
    """The local shard of an FSDP2 ``DTensor``; any other tensor as it is."""
    to_local = getattr(t, "to_local", None)
    if callable(to_local):
        shard: torch.Tensor = to_local()
        return shard
    return t


def is_dtensor(t: torch.Tensor) -> bool:
    return callable(getattr(t, "to_local", None))


class Layer(NamedTuple):
    """One weight matrix we describe, and the module that holds it."""

    name: str
    module: nn.Module
    weight: torch.Tensor
    fan_in: int


def _recurrent_weights(name: str, module: nn.RNNBase) -> list[Layer]:
    # Every weight_ih_l{k}[_reverse] / weight_hh_l{k}[_reverse] matrix. PyTorch initialises
    # them all U(-1/sqrt(hidden), 1/sqrt(hidden)) whatever the input size, so the fan-in their
    # scale is judged against is the hidden size (std x sqrt(hidden) = 1/sqrt(3) by default).
    prefix = name or type(module).__name__
    return [
        Layer(f"{prefix}.{pname}", module, param, int(module.hidden_size))
        for pname, param in module.named_parameters(recurse=False)
        if pname.startswith("weight_") and param.dim() >= 2
    ]


def weighted_layers(model: nn.Module) -> list[Layer]:
    """The weight matrices we describe, in the order of the model's modules: every leaf module's
    ``weight`` of two or more dimensions (Linear, Conv, Embedding...), each recurrent layer's
    input and hidden weights (RNN, LSTM, GRU) and an attention block's packed input projection
    (its output projection is a Linear leaf)."""
    layers: list[Layer] = []
    for name, m in model.named_modules():
        if isinstance(m, nn.RNNBase):
            layers += _recurrent_weights(name, m)
        elif isinstance(m, nn.MultiheadAttention):
            packed = m.in_proj_weight
            if isinstance(packed, nn.Parameter):
                layers.append(
                    Layer(f"{name or 'attention'}.in_proj_weight", m, packed, int(packed.shape[1]))
                )
        elif not list(m.children()):
            w = getattr(m, "weight", None)
            if isinstance(w, nn.Parameter) and w.dim() >= 2:
                layers.append(Layer(name or type(m).__name__, m, w, int(math.prod(w.shape[1:]))))
    return layers


def layer_depth(model: nn.Module) -> int:
    """Weighted layers one after the other: a recurrent module counts its stacked layers (its
    input and hidden weights sit at one depth), an attention block's projections one."""
    depth = 0
    for m in model.modules():
        if isinstance(m, nn.RNNBase):
            depth += int(m.num_layers)
        elif not list(m.children()):
            w = getattr(m, "weight", None)
            depth += isinstance(w, nn.Parameter) and w.dim() >= 2
    return depth


def activation_map(model: nn.Module, layers: list[Layer]) -> list[tuple[nn.Module, int, str]]:
    """Each activation module, attached to the weighted layer registered just before it."""
    found: list[tuple[nn.Module, int, str]] = []
    # A module holding several weights (a recurrent one) is represented by its last.
    layer_ids = {id(layer.module): i for i, layer in enumerate(layers)}
    current: int | None = None
    for _, module in model.named_modules():
        if id(module) in layer_ids:
            current = layer_ids[id(module)]
        kind = ACTIVATIONS.get(type(module))
        if kind in ("relu", "leaky_relu", "sigmoid", "tanh") and current is not None:
            found.append((module, current, kind))
    return found


def layer_info(
    layers: list[Layer],
    activations: list[tuple[nn.Module, int, str]],
    reduce: Reduce | None,
) -> list[dict[str, Any]]:
    """Name, type, activation, fan-in and init statistics of each layer.

    Sums over the local elements, all-reduced once when the weights are sharded (``reduce``),
    so every rank takes part and the figures are the whole weight's.
    """
    kinds = {i: k for _, i, k in activations}
    if not layers:
        return []
    with torch.no_grad():
        # Reductions only (no copy of any weight): the sum and the squared L2 norm.
        weights = [local(layer.weight).detach() for layer in layers]
        totals = torch.stack([w.sum(dtype=torch.float32) for w in weights]).double()
        squares = torch.stack(torch._foreach_norm(weights, 2, dtype=torch.float32)).double() ** 2
        sums = torch.stack([totals, squares], dim=1)
        if reduce is not None:
            sums = reduce(sums)
        values = sums.cpu().tolist()
    info = []
    for i, (layer, (total, squares)) in enumerate(zip(layers, values, strict=True)):
        n = layer.weight.numel()
        mean = total / n if n else 0.0
        var = squares / n - mean * mean if n else 0.0
        # Sample standard deviation (n - 1), as torch.std gives, from the two sums.
        std = math.sqrt(max(var, 0.0) * n / (n - 1)) if n > 1 else 0.0
        info.append(
            {
                "name": layer.name,
                "type": type(layer.module).__name__,
                "activation": kinds.get(i),
                "fan_in": layer.fan_in,
                "init_weight_std": std,
                "init_weight_mean": mean,
            }
        )
    return info


def hidden_widths(leaves: list[nn.Module], linears: list[nn.Linear]) -> list[int]:
    """The widths of the representations between input and output: each hidden Linear's
    output, each recurrent layer's state (both directions), and what the output layer reads.
    A GRU of width 1 before a 5-way Linear has no hidden Linear, yet is the narrowest point."""
    widths = [m.out_features for m in linears[:-1]]
    for m in leaves:
        if isinstance(m, nn.RNNBase):
            state = getattr(m, "proj_size", 0) or m.hidden_size
            widths.append(state * (2 if m.bidirectional else 1))
    if linears and (not widths or widths[-1] != linears[-1].in_features):
        widths.append(linears[-1].in_features)
    return widths


def read_config(
    model: nn.Module,
    optimizer: torch.optim.Optimizer,
    criterion: nn.Module | None,
    loader: Any,
    depth: int,
    device: torch.device,
) -> dict[str, Any]:
    """The config as the objects state it; the user's ``config=`` is merged over it."""
    group = optimizer.param_groups[0] if optimizer.param_groups else {}
    opt: dict[str, Any] = {"name": type(optimizer).__name__.lower()}
    for key in ("lr", "momentum", "eps", "weight_decay", "nesterov"):
        value = group.get(key)
        if isinstance(value, bool | int | float):
            opt[key] = value
    if isinstance(group.get("betas"), tuple):
        opt["betas"] = [float(b) for b in group["betas"]]
    leaves = [m for m in model.modules() if not list(m.children())]
    linears = [m for m in leaves if isinstance(m, nn.Linear)]
    activations = sorted(
        {
            ACTIVATIONS[type(m)]
            for m in leaves
            if type(m) in ACTIVATIONS and ACTIVATIONS[type(m)] not in ("softmax", "log_softmax")
        }
    )
    last = leaves[-1] if leaves else None
    output_activation = ACTIVATIONS.get(type(last)) if last is not None else None
    cfg: dict[str, Any] = {
        "model": {
            "depth": depth,
            "layer_types": sorted({type(m).__name__ for m in leaves}),
            "activations": activations,
            "parameters": sum(p.numel() for p in model.parameters()),
            "normalization": sorted(
                {type(m).__name__ for m in leaves if isinstance(m, NORMALIZATION)}
            ),
            "hidden_sizes": hidden_widths(leaves, linears),
            "output_activation": output_activation,
        },
        "optimizer": opt,
        "learning_rate": opt.get("lr"),
        "weight_decay": opt.get("weight_decay"),
        "output_activation": output_activation,
        "device": str(device),
    }
    param = next(model.parameters(), None)
    if param is not None:
        cfg["precision"] = str(param.dtype).replace("torch.", "")
    dropouts = [m.p for m in leaves if isinstance(m, nn.Dropout)]
    if dropouts:
        cfg["dropout"] = max(dropouts)
    elif leaves:
        cfg["dropout"] = 0.0
    if criterion is not None:
        loss, task = LOSSES.get(type(criterion).__name__, (type(criterion).__name__, None))
        cfg["loss"] = loss
        if task:
            cfg["task"] = task
        if task == "classification" and linears and loss in ("cross_entropy", "nll"):
            cfg["num_classes"] = linears[-1].out_features
        smoothing = getattr(criterion, "label_smoothing", 0.0)
        if isinstance(smoothing, float) and smoothing > 0:
            cfg["label_smoothing"] = smoothing  # lifts the loss's floor above zero
    if loader is not None:
        batch_size = getattr(loader, "batch_size", None)
        if isinstance(batch_size, int):
            cfg["batch_size"] = batch_size
        sampler = getattr(loader, "sampler", None)
        if sampler is not None:
            name = type(sampler).__name__
            if name == "RandomSampler":
                cfg["shuffle"] = True
            elif name == "SequentialSampler":
                cfg["shuffle"] = False
        try:
            cfg["split_sizes"] = {"train": len(loader.dataset)}
            cfg["steps_per_epoch"] = len(loader)
        except (TypeError, AttributeError):
            pass
    return {k: v for k, v in cfg.items() if v is not None}


def merge(base: dict[str, Any], update: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in update.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = merge(out[key], value)
        else:
            out[key] = value
    return out


def is_fsdp1(model: nn.Module) -> bool:
    """The FSDP1 wrapper (``FullyShardedDataParallel``): flat parameters, not supported."""
    try:
        from torch.distributed.fsdp import FullyShardedDataParallel
    except ImportError:  # pragma: no cover - builds without distributed
        return False
    return any(isinstance(m, FullyShardedDataParallel) for m in model.modules())


def is_fsdp2(weights: list[torch.Tensor]) -> bool:
    """FSDP2 (``fully_shard``): parameters are sharded ``DTensor``s."""
    return any(is_dtensor(w) for w in weights)
