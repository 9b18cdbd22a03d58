"""Watch a live PyTorch training loop and record it as a ``.jsonl`` run.

Cheap enough to leave on:

- gradients and updates come from the optimizer's step pre/post hooks, which fire once per
  update (after gradient accumulation, DDP's all-reduce and AMP unscaling), on a sampling
  schedule (dense early, sparse later);
- statistics are computed on the device with ``torch._foreach_norm`` and friends, kept in a
  device buffer and copied to the host in one transfer every ``transfer_every`` samples; no
  per-tensor ``.item()``. Losses logged as tensors are stacked and copied the same way;
- the update ratio uses a fixed random subset of each weight's elements: no copy of the model;
- activation hooks are attached only for the forward pass of a sampled step;
- after the dense early window, the sampling interval widens so that sampled steps take at
  most ``overhead_budget`` (0.25 %) of the training time, measured by the wall clock between
  steps (see ``_watch.schedule``).

It never breaks training: an exception inside any hook is caught, reported once as a
``RuntimeWarning``, and that part of the collector switches itself off; a disk that fills up
or turns read-only stops the recording with one warning. Hooks are removed on exit,
exceptions included.

Distributed: under ``torch.distributed`` only rank 0 writes. With DDP gradients are identical
on every rank after the all-reduce, so rank 0's statistics are the global ones. With FSDP2
(``fully_shard`` on a 1-D device mesh) each rank reduces its local shards and one all-reduce
of the sums per sampled step gives the global norms. FSDP1 (``FullyShardedDataParallel``,
flat parameters) and FSDP2 on 2-D meshes (HSDP) are not supported: the layer statistics
switch off with a warning (loss curves and config are still recorded).

The parts live in ``lossexpert.collectors._watch``; this module wires them together.
"""

from __future__ import annotations

import time
import warnings
import weakref
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import torch
from torch import nn

from lossexpert.collectors._watch import data as _data
from lossexpert.collectors._watch.activations import ActivationStats
from lossexpert.collectors._watch.hooks import Detachable
from lossexpert.collectors._watch.introspect import (
    ACTIVATIONS,
    LOSSES,
    NORMALIZATION,
    activation_map,
    is_dtensor,
    is_fsdp1,
    layer_depth,
    layer_info,
    merge,
    read_config,
    weighted_layers,
)
from lossexpert.collectors._watch.layers import UPDATE_SAMPLE, LayerStats
from lossexpert.collectors._watch.schedule import DEFAULT_BUDGET, Schedule
from lossexpert.collectors._watch.sink import Sink, close_quietly
from lossexpert.collectors._watch.zeroing import GradientReset
from lossexpert.runformat import FORMAT_ID, SERIES_FIELDS

__all__ = ["ACTIVATIONS", "LOSSES", "NORMALIZATION", "STATS", "Watch"]

STATS = SERIES_FIELDS  # one device-buffer column per per-layer series of the run format


def _rank() -> int:
    dist = torch.distributed
    if dist.is_available() and dist.is_initialized():
        return int(dist.get_rank())
    return 0


def _ref(obj: Any) -> Callable[[], Any]:
    """A weak reference where the object allows one (nothing of the user's is kept alive)."""
    if obj is None:
        return lambda: None
    try:
        return weakref.ref(obj)
    except TypeError:
        return lambda: obj


class _Unsupported(Exception):
    pass


def _shard_reduce(
    weights: list[torch.Tensor], rank: int
) -> tuple[Callable[[torch.Tensor], torch.Tensor] | None, torch.Tensor | None]:
    """FSDP2: the all-reduce of local sums, and per-layer masks (1 = sharded, summed).

    A weight that is not sharded (a plain tensor, or a ``Replicate`` placement) counts only
    on rank 0 so the sum is not multiplied by the world size.
    """
    if not any(is_dtensor(w) for w in weights):
        return None, None
    meshes = [w.device_mesh for w in weights if is_dtensor(w)]  # type: ignore[attr-defined]
    if any(m.ndim != 1 for m in meshes):
        raise _Unsupported("a 2-D device mesh (HSDP); only 1-D FSDP2 meshes are")
    # Each fully_shard call may build its own mesh object: the same ranks are the same mesh.
    ranks = {(m.device_type, tuple(m.mesh.flatten().tolist())) for m in meshes}
    if len(ranks) != 1:
        raise _Unsupported("parameters sharded over different sets of ranks")
    group = meshes[0].get_group()
    sharded = [
        is_dtensor(w) and all(p.is_shard() for p in w.placements)  # type: ignore[attr-defined]
        for w in weights
    ]
    mask = torch.tensor([1.0 if s else float(rank == 0) for s in sharded], dtype=torch.float64)

    def reduce(t: torch.Tensor) -> torch.Tensor:
        t = t * mask.to(t.device)[:, None]
        torch.distributed.all_reduce(t, group=group)
        return t

    return reduce, mask


