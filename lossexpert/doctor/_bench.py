"""The workbench: copies of the user's objects, batches taken from the loader, RNG guards.

Nothing here mutates what the user passed in. The model, optimizer and criterion are deep
copied together (so the optimizer's parameters map onto the copied model's), with every hook
left out of the copy (a ``lossexpert.watch`` recording the user's loop must not see probes).
The loader is iterated once, inside a guard that restores the global torch / numpy / Python
random states and any generator the loader owns.
"""

from __future__ import annotations

import contextlib
import copy
import math
import random
from collections import OrderedDict
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from torch import nn

from lossexpert.errors import LossexpertError

TARGET_KEYS = ("target", "targets", "label", "labels", "y")
INPUT_KEYS = ("input", "inputs", "x", "features")
_HOOK_ATTRS = (
    "_forward_hooks",
    "_forward_pre_hooks",
    "_backward_hooks",
    "_backward_pre_hooks",
    "_forward_hooks_with_kwargs",
    "_forward_pre_hooks_with_kwargs",
    "_forward_hooks_always_called",
    "_state_dict_hooks",
    "_state_dict_pre_hooks",
    "_load_state_dict_pre_hooks",
    "_load_state_dict_post_hooks",
    "_optimizer_step_pre_hooks",
    "_optimizer_step_post_hooks",
    "_optimizer_state_dict_pre_hooks",
    "_optimizer_state_dict_post_hooks",
    "_optimizer_load_state_dict_pre_hooks",
    "_optimizer_load_state_dict_post_hooks",
)


class DoctorInputError(LossexpertError, ValueError):
    """The objects passed to ``doctor`` cannot be used (one line, names the argument)."""

    code = "LE301"


# ---------------------------------------------------------------- random states


def _generators(loader: Any) -> list[torch.Generator]:
    found: list[torch.Generator] = []
    for obj in (
        loader,
        getattr(loader, "sampler", None),
        getattr(loader, "batch_sampler", None),
        getattr(getattr(loader, "batch_sampler", None), "sampler", None),
    ):
        gen = getattr(obj, "generator", None)
        if isinstance(gen, torch.Generator) and all(gen is not g for g in found):
            found.append(gen)
    return found


@contextlib.contextmanager
def rng_guard(*loaders: Any) -> Iterator[None]:
    """Restore torch (CPU and CUDA), numpy and Python RNG states, and loader generators."""
    torch_state = torch.random.get_rng_state()
    cuda_on = torch.cuda.is_initialized()  # type: ignore[no-untyped-call]
    cuda_states = torch.cuda.get_rng_state_all() if cuda_on else None
    np_state = np.random.get_state()
    py_state = random.getstate()
    gens = [g for ld in loaders if ld is not None for g in _generators(ld)]
    gen_states = [g.get_state() for g in gens]
    try:
        yield
    finally:
        torch.random.set_rng_state(torch_state)
        if cuda_states is not None:
            torch.cuda.set_rng_state_all(cuda_states)
        np.random.set_state(np_state)
        random.setstate(py_state)
        for g, s in zip(gens, gen_states, strict=True):
            g.set_state(s)


# ---------------------------------------------------------------- copies


def _hook_memo(objs: Sequence[Any]) -> dict[int, Any]:
    """deepcopy memo that replaces every hook dict with an empty one of the same type."""
    memo: dict[int, Any] = {}
    for obj in objs:
        owners = list(obj.modules()) if isinstance(obj, nn.Module) else [obj]
        for owner in owners:
            for attr in _HOOK_ATTRS:
                value = owner.__dict__.get(attr)
                if isinstance(value, dict):
                    memo[id(value)] = type(value)() if isinstance(value, OrderedDict) else {}
    return memo


def copy_objects(model: nn.Module, optimizer: Any, criterion: Any) -> tuple[Any, Any, Any]:
    """Deep copies, hooks left behind, optimizer parameters mapped onto the copied model."""
    objs = [model, optimizer] + ([criterion] if isinstance(criterion, nn.Module) else [])
    memo = _hook_memo(objs)
    m, o, *rest = copy.deepcopy(objs, memo)
    return m, o, (rest[0] if rest else criterion)


# ---------------------------------------------------------------- batches


@dataclass
class Batch:
    inputs: Any  # a tensor, or a dict of keyword tensors
    targets: torch.Tensor

    def __len__(self) -> int:
        return int(self.targets.shape[0]) if self.targets.dim() else 1


