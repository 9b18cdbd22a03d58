"""Dead / saturated fractions of activation outputs, from hooks that exist only while sampling."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import torch
from torch import nn

from lossexpert.collectors._watch.hooks import Detachable

# Thresholds of the activation statistics:
# - a ReLU unit is dead on a batch when its output is <= 0 for every sample of the batch (the
#   definition of Lu et al. 2019, "Dying ReLU and initialization"; a unit at exactly 0 gets no
#   gradient);
# - a sigmoid output is saturated below 0.01 or above 0.99, where its derivative s(1 - s) is
#   under 0.0099, about 4 % of its maximum 0.25; a tanh output above 0.99 in magnitude has a
#   derivative 1 - t² under 0.02, 2 % of its maximum (Glorot & Bengio 2010 track the same
#   saturation of sigmoid/tanh layers).
SIGMOID_SATURATED = 0.01
TANH_SATURATED = 0.99


class ActivationStats:
    """Writes into a ``[layers, 2]`` device buffer (dead, saturated); NaN = not measured."""

    def __init__(
        self,
        modules: list[tuple[nn.Module, int, str]],
        n_layers: int,
        device: torch.device,
        on_error: Callable[[str, str], None],
    ) -> None:
        self.modules = modules
        self.buffer = torch.full((max(n_layers, 1), 2), math.nan, device=device)
        self.n_layers = n_layers
        self.off = False
        self._handles: list[Any] = []
        self._on_error = on_error

    @property
    def attached(self) -> bool:
        return bool(self._handles)

    def attach(self) -> None:
        if self.off or self._handles:
            return
        for module, layer_index, kind in self.modules:
            self._handles.append(
                module.register_forward_hook(Detachable(self._hook(layer_index, kind)))
            )

    def detach(self) -> None:
        for handle in self._handles:
            handle.remove()
        self._handles = []

    def take(self) -> torch.Tensor:
        """This sample's values (a copy), and the buffer reset to "not measured"."""
        values = self.buffer[: self.n_layers].clone()
        self.buffer.fill_(math.nan)
        return values

    def _hook(self, layer_index: int, kind: str) -> Callable[..., None]:
        def hook(module: nn.Module, inputs: Any, output: Any) -> None:
            if not module.training or self.off:
                return
            try:
                with torch.no_grad():
                    out = output.detach()
                    if kind in ("relu", "leaky_relu"):
                        # A unit (feature, or channel of a conv map) is dead when its largest
                        # output over the batch (and positions) is <= 0: one reduction, no copy
                        # of the activations. NaN stays "not dead", as with all(x <= 0).
                        over = (0, *range(2, out.dim())) if out.dim() > 1 else (0,)
                        peak = out.amax(dim=over) if out.dim() > 1 else out.amax().reshape(1)
                        self.buffer[layer_index, 0] = (peak <= 0).float().mean()
                    elif kind == "sigmoid":
                        low, high = SIGMOID_SATURATED, 1 - SIGMOID_SATURATED
                        self.buffer[layer_index, 1] = ((out < low) | (out > high)).float().mean()
                    elif kind == "tanh":
                        self.buffer[layer_index, 1] = (out.abs() > TANH_SATURATED).float().mean()
            except Exception as err:
                self.off = True
                self._on_error("activations", repr(err))

        return hook