def _loss_record(
    split: str, step: int, extra: dict[str, Any] | None, value: float
) -> dict[str, Any]:
    record: dict[str, Any] = {"type": "loss", "split": split, "step": step}
    if extra:
        record.update(extra)
    record["value"] = value
    return record


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
        update_sample: int = UPDATE_SAMPLE,
        overhead_budget: float | None = DEFAULT_BUDGET,
    ) -> None:
        self.path = Path(path)
        self.schedule = Schedule(every, dense_steps, dense_every, budget=overhead_budget)
        # perf_counter at the end of the last step the schedule times, and that step
        self._last_step_end: float | None = None
        self._last_timed = -2
        self._data_open = True  # the train data statistics are still being gathered
        self.transfer_every = max(1, transfer_every)
        self.loss_transfer_every = max(1, loss_transfer_every)
        self.average_across_ranks = average_across_ranks
        self.rank = _rank()
        self.step = 0
        self._off: set[str] = set()
        self._handles: list[Any] = []
        # The pre-step hook exists only before the steps that need it (sampled ones, and the
        # one after a sample that looks for a gradient reset): a plain step calls none.
        self._pre_handle: Any = None
        self._closed = False
        inner = getattr(model, "module", model)  # unwrap DDP / DataParallel
        # Unwrap optimizer wrappers (accelerate's AcceleratedOptimizer, Lightning's) whose
        # step calls the real optimizer: its hooks are the ones that fire.
        while isinstance(getattr(optimizer, "optimizer", None), torch.optim.Optimizer):
            optimizer = getattr(optimizer, "optimizer")  # noqa: B009
        self._model_ref = weakref.ref(inner)
        self._opt_ref = weakref.ref(optimizer)
        self._criterion_ref = _ref(criterion)
        self._loader_ref = _ref(loader)
        if self.rank == 0 and _holds_a_run(self.path):
            warnings.warn(
                f"lossexpert.watch: {self.path} already holds a run; this one is appended "
                "after it and is the one read back (the earlier run stays in the file)",
                RuntimeWarning,
                stacklevel=3,
            )
        self._sink = Sink(
            self.path,
            enabled=self.rank == 0,
            flush_records=flush_records,
            flush_seconds=flush_seconds,
        )
        layers = weighted_layers(inner)
        weights = [layer.weight for layer in layers]
        param = next(inner.parameters(), None)
        self._device = param.device if param is not None else torch.device("cpu")
        reduce: Callable[[torch.Tensor], torch.Tensor] | None = None
        if is_fsdp1(model):
            self._warn_off(
                "layers",
                "FSDP1 (FullyShardedDataParallel) flat parameters are not supported, use "
                "FSDP2 (fully_shard); per-layer statistics are off (loss curves and config "
                "are still recorded)",
            )
        try:
            reduce, _mask = _shard_reduce(weights, self.rank)
        except _Unsupported as why:
            self._warn_off(
                "layers",
                f"FSDP2 on {why} not supported; per-layer statistics are off (loss curves and "
                "config are still recorded)",
            )
        if reduce is not None:
            # Every rank must sample the same steps (the all-reduce is a collective); their
            # clocks differ, so under FSDP2 the interval stays fixed.
            self.schedule.budget = None
        act_modules = activation_map(inner, layers)
        self._layers = LayerStats(
            [layer.name for layer in layers],
            weights if "layers" not in self._off else [],
            self._device,
            transfer_every=self.transfer_every,
            update_sample=update_sample,
            reduce=reduce,
        )
        self._reset = GradientReset(
            self._layers.weights, self._layers.subset_index, values=reduce is None
        )
        self._reset_next = False  # the step after a sampled one looks for a gradient reset
        self._acts = ActivationStats(act_modules, len(layers), self._device, self._warn_off)
        self._data = _data.DataStats(data_batches, self._write, self._warn_off)
        self._held_out = _data.HeldOutInputs(data_batches, self._write, self._warn_off)
        # (split, step, epoch/metrics or None, detached loss) until the next batched copy
        # A CPU loss is read at once (a float); a device loss is held until the batched copy.
        self._pending_losses: list[
            tuple[str, int, dict[str, Any] | None, torch.Tensor | float]
        ] = []
        self._sampled_now = self.schedule.sampled(0)
        self._scaler = scaler
        self._scaler_step: Callable[..., Any] | None = None
        info: list[dict[str, Any]] = [
            {"name": layer.name, "type": type(layer.module).__name__} for layer in layers
        ]
        if "layers" not in self._off:
            with self._guard("layers"):
                info = layer_info(layers, act_modules, reduce)  # a collective under FSDP2
        self._write(
            {
                "type": "header",
                "format": FORMAT_ID,
                "run": {
                    "name": name or self.path.stem,
                    "framework": f"pytorch {torch.__version__}",
                    "tags": dict(tags or {}),
                },
                "config": merge(
                    read_config(
                        inner, optimizer, criterion, loader, layer_depth(inner), self._device
                    ),
                    config or {},
                ),
            }
        )
        self._write({"type": "layer_info", "layers": info})
        self._install(optimizer, inner, criterion, loader)
        self._finalizer = weakref.finalize(self, close_quietly, self._sink)

    # ------------------------------------------------------------------ public

    def log(
        self,
        split: str,
        loss: Any,
        *,
        step: int | None = None,
        epoch: float | None = None,
        target: Any = None,
        **metrics: Any,
    ) -> None:
        """Record a loss for ``train``/``val``/``test``. A tensor is fine: no sync here.

        ``target=`` (train only, optional) lets the collector describe the labels of the first
        batches when it cannot see them otherwise (a functional loss and no ``loader=``).
        """
        if self._closed or "log" in self._off:
            return
        try:
            at = self.step if step is None else int(step)
            # Epoch and metrics, when given: the record is built when the batch is copied, so
            # the common call (a loss tensor and nothing else) costs a tuple and an append.
            extra: dict[str, Any] | None = None
            if epoch is not None or metrics:
                extra = {} if epoch is None else {"epoch": float(epoch)}
                floats = {
                    k: float(v) for k, v in metrics.items() if not isinstance(v, torch.Tensor)
                }
                if floats:
                    extra["metrics"] = floats
            if target is not None and split == "train":
                self._data.observe_target(target)
            self._held_out.logged(split)
            if isinstance(loss, torch.Tensor):
                value: torch.Tensor | float
                if loss.is_cpu and not self.average_across_ranks and loss.numel() == 1:
                    # On the CPU reading the number syncs with nothing, and it is cheaper than
                    # keeping the tensor: 256 held loss tensors cost the overhead benchmark's
                    # 1.3 ms MLP step +0.85 %, reading each one +0.15 % (measured in the loop,
                    # alternating blocks). The batching below is for devices, where it saves
                    # a host sync per step.
                    value = float(loss.item())
                else:
                    # One op per call (detach); shape and dtype are fixed once per flush.
                    value = loss.detach()
                if (
                    isinstance(value, torch.Tensor)
                    and self.average_across_ranks
                    and torch.distributed.is_initialized()
                ):
                    value = value.reshape(()).float().clone()
                    torch.distributed.all_reduce(value)
                    value /= torch.distributed.get_world_size()
                if self.rank == 0:
                    pending = self._pending_losses
                    pending.append((split, at, extra or None, value))
                    if len(pending) >= self.loss_transfer_every:
                        self._flush_losses()
            else:
                self._write(_loss_record(split, at, extra, float(loss)))
        except Exception as err:
            self._warn_off("log", repr(err))

    def describe_data(self, split: str, inputs: Any, targets: Any = None) -> None:
        """Record input/label statistics of a split (e.g. ``test``) from tensors you hold.

        The training split is described automatically from the first batches; val and test
        never pass through training, so describe them here to let the diagnosis compare them.
        """
        if self._closed or "describe" in self._off:
            return
        with self._guard("describe"):
            self._write({"type": "data", "split": split, "stats": _data.describe(inputs, targets)})
            self._held_out.described(split)  # what the user gives wins

    def pause(self) -> None:
        """Detach the optimizer and activation hooks (steps taken meanwhile are not counted)."""
        for handle in self._handles:
            handle.remove()
        self._handles = []
        if self._pre_handle is not None:
            self._pre_handle.remove()
            self._pre_handle = None
        self._acts.detach()

    def resume(self) -> None:
        """Reattach the hooks after ``pause``."""
        opt = self._opt_ref()
        if self._closed or self._handles or opt is None:
            return
        self._handles.append(opt.register_step_post_hook(Detachable(self._post_step)))
        self._sync_pre_hook(opt)
        self._last_step_end = None  # the paused steps are not this collector's time
        if self._sampled_now:
            self._acts.attach()

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        try:
            self._flush_rows()
            self._flush_losses()
            self._data.finish()
        except Exception as err:
            self._warn_off("flush", repr(err))
        self.pause()
        self._data.remove()
        self._held_out.remove()
        if self._scaler is not None and self._scaler_step is not None:
            self._scaler.__dict__.pop("step", None)
        self._write({"type": "end", "steps": self.step})
        self._sink.close()
        self._finalizer.detach()

    def diagnose(self, **kwargs: Any) -> Any:
        """Close the recording and diagnose it (rank 0 only)."""
        from lossexpert._diagnose import diagnose

        self.close()
        return diagnose(self.path, **kwargs)

    def doctor(self, budget_s: float = 60, lang: str = "en", **kw: Any) -> Any:
        """Run ``lossexpert.doctor`` on the watched model, optimizer, loss module and loader,
        with this recording as its ``run``. Needs ``criterion=`` and ``loader=``."""
        criterion, loader = self._criterion_ref(), self._loader_ref()
        model, optimizer = self._model_ref(), self._opt_ref()
        missing = [
            name
            for name, obj in (
                ("criterion", criterion),
                ("loader", loader),
                ("model", model),
                ("optimizer", optimizer),
            )
            if obj is None
        ]
        if missing:
            raise ValueError(
                "Watch.doctor needs the " + " and ".join(missing) + ": pass "
                "criterion= (the loss module) and loader= (the training DataLoader) to "
                "lossexpert.watch"
            )
        from lossexpert.doctor import doctor

        self._flush_losses()
        return doctor(
            model,
            optimizer,
            criterion,
            loader,
            run=str(self.path),
            budget_s=budget_s,
            lang=lang,
            **kw,
        )

    def __enter__(self) -> Watch:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------------ hooks

    def _install(
        self,
        optimizer: torch.optim.Optimizer,
        model: nn.Module,
        criterion: nn.Module | None,
        loader: Any,
    ) -> None:
        self._handles.append(optimizer.register_step_post_hook(Detachable(self._post_step)))
        self._sync_pre_hook(optimizer)
        with self._guard("data"):
            self._data.install(model, criterion, loader)
            if self._held_out.batches:  # data_batches=0 turns input statistics off
                self._held_out.install(model)
        if self._sampled_now:
            self._acts.attach()
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

    def _sync_pre_hook(self, optimizer: Any) -> None:
        want = self._sampled_now or self._reset_next
        if want and self._pre_handle is None:
            self._pre_handle = optimizer.register_step_pre_hook(Detachable(self._pre_step))
        elif not want and self._pre_handle is not None:
            self._pre_handle.remove()
            self._pre_handle = None

    def _pre_step(self, optimizer: Any, args: Any, kwargs: Any) -> None:
        if self._reset_next:
            self._reset_next = False
            with self._guard("zero_grad"):
                self._reset.before_next_step()
        if not self._sampled_now or "layers" in self._off or not self._layers.weights:
            return
        with self._guard("layers"):
            self._layers.before_step()
        if not self._reset.done and "zero_grad" not in self._off:
            with self._guard("zero_grad"):
                self._reset.before_sampled_step(self.step, self._layers.grad_parts)
                self._reset_next = self._reset.pending

    def _post_step(self, optimizer: Any, args: Any, kwargs: Any) -> None:
        # Runs after every optimizer step: the common case (no sample before or after, no
        # timing, data statistics done) is a few attribute reads.
        sampled = self._sampled_now
        self.step = step = self.step + 1
        self._sink.step = step
        if self._data_open:
            self._data_open = False  # done, failed or off, unless still gathering below
            if not self._data.off and "data" not in self._off:
                with self._guard("data"):
                    if self._data.step_done():
                        self._data.finish()
                    else:
                        self._data_open = True
        schedule = self.schedule
        self._sampled_now = upcoming = schedule.sampled(step)
        if sampled and "layers" not in self._off and self._layers.weights:
            with self._guard("layers"):
                acts = self._acts.take() if self._acts.modules else None
                lr = optimizer.param_groups[0].get("lr")
                lr = float(lr) if isinstance(lr, int | float) else None
                if self._layers.after_step(step - 1, lr, acts):
                    self._flush_rows()
        if upcoming or self._pre_handle is not None:
            self._sync_pre_hook(optimizer)
        # Activation hooks live only for the forward pass of a sampled step.
        if (sampled or upcoming) and upcoming != self._acts.attached:
            with self._guard("activations"):
                if upcoming:
                    self._acts.attach()
                else:
                    self._acts.detach()
        if not schedule.clock(step - 1):
            return
        now = time.perf_counter()
        if self._last_step_end is not None and self._last_timed == step - 2:
            changed = schedule.observe(step - 1, now - self._last_step_end, sampled)
            if changed is not None:
                self._write(
                    {"type": "event", "kind": "sampling_interval", "step": step, "every": changed}
                )
        self._last_step_end, self._last_timed = now, step - 1

    # ------------------------------------------------------------------ flushing

    def _flush_rows(self) -> None:
        for record in self._layers.drain():
            self._write(record)
        if not self._reset.written and "zero_grad" not in self._off:
            with self._guard("zero_grad"):
                verdict = self._reset.resolve()
                if verdict is not None:
                    self._reset.written = True
                    self._write({"type": "config", "config": {"zero_grad": verdict}})

    def _flush_losses(self) -> None:
        if not self._pending_losses:
            return
        pending, self._pending_losses = self._pending_losses, []
        held = [entry[3] for entry in pending if isinstance(entry[3], torch.Tensor)]
        copied: list[float] = []
        if held:
            try:  # the usual case: every logged loss has the same shape (0-d or one element)
                stacked = torch.stack(held).reshape(len(held))
            except RuntimeError:
                stacked = torch.stack([v.reshape(()) for v in held])
            copied = stacked.float().cpu().tolist()  # the one transfer
        read = iter(copied)
        values = [
            next(read) if isinstance(entry[3], torch.Tensor) else entry[3] for entry in pending
        ]
        # Consecutive plain losses of one split (no epoch, no metrics: the train loss logged
        # every step) go column-wise in one "losses" record; encoding one record per step was
        # most of what a logged loss cost.
        records: list[dict[str, Any]] = []
        column: dict[str, Any] | None = None
        for (split, at, extra, _), value in zip(pending, values, strict=True):
            if extra is None and column is not None and column["split"] == split:
                column["step"].append(at)
                column["value"].append(value)
            elif extra is None:
                column = {"type": "losses", "split": split, "step": [at], "value": [value]}
                records.append(column)
            else:
                column = None
                records.append(_loss_record(split, at, extra, value))
        self._sink.write_many(records)

    def _write(self, record: dict[str, Any]) -> None:
        self._sink.write(record)


def _holds_a_run(path: Path) -> bool:
    try:
        return path.is_file() and path.stat().st_size > 0
    except OSError:
        return False
