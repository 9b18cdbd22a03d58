"""Does the training loop reset the gradients between optimizer steps?

A missing ``zero_grad`` is among the commonest PyTorch training bugs (Humbatova et al. 2020
list it under "missing/redundant/wrong ... gradient reset"; it is the first item of the forums'
checklists): every ``backward`` adds to the gradients of all the steps before, so the updates
grow step after step. The collector answers the question from what the loop does, not from
which API it calls (``zero_grad()``, ``model.zero_grad()``, ``p.grad = None``, an in-place
``p.grad.zero_()``, a wrapper's own reset all count):

- just before sampled step ``t`` it keeps a weak reference to each weight's ``.grad`` and the
  gradient's values on the fixed subset of elements the layer statistics already read;
- just before step ``t + 1`` it looks again. New ``.grad`` tensors (set to ``None`` and
  re-created by ``backward``: ``zero_grad``'s default since torch 2.0) mean a reset. The same
  tensors were either zeroed in place or kept: kept gradients carry over,
  ``rho = <G(t+1), G(t)> / ||G(t)||^2 = 1 + <g, G(t)> / ||G(t)||^2``, close to 1 once a few
  steps have been summed, while a fresh mini-batch gradient gives
  ``<g(t+1), g(t)> / ||g(t)||^2``, the overlap of two batches' gradients, well below 1 unless
  consecutive gradients are nearly identical (full-batch training with a tiny step).

After ``CHECKS`` such looks the verdict is written as ``config.zero_grad``: ``false`` when the
same tensors were seen every time, the median ``rho`` is at least ``CARRY`` (0.9: a kept
gradient's ``rho`` falls below it only when the new batch's gradient is more than a tenth of
the accumulated one and points against it) and the gradient grew between the first and the
last look by at least half of what a sum of independent batch gradients grows by
(``sqrt(t_last / t_first)``, at least ``GROWTH``): consecutive full-batch gradients at a tiny
step also give ``rho`` near 1, but they do not grow as a sum does. No verdict when ``rho`` is
near 1 on the median but neither grows nor stays within ``SAME`` of 1 at every look (a kept sum
that oscillates under plain SGD reads so, as do fresh gradients that align). ``true`` otherwise.

Only gradient values that the layer statistics take anyway are read; the comparison is a few
kernels on the device at the first ``CHECKS`` sampled steps, and its numbers cross to the host
with the next batched transfer. Under FSDP2 (sharded gradients) only the tensor identity is
used: new tensors are a reset, the same ones give no verdict.
"""

from __future__ import annotations

import math
import statistics
import weakref
from typing import Any

import torch

from lossexpert.collectors._watch.introspect import local

CHECKS = 5
CARRY = 0.9
GROWTH = 1.5
SAME = 0.1  # consecutive gradients "nearly identical": every rho within 10 % of 1


class GradientReset:
    """Looks for a gradient reset between a sampled step and the next one, ``CHECKS`` times."""

    def __init__(self, weights: list[torch.Tensor], index: list[torch.Tensor], *, values: bool):
        self.weights = weights
        self.index = index
        self.values = values  # False under FSDP2: the dot products would need a collective
        self._refs: list[weakref.ref[torch.Tensor] | None] = []
        self._before: list[torch.Tensor] = []
        self.pending = False
        self._replaced = 0  # looks that found new .grad tensors
        self._undecided = 0  # looks that found the same tensors and could not read values
        self._kept: list[torch.Tensor] = []  # [<G(t+1), G(t)>, ||G(t)||^2] per look, on device
        self._steps: list[int] = []  # the sampled step of each look
        self._step = 0
        self.verdict: bool | None = None
        self.written = False

    @property
    def done(self) -> bool:
        return self._replaced + self._undecided + len(self._kept) >= CHECKS

    def before_sampled_step(self, step: int, grad_parts: list[torch.Tensor]) -> None:
        """At the pre-step hook of sampled step ``step``, after the layer statistics took
        their subset of each gradient (``grad_parts``)."""
        if self.done:
            return
        self._step = step
        self._refs = [None if w.grad is None else weakref.ref(w.grad) for w in self.weights]
        self._before = grad_parts
        self.pending = any(r is not None for r in self._refs)

    def before_next_step(self) -> None:
        """At the pre-step hook of the step after a sampled one."""
        self.pending = False
        same = [
            r is not None and w.grad is not None and r() is w.grad
            for r, w in zip(self._refs, self.weights, strict=True)
        ]
        known = [r is not None for r in self._refs]
        if not any(known):
            return
        if not all(s for s, k in zip(same, known, strict=True) if k):
            self._replaced += 1
        elif self.values:
            with torch.no_grad():
                dot = torch.zeros((), dtype=torch.float64, device=self._before[0].device)
                sq = torch.zeros_like(dot)
                for w, i, before, k in zip(
                    self.weights, self.index, self._before, known, strict=True
                ):
                    if not k or w.grad is None or before.numel() == 0:
                        continue
                    now = torch.take(local(w.grad).detach(), i).double()
                    dot += torch.dot(now, before.double())
                    sq += torch.dot(before.double(), before.double())
                self._kept.append(torch.stack([dot, sq]))
                self._steps.append(self._step)
        else:
            # FSDP2: the same tensors were zeroed in place or kept, and without their values
            # the two cannot be told apart: no vote.
            self._undecided += 1
        self._refs, self._before = [], []

    def resolve(self) -> bool | None:
        """The verdict once every look is done (one small copy to the host), else None."""
        if self.verdict is not None or not self.done:
            return self.verdict
        if self._replaced:
            self.verdict = True
            return True
        if not self._kept:  # only undecided looks: no verdict
            return None
        pairs: list[Any] = torch.stack(self._kept).cpu().tolist()
        looks = [
            (step, dot / sq, sq)
            for step, (dot, sq) in zip(self._steps, pairs, strict=True)
            if sq > 0 and math.isfinite(dot / sq)
        ]
        if len(looks) < 2:  # zero or non-finite gradients: nothing to compare, no verdict
            self._kept, self._undecided = [], CHECKS
            return None
        carried = statistics.median(rho for _, rho, _ in looks) >= CARRY
        (t0, _, sq0), (t1, _, sq1) = looks[0], looks[-1]
        expected = math.sqrt((t1 + 1) / (t0 + 1))
        grew = math.sqrt(sq1 / sq0) >= max(GROWTH, expected / 2)
        if carried and not grew and any(abs(rho - 1) > SAME for _, rho, _ in looks):
            # rho near 1 on the median, yet the gradient neither grew as a sum does nor stayed
            # the same from step to step (full batches at a small step): kept gradients that
            # cancel (an oscillating sum) and fresh ones that happen to align read alike here.
            # No verdict rather than a wrong "reset".
            self._kept, self._undecided = [], CHECKS
            return None
        self.verdict = not (carried and grew)
        return self.verdict
