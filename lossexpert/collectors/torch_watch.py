"""Watch a live PyTorch training loop and record it as a ``.jsonl`` run.

Cheap enough to leave on:

- gradients and updates come from the optimizer's step pre/post hooks, which fire once per
  update (after gradient accumulation, DDP's all-reduce and AMP unscaling), on a sampling
  schedule (dense early, sparse later);
- statistics are computed on the device with ``torch._foreach_norm`` and friends, kept in a
  device buffer and copied to the host in one transfer every ``transfer_every`` samples; no
  per-tensor ``.item()``. Losses logged as tensors are stacked and copied the same way;
- activation hooks are attached only for the forward pass of a sampled step.

It never breaks training: an exception inside any hook is caught, reported once as a
``RuntimeWarning``, and that part of the collector switches itself off. Hooks are removed on
exit, exceptions included.

Distributed: under ``torch.distributed`` only rank 0 writes; gradients are identical on every
rank after DDP's all-reduce, so its statistics are the global ones. FSDP-sharded gradients are
*not* supported: per-layer norms would be of local shards (the global norm is the square root
of the all-reduced sum of squared local norms); the layer statistics switch off with a warning.
"""

from __future__ import annotations

import math
import warnings
import weakref
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import torch
from torch import nn

from lossexpert.collectors.jsonl import JsonlWriter
from lossexpert.runformat import FORMAT_ID, SERIES_FIELDS

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
STATS = SERIES_FIELDS  # one device-buffer column per per-layer series of the run format


def _rank() -> int:
    dist = torch.distributed
    if dist.is_available() and dist.is_initialized():
        return int(dist.get_rank())
    return 0