def _as_batch(item: Any, where: str) -> Batch:
    if isinstance(item, dict):
        tkey = next((k for k in TARGET_KEYS if k in item), None)
        if tkey is None:
            raise DoctorInputError(
                f"loader: a dict batch needs one of {', '.join(TARGET_KEYS)} ({where})"
            )
        ikey = next((k for k in INPUT_KEYS if k in item), None)
        inputs = item[ikey] if ikey is not None else {k: v for k, v in item.items() if k != tkey}
        return Batch(inputs, torch.as_tensor(item[tkey]))
    if isinstance(item, tuple | list) and len(item) >= 2:
        return Batch(item[0], torch.as_tensor(item[1]))
    raise DoctorInputError(
        f"loader: a batch must be (inputs, targets) or a dict of tensors, got "
        f"{type(item).__name__} ({where})"
    )


def take_batches(
    loader: Any, max_batches: int, name: str = "loader", min_samples: int = 0
) -> list[Batch]:
    """One pass over a re-iterable loader, RNG states restored: at most ``max_batches``
    batches, or more small ones until ``min_samples`` samples are collected (a loader of
    batch 1 would otherwise give the probes 200 samples)."""
    if loader is None:
        return []
    if iter(loader) is loader:
        raise DoctorInputError(
            f"{name}: a one-shot iterator cannot be read without consuming it; pass a "
            "DataLoader or a list of batches"
        )
    out: list[Batch] = []
    samples = 0
    with rng_guard(loader):
        for i, item in enumerate(loader):
            if i >= max_batches and samples >= min_samples:
                break
            out.append(_as_batch(item, f"{name} batch {i}"))
            samples += len(out[-1])
    if not out:
        raise DoctorInputError(f"{name}: yielded no batch")
    return out


def concat(batches: Sequence[Batch]) -> Batch:
    first = batches[0].inputs
    if isinstance(first, dict):
        inputs: Any = {k: torch.cat([b.inputs[k] for b in batches]) for k in first}
    else:
        inputs = torch.cat([b.inputs for b in batches])
    return Batch(inputs, torch.cat([b.targets for b in batches]))


def index(batch: Batch, idx: torch.Tensor) -> Batch:
    inputs = (
        {k: v[idx] for k, v in batch.inputs.items()}
        if isinstance(batch.inputs, dict)
        else batch.inputs[idx]
    )
    return Batch(inputs, batch.targets[idx])


def rechunk(batch: Batch, size: int, order: torch.Tensor | None = None) -> list[Batch]:
    n = len(batch)
    idx = order if order is not None else torch.arange(n)
    return [index(batch, idx[i : i + size]) for i in range(0, n, max(1, size))]


def map_inputs(batch: Batch, fn: Callable[[torch.Tensor], torch.Tensor]) -> Batch:
    """Apply ``fn`` to the floating-point input tensors (integer ids are left alone)."""

    def one(t: Any) -> Any:
        return fn(t) if isinstance(t, torch.Tensor) and t.is_floating_point() else t

    if isinstance(batch.inputs, dict):
        return Batch({k: one(v) for k, v in batch.inputs.items()}, batch.targets)
    return Batch(one(batch.inputs), batch.targets)


def float_inputs(batch: Batch) -> torch.Tensor | None:
    x = batch.inputs
    if isinstance(x, dict):
        x = next(
            (v for v in x.values() if isinstance(v, torch.Tensor) and v.is_floating_point()), None
        )
    return x if isinstance(x, torch.Tensor) and x.is_floating_point() else None


# ---------------------------------------------------------------- forward / loss


def device_of(model: nn.Module) -> torch.device:
    p = next(model.parameters(), None)
    return p.device if p is not None else torch.device("cpu")


def to_device(batch: Batch, device: torch.device) -> Batch:
    if isinstance(batch.inputs, dict):
        inputs: Any = {
            k: v.to(device) if isinstance(v, torch.Tensor) else v for k, v in batch.inputs.items()
        }
    else:
        inputs = batch.inputs.to(device)
    return Batch(inputs, batch.targets.to(device))


def forward(model: nn.Module, batch: Batch) -> torch.Tensor:
    out = model(**batch.inputs) if isinstance(batch.inputs, dict) else model(batch.inputs)
    if isinstance(out, torch.Tensor):
        return out
    logits = getattr(out, "logits", None)
    if isinstance(logits, torch.Tensor):
        return logits
    if isinstance(out, tuple | list) and out and isinstance(out[0], torch.Tensor):
        return out[0]
    raise DoctorInputError(f"model: output of type {type(out).__name__} is not a tensor")


