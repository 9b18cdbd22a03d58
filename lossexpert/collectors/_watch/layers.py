"""Per-layer gradient, weight and update statistics, computed on the device, copied in batches.

The update ratio ``||w_after - w_before|| / ||w_before||`` needs the weights from before the
step. Copying them (what this module did until issue 12) costs as much memory as the model;
instead each layer keeps a **fixed random subset** of its elements (``update_sample``, 4096 by
default, drawn once per parameter from a private generator: the global RNG is untouched), takes
those elements before the step and again after it, and estimates

    ||Δ||² ≈ (n / k) · Σ_{i in subset} Δ_i²

(unbiased; indices drawn uniformly with replacement). ``||w_before||`` is exact (a norm, no
copy). A layer with at most ``update_sample`` elements uses all of them: exact. The relative
standard error of the norm estimate is about ``sqrt((κ - 1) / (4k))`` with κ the kurtosis of
the update's elements: 1.1 % for Gaussian updates (κ = 3) at k = 4096, less for Adam's
sign-like updates (κ ≈ 1), 4 % for heavy-tailed ones (κ = 30). Rules compare update ratios on
a log scale against thresholds a decade apart (1e-4 / 1e-2, Karpathy's ~1e-3 rule of thumb),
so a few per cent do not move a diagnosis. An update that is exactly zero stays exactly zero.
Extra memory: k indices (int64) + k values per layer, 48 KB per layer at the default.

The gradient norm is exact (``_foreach_norm``, float32 accumulation, no temporary the size of
a gradient). Mean |g| and the zero fraction come from the same subset of the gradient's
elements (``(n / k) · Σ |g_i|`` and ``(n / k) · #{g_i != 0}``): exact reductions need either a
copy of each gradient (``abs``, ``!= 0``) or ``_foreach_norm`` with ord 1 / 0, which has no
vectorised CPU kernel (7x slower than ord 2 here: 280 vs 40 µs for the overhead benchmark's
MLP). The mean |g| estimate's relative error is about ``std|g| / (mean|g| · sqrt(k))``, 1.2 %
for Gaussian gradients at k = 4096; the zero fraction's absolute error is at most
``sqrt(p(1 - p) / k)`` <= 0.8 %; an all-zero gradient reads exactly 1. No rule reads either
series at a finer resolution.

Columns are named after the run format's series (``SERIES_FIELDS``). Under FSDP2
(``fully_shard``: parameters and gradients are sharded ``DTensor``s) every statistic is first a
sum over the local shard (squared norms, |g| sums, non-zero counts, the subset's squared
update); one all-reduce of those sums per sampled step makes them global, then norms and
fractions are formed. Every rank runs the same code, rank 0 writes.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import torch

from lossexpert.collectors._watch.introspect import local
from lossexpert.runformat import SERIES_FIELDS

COL = {name: i for i, name in enumerate(SERIES_FIELDS)}
# Additive quantities (sums over elements): summed over shards by one all-reduce. The order
# is the order the sampled step computes them in: before the step (gradient norm, weight
# norm, subset |g| sum, subset non-zero count), after it (weight norm, subset update norm).
RAW = ("grad_sq", "before_sq", "grad_l1", "grad_nonzero", "weight_sq", "delta_sq")
RAW_COL = {name: i for i, name in enumerate(RAW)}
RAW_POWER = (2, 2, 1, 1, 2, 2)  # norms are squared; sums and counts are already sums
RAW_SCALED = ("grad_l1", "grad_nonzero", "delta_sq")  # subset sums: times n / k
ACTIVATION_FIELDS = ("dead_fraction", "saturated_fraction")
LAYER_FIELDS = tuple(f for f in SERIES_FIELDS if f not in ACTIVATION_FIELDS)
UPDATE_SAMPLE = 4096
SEED = 0x1055E  # fixed: the same subset in every run of the same model

Reduce = Callable[[torch.Tensor], torch.Tensor]


class LayerStats:
    """The per-layer statistics of sampled steps, in a device buffer of ``transfer_every`` rows."""

    def __init__(
        self,
        names: list[str],
        weights: list[torch.Tensor],
        device: torch.device,
        *,
        transfer_every: int,
        update_sample: int = UPDATE_SAMPLE,
        reduce: Reduce | None = None,
    ) -> None:
        self.names = names
        self.weights = weights
        self.device = device
        self.reduce = reduce
        n = len(weights)
        self.transfer_every = max(1, transfer_every)
        # Per sampled step: the layers' raw sums (RAW, after the all-reduce under FSDP2) and
        # their activation statistics, in float64 on the device. Norms, means and fractions are
        # formed on the host at the transfer, for the whole batch at once: a sampled step
        # launches no kernel for them.
        self.rows = torch.full(
            (self.transfer_every, n, len(RAW) + len(ACTIVATION_FIELDS)),
            math.nan,
            dtype=torch.float64,
            device=device,
        )
        self.steps: list[int] = []
        self.lrs: list[float | None] = []
        self._numel = torch.tensor([float(w.numel()) for w in weights], dtype=torch.float64)
        generator = torch.Generator().manual_seed(SEED)
        k = max(1, update_sample)
        self._index: list[torch.Tensor] = []
        scale: list[float] = []
        for w in weights:
            size = local(w).numel()
            if size <= k:
                idx = torch.arange(size)
            else:
                idx = torch.randint(0, size, (k,), generator=generator)
            self._index.append(idx.to(local(w).device))
            scale.append(size / idx.numel() if idx.numel() else 0.0)
        mult = torch.ones((n, len(RAW)), dtype=torch.float64)
        for name in RAW_SCALED:
            mult[:, RAW_COL[name]] = torch.tensor(scale, dtype=torch.float64)
        self._mult = mult  # host side: applied at the transfer
        self._power = torch.tensor(RAW_POWER, dtype=torch.float64)
        self._empty = torch.zeros(0, device=device)
        self._pre = torch.zeros(0, device=device)
        self._before: list[torch.Tensor] = []
        self.grad_parts: list[torch.Tensor] = []

    @property
    def subset_index(self) -> list[torch.Tensor]:
        """The fixed element indices read from each weight (and its gradient)."""
        return self._index

    @property
    def pending(self) -> int:
        return len(self.steps)

    def before_step(self) -> None:
        """Gradient statistics, ``||w||`` and the subset's values, before the optimizer step.

        Few, batched kernels: a sampled step is where the collector's time goes, and on a
        small model each launch costs about as much as the arithmetic."""
        with torch.no_grad():
            grads = [
                local(w.grad).detach() if w.grad is not None else self._empty
                for w in self.weights
            ]
            ws = [local(w).detach() for w in self.weights]
            parts = [
                torch.take(g, i) if g.numel() else self._empty
                for g, i in zip(grads, self._index, strict=True)
            ]
            f32 = torch.float32
            norms = torch._foreach_norm(grads + ws, 2, dtype=f32)
            norms += torch._foreach_norm(parts, 1, dtype=f32)
            norms += torch._foreach_norm(parts, 0, dtype=f32)
            self._pre = torch.stack(norms)  # grad_sq, before_sq, grad_l1, grad_nonzero (roots)
            self._before = [torch.take(w, i) for w, i in zip(ws, self._index, strict=True)]
            self.grad_parts = parts  # the gradient reset check compares them with the next

    def after_step(self, step: int, lr: float | None, activations: torch.Tensor | None) -> bool:
        """Weights and the update after the step; returns True when the buffer is full."""
        if not self._before:
            return False
        with torch.no_grad():
            ws = [local(w).detach() for w in self.weights]
            after = [torch.take(w, i) for w, i in zip(ws, self._index, strict=True)]
            delta = torch._foreach_sub(after, self._before)
            self._before = []
            f32 = torch.float32
            post = torch.stack(
                torch._foreach_norm(ws, 2, dtype=f32) + torch._foreach_norm(delta, 2, dtype=f32)
            )
            n = len(self.weights)
            # [layers, RAW]: norms (their squares are formed at the transfer) and subset sums.
            raw = torch.cat([self._pre, post]).double().view(len(RAW), n).T
            if self.reduce is not None:
                # The one collective of a sampled step: squares are additive over shards.
                power, mult = self._power.to(raw.device), self._mult.to(raw.device)
                raw = self.reduce(raw.pow(power) * mult).div(mult).pow(1.0 / power)
            row = self.rows[len(self.steps)]
            row[:, : len(RAW)] = raw
            if activations is not None:
                row[:, len(RAW) :] = activations
        self.steps.append(step)
        self.lrs.append(lr)
        return len(self.steps) >= self.transfer_every

    def drain(self) -> list[dict[str, Any]]:
        """The buffered samples as ``layers`` and ``lr`` records: one device->host copy."""
        if not self.steps:
            return []
        raw = self.rows[: len(self.steps)].cpu()  # the one transfer
        sums = raw[..., : len(RAW)].pow(self._power) * self._mult  # [steps, layers, RAW]
        c = RAW_COL
        derived = {
            "grad_norm": sums[..., c["grad_sq"]].sqrt(),
            "grad_abs_mean": sums[..., c["grad_l1"]] / self._numel,
            "grad_zero_fraction": 1 - sums[..., c["grad_nonzero"]] / self._numel,
            "weight_norm": sums[..., c["weight_sq"]].sqrt(),
            "update_ratio": (sums[..., c["delta_sq"]] / sums[..., c["before_sq"]]).sqrt(),
        }
        for i, name in enumerate(ACTIVATION_FIELDS):
            derived[name] = raw[..., len(RAW) + i]
        # float32, as the statistics were before they moved to the host
        rows = torch.stack([derived[k] for k in SERIES_FIELDS], -1).float().tolist()
        out: list[dict[str, Any]] = []
        for step, lr, row in zip(self.steps, self.lrs, rows, strict=True):
            # NaN/Inf gradients are evidence and stay; NaN activation stats mean "not measured".
            stats = {
                name: {
                    key: v
                    for key, v in zip(SERIES_FIELDS, values, strict=True)
                    if not (key in ACTIVATION_FIELDS and math.isnan(v))
                }
                for name, values in zip(self.names, row, strict=True)
            }
            out.append({"type": "layers", "step": step, "stats": stats})
            if lr is not None:
                out.append({"type": "lr", "step": step, "value": lr})
        self.rows.fill_(math.nan)
        self.steps, self.lrs = [], []
        return out