class Watch:
    """A recording of one training run. Use as a context manager (see ``lossexpert.watch``)."""

    def __init__(
        self,
        model: nn.Module,
        optimizer: torch.optim.Optimizer,
        path: str | Path,
        *,
        config: dict[str, Any] | None = None,
        criterion: nn.Module | None = None,
        loader: Any = None,
        name: str | None = None,
        tags: dict[str, Any] | None = None,
        every: int = 50,
        dense_steps: int = 200,
        dense_every: int = 10,
        transfer_every: int = 16,
        loss_transfer_every: int = 256,
        data_batches: int = 20,
        average_across_ranks: bool = False,
        scaler: Any = None,
        flush_records: int = 200,
        flush_seconds: float = 5.0,
    ) -> None:
        self.path = Path(path)
        self.every, self.dense_steps, self.dense_every = (
            max(1, every),
            dense_steps,
            max(1, dense_every),
        )
        self.transfer_every = max(1, transfer_every)
        self.loss_transfer_every = max(1, loss_transfer_every)
        self.average_across_ranks = average_across_ranks
        self.rank = _rank()
        self.step = 0
        self._off: set[str] = set()
        self._handles: list[Any] = []
        self._data_handles: list[Any] = []
        self._act_handles: list[Any] = []
        self._closed = False
        inner = getattr(model, "module", model)  # unwrap DDP / DataParallel
        # Unwrap optimizer wrappers (accelerate's AcceleratedOptimizer, Lightning's) whose
        # step calls the real optimizer: its hooks are the ones that fire.
        while isinstance(getattr(optimizer, "optimizer", None), torch.optim.Optimizer):
            optimizer = getattr(optimizer, "optimizer")  # noqa: B009
        self._model_ref = weakref.ref(inner)
        self._opt_ref = weakref.ref(optimizer)
        self._writer = (
            JsonlWriter(self.path, flush_records=flush_records, flush_seconds=flush_seconds)
            if self.rank == 0
            else None
        )
        self._layers = [
            (n, m)
            for n, m in inner.named_modules()
            if not list(m.children())
            and isinstance(getattr(m, "weight", None), nn.Parameter)
            and m.weight.dim() >= 2
        ]
        self._weights = [m.weight for _, m in self._layers]
        self._act_modules = self._activation_map(inner)
        param = next(inner.parameters(), None)
        self._device = param.device if param is not None else torch.device("cpu")
        n = len(self._layers)
        self._rows = torch.full((self.transfer_every, n, len(STATS)), math.nan, device=self._device)
        self._row_steps: list[int] = []
        self._row_lrs: list[float | None] = []
        self._act = torch.full((max(n, 1), 2), math.nan, device=self._device)
        self._before: list[torch.Tensor] = []
        self._before_norm: torch.Tensor | None = None
        self._pending_losses: list[tuple[dict[str, Any], torch.Tensor]] = []
        self._data_left = data_batches if data_batches > 0 else 0
        self._inputs_seen = self._targets_seen = 0
        self._data_acc: dict[str, Any] = {}
        self._sampled_now = self._is_sampled(0)
        self._scaler = scaler
        self._scaler_step: Callable[..., Any] | None = None
        if self._is_fsdp(model):
            self._warn_off(
                "layers",
                "FSDP-sharded gradients are not supported; per-layer "
                "statistics are off (loss curves and config are still recorded)",
            )
        self._write(
            {
                "type": "header",
                "format": FORMAT_ID,
                "run": {
                    "name": name or self.path.stem,
                    "framework": f"pytorch {torch.__version__}",
                    "tags": dict(tags or {}),
                },
                "config": _merge(self._config(inner, optimizer, criterion, loader), config or {}),
            }
        )
        self._write({"type": "layer_info", "layers": self._layer_info(inner)})
        self._install(optimizer, inner, criterion)
        self._finalizer = weakref.finalize(self, Watch._finalize, self._writer)

    # ------------------------------------------------------------------ public

    def log(
        self,
        split: str,
        loss: Any,
        *,
        step: int | None = None,
        epoch: float | None = None,
        **metrics: Any,
    ) -> None:
        """Record a loss for ``train``/``val``/``test``. A tensor is fine: no sync here."""
        if self._closed or "log" in self._off:
            return
        try:
            record: dict[str, Any] = {
                "type": "loss",
                "split": split,
                "step": self.step if step is None else int(step),
            }
            if epoch is not None:
                record["epoch"] = float(epoch)
            extra = {k: float(v) for k, v in metrics.items() if not isinstance(v, torch.Tensor)}
            if extra:
                record["metrics"] = extra
            if isinstance(loss, torch.Tensor):
                value = loss.detach().reshape(()).float()
                if self.average_across_ranks and torch.distributed.is_initialized():
                    value = value.clone()
                    torch.distributed.all_reduce(value)
                    value /= torch.distributed.get_world_size()
                if self.rank == 0:
                    self._pending_losses.append((record, value))
                    if len(self._pending_losses) >= self.loss_transfer_every:
                        self._flush_losses()
            else:
                record["value"] = float(loss)
                self._write(record)
        except Exception as err:
            self._warn_off("log", repr(err))

    def describe_data(self, split: str, inputs: Any, targets: Any = None) -> None:
        """Record input/label statistics of a split (e.g. ``test``) from tensors you hold.

        The training split is described automatically from the first batches; val and test
        never pass through training, so describe them here to let the diagnosis compare them.
        """
        if self._closed or "data" in self._off:
            return
        with self._guard("data"), torch.no_grad():
            x = torch.as_tensor(inputs).detach()
            feats = (
                x.transpose(0, 1).reshape(x.shape[1], -1).T
                if x.dim() > 2
                else x.reshape(x.shape[0], -1)
            ).double()
            mean, std = feats.mean(0).cpu(), feats.std(0, unbiased=False).cpu()
            stats: dict[str, Any] = {
                "n_samples": int(x.shape[0]),
                "input_mean": float(feats.mean()),
                "input_std": float(feats.std(unbiased=False)),
                "input_min": float(feats.min()),
                "input_max": float(feats.max()),
            }
            if mean.numel() <= 4096:
                stats["feature_mean"] = [round(float(v), 6) for v in mean]
                stats["feature_std"] = [round(float(v), 6) for v in std]
            if targets is not None:
                y = torch.as_tensor(targets).detach()
                if not y.is_floating_point() and y.dim() == 1:
                    counts = torch.bincount(y.clamp(min=0)).cpu().tolist()
                    stats["label_counts"] = {str(i): int(c) for i, c in enumerate(counts) if c}
                else:
                    stats["label_mean"] = float(y.double().mean())
                    stats["label_std"] = float(y.double().std(unbiased=False))
            self._write({"type": "data", "split": split, "stats": stats})

    def pause(self) -> None:
        """Detach the optimizer and activation hooks (steps taken meanwhile are not counted)."""
        for handle in self._handles + self._act_handles:
            handle.remove()
        self._handles, self._act_handles = [], []

    def resume(self) -> None:
        """Reattach the hooks after ``pause``."""
        opt = self._opt_ref()
        if self._closed or self._handles or opt is None:
            return
        self._handles.append(opt.register_step_pre_hook(self._pre_step))
        self._handles.append(opt.register_step_post_hook(self._post_step))
        if self._sampled_now:
            self._attach_activation_hooks()

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        try:
            self._flush_rows()
            self._flush_losses()
            self._flush_data()
        except Exception as err:
            self._warn_off("flush", repr(err))
        for handle in self._handles + self._data_handles + self._act_handles:
            handle.remove()
        self._handles, self._data_handles, self._act_handles = [], [], []
        if self._scaler is not None and self._scaler_step is not None:
            self._scaler.__dict__.pop("step", None)
        self._write({"type": "end", "steps": self.step})
        if self._writer is not None:
            self._writer.close()
        self._finalizer.detach()

    def diagnose(self, **kwargs: Any) -> Any:
        """Close the recording and diagnose it (rank 0 only)."""
        from lossexpert._diagnose import diagnose

        self.close()
        return diagnose(self.path, **kwargs)

    def __enter__(self) -> Watch:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------------ hooks

    def _install(
        self, optimizer: torch.optim.Optimizer, model: nn.Module, criterion: nn.Module | None
    ) -> None:
        self._handles.append(optimizer.register_step_pre_hook(self._pre_step))
        self._handles.append(optimizer.register_step_post_hook(self._post_step))
        if self._data_left:
            self._data_handles.append(model.register_forward_pre_hook(self._observe_inputs))
            if criterion is not None:
                self._data_handles.append(
                    criterion.register_forward_pre_hook(self._observe_targets)
                )
        if self._sampled_now:
            self._attach_activation_hooks()
        if self._scaler is not None and hasattr(self._scaler, "step"):
            original = self._scaler.step
            self._scaler_step = original

            def step(opt: Any, *args: Any, **kwargs: Any) -> Any:
                before = self.step
                result = original(opt, *args, **kwargs)
                if self.step == before:  # the optimizer hooks never ran: AMP skipped it
                    self._write({"type": "event", "kind": "amp_skipped_step", "step": self.step})
                return result

            self._scaler.step = step

    def _is_sampled(self, step: int) -> bool:
        if step < self.dense_steps:
            return step % self.dense_every == 0
        return step % self.every == 0

    @contextmanager
    def _guard(self, part: str) -> Iterator[None]:
        try:
            yield
        except Exception as err:
            self._warn_off(part, repr(err))

    def _warn_off(self, part: str, why: str) -> None:
        if part in self._off:
            return
        self._off.add(part)
        warnings.warn(
            f"lossexpert.watch: {part} collection failed and is now off: {why}",
            RuntimeWarning,
            stacklevel=3,
        )

    def _pre_step(self, optimizer: Any, args: Any, kwargs: Any) -> None:
        if not self._sampled_now or "layers" in self._off or not self._weights:
            return
        with self._guard("layers"):
            grads = [w.grad if w.grad is not None else torch.zeros_like(w) for w in self._weights]
            row = self._rows[len(self._row_steps)]
            row[:, 0] = torch.stack(torch._foreach_norm(grads)).float()
            row[:, 1] = torch.stack([g.abs().mean() for g in grads]).float()
            row[:, 2] = torch.stack([(g == 0).float().mean() for g in grads])
            with torch.no_grad():
                self._before = [w.detach().clone() for w in self._weights]
            self._before_norm = torch.stack(torch._foreach_norm(self._before)).float()

    def _post_step(self, optimizer: Any, args: Any, kwargs: Any) -> None:
        sampled = self._sampled_now
        self.step += 1
        if self._data_handles and self._data_left <= 0:
            with self._guard("data"):
                self._flush_data()
        self._sampled_now = self._is_sampled(self.step)
        if sampled and "layers" not in self._off and self._weights and self._before:
            with self._guard("layers"):
                row = self._rows[len(self._row_steps)]
                with torch.no_grad():
                    after = [w.detach() for w in self._weights]
                    row[:, 3] = torch.stack(torch._foreach_norm(after)).float()
                    delta = torch._foreach_sub(after, self._before)
                    row[:, 4] = torch.stack(torch._foreach_norm(delta)).float() / (
                        self._before_norm if self._before_norm is not None else 1.0
                    )
                    row[:, 5:7] = self._act[: len(self._weights)]
                self._act.fill_(math.nan)
                self._before, self._before_norm = [], None
                lr = optimizer.param_groups[0].get("lr")
                self._row_steps.append(self.step - 1)
                self._row_lrs.append(float(lr) if isinstance(lr, int | float) else None)
                if len(self._row_steps) >= self.transfer_every:
                    self._flush_rows()
        # Activation hooks live only for the forward pass of a sampled step.
        if self._sampled_now != bool(self._act_handles):
            with self._guard("activations"):
                if self._sampled_now:
                    self._attach_activation_hooks()
                else:
                    for handle in self._act_handles:
                        handle.remove()
                    self._act_handles = []

    def _attach_activation_hooks(self) -> None:
        if "activations" in self._off:
            return
        for module, layer_index, kind in self._act_modules:
            self._act_handles.append(
                module.register_forward_hook(self._make_activation_hook(layer_index, kind))
            )

    def _make_activation_hook(self, layer_index: int, kind: str) -> Callable[..., None]:
        def hook(module: nn.Module, inputs: Any, output: Any) -> None:
            if not module.training or "activations" in self._off:
                return
            with self._guard("activations"), torch.no_grad():
                out = output.detach()
                units = out if out.dim() == 2 else out.transpose(0, 1).reshape(out.shape[1], -1).T
                if kind in ("relu", "leaky_relu"):
                    self._act[layer_index, 0] = (units <= 0).all(dim=0).float().mean()
                elif kind == "sigmoid":
                    self._act[layer_index, 1] = ((out < 0.01) | (out > 0.99)).float().mean()
                elif kind == "tanh":
                    self._act[layer_index, 1] = (out.abs() > 0.99).float().mean()

        return hook

    def _observe_inputs(self, module: nn.Module, args: Any) -> None:
        if not module.training or self._data_left <= 0 or "data" in self._off:
            return
        with self._guard("data"), torch.no_grad():
            x = args[0] if args else None
            if isinstance(x, torch.Tensor) and x.is_floating_point() and x.dim() >= 2:
                feats = (
                    x.detach().transpose(0, 1).reshape(x.shape[1], -1).T
                    if x.dim() > 2
                    else x.detach()
                ).double()
                acc = self._data_acc
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
            self._data_left -= 1
            self._inputs_seen += 1

    def _observe_targets(self, module: nn.Module, args: Any) -> None:
        # One target batch per observed training input batch (evaluation calls don't count).
        if "data" in self._off or len(args) < 2 or self._targets_seen >= self._inputs_seen:
            return
        self._targets_seen += 1
        with self._guard("data"), torch.no_grad():
            y = args[1]
            if isinstance(y, torch.Tensor) and not y.is_floating_point() and y.dim() == 1:
                y = y.detach()
                acc = self._data_acc
                counts = torch.bincount(y.clamp(min=0))
                prev = acc.get("labels")
                if prev is not None and prev.numel() < counts.numel():
                    prev = torch.nn.functional.pad(prev, (0, counts.numel() - prev.numel()))
                elif prev is not None and counts.numel() < prev.numel():
                    counts = torch.nn.functional.pad(counts, (0, prev.numel() - counts.numel()))
                acc["labels"] = counts if prev is None else prev + counts
                if y.numel() >= 4:  # a batch of one is trivially "single-class"
                    acc.setdefault("single", []).append((y == y[0]).all())

    # ------------------------------------------------------------------ flushing

    def _flush_rows(self) -> None:
        if not self._row_steps:
            return
        rows = self._rows[: len(self._row_steps)].cpu().tolist()  # the one transfer
        names = [n for n, _ in self._layers]
        for step, lr, row in zip(self._row_steps, self._row_lrs, rows, strict=True):
            # NaN/Inf gradients are evidence and stay; NaN activation stats mean "not measured".
            stats = {
                name: {
                    key: v
                    for key, v in zip(STATS, values, strict=True)
                    if not (key in ("dead_fraction", "saturated_fraction") and math.isnan(v))
                }
                for name, values in zip(names, row, strict=True)
            }
            self._write({"type": "layers", "step": step, "stats": stats})
            if lr is not None:
                self._write({"type": "lr", "step": step, "value": lr})
        self._rows.fill_(math.nan)
        self._row_steps, self._row_lrs = [], []

    def _flush_losses(self) -> None:
        if not self._pending_losses:
            return
        values = torch.stack([v for _, v in self._pending_losses]).cpu().tolist()
        for (record, _), value in zip(self._pending_losses, values, strict=True):
            record["value"] = value
            self._write(record)
        self._pending_losses = []

    def _flush_data(self) -> None:
        acc, self._data_acc = self._data_acc, {}
        self._data_left = 0
        for handle in self._data_handles:  # first batches seen: the data hooks are done
            handle.remove()
        self._data_handles = []
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
            if mean.numel() <= 4096:
                stats["feature_mean"] = [round(float(v), 6) for v in mean]
                stats["feature_std"] = [round(float(v), 6) for v in std]
        if "labels" in acc:
            counts = acc["labels"].cpu().tolist()
            stats["label_counts"] = {str(i): int(c) for i, c in enumerate(counts) if c > 0}
            if acc.get("single"):
                single = torch.stack(acc["single"]).float().cpu()
                stats["ordered_batch_fraction"] = float(single.mean())
        if stats:
            self._write({"type": "data", "split": "train", "stats": stats})

    def _write(self, record: dict[str, Any]) -> None:
        if self._writer is not None:
            try:
                self._writer.write(record)
            except Exception as err:
                self._warn_off("write", repr(err))
                self._writer = None

    @staticmethod
    def _finalize(writer: JsonlWriter | None) -> None:
        if writer is not None:
            writer.close()

    # ------------------------------------------------------------------ what the objects say

    def _activation_map(self, model: nn.Module) -> list[tuple[nn.Module, int, str]]:
        """Each activation module, attached to the weighted layer registered just before it."""
        found: list[tuple[nn.Module, int, str]] = []
        layer_ids = {id(m): i for i, (_, m) in enumerate(self._layers)}
        current: int | None = None
        for _, module in model.named_modules():
            if id(module) in layer_ids:
                current = layer_ids[id(module)]
            kind = ACTIVATIONS.get(type(module))
            if kind in ("relu", "leaky_relu", "sigmoid", "tanh") and current is not None:
                found.append((module, current, kind))
        return found

    def _layer_info(self, model: nn.Module) -> list[dict[str, Any]]:
        kinds = {i: k for _, i, k in self._act_modules}
        info = []
        for i, (name, module) in enumerate(self._layers):
            w = module.weight.detach()
            info.append(
                {
                    "name": name or type(module).__name__,
                    "type": type(module).__name__,
                    "activation": kinds.get(i),
                    "fan_in": int(w[0].numel()),
                    "init_weight_std": float(w.float().std()) if w.numel() > 1 else 0.0,
                    "init_weight_mean": float(w.float().mean()),
                }
            )
        return info

    def _config(
        self,
        model: nn.Module,
        optimizer: torch.optim.Optimizer,
        criterion: nn.Module | None,
        loader: Any,
    ) -> dict[str, Any]:
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
                "depth": len(self._layers),
                "layer_types": sorted({type(m).__name__ for m in leaves}),
                "activations": activations,
                "parameters": sum(p.numel() for p in model.parameters()),
                "normalization": sorted(
                    {type(m).__name__ for m in leaves if isinstance(m, NORMALIZATION)}
                ),
                "hidden_sizes": [m.out_features for m in linears[:-1]],
                "output_activation": output_activation,
            },
            "optimizer": opt,
            "learning_rate": opt.get("lr"),
            "weight_decay": opt.get("weight_decay"),
            "output_activation": output_activation,
            "device": str(self._device),
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

    @staticmethod
    def _is_fsdp(model: nn.Module) -> bool:
        try:
            from torch.distributed.fsdp import FullyShardedDataParallel
        except ImportError:  # pragma: no cover - builds without distributed
            return False
        return any(isinstance(m, FullyShardedDataParallel) for m in model.modules())


def _merge(base: dict[str, Any], update: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in update.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = value
    return out