def loss_of(model: nn.Module, criterion: Any, batch: Batch) -> torch.Tensor:
    loss = criterion(forward(model, batch), batch.targets)
    if not isinstance(loss, torch.Tensor) or loss.dim() != 0:
        if isinstance(loss, torch.Tensor):
            return loss.mean()
        raise DoctorInputError("criterion: must return a scalar tensor")
    return loss


def eval_loss(model: nn.Module, criterion: Any, batches: Sequence[Batch]) -> float:
    """Mean loss in eval mode (dropout off), no gradients; NaN stays NaN."""
    was = model.training
    model.eval()
    total, n = 0.0, 0
    try:
        with torch.no_grad():
            for b in batches:
                total += float(loss_of(model, criterion, b)) * len(b)
                n += len(b)
    finally:
        model.train(was)
    return total / max(n, 1)


def finite(x: float) -> bool:
    return math.isfinite(x)


@dataclass
class Bench:
    """Everything the probes start from: the originals (read only) and reusable snapshots."""

    model: nn.Module
    optimizer: Any
    criterion: Any
    train: list[Batch]
    val: list[Batch]
    device: torch.device
    batch_size: int
    shuffled: bool | None
    seed: int = 0
    timings: dict[str, float] = field(default_factory=dict)
    dataset_size: int | None = None  # len(loader.dataset), when the loader says

    @property
    def epoch_steps(self) -> int:
        """Optimizer steps in one epoch of the user's loader (of the collected batches when
        the loader does not say how many samples it has)."""
        if self.dataset_size:
            return max(1, math.ceil(self.dataset_size / max(self.batch_size, 1)))
        return len(self.train)

    def fresh(self) -> tuple[nn.Module, Any, Any]:
        """New copies of model, optimizer and criterion at the user's current state."""
        return copy_objects(self.model, self.optimizer, self.criterion)

    def all_train(self) -> Batch:
        return concat(self.train)

    def held_out(self) -> list[Batch]:
        """Val batches if given, else the last fifth of the collected train batches."""
        if self.val:
            return self.val
        k = max(1, len(self.train) // 5)
        return self.train[-k:]


def build_bench(
    model: Any,
    optimizer: Any,
    criterion: Any,
    loader: Any,
    val_loader: Any,
    *,
    max_batches: int,
    seed: int,
    check: bool = True,
    min_samples: int = 0,
) -> Bench:
    if not isinstance(model, nn.Module):
        raise DoctorInputError(f"model: expected a torch.nn.Module, got {type(model).__name__}")
    if not isinstance(optimizer, torch.optim.Optimizer):
        while isinstance(getattr(optimizer, "optimizer", None), torch.optim.Optimizer):
            optimizer = optimizer.optimizer
        if not isinstance(optimizer, torch.optim.Optimizer):
            raise DoctorInputError(
                f"optimizer: expected a torch.optim.Optimizer, got {type(optimizer).__name__}"
            )
    if not callable(criterion):
        raise DoctorInputError("criterion: must be a loss module or a function (output, target)")
    device = device_of(model)
    train = [to_device(b, device) for b in take_batches(loader, max_batches, "loader", min_samples)]
    val = (
        [to_device(b, device) for b in take_batches(val_loader, max_batches, "val_loader")]
        if val_loader is not None
        else []
    )
    probe_model, _, crit = copy_objects(model, optimizer, criterion)
    for name, batches in (("loader", train), ("val_loader", val)) if check else ():
        try:
            eval_loss(probe_model, crit, batches[:1])
        except DoctorInputError:
            raise
        except Exception as exc:
            raise DoctorInputError(
                f"{name}: the loss cannot be computed on its first batch: "
                f"{type(exc).__name__}: {exc}".splitlines()[0]
            ) from None
    bs = getattr(loader, "batch_size", None)
    batch_size = bs if isinstance(bs, int) and bs > 0 else len(train[0])
    sampler = type(getattr(loader, "sampler", None)).__name__
    shuffled = {"RandomSampler": True, "SequentialSampler": False}.get(sampler)
    try:
        size: int | None = len(loader.dataset)
    except (AttributeError, TypeError):
        size = None
    return Bench(
        model,
        optimizer,
        criterion,
        train,
        val,
        device,
        batch_size,
        shuffled,
        seed,
        dataset_size=size,
    )
