"""Input and label statistics of the first training batches, and the model's output width.

Inputs come from a forward pre-hook on the model (what it receives, after the user's own
transforms). Targets come, in this order of preference, from

1. the loss module's forward pre-hook (``criterion=``): its second argument;
2. with ``loader=`` and no loss module (a functional loss such as ``F.mse_loss``), the batches
   the training loop itself pulls from that ``DataLoader``: the loader's ``_get_iterator`` is
   wrapped on the instance so each iterator it returns reports the batches it yields (element
   1 of a tuple/list batch, or the ``labels``/``label``/``target``/``targets``/``y`` entry of a
   dict batch). The loader is never iterated by us — order, sampler RNG and workers are the
   user's — and the wrapping is removed after ``data_batches`` batches or on close;
3. ``run.log("train", loss, target=y)``: explicit, for any other loop.

Everything is accumulated on the device; one transfer when the statistics are written.

The held-out splits' inputs (``HeldOutInputs``) come from the model's evaluation forwards,
attributed to the split the next ``run.log`` names.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable
from typing import Any

import torch
from torch import nn

from lossexpert.collectors._watch.hooks import Detachable

# At most this many per-feature means/stds are written: enough for tabular data and image
# channels, while a raw 784-pixel input would still fit; beyond it the file grows for nothing.
MAX_FEATURES = 4096
# A batch of fewer labels than this says nothing about ordering: one or two labels are
# trivially "all one class".
MIN_ORDERED_BATCH = 4
TARGET_KEYS = ("labels", "label", "target", "targets", "y")
# Per-output sums of multi-output targets are kept up to this many outputs (a 512x512 mask:
# two float64 vectors of 2 MB); beyond it only the pooled mean and std are written.
MAX_TARGET_OUTPUTS = 1 << 18


def _features(x: torch.Tensor) -> torch.Tensor:
    """Rows = samples (and positions), columns = features or channels (dim 1)."""
    x = x.detach()
    return (x.transpose(0, 1).reshape(x.shape[1], -1).T if x.dim() > 2 else x).double()


def _is_one_hot(y: torch.Tensor) -> torch.Tensor:
    """A device bool: every row of a float target is a one-hot vector."""
    binary = ((y == 0) | (y == 1)).all()
    return binary & (y.sum(dim=-1) == 1).all()


def _accumulate_inputs(acc: dict[str, Any], args: Any) -> bool:
    """Add a forward's first argument, if it is a float batch, to per-feature sums on its
    device (no host sync). True if it was one."""
    x = args[0] if args else None
    if not (isinstance(x, torch.Tensor) and x.is_floating_point() and x.dim() >= 2):
        return False
    feats = _features(x)
    if "sum" not in acc:
        acc.update(
            sum=feats.sum(0),
            sumsq=(feats * feats).sum(0),
            n=0,
            min=feats.min(),
            max=feats.max(),
        )
    else:
        acc["sum"] += feats.sum(0)
        acc["sumsq"] += (feats * feats).sum(0)
        acc["min"] = torch.minimum(acc["min"], feats.min())
        acc["max"] = torch.maximum(acc["max"], feats.max())
    acc["n"] += feats.shape[0]
    return True


def _input_stats(acc: dict[str, Any]) -> dict[str, Any]:
    stats: dict[str, Any] = {}
    if "sum" in acc and acc["n"] > 0:
        n = acc["n"]
        mean = (acc["sum"] / n).cpu()
        var = (acc["sumsq"] / n).cpu() - mean * mean
        std = var.clamp(min=0).sqrt()
        stats.update(
            input_mean=float(mean.mean()),
            input_std=float(std.mean()),
            input_min=float(acc["min"]),
            input_max=float(acc["max"]),
        )
        if mean.numel() <= MAX_FEATURES:
            stats["feature_mean"] = [round(float(v), 6) for v in mean]
            stats["feature_std"] = [round(float(v), 6) for v in std]
    return stats


def _target_of(batch: Any) -> Any:
    if isinstance(batch, tuple | list) and len(batch) >= 2:
        return batch[1]
    if isinstance(batch, dict):
        for key in TARGET_KEYS:
            if key in batch:
                return batch[key]
    return None


def describe(inputs: Any, targets: Any = None) -> dict[str, Any]:
    """DataStats of tensors the user holds (``describe_data``)."""
    with torch.no_grad():
        x = torch.as_tensor(inputs).detach()
        feats = _features(x) if x.dim() >= 2 else x.reshape(x.shape[0], -1).double()
        mean, std = feats.mean(0).cpu(), feats.std(0, unbiased=False).cpu()
        stats: dict[str, Any] = {
            "n_samples": int(x.shape[0]),
            "input_mean": float(feats.mean()),
            "input_std": float(feats.std(unbiased=False)),
            "input_min": float(feats.min()),
            "input_max": float(feats.max()),
        }
        if mean.numel() <= MAX_FEATURES:
            stats["feature_mean"] = [round(float(v), 6) for v in mean]
            stats["feature_std"] = [round(float(v), 6) for v in std]
        if targets is not None:
            acc = TargetAccumulator()
            acc.add(torch.as_tensor(targets))
            stats.update(acc.stats())
        return stats


class TargetAccumulator:
    """Label counts (class indices or one-hot rows), or mean/std of other float targets."""

    def __init__(self) -> None:
        self.counts: torch.Tensor | None = None
        self.single: list[torch.Tensor] = []
        self.one_hot: list[torch.Tensor] = []
        self.binary: list[torch.Tensor] = []  # per batch: a float target of only 0s and 1s
        self.sums: torch.Tensor | None = None  # n, sum, sum of squares (float targets)
        # Per output of multi-output float targets: rows, [sum, sum of squares] per output.
        self.rows = 0
        self.columns: torch.Tensor | None = None
        self.columns_off = False  # the targets' shape changed between batches

    def add(self, y: Any) -> None:
        if not isinstance(y, torch.Tensor) or y.numel() == 0:
            return
        y = y.detach()
        labels: torch.Tensor | None = None
        if not y.is_floating_point() and y.dim() == 1 and not y.is_complex():
            labels = y
        elif y.is_floating_point() and y.dim() >= 2 and y.shape[-1] > 1:
            flag = _is_one_hot(y)
            self.one_hot.append(flag)
            # Class counts of one-hot rows (argmax): kept only if every batch was one-hot.
            labels = y.reshape(-1, y.shape[-1]).argmax(dim=-1)
        elif y.is_floating_point() and (y.dim() == 1 or (y.dim() == 2 and y.shape[-1] == 1)):
            # Binary labels as BCEWithLogitsLoss needs them, floats 0 and 1: counted as
            # classes only if every batch held nothing else (a device flag, no host sync).
            flat = y.reshape(-1)
            self.binary.append(((flat == 0) | (flat == 1)).all())
            labels = (flat > 0.5).long()
        if y.is_floating_point():
            v = y.double()
            batch = torch.stack(
                [
                    torch.tensor(float(v.numel()), dtype=torch.float64, device=v.device),
                    v.sum(),
                    (v * v).sum(),
                ]
            )
            self.sums = batch if self.sums is None else self.sums + batch
            if y.dim() >= 2:
                self._add_columns(v.reshape(v.shape[0], -1))
        if labels is None:
            return
        counts = torch.bincount(labels.reshape(-1).clamp(min=0))
        prev = self.counts
        if prev is not None and prev.numel() < counts.numel():
            prev = nn.functional.pad(prev, (0, counts.numel() - prev.numel()))
        elif prev is not None and counts.numel() < prev.numel():
            counts = nn.functional.pad(counts, (0, prev.numel() - counts.numel()))
        self.counts = counts if prev is None else prev + counts
        if labels.numel() >= MIN_ORDERED_BATCH:
            self.single.append((labels == labels.reshape(-1)[0]).all())

    def _add_columns(self, v: torch.Tensor) -> None:
        if self.columns_off or v.shape[1] > MAX_TARGET_OUTPUTS:
            self.columns_off = True
            return
        batch = torch.stack([v.sum(dim=0), (v * v).sum(dim=0)])
        if self.columns is not None and self.columns.shape != batch.shape:
            self.columns_off = True
            return
        self.columns = batch if self.columns is None else self.columns + batch
        self.rows += v.shape[0]

    def stats(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        one_hot = bool(torch.stack(self.one_hot).all()) if self.one_hot else None
        if one_hot is not None:
            out["target_one_hot"] = one_hot
        binary = bool(torch.stack(self.binary).all()) if self.binary else None
        is_labels = (
            self.counts is not None and (one_hot is None or one_hot) and (binary is None or binary)
        )
        if is_labels and self.counts is not None:
            counts = self.counts.cpu().tolist()
            out["label_counts"] = {str(i): int(c) for i, c in enumerate(counts) if c > 0}
            if self.single:
                out["ordered_batch_fraction"] = float(torch.stack(self.single).float().mean())
        elif self.sums is not None:
            n, total, squares = self.sums.cpu().tolist()
            if n > 0:
                mean = total / n
                out["label_mean"] = mean
                out["label_std"] = max(squares / n - mean * mean, 0.0) ** 0.5
            if self.columns is not None and not self.columns_off and self.rows > 1:
                total_k, squares_k = self.columns.cpu()
                mean_k = total_k / self.rows
                var_k = (squares_k / self.rows - mean_k * mean_k).clamp(min=0.0)
                # The squared error of predicting each output's own mean: the chance level of
                # a multi-output regression (the pooled variance also counts how the outputs'
                # means differ, which a constant prediction per output does not pay for).
                out["label_output_var"] = float(var_k.mean())
        return out


class DataStats:
    """Train-split statistics from the first ``batches`` training forwards."""

    def __init__(
        self,
        batches: int,
        emit: Callable[[dict[str, Any]], None],
        on_error: Callable[[str, str], None],
    ) -> None:
        self.left = max(0, batches)
        self.batches = self.left
        self.inputs_seen = 0
        self.targets_seen = 0
        self.off = False
        self._emit = emit
        self._on_error = on_error
        self._inputs: dict[str, Any] = {}
        self._targets = TargetAccumulator()
        self._handles: list[Any] = []
        self._output_handle: Any = None
        self._loader: Any = None
        self._iterators: list[weakref.ref[Any]] = []
        self._target_source: str | None = None
        self._written = False
        self._idle_steps = 0

    # -------------------------------------------------------------- wiring

    def install(self, model: nn.Module, criterion: nn.Module | None, loader: Any) -> None:
        self._batch_known = loader is not None  # the loader's batch size is in the config
        self._output_handle = model.register_forward_hook(Detachable(self._observe_output))
        if not self.left:
            return
        self._handles.append(model.register_forward_pre_hook(Detachable(self._observe_inputs)))
        if criterion is not None:
            self._handles.append(
                criterion.register_forward_pre_hook(Detachable(self._criterion_targets))
            )
            self._target_source = "criterion"
        elif loader is not None and callable(getattr(loader, "_get_iterator", None)):
            self._wrap_loader(loader)

    def _wrap_loader(self, loader: Any) -> None:
        original = loader._get_iterator  # the bound method of the DataLoader class
        iterators = self._iterators
        seen = self._loader_batch

        def get_iterator() -> Any:
            iterator = original()
            next_data = iterator._next_data

            def observed() -> Any:
                batch = next_data()
                seen(batch)
                return batch

            iterator._next_data = observed
            iterators.append(weakref.ref(iterator))
            return iterator

        loader._get_iterator = get_iterator
        self._loader = loader
        self._target_source = "loader"

    def _unwrap_loader(self) -> None:
        if self._loader is not None:
            self._loader.__dict__.pop("_get_iterator", None)
            self._loader = None
        for ref in self._iterators:
            iterator = ref()
            if iterator is not None:
                iterator.__dict__.pop("_next_data", None)
        self._iterators = []

    def remove(self) -> None:
        for handle in self._handles:
            handle.remove()
        self._handles = []
        if self._output_handle is not None:
            self._output_handle.remove()
            self._output_handle = None
        self._unwrap_loader()

    def step_done(self) -> bool:
        """Called after each optimizer step: True once the statistics can be written.

        Inputs are complete after ``batches`` training forwards; targets arrive with them
        (loss module, loader) or just after the step (``run.log(target=)``), so a source that
        stays short of the inputs is waited for two more steps, no longer.
        """
        if self.left > 0:
            return False
        self._idle_steps += 1
        if self._target_source is not None and self._idle_steps <= 2:
            return self.targets_seen >= min(self.inputs_seen, self.batches)
        return True

    # -------------------------------------------------------------- observers

    def _guarded(self, fn: Callable[[], None]) -> None:
        if self.off:
            return
        try:
            with torch.no_grad():
                fn()
        except Exception as err:
            self.off = True
            self.remove()
            self._on_error("data", repr(err))

    def _observe_inputs(self, module: nn.Module, args: Any) -> None:
        if not module.training or self.left <= 0:
            return

        def run() -> None:
            _accumulate_inputs(self._inputs, args)

        self._guarded(run)
        self.left -= 1
        self.inputs_seen += 1

    def _observe_output(self, module: nn.Module, args: Any, output: Any) -> None:
        if not module.training:
            return
        handle, self._output_handle = self._output_handle, None
        if handle is not None:
            handle.remove()  # the first training forward says it
        out = getattr(output, "logits", output)
        if isinstance(output, dict) and "logits" in output:
            out = output["logits"]
        if isinstance(out, torch.Tensor) and out.dim() >= 1:
            # A (batch,) output is one value per sample (a squeezed regression head): its last
            # dimension is the batch, not the output's width.
            width = 1 if out.dim() == 1 else out.shape[-1]
            config: dict[str, Any] = {"model": {"output_width": width}}
            first = args[0] if args else None
            # Without a loader the batch size is unknown; a (batch, outputs) output whose
            # first dimension is the input's says it (dead-unit counts depend on it).
            if (
                not getattr(self, "_batch_known", True)
                and out.dim() == 2
                and isinstance(first, torch.Tensor)
                and first.dim() >= 1
                and first.shape[0] == out.shape[0]
            ):
                config["batch_size"] = int(out.shape[0])
            self._emit({"type": "config", "config": config})

    def _criterion_targets(self, module: nn.Module, args: Any) -> None:
        # One target batch per observed training input batch (evaluation calls don't count).
        if len(args) < 2 or self.targets_seen >= min(self.inputs_seen, self.batches):
            return
        self.targets_seen += 1
        self._guarded(lambda: self._targets.add(args[1]))

    def _loader_batch(self, batch: Any) -> None:
        if self.targets_seen >= self.batches:
            self._unwrap_loader()
            return
        self.targets_seen += 1
        self._guarded(lambda: self._targets.add(_target_of(batch)))
        if self.targets_seen >= self.batches:
            self._unwrap_loader()

    def observe_target(self, y: Any) -> None:
        """``run.log(..., target=y)``."""
        if self._written or self.targets_seen >= self.batches:
            return
        if self._target_source is None:
            self._target_source = "explicit"
        self.targets_seen += 1
        self._guarded(lambda: self._targets.add(y))

    # -------------------------------------------------------------- output

    def finish(self) -> None:
        """Write the train DataStats once and remove every hook."""
        self.remove()
        if self._written or self.off:
            return
        self._written = True
        acc, self._inputs = self._inputs, {}
        stats = _input_stats(acc)
        stats.update(self._targets.stats())
        if stats:
            self._emit({"type": "data", "split": "train", "stats": stats})


HELD_OUT_SPLITS = ("val", "test")
# A held-out split is described once this many examples were seen before its ``log``: a loop
# that logs each evaluation batch's loss is read over several batches.
MIN_HELD_OUT_EXAMPLES = 32


class HeldOutInputs:
    """Input statistics of val and test from the model's own evaluation forwards.

    A loop evaluates a split (``model.eval()`` or ``torch.no_grad()``), then logs its loss: the
    evaluation forwards since the last ``log`` are the split that ``log`` names. The inputs of a
    held-out set do not change, so one evaluation each is enough: the hook goes once val and
    test are described (or described explicitly with ``describe_data``). Training forwards
    (train mode, autograd on) return at once, but a hook costs every forward ~5 us of dispatch
    (0.4 % of a 1.3 ms MLP step), so it is attached only at the first held-out ``log``: a loop
    that logs no held-out loss pays nothing, and the first evaluation read is the next one
    (test, just after val, or the second val).
    """

    def __init__(
        self,
        batches: int,
        emit: Callable[[dict[str, Any]], None],
        on_error: Callable[[str, str], None],
    ) -> None:
        # Evaluation forwards read per split, as many as the training batches described:
        # enough for means and stds, and each one costs a float64 copy of its inputs.
        self.batches = max(0, batches)
        self._emit = emit
        self._on_error = on_error
        self._acc: dict[str, Any] = {}
        self._batches = 0
        self._kept_for: str | None = None  # a split whose few examples wait for more
        self.done: set[str] = set()
        self._handle: Any = None
        self._model: weakref.ref[nn.Module] | None = None

    def install(self, model: nn.Module) -> None:
        """Attach at the first held-out ``log`` (see the class)."""
        self._model = weakref.ref(model)

    def remove(self) -> None:
        if self._handle is not None:
            self._handle.remove()
            self._handle = None

    def _observe(self, module: nn.Module, args: Any) -> None:
        if (module.training and torch.is_grad_enabled()) or self._handle is None:
            return
        if self._batches >= self.batches:
            return
        try:
            with torch.no_grad():
                if _accumulate_inputs(self._acc, args):
                    self._batches += 1
        except Exception as err:
            self.remove()
            self._on_error("data", repr(err))

    def logged(self, split: str) -> None:
        """``run.log(split, ...)``: the evaluation forwards since the last call were its own."""
        if self._handle is None:
            model = self._model() if self._model is not None else None
            if model is not None and split in HELD_OUT_SPLITS and split not in self.done:
                self._model = None  # attached once; removed for good when done or on close
                self._handle = model.register_forward_pre_hook(Detachable(self._observe))
            return
        acc = self._acc
        wanted = split in HELD_OUT_SPLITS and split not in self.done
        if wanted and acc.get("n", 0) >= MIN_HELD_OUT_EXAMPLES:
            self.described(split)
            self._emit({"type": "data", "split": split, "stats": _input_stats(acc)})
        elif wanted and acc and self._kept_for in (None, split):
            self._kept_for = split  # too few yet: the next log of this split adds its batches
            return
        self._acc, self._batches, self._kept_for = {}, 0, None

    def described(self, split: str) -> None:
        self.done.add(split)
        if self.done >= set(HELD_OUT_SPLITS):
            self.remove()
