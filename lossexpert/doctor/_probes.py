"""The probes: short experiments on copies, each returning symptoms with ``source="probe"``.

Every number a probe compares against is in ``ProbeLimits`` with why a senior engineer would
use it and where it comes from. A probe only reports what it saw; the knowledge base's
``PROBE-`` rules decide what it means for each cause.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from torch import nn

from lossexpert.doctor._bench import (
    Batch,
    Bench,
    concat,
    eval_loss,
    float_inputs,
    forward,
    index,
    loss_of,
    map_inputs,
    rechunk,
)
from lossexpert.engine.facts import ADAPTIVE_OPTIMIZERS
from lossexpert.engine.symptoms import Symptom, grade, input_scale
from lossexpert.kb.thresholds import Thresholds


@dataclass(frozen=True)
class ProbeLimits:
    """The probes' numbers, with where each comes from."""

    # Overfit one batch (Karpathy, "A recipe for training neural networks", 2019; TheDeepChecker's
    # pre-check uses one batch of 16): a correct model and optimizer drive one small batch's loss
    # to near zero in about a hundred steps.
    overfit_samples: int = 32
    overfit_steps: int = 200
    # Fitted: the batch loss fell below 10 % of where it started (near zero, as the recipe asks).
    overfit_fit_ratio: float = 0.1
    # Failed: the loss kept more than half of its start; in between is inconclusive (silent).
    overfit_fail_ratio: float = 0.5
    # LR range test (Smith, "Cyclical learning rates", 2017; fastai's lr_find): an exponential
    # sweep from 1e-7 to 10, stopped once the smoothed loss exceeds 4x its minimum (fastai).
    sweep_steps: int = 80
    sweep_low: float = 1e-7
    sweep_high: float = 10.0
    sweep_stop_ratio: float = 4.0
    # The first points of the sweep are left out when its minimum is looked for (fastai v1's
    # Recorder.plot and pytorch-lr-finder's plot both skip_start=10): at 1e-7 to 1e-6 no
    # optimizer moves a weight, so a "minimum" there is one batch's loss against another's
    # (every step of the sweep sees a new batch) and the smoothing still warming up, not a
    # learning rate that trains. 10 points of 80 are the sweep's first decade.
    sweep_skip_start: int = 10
    # fastai suggests the LR at the loss minimum / 10. A configured LR past the minimum itself
    # is on the diverging side; one 1.5 decades below the suggestion wastes most of the budget
    # (a factor 30: generous, so any choice within an order of magnitude of it stays silent).
    lr_low_factor: float = 30.0
    # Input dependence: loss with permuted inputs within 5 % of the real loss on held-out data
    # means the trained model's predictions do not depend on the inputs (TheDeepChecker's
    # zeroed-input test, made relative).
    ignore_ratio: float = 0.95
    # Between 80 % and 95 %: the inputs explain only a little of the held-out targets, the
    # signature of labels that are mostly noise (a healthy task gets far below: 14 % on digits).
    weak_signal_ratio: float = 0.8
    # Below a third: the inputs explain most of the held-out targets, and the labels cannot be
    # mostly noise, whatever the task. Half the target's variance as noise leaves a perfect
    # regression at 1/3 of its shuffled-input loss (noise / (noise + 2 x signal): shuffled
    # inputs pay the signal twice, as error and as prediction); half the labels replaced at
    # random leaves a calibrated classifier at 0.61 (10 classes) to 0.67 (2) of it. The doctor
    # then withdraws label noise as an explanation (the experiment that decides it refutes it),
    # as the val-gap replay withdraws over-fitting.
    strong_signal_ratio: float = 1 / 3
    # The same held-out data read by the copy's decisions rather than its loss: a copy that
    # memorised noisy labels is over-confident on held-out data, and its loss can be no
    # better with the real inputs than with shuffled ones while its argmax is right far more
    # often (80 % of 10 labels replaced at random still leaves 28 % right against 10 %;
    # Arpit et al. 2017, "A closer look at memorization": the clean examples are learned
    # first). The decisions show signal when real beats shuffled by 3 standard errors (a
    # one-sided p of 0.0013: a copy with no signal passes it about once in 700 probes).
    signal_z: float = 3.0
    # A regression copy that ignores its inputs predicts at best the mean (held-out loss =
    # the targets' variance, chance) and at worst memorised training targets at random (about
    # twice chance: its predictions' variance plus the targets'). Past 3x chance its outputs
    # swing beyond any target: not inputs ignored but a fitted function that does not
    # generalise at all (saturated or chaotic units; Poole et al. 2016), and the probe stays
    # silent on the inputs.
    wild_heldout_ratio: float = 3.0
    # Training steps of the reference copy before its inputs are permuted: 150 steps of 32 are
    # about two passes over the collected samples, enough for the reference recipe to fit
    # what the inputs tell (the probe only speaks once the copy's loss fell by a tenth).
    input_dep_steps: int = 150
    # The reference recipe the experiments compare against: Adam at 1e-3 (Kingma & Ba 2015's
    # default, Karpathy's "Adam with 3e-4 or 1e-3 is safe") on batches of 32 (Bengio 2012,
    # "Practical recommendations": 32 a good default; Masters & Luschi 2018: 2-32 train most
    # stably): a known-good setting, so a failure under it is not the user's optimizer.
    reference_batch: int = 32
    # The batches come from one pass over the loader: at least 200 batches, and small ones
    # until 2048 samples (a loader of batch 1 would give 200 samples): the reference run's
    # 150 steps of 32 then see each sample about twice, and batches x8 still make 8 batches.
    bench_batches: int = 200
    bench_samples: int = 2048
    # Gradients accumulated across steps: the user's stored gradient is more than 5x a fresh
    # single-batch gradient at the same weights (one stale step would give about 2x).
    accumulate_ratio: float = 5.0
    # Try the fix: confirmed when the fixed run ends with at most 70 % of the baseline's loss
    # (a third less loss left after the same budget: beyond the spread of a seeded short run)
    # AND the difference is at least 5 % of the starting loss (visible, not two near-zero
    # losses whose ratio means nothing) AND the fixed run itself lowered the loss by that much
    # (a run that diverges less than the unchanged one is not fixed).
    # The same factor says when the loop replay ended "far below" the recording, whether it
    # started where the recording did (within 0.7 to 1/0.7), and whether it trained at all.
    fix_rel_end: float = 0.7
    fix_min_gain_pct: float = 5.0
    # Steps of each run of an LR, optimizer, shuffling, regularisation, scaling or clipping
    # remedy: as many as the overfit probe, where a working setting is expected to show.
    fix_steps: int = 200
    # Fewer steps than this cannot show a difference worth reporting (a seeded run's first
    # tens of steps are mostly its warm-up transient).
    fix_min_steps: int = 30
    # A batch-size remedy, the val-gap replay and the loop replay run over the user's own
    # training length, at most this many steps: the longest run the doctor records of its own.
    replay_steps: int = 2000
    # The val-gap replay: no generalisation gap when val - train stays under half the passive
    # diagnosis's bar for one (Thresholds.gap_vs_ref of the chance level); between half and the
    # bar the probe says nothing, as the overfit probe's band between fitted and failed.
    no_gap_fraction: float = 0.5
    # Evaluations of train and val along the val-gap replay: a curve of 10 points, the most
    # the passive diagnosis asks of a short val curve (Thresholds.val_short_max_points).
    replay_checks: int = 10
    # The data checks read the first 20 batches (a loader sorted by label shows it there), and
    # the fix and replay evaluations 20 batches spread over the data. Their thresholds are the
    # passive diagnosis's own (kb/thresholds.py).
    first_batches: int = 20


LIMITS = ProbeLimits()


@dataclass
class ProbeOutcome:
    symptoms: list[Symptom] = field(default_factory=list)
    values: dict[str, Any] = field(default_factory=dict)
    series: dict[str, list[float]] = field(default_factory=dict)

    def add(self, name: str, strength: float, **values: Any) -> None:
        clean = {k: _plain(v) for k, v in values.items() if v is not None}
        strength = round(min(1.0, max(0.0, strength)), 3)
        self.symptoms.append(Symptom(name, "probe", strength, clean))


def _plain(v: Any) -> Any:
    """Plain, finite, rounded Python scalars (the engine cannot match NaN)."""
    if isinstance(v, bool | str):
        return v
    if isinstance(v, int):
        return int(v)
    x = float(v)
    if math.isnan(x):
        return "nan"
    if math.isinf(x):
        return "inf" if x > 0 else "-inf"
    return float(f"{x:.4g}")


@dataclass
class Context:
    bench: Bench
    th: Thresholds
    limits: ProbeLimits
    deadline: float
    config: dict[str, Any] = field(default_factory=dict)
    leading: list[str] = field(default_factory=list)  # causes in contention, best first
    # Optimizer steps of the user's training (the recording's train curve; the doctor's own
    # recording without one): the length over which a batch-size remedy is compared.
    trained_steps: int | None = None
    # The user's recorded train curve (steps, losses); None when the doctor recorded its own.
    recorded_train: tuple[list[int], list[float]] | None = None
    _step_s: dict[int, float] = field(default_factory=dict)

    def step_time(self, size: int | None = None) -> float:
        """Seconds per training step on a copy with batches of ``size`` (the user's batches
        when None): the median of 3 timed steps after one warm-up, measured once per size."""
        key = -1 if size is None else size
        if key not in self._step_s:
            b = self.bench
            batches = b.train if size is None else reference_batches(b, size)
            model, opt, crit = b.fresh()
            times = []
            for i in range(4):
                t0 = time.perf_counter()
                loss = loss_of(model, crit, batches[i % len(batches)])
                opt.zero_grad(set_to_none=True)
                loss.backward()  # type: ignore[no-untyped-call]
                opt.step()
                times.append(time.perf_counter() - t0)
            self._step_s[key] = sorted(times[1:])[1]
        return self._step_s[key]

    def fits(self, seconds: float) -> bool:
        return time.monotonic() + seconds <= self.deadline


# ---------------------------------------------------------------- helpers


def train_steps(
    model: nn.Module,
    opt: Any,
    criterion: Any,
    batches: Sequence[Batch],
    steps: int,
    *,
    clip: float | None = None,
    lr_at: Callable[[int], float] | None = None,
    deadline: float | None = None,
    on_loss: Callable[[int, torch.Tensor], None] | None = None,
) -> list[float]:
    """Train in place for ``steps`` optimizer steps cycling over ``batches``; batch losses."""
    model.train()
    losses: list[float] = []
    for step in range(steps):
        if deadline is not None and time.monotonic() > deadline:
            break
        if lr_at is not None:
            for g in opt.param_groups:
                g["lr"] = lr_at(step)
        b = batches[step % len(batches)]
        loss = loss_of(model, criterion, b)
        opt.zero_grad(set_to_none=True)
        model.zero_grad(set_to_none=True)
        value = float(loss.detach())
        losses.append(value)
        if not math.isfinite(value):
            if on_loss is not None:
                on_loss(step, loss.detach())
            break
        loss.backward()  # type: ignore[no-untyped-call]
        if clip is not None:
            nn.utils.clip_grad_norm_(model.parameters(), clip)
        opt.step()
        if on_loss is not None:
            on_loss(step, loss.detach())
    return losses


def task_of(criterion: Any, out_width: int, targets: torch.Tensor) -> str:
    name = type(criterion).__name__.lower() if isinstance(criterion, nn.Module) else ""
    fname = getattr(criterion, "__name__", "").lower()
    label = name or fname
    if "bce" in label or "binary" in label:
        return "binary"
    if "crossentropy" in label or "cross_entropy" in label or "nll" in label:
        return "classification"
    if "mse" in label or "l1" in label or "huber" in label or "mean_squared" in label:
        return "regression"
    if not targets.is_floating_point() and targets.dim() == 1 and out_width > 1:
        return "classification"
    return "regression"


def reference_adam(model: nn.Module) -> torch.optim.Optimizer:
    return torch.optim.Adam([p for p in model.parameters() if p.requires_grad], lr=1e-3)


def reference_batches(
    bench: Bench, size: int, batches: Sequence[Batch] | None = None
) -> list[Batch]:
    """The collected training samples (or ``batches``') in a seeded random order, in batches of
    ``size``: the reference recipe's data, whatever batch size the user's loader has."""
    data = concat(list(batches) if batches is not None else bench.train)
    gen = torch.Generator().manual_seed(bench.seed)
    order = torch.randperm(len(data), generator=gen).to(data.targets.device)
    return rechunk(data, size, order)


def _out_width(bench: Bench) -> int:
    model, _, _ = bench.fresh()
    model.eval()
    from lossexpert.doctor._bench import forward

    with torch.no_grad():
        out = forward(model, index(bench.train[0], torch.arange(min(2, len(bench.train[0])))))
    return int(out.shape[-1]) if out.dim() > 1 else 1


# ---------------------------------------------------------------- probes


def probe_labels_and_data(ctx: Context) -> ProbeOutcome:
    """Targets vs output width, one-hot targets under MSE, single-class first batches, class
    balance, NaN/Inf, input scale per feature: all from the batches, no training."""
    out = ProbeOutcome()
    b, th, lim = ctx.bench, ctx.th, ctx.limits
    width = _out_width(b)
    y = torch.cat([x.targets for x in b.train]).detach().cpu()
    task = task_of(b.criterion, width, y)
    out.values.update(output_width=width, task=task, samples=int(y.shape[0]))
    xs = [t for t in (float_inputs(x) for x in b.train) if t is not None]
    bad_x = sum(int((~torch.isfinite(t)).sum()) for t in xs)
    bad_y = int((~torch.isfinite(y.float())).sum())
    if bad_x or bad_y:
        out.add("probe.data_nonfinite", 1.0, inputs=bad_x, targets=bad_y)
    if task == "classification" and not y.is_floating_point() and y.numel():
        hi, lo = int(y.max()), int(y.min())
        if hi >= width or lo < 0:
            out.add("probe.targets_out_of_range", 1.0, max_label=hi, min_label=lo, width=width)
    if (
        task == "regression"
        and y.dim() == 2
        and y.shape[1] == width
        and width > 1
        and bool(((y == 0) | (y == 1)).all())
        and bool((y.sum(1) == 1).all())
    ):
        out.add("probe.mse_on_onehot", 0.9, classes=width)
    labels = _class_labels(y, task)
    if labels is not None:
        per_batch = [
            _class_labels(x.targets.detach().cpu(), task) for x in b.train[: lim.first_batches]
        ]
        sized = [p for p in per_batch if p is not None and p.numel() >= 4]
        if sized:
            single = sum(1 for p in sized if int(torch.unique(p).numel()) == 1) / len(sized)
            out.values["single_class_batches"] = round(single, 3)
            if single > th.ordered_batches and int(torch.unique(labels).numel()) > 1:
                out.add(
                    "probe.ordered_batches",
                    grade(single, th.ordered_batches, 0.9),
                    fraction=single,
                    batches=len(sized),
                )
        counts = torch.bincount(labels.clamp(min=0)).float()
        counts = counts[counts > 0]
        if counts.numel() >= 2:
            ratio = float(counts.min() / counts.max())
            out.values["class_ratio"] = round(ratio, 3)
            if ratio < th.class_ratio:
                out.add(
                    "probe.imbalanced",
                    grade(-ratio, -th.class_ratio, -0.001),
                    ratio=ratio,
                    smallest=int(counts.min()),
                    largest=int(counts.max()),
                )
    if xs:
        x = torch.cat([t.reshape(t.shape[0], -1) for t in xs]).double()
        x = x[torch.isfinite(x).all(1)]
        if x.shape[0] >= 2:
            sd = x.std(0).numpy()
            abs_max = float(x.abs().max())
            # The same reasons as the recorded data's data.unnormalized.
            scale = input_scale(sd.tolist(), abs_max, float(x.mean(0).abs().max()), True, th)
            out.values.update(scale_spread=round(scale.spread, 3), abs_max=round(abs_max, 3))
            hits = list(scale.reasons.values())
            if any(hits):
                out.add(
                    "probe.unnormalized",
                    0.6 + 0.2 * (sum(hits) - 1),
                    scale_spread=scale.spread,
                    abs_max=abs_max,
                    max_abs_mean=scale.mean_max,
                    largest_std=scale.largest_std if scale.reasons["small"] else None,
                )
            if float(x.std(0).max()) == 0.0:
                out.add("probe.inputs_constant", 1.0, features=int(x.shape[1]))
    return out


def _class_labels(y: torch.Tensor, task: str) -> torch.Tensor | None:
    if task == "classification":
        if y.is_floating_point() and y.dim() == 2:
            return y.argmax(1)
        return y.long().reshape(-1) if y.dim() <= 1 else None
    if task == "binary":
        return (y.reshape(-1) > 0.5).long()
    return None


def probe_gradient_flow(ctx: Context) -> ProbeOutcome:
    """One backward pass on a copy: parameters with no gradient, parameters the optimizer
    does not hold, exactly-zero gradients, identical rows (unbroken symmetry), and gradients
    stored on the user's model that are many times one fresh gradient (no ``zero_grad``)."""
    out = ProbeOutcome()
    b, lim = ctx.bench, ctx.limits
    model, opt, crit = b.fresh()
    named = [(n, p) for n, p in model.named_parameters() if p.requires_grad]
    in_opt = {id(p) for g in opt.param_groups for p in g["params"]}
    missing = [n for n, p in named if id(p) not in in_opt]
    out.values.update(parameters=len(named), in_optimizer=len(named) - len(missing))
    if missing:
        out.add(
            "probe.params_not_in_optimizer",
            grade(len(missing) / max(len(named), 1), 0.0, 0.5),
            count=len(missing),
            of=len(named),
            first=missing[0],
        )
    model.train()
    for p in model.parameters():
        p.grad = None
    saturated: list[tuple[str, float]] = []

    def watch_saturation(name: str) -> Callable[..., None]:
        def hook(module: nn.Module, args: Any, output: Any) -> None:
            if isinstance(output, torch.Tensor) and output.numel():
                y = output.detach()
                tail = (
                    (y.abs() > 0.99) if isinstance(module, nn.Tanh) else ((y < 0.01) | (y > 0.99))
                )
                saturated.append((name, float(tail.float().mean())))

        return hook

    handles = [
        m.register_forward_hook(watch_saturation(n))
        for n, m in model.named_modules()
        if isinstance(m, nn.Sigmoid | nn.Tanh)
    ]
    try:
        loss = loss_of(model, crit, b.train[0])
    finally:
        for h in handles:
            h.remove()
    loss.backward()  # type: ignore[no-untyped-call]
    if saturated:
        name, frac = max(saturated, key=lambda x: x[1])
        out.values["saturated_max"] = round(frac, 3)
        if frac > ctx.th.saturated_fraction:
            out.add(
                "probe.saturated",
                grade(frac, ctx.th.saturated_fraction, 1.0),
                layer=name,
                saturated_pct=100 * frac,
            )
    no_grad = [n for n, p in named if p.grad is None]
    if no_grad:
        out.add("probe.params_no_grad", 0.9, count=len(no_grad), of=len(named), first=no_grad[0])
    weights = [(n, p) for n, p in named if p.dim() >= 2 and p.grad is not None]
    zero = [n for n, p in weights if p.grad is not None and not bool(p.grad.ne(0).any())]
    out.values["zero_grad_layers"] = len(zero)
    if zero:
        out.add(
            "probe.zero_grads",
            grade(len(zero) / max(len(weights), 1), 0.0, 0.5),
            layers=len(zero),
            of=len(weights),
            first=zero[0],
        )
    norms = [(n, float(p.grad.norm())) for n, p in weights if p.grad is not None]
    if len(norms) >= 2 and norms[-1][1] > 0:
        ratio = norms[0][1] / norms[-1][1]
        out.values["first_last_grad_ratio"] = float(f"{ratio:.3g}")
        if 0 < ratio < ctx.th.vanishing_ratio:
            out.add(
                "probe.grads_vanish",
                grade(-math.log10(ratio), -math.log10(ctx.th.vanishing_ratio), 8.0),
                ratio=ratio,
                first=norms[0][0],
                last=norms[-1][0],
            )
    symmetric = [
        n
        for n, p in weights
        if p.shape[0] > 1 and float(p.detach().reshape(p.shape[0], -1).std(0).max()) == 0.0
    ]
    if symmetric:
        out.add("probe.symmetric_weights", 1.0, layers=len(symmetric), first=symmetric[0])
    # Stored gradients on the user's own model (read only).
    fresh = {n: p.grad for n, p in named if p.grad is not None}
    ratios = []
    for n, p in b.model.named_parameters():
        g = fresh.get(n)
        if p.grad is not None and g is not None:
            denom = float(g.norm())
            if denom > 0:
                ratios.append(float(p.grad.detach().norm()) / denom)
    if ratios:
        r = float(np.median(ratios))
        out.values["stored_grad_ratio"] = round(r, 3)
        if r > lim.accumulate_ratio:
            out.add("probe.grads_accumulate", grade(r, lim.accumulate_ratio, 50.0), ratio=r)
    return out


def _chance(crit: Any, width: int, targets: torch.Tensor) -> tuple[str, float]:
    """The task and what guessing scores: ln C, ln 2, or the variance of the targets."""
    task = task_of(crit, width, targets)
    if task == "classification":
        return task, math.log(max(width, 2))
    if task == "binary":
        return task, math.log(2)
    return task, float(targets.float().var()) if targets.numel() > 1 else float("nan")


def probe_initial_loss(ctx: Context) -> ProbeOutcome:
    """The loss at the current weights against chance: ln C, ln 2, or the target variance."""
    out = ProbeOutcome()
    b, th = ctx.bench, ctx.th
    model, _, crit = b.fresh()
    batches = b.train[: ctx.limits.first_batches]
    loss = eval_loss(model, crit, batches)
    y = torch.cat([x.targets for x in batches]).detach().cpu()
    width = _out_width(b)
    task, chance = _chance(crit, width, y)
    out.values.update(loss=round(loss, 4), chance=round(chance, 4), task=task)
    if task == "classification" and width > 1:
        _output_range(model, batches, out)
    if not math.isfinite(loss):
        out.add("probe.init_loss_nonfinite", 1.0, loss=loss)
        return out
    if not math.isfinite(chance) or chance <= 0:
        return out
    ratio = loss / chance
    if ratio >= th.init_loss_vs_chance:
        out.add(
            "probe.init_loss_high",
            grade(ratio, th.init_loss_vs_chance, 30.0),
            loss=loss,
            chance=chance,
            ratio=ratio,
        )
    if loss < 0:
        out.add("probe.init_loss_below_floor", 1.0, loss=loss, chance=chance)
    return out


def _output_range(model: nn.Module, batches: Sequence[Batch], out: ProbeOutcome) -> None:
    """What the outputs fed to a classification loss look like: probabilities (rows in [0, 1]
    summing to 1: a softmax before a loss that applies its own), values bounded in [0, 1]
    (a sigmoid on the logits), or logits clipped at 0 (a ReLU on the logits)."""
    from lossexpert.doctor._bench import forward

    model.eval()
    with torch.no_grad():
        outs = torch.cat([forward(model, x).detach().float().cpu() for x in batches[:4]])
    if outs.dim() != 2 or not bool(torch.isfinite(outs).all()):
        return
    zero = float((outs == 0).float().mean())
    out.values["zero_outputs"] = round(zero, 3)
    in_unit = bool(((outs >= 0) & (outs <= 1)).all())
    if in_unit and bool(torch.allclose(outs.sum(1), torch.ones(outs.shape[0]), atol=1e-3)):
        out.add("probe.outputs_softmax", 1.0, classes=int(outs.shape[1]))
    elif zero > 0.3:  # a ReLU zeroes about half of random logits; 30 % is far beyond chance
        out.add("probe.outputs_clipped", grade(zero, 0.3, 0.8), zero_pct=100 * zero)
    elif in_unit:
        out.add("probe.outputs_bounded", 0.9, low=float(outs.min()), high=float(outs.max()))


def _overfit(
    model: nn.Module, opt: Any, crit: Any, batch: Batch, steps: int
) -> tuple[float, float]:
    start = eval_loss(model, crit, [batch])
    train_steps(model, opt, crit, [batch], steps)
    return start, eval_loss(model, crit, [batch])


def probe_overfit_batch(ctx: Context) -> ProbeOutcome:
    """Overfit one small batch with the user's optimizer settings, then with Adam 1e-3 from
    the same weights. Fails with both: a bug or the structure; only with theirs: the
    optimizer or its learning rate."""
    out = ProbeOutcome()
    b, lim = ctx.bench, ctx.limits
    batch = reference_batches(b, lim.overfit_samples)[0]  # drawn at random: not one class
    model, opt, crit = b.fresh()
    s0, s1 = _overfit(model, opt, crit, batch, lim.overfit_steps)
    model, _, crit = b.fresh()
    r0, r1 = _overfit(model, reference_adam(model), crit, batch, lim.overfit_steps)

    def rest(a: float, z: float) -> float:
        return z / a if math.isfinite(z) and a > 0 else math.inf

    user, ref = rest(s0, s1), rest(r0, r1)
    decay = max((float(g.get("weight_decay") or 0.0) for g in b.optimizer.param_groups), default=0)
    drop = max(
        (m.p for m in b.model.modules() if isinstance(m, nn.modules.dropout._DropoutNd)), default=0
    )
    if user > lim.overfit_fail_ratio and (decay > 0 or drop >= 0.5):
        # The regulariser alone: the user's settings again without it.
        model, opt, crit = b.fresh()
        for g in opt.param_groups:
            if "weight_decay" in g:
                g["weight_decay"] = 0.0
        for m in model.modules():
            if isinstance(m, nn.modules.dropout._DropoutNd):
                m.p = 0.0
        u0, u1 = _overfit(model, opt, crit, batch, lim.overfit_steps)
        unreg = rest(u0, u1)
        out.values["unregularised_remaining"] = round(unreg, 4)
        if unreg <= lim.overfit_fit_ratio:
            out.add(
                "probe.overfit_regularisation_blocks",
                0.9,
                user_pct=100 * min(user, 99.99),
                unregularised_pct=100 * unreg,
                weight_decay=decay,
                dropout=drop,
                steps=lim.overfit_steps,
                samples=len(batch),
            )
            return out
    out.values.update(user_remaining=round(user, 4), reference_remaining=round(ref, 4))
    vals = dict(
        user_pct=100 * min(user, 99.99),
        reference_pct=100 * min(ref, 99.99),
        steps=lim.overfit_steps,
        samples=len(batch),
    )
    if user > lim.overfit_fail_ratio and ref > lim.overfit_fail_ratio:
        out.add("probe.overfit_fails", grade(min(user, ref), lim.overfit_fail_ratio, 0.9), **vals)
    elif user > lim.overfit_fail_ratio and ref <= lim.overfit_fit_ratio:
        out.add("probe.overfit_user_fails", 0.9, **vals)
    elif user <= lim.overfit_fit_ratio:
        out.add("probe.overfit_ok", 0.8, **vals)
    return out


def probe_lr_range(ctx: Context) -> ProbeOutcome:
    """Exponential LR sweep on a copy with the user's optimizer: where the loss falls fastest
    and where it diverges, against the configured LR."""
    out = ProbeOutcome()
    b, lim = ctx.bench, ctx.limits
    model, opt, crit = b.fresh()
    groups = opt.param_groups
    lr_now = float(groups[0]["lr"]) if groups else float("nan")
    n = lim.sweep_steps
    lrs = [lim.sweep_low * (lim.sweep_high / lim.sweep_low) ** (i / (n - 1)) for i in range(n)]
    smooth: list[float] = []
    avg = 0.0
    model.train()
    for i, lr in enumerate(lrs):
        for g in opt.param_groups:
            g["lr"] = lr
        batch = b.train[i % len(b.train)]
        loss = loss_of(model, crit, batch)
        value = float(loss.detach())
        if not math.isfinite(value):
            break
        avg = 0.7 * avg + 0.3 * value if i else value  # fastai-style smoothing
        smooth.append(avg)
        if len(smooth) > 5 and avg > lim.sweep_stop_ratio * min(smooth):
            break
        opt.zero_grad(set_to_none=True)
        loss.backward()  # type: ignore[no-untyped-call]
        opt.step()
    if len(smooth) < 10:
        return out
    # The minimum past the skipped start (all of it when the sweep stopped within it).
    skip = lim.sweep_skip_start if len(smooth) > lim.sweep_skip_start else 0
    k = skip + int(np.argmin(smooth[skip:]))
    lr_min = lrs[k]
    suggested = lr_min / 10
    diverged = len(smooth) < n
    diverge_lr = lrs[len(smooth) - 1] if diverged else None
    out.series = {"lr": [float(x) for x in lrs[: len(smooth)]], "loss": smooth}
    out.values.update(lr=lr_now, suggested=suggested, lr_at_min=lr_min, diverge_lr=diverge_lr)
    if not math.isfinite(lr_now) or lr_now <= 0:
        return out
    # Where the loss stood before any LR could move the weights: the lowest of the skipped
    # points (the batches' own spread at the starting weights), or the first point.
    before = min(smooth[:skip]) if skip else smooth[0]
    if before - smooth[k] < 0.05 * abs(before):
        # No LR made the loss fall below what the untrained weights already gave on some
        # batch: the sweep cannot say anything about the LR, nor suggest one.
        out.values["suggested"] = None
        out.add("probe.lr_no_effect", 0.8, lr=lr_now)
        return out
    limit = diverge_lr if diverge_lr is not None else math.inf
    if lr_now >= lr_min or lr_now >= limit:
        out.add(
            "probe.lr_above_best",
            grade(math.log10(lr_now / lr_min), 0.0, 2.0),
            lr=lr_now,
            suggested=suggested,
            lr_at_min=lr_min,
            diverge_lr=diverge_lr,
        )
    elif lr_now < suggested / lim.lr_low_factor:
        out.add(
            "probe.lr_below_best",
            grade(math.log10(suggested / lr_now), math.log10(lim.lr_low_factor), 4.0),
            lr=lr_now,
            suggested=suggested,
        )
    return out


def probe_input_dependence(ctx: Context) -> ProbeOutcome:
    """Train a copy with the reference recipe (Adam 1e-3, batches of 32), then compare the
    held-out loss with real, permuted and zeroed inputs: equal losses mean the predictions do
    not depend on the inputs, unless the copy's decisions (its argmax, or the correlation of
    its outputs with the targets) still beat the shuffled inputs'."""
    out = ProbeOutcome()
    b, lim = ctx.bench, ctx.limits
    model, _, crit = b.fresh()
    own = b.train if b.val else b.train[: max(1, len(b.train) - len(b.held_out()))]
    # The reference recipe on the user's samples, not the user's batches: a batch of 1 would
    # leave the copy unfitted after the probe's steps, a full batch would make it slow.
    train = reference_batches(b, lim.reference_batch, own)
    start = eval_loss(model, crit, train)
    train_steps(
        model, reference_adam(model), crit, train, lim.input_dep_steps, deadline=ctx.deadline
    )
    end = eval_loss(model, crit, train)
    held = b.held_out()
    shuffled = shuffled_pairs(held, torch.Generator().manual_seed(b.seed))
    if shuffled is None:  # one held-out example: nothing to shuffle
        return out
    real = eval_loss(model, crit, held)
    perm = eval_loss(model, crit, shuffled)
    zero = eval_loss(model, crit, [map_inputs(h, torch.zeros_like) for h in held])
    out.values.update(
        real=round(real, 4),
        permuted=round(perm, 4),
        zeroed=round(zero, 4),
        train_start=round(start, 4),
        train_end=round(end, 4),
    )
    task = task_of(crit, _out_width(b), held[0].targets)
    decided = decision_signal(model, held, shuffled, task)
    if decided is not None:
        out.values.update(decided)
    # It must have fitted its training batches somewhat, or no input can matter yet: fallen
    # by a tenth, and below guessing (from a start far above it, a large init's or raw
    # inputs', a copy can fall a long way and still not have learned its own batches).
    _, guess = _chance(crit, _out_width(b), torch.cat([t.targets for t in train]).cpu())
    learned = (
        math.isfinite(end)
        and end < 0.9 * start
        and not (math.isfinite(guess) and guess > 0 and end >= guess)
    )
    losses_comparable = math.isfinite(real) and math.isfinite(perm) and perm > 0
    ratio = real / perm if learned and losses_comparable else None
    decisions_see_signal = decided is not None and decided["signal_z"] >= lim.signal_z
    if (
        decisions_see_signal
        and decided is not None
        and (ratio is None or ratio >= lim.weak_signal_ratio)
    ):
        # What the loss does not show (a copy too slow to fit in the probe's steps, or one
        # that memorised noisy labels): its decisions use the inputs. Said only where the
        # loss leaves the question open, so a healthy model's probe stays silent.
        out.add(
            "probe.inputs_informative",
            grade(decided["signal_z"], lim.signal_z, 2 * lim.signal_z),
            metric=decided["metric"],
            agreement=decided["agreement"],
            agreement_permuted=decided["agreement_permuted"],
            signal_z=decided["signal_z"],
        )
    if ratio is None:
        return out
    out.values["ratio"] = round(ratio, 4)
    out.values["strong_signal"] = ratio <= lim.strong_signal_ratio
    if lim.weak_signal_ratio <= ratio < lim.ignore_ratio or (
        ratio >= lim.ignore_ratio and decisions_see_signal
    ):
        out.add("probe.weak_input_signal", 0.7, real=real, permuted=perm, ratio=ratio)
    elif ratio >= lim.ignore_ratio and not _wild_regression(ctx, held, real):
        out.add(
            "probe.ignores_inputs",
            grade(ratio, lim.ignore_ratio, 1.0),
            real=real,
            permuted=perm,
            zeroed=zero,
        )
    return out


def _wild_regression(ctx: Context, held: Sequence[Batch], real: float) -> bool:
    """A regression copy whose held-out loss is past ProbeLimits.wild_heldout_ratio x chance."""
    try:
        chance, task = chance_level(ctx, held)
    except RuntimeError:  # targets of different shapes across batches
        return False
    if task != "regression" or not (math.isfinite(chance) and chance > 0):
        return False
    return real > ctx.limits.wild_heldout_ratio * chance


def _rows(x: Any, n: int) -> bool:
    return isinstance(x, torch.Tensor) and x.dim() > 0 and x.shape[0] == n


def shuffled_pairs(held: Sequence[Batch], gen: torch.Generator) -> list[Batch] | None:
    """The held-out batches with each example's inputs given to another example's target.

    One permutation over all held-out examples when every batch's inputs have the same shape
    past the batch dimension (a loader of batch 1 is then shuffled too: within a batch of one
    nothing moves); within each batch otherwise. Every input tensor of a dict batch moves with
    the same permutation (ids with their mask); integer inputs (token ids) move too. None when
    nothing can move."""
    sizes = [len(h) for h in held]
    keys: list[Any] = list(held[0].inputs) if isinstance(held[0].inputs, dict) else [None]

    def part(h: Batch, key: Any) -> Any:
        return h.inputs.get(key) if isinstance(h.inputs, dict) else h.inputs

    def pool(key: Any) -> torch.Tensor | None:
        parts = [part(h, key) for h in held]
        if not all(_rows(x, n) for x, n in zip(parts, sizes, strict=True)):
            return None
        if len({(tuple(x.shape[1:]), x.dtype, x.device) for x in parts}) != 1:
            return None
        return torch.cat(parts)

    def rebuild(h: Batch, moved: dict[Any, torch.Tensor]) -> Batch:
        if None in moved:
            return Batch(moved[None], h.targets)
        return Batch({**h.inputs, **moved}, h.targets)

    pools = {k: pool(k) for k in keys}
    pooled = {k: v for k, v in pools.items() if v is not None}
    if pooled and sum(sizes) >= 2:
        order = torch.randperm(sum(sizes), generator=gen)
        out, at = [], 0
        for h, n in zip(held, sizes, strict=True):
            rows = order[at : at + n]
            out.append(rebuild(h, {k: v[rows.to(v.device)] for k, v in pooled.items()}))
            at += n
        return out
    if max(sizes, default=0) < 2:
        return None
    within = []
    for h, n in zip(held, sizes, strict=True):
        rows = torch.randperm(n, generator=gen)
        moved = {k: x[rows.to(x.device)] for k in keys if _rows(x := part(h, k), n)}
        within.append(rebuild(h, moved) if moved else h)
    return within


def _agreement(
    model: nn.Module, batches: Sequence[Batch], task: str
) -> tuple[str, float, int, float | None] | None:
    """How well the model's decisions track the targets: the share of classes right
    (classification: argmax against the label or the one-hot target's argmax; labels < 0 are
    ignored, as cross-entropy's ignore_index) or the Pearson correlation of the outputs with the
    targets (binary and regression: a logit and a probability order examples alike).

    Returns (metric, value, examples, shuffled) or None when the outputs and targets do not
    line up. ``shuffled`` is, for accuracy, its exact expectation over every pairing of these
    predictions with these labels, sum over classes of P(predicted c) x P(label c): what
    inputs that carry nothing about the target would score."""
    was = model.training
    model.eval()
    preds: list[torch.Tensor] = []
    labels: list[torch.Tensor] = []
    outs: list[torch.Tensor] = []
    ys: list[torch.Tensor] = []
    examples = 0
    try:
        with torch.no_grad():
            for b in batches:
                o, y = forward(model, b).detach().float().cpu(), b.targets.detach().cpu()
                examples += len(b)
                if task == "classification":
                    if y.is_floating_point() and y.shape == o.shape and o.dim() >= 2:
                        y = y.argmax(1)
                    if o.dim() >= 2 and o.shape[:1] + o.shape[2:] == y.shape:
                        pred = o.argmax(1)
                    elif o.dim() == 2 and o.shape[0] == y.numel():
                        pred, y = o.argmax(1), y.reshape(-1)
                    else:
                        return None
                    keep = y >= 0
                    preds.append(pred[keep].reshape(-1))
                    labels.append(y[keep].long().reshape(-1))
                else:
                    if o.numel() != y.numel():
                        return None
                    outs.append(o.reshape(-1))
                    ys.append(y.reshape(-1).float())
    finally:
        model.train(was)
    if task == "classification":
        pred_all, label_all = torch.cat(preds), torch.cat(labels)
        if not label_all.numel():
            return None
        width = int(max(int(pred_all.max()), int(label_all.max()))) + 1
        q = torch.bincount(pred_all, minlength=width).double() / pred_all.numel()
        p = torch.bincount(label_all, minlength=width).double() / label_all.numel()
        accuracy = float((pred_all == label_all).double().mean())
        return "accuracy", accuracy, examples, float((q * p).sum())
    o_all, y_all = torch.cat(outs), torch.cat(ys)
    if o_all.numel() < 3 or not bool(torch.isfinite(o_all).all()):
        return None
    o_c, y_c = o_all - o_all.mean(), y_all - y_all.mean()
    denom = float(o_c.norm() * y_c.norm())
    return "correlation", float((o_c * y_c).sum()) / denom if denom > 0 else 0.0, examples, None


def decision_signal(
    model: nn.Module, held: Sequence[Batch], shuffled: Sequence[Batch], task: str
) -> dict[str, Any] | None:
    """The copy's decisions on the real inputs against shuffled ones, with how many standard
    errors apart they are: for accuracy, a one-sample z against its exact shuffled expectation;
    for correlation, Fisher's z between real and shuffled inputs. Both count examples (the
    conservative count when one example holds many labels or outputs)."""
    real = _agreement(model, held, task)
    if real is None:
        return None
    metric, a, n, expected = real
    if expected is not None:
        base = expected
        se = math.sqrt(base * (1 - base) / n) if 0 < base < 1 else 0.0
        z = (a - base) / se if se > 0 else 0.0
    else:
        perm = _agreement(model, shuffled, task)
        if perm is None:
            return None
        base = perm[1]

        def fisher(r: float) -> float:
            return math.atanh(max(-0.999999, min(0.999999, r)))

        z = (fisher(a) - fisher(base)) * math.sqrt(max(n - 3, 0) / 2)
    return {
        "metric": metric,
        "agreement": round(a, 4),
        "agreement_permuted": round(base, 4),
        "signal_z": round(z, 2),
    }


def chance_level(ctx: Context, batches: Sequence[Batch]) -> tuple[float, str]:
    """The loss of a model that has learned nothing: ln C, ln 2, or the target variance."""
    y = torch.cat([x.targets for x in batches]).detach().cpu()
    width = _out_width(ctx.bench)
    task = task_of(ctx.bench.criterion, width, y)
    if task == "classification":
        return math.log(max(width, 2)), task
    if task == "binary":
        return math.log(2), task
    return (float(y.float().var()) if y.numel() > 1 else float("nan")), task


def replay_batches(bench: Bench, epoch: int) -> list[Batch]:
    """The user's batches for one epoch: reshuffled every epoch after the first when the
    loader shuffles (as ``_record`` does), the loader's own order otherwise."""
    if not bench.shuffled or epoch == 0:
        return bench.train
    data = bench.all_train()
    gen = torch.Generator().manual_seed(bench.seed + epoch)
    order = torch.randperm(len(data), generator=gen).to(data.targets.device)
    return rechunk(data, bench.batch_size, order)


def replay(
    ctx: Context,
    model: nn.Module,
    opt: Any,
    crit: Any,
    steps: int,
    check: Callable[[], None] | None = None,
) -> tuple[list[float], bool]:
    """Train ``model`` the user's way (their optimizer, batches and order) with a textbook
    loop for ``steps`` steps, calling ``check`` ``replay_checks`` times along the way: the
    batch losses, and whether all the steps fitted in the budget. The first epoch is the
    user's own first epoch: the batches were read from the loader as it would have served
    them."""
    b, lim = ctx.bench, ctx.limits
    every = max(1, steps // lim.replay_checks)
    losses: list[float] = []
    epoch, pos = 0, 0
    batches = replay_batches(b, 0)
    while len(losses) < steps:
        k = min(every, steps - len(losses))
        if not ctx.fits(k * ctx.step_time()):
            return losses, False
        chunk: list[Batch] = []
        while len(chunk) < k:
            if pos >= len(batches):
                epoch, pos = epoch + 1, 0
                batches = replay_batches(b, epoch)
            chunk.append(batches[pos])
            pos += 1
        got = train_steps(model, opt, crit, chunk, k)
        losses += got
        if check is not None:
            check()
        if len(got) < k:  # non-finite: the replay is over, as the user's run would be
            break
    return losses, True


def probe_val_gap(ctx: Context) -> ProbeOutcome:
    """Train a copy the user's way (optimizer, batches, order) for the user's own number of
    steps and compare the val loss with the train loss at the same weights (eval mode): a
    model that over-fits shows a generalisation gap; one whose val loss only wobbles with the
    train loss shows none."""
    out = ProbeOutcome()
    b, lim, th = ctx.bench, ctx.limits, ctx.th
    if not b.val:
        return out
    steps = min(ctx.trained_steps or lim.fix_steps, lim.replay_steps)
    model, opt, crit = b.fresh()
    evalset = b.train[:: max(1, len(b.train) // lim.first_batches)]
    trains: list[float] = []
    val_losses: list[float] = []

    def check() -> None:
        trains.append(eval_loss(model, crit, evalset))
        val_losses.append(eval_loss(model, crit, b.val))

    losses, complete = replay(ctx, model, opt, crit, steps, check)
    done = len(losses)
    # The refutation compares with the recording: the replay must start where it did.
    if ctx.recorded_train is not None:
        rec = [x for s, x in zip(*ctx.recorded_train, strict=True) if s < max(done, 1)]
        comparable = same_start(start_level(losses, th), start_level(rec, th), lim)
    else:
        comparable = True
    chance, _ = chance_level(ctx, b.train)
    out.series = {"train": trains, "val": val_losses}
    out.values.update(steps=done, planned=steps, complete=complete)
    if not trains or not (math.isfinite(trains[-1]) and math.isfinite(val_losses[-1])):
        return out
    if not math.isfinite(chance) or chance <= 0:
        return out
    tr, va = trains[-1], val_losses[-1]
    gap = (va - tr) / chance
    out.values.update(train=round(tr, 4), val=round(va, 4), gap_vs_chance=round(gap, 4))
    vals = dict(train=tr, val=va, chance=chance, steps=done)
    if va >= th.gap_ratio * tr and gap >= th.gap_vs_ref:
        out.add("probe.val_gap", grade(gap, th.gap_vs_ref, th.val_gap_full_at), **vals)
    elif complete and comparable and gap < lim.no_gap_fraction * th.gap_vs_ref:
        out.add("probe.no_val_gap", 0.9, **vals)
    return out


def end_level(losses: Sequence[float], th: Thresholds) -> float:
    """Where a loss curve ended: inf if it ended non-finite, else the median of its last
    fifth (the passive diagnosis's ``late_level``: Thresholds.late_level_divisor/_min_points)."""
    if not losses or not math.isfinite(losses[-1]):
        return math.inf
    finite = [x for x in losses if math.isfinite(x)]
    k = max(th.late_level_min_points, len(finite) // th.late_level_divisor)
    return float(np.median(finite[-k:]))


def start_level(losses: Sequence[float], th: Thresholds) -> float:
    """Where a loss curve started: the median of its first few points (the fewest the passive
    diagnosis reads a level from, ``Thresholds.late_level_min_points``), before a loop's own
    behaviour can show."""
    finite = [x for x in losses if math.isfinite(x)]
    if not finite:
        return math.nan
    return float(np.median(finite[: th.late_level_min_points]))


def same_start(replay: float, recorded: float, lim: ProbeLimits) -> bool:
    """Whether a replay started where the recording did (the median of the first fifths
    within the factor a confirmed fix needs, ``fix_rel_end``): weights the user passes after
    training start elsewhere, and a replay from them compares with nothing recorded."""
    if not (math.isfinite(replay) and math.isfinite(recorded)) or replay <= 0 or recorded <= 0:
        return False
    return lim.fix_rel_end < replay / recorded < 1 / lim.fix_rel_end


def probe_loop_replay(ctx: Context) -> ProbeOutcome:
    """The user's model, optimizer and batches through a textbook loop (zero_grad, forward,
    backward, step: once per batch) for as many steps as the recording, against the
    recording: far lower means the user's loop is what differs (gradients never zeroed, steps
    skipped or repeated); the same loss means the loop is not the difference."""
    out = ProbeOutcome()
    b, lim, th = ctx.bench, ctx.limits, ctx.th
    if ctx.recorded_train is None:  # the doctor's own recording: its own loop, nothing to test
        return out
    rec_steps, rec_losses = ctx.recorded_train
    steps = min(rec_steps[-1] + 1 if rec_steps else len(rec_losses), lim.replay_steps)
    model, opt, crit = b.fresh()
    losses, complete = replay(ctx, model, opt, crit, steps)
    out.series = {"loss": losses}
    out.values.update(steps=len(losses), planned=steps, complete=complete)
    if not complete or not losses:
        return out
    # The recording over the same steps (all of it unless it ran longer than the replay).
    upto = [x for s, x in zip(rec_steps, rec_losses, strict=True) if s < len(losses)]
    recorded = end_level(upto, th) if upto else math.nan
    mine = end_level(losses, th)
    # Where the replay started: it must have trained itself, by as much as a confirmed fix,
    # before it can say the loop was at fault; a replay that only failed to diverge within
    # the steps may have been lucky.
    began = start_level(losses, th)
    rec_start = start_level(upto, th) if upto else math.nan
    out.values.update(
        replay_end=mine, recorded_end=recorded, replay_start=began, recorded_start=rec_start
    )
    if math.isnan(recorded) or not same_start(began, rec_start, lim):
        return out
    vals = dict(replay=mine, recorded=recorded, steps=len(losses))
    trained = math.isfinite(mine) and mine <= lim.fix_rel_end * began
    if trained and (not math.isfinite(recorded) or mine <= lim.fix_rel_end * recorded):
        out.add("probe.replay_better", 0.9, **vals)
    elif (not math.isfinite(mine) and not math.isfinite(recorded)) or (
        math.isfinite(mine) and lim.fix_rel_end * recorded < mine < recorded / lim.fix_rel_end
    ):
        out.add("probe.replay_matches", 0.8, **vals)
    return out


# ---------------------------------------------------------------- try the fix


@dataclass(frozen=True)
class Remedy:
    key: str
    cause: str


REMEDIES: dict[str, Remedy] = {
    c: Remedy(k, c)
    for c, k in (
        ("learning_rate_too_high", "lr_down"),
        ("learning_rate_too_low", "lr_up"),
        ("optimizer_choice", "optimizer"),
        ("batch_size_too_large", "smaller_batch"),
        ("batch_size_too_small", "larger_batch"),
        ("data_not_shuffled", "shuffle"),
        ("over_regularization", "no_regularization"),
        ("data_not_normalized", "standardize"),
        ("exploding_gradients", "clip"),
    )
}


def _usual_lr(optimizer: Any, th: Thresholds) -> float:
    """The geometric middle of the usual range for the optimizer's family (the KB's bounds
    for an adaptive optimizer and for SGD): where a rate far off it is moved to try."""
    name = type(optimizer).__name__.lower()
    if name.startswith(ADAPTIVE_OPTIMIZERS):
        return math.sqrt(th.lr_low_adaptive * th.lr_high_adaptive)
    return math.sqrt(th.lr_low_sgd * th.lr_high_sgd)


def _plan(
    ctx: Context, remedy: str
) -> tuple[Callable[[nn.Module, Any], Any], list[Batch], float | None, str]:
    """(model/optimizer transform, batches, clip, what changed) for one generic remedy."""
    bench = ctx.bench
    data = bench.all_train()
    bs = bench.batch_size
    batches = bench.train
    clip = None
    order = torch.arange(len(data))

    def same(m: nn.Module, o: Any) -> Any:
        return o

    change = ""
    tf: Callable[[nn.Module, Any], Any] = same
    if remedy in ("lr_down", "lr_up"):
        # The LR range test's suggestion when it points the same way; else a factor of 10, or
        # the middle of the optimizer's usual range when that is further (SGD at 1e-4 needs
        # 100x to reach it: a 10x try would "not confirm" a rate that is far too low).
        lr = float(bench.optimizer.param_groups[0]["lr"])
        hint = ctx.config.get("suggested_lr")
        f = 0.1 if remedy == "lr_down" else 10.0
        if isinstance(hint, float) and lr > 0 and (hint < lr if remedy == "lr_down" else hint > lr):
            f = hint / lr
        elif lr > 0:
            usual = _usual_lr(bench.optimizer, ctx.th) / lr
            f = min(f, usual) if remedy == "lr_down" else max(f, usual)

        def scale(m: nn.Module, o: Any) -> Any:
            for g in o.param_groups:
                g["lr"] = g["lr"] * f
            return o

        tf, change = scale, f"lr {lr:.3g} -> {lr * f:.3g}"
    elif remedy == "optimizer":
        # Only the optimizer changes: the user's weight decay stays, or removing it would be
        # credited to the optimizer.
        decay = max(
            (float(g.get("weight_decay") or 0.0) for g in bench.optimizer.param_groups), default=0
        )

        def adam(m: nn.Module, o: Any) -> Any:
            params = [p for p in m.parameters() if p.requires_grad]
            return torch.optim.Adam(params, lr=1e-3, weight_decay=decay)

        tf, change = adam, f"Adam(lr=1e-3, weight_decay={decay:g})"
    elif remedy in BATCH_REMEDIES:
        size = _fixed_batch(bench, remedy, ctx.limits)
        batches, change = rechunk(data, size, order), f"batch {bs} -> {size}"
    elif remedy == "shuffle":
        gen = torch.Generator().manual_seed(bench.seed)
        order = torch.randperm(len(data), generator=gen).to(data.targets.device)
        batches, change = rechunk(data, bs, order), "shuffled"
    elif remedy == "no_regularization":

        def unreg(m: nn.Module, o: Any) -> Any:
            for mod in m.modules():
                if isinstance(mod, nn.modules.dropout._DropoutNd):
                    mod.p = 0.0
            for g in o.param_groups:
                if "weight_decay" in g:
                    g["weight_decay"] = 0.0
            return o

        tf, change = unreg, "weight decay 0, dropout 0"
    elif remedy == "standardize":
        x = float_inputs(data)
        if x is not None:
            mu = x.mean(0, keepdim=True)
            sd = x.std(0, keepdim=True).clamp(min=1e-6)
            batches = [map_inputs(bt, lambda t: (t - mu) / sd) for bt in bench.train]
        change = "inputs standardised"
    elif remedy == "clip":
        clip, change = 1.0, "gradient norm clipped at 1"
    return tf, batches, clip, change


BATCH_REMEDIES = ("smaller_batch", "larger_batch")


def fix_schedule(ctx: Context, cause: str, seconds: float) -> tuple[int, int] | None:
    """(steps unchanged, steps with the remedy) that fit in ``seconds``, or None.

    Equal steps for most remedies (``fix_steps``). A batch-size remedy is about how far the
    same data takes the model, so both runs see the same samples over the user's training
    length (its recorded steps, at most ``replay_steps``): 20 full-batch epochs are 20
    steps unchanged against 160 steps of an eighth. Both are shortened alike to fit."""
    b, lim = ctx.bench, ctx.limits
    remedy = REMEDIES[cause].key
    if remedy in BATCH_REMEDIES:
        size = _fixed_batch(b, remedy, lim)
        base = min(ctx.trained_steps or lim.fix_steps, lim.replay_steps)
        per = ctx.step_time() + ctx.step_time(size) * b.batch_size / max(size, 1)
        base = min(base, int(seconds / (1.1 * per))) if per > 0 else base
        fix = base * b.batch_size // max(size, 1)
        if base < 1 or fix < 1 or max(base, fix) < lim.fix_min_steps:
            return None
        return base, fix
    step = ctx.step_time()
    steps = min(lim.fix_steps, int(seconds / (2.2 * step))) if step > 0 else lim.fix_steps
    return (steps, steps) if steps >= lim.fix_min_steps else None


def _fixed_batch(bench: Bench, remedy: str, lim: ProbeLimits = LIMITS) -> int:
    """The batch size a batch-size remedy tries: an eighth (at least 8), or 8x (at least the
    reference 32), within the collected samples."""
    bs, n = bench.batch_size, len(bench.all_train())
    if remedy == "smaller_batch":
        return max(8, bs // 8)
    return min(n, max(lim.reference_batch, bs * 8))


def try_fix(ctx: Context, cause: str, steps: int, fix_steps: int | None = None) -> ProbeOutcome:
    """The same run from the same weights, with and without the cause's generic remedy:
    ``steps`` unchanged, ``fix_steps`` (default: as many) with the remedy."""
    out = ProbeOutcome()
    b, lim = ctx.bench, ctx.limits
    remedy = REMEDIES[cause].key
    tf, fixed_batches, clip, change = _plan(ctx, remedy)
    evalset = b.train[:: max(1, len(b.train) // lim.first_batches)]  # spread over the data
    if fix_steps is None:
        fix_steps = steps
        if remedy in BATCH_REMEDIES:  # equal samples
            fix_steps = max(1, steps * b.batch_size // max(len(fixed_batches[0]), 1))
    if remedy in BATCH_REMEDIES:
        epochs = steps * b.batch_size / max(len(b.all_train()), 1)
        change = f"{change}, the same {epochs:.3g} epochs"
    model, opt, crit = b.fresh()
    start = eval_loss(model, crit, evalset)
    train_steps(model, opt, crit, b.train, steps)
    base_end = eval_loss(model, crit, evalset)
    model, opt, crit = b.fresh()
    opt = tf(model, opt)
    train_steps(model, opt, crit, fixed_batches, fix_steps, clip=clip)
    if remedy == "standardize":
        x = float_inputs(b.all_train())
        step = max(1, len(fixed_batches) // lim.first_batches)
        fixed_eval = fixed_batches[::step] if x is not None else evalset
        fix_end = eval_loss(model, crit, fixed_eval)
    else:
        fix_end = eval_loss(model, crit, evalset)

    def drop(end: float) -> float:
        if not math.isfinite(end):
            return -100.0
        return 100 * (1 - end / start) if start > 0 else 0.0

    base_drop, fix_drop = drop(base_end), drop(fix_end)
    out.values.update(
        remedy=remedy,
        change=change,
        base_drop_pct=round(base_drop, 2),
        fix_drop_pct=round(fix_drop, 2),
    )
    vals = dict(
        change=change,
        steps=fix_steps,
        fix_drop_pct=fix_drop,
        base_drop_pct=base_drop,
        base_end=base_end,
        fix_end=fix_end,
    )
    better_end = math.isfinite(fix_end) and (
        not math.isfinite(base_end) or fix_end <= lim.fix_rel_end * base_end
    )
    if (
        better_end
        and fix_drop - base_drop >= lim.fix_min_gain_pct
        and fix_drop >= lim.fix_min_gain_pct
    ):
        gain = fix_drop - base_drop
        out.add(f"probe.fix.{remedy}", grade(gain, lim.fix_min_gain_pct, 50.0), **vals)
    elif fix_steps < lim.fix_min_steps or (
        remedy in BATCH_REMEDIES and max(base_drop, fix_drop) < lim.fix_min_gain_pct
    ):
        # A larger batch over the user's samples takes few steps: enough to show a fix that
        # works (the unchanged run diverged), too few to show that it does not. And where
        # neither batch size learned from the same samples, they were too few to tell.
        out.values.update(inconclusive=True, steps=fix_steps)
    else:
        out.add(f"probe.nofix.{remedy}", 0.8, **vals)
    return out


PROBES: dict[str, Callable[[Context], ProbeOutcome]] = {
    "labels_and_data": probe_labels_and_data,
    "gradient_flow": probe_gradient_flow,
    "initial_loss": probe_initial_loss,
    "overfit_batch": probe_overfit_batch,
    "lr_range": probe_lr_range,
    "input_dependence": probe_input_dependence,
    "val_gap": probe_val_gap,
    "loop_replay": probe_loop_replay,
}

# Which causes each experiment tells apart: the probe chooser ranks probes by how much of the
# contention among the leading causes they bear on.
BEARS_ON: dict[str, frozenset[str]] = {
    "labels_and_data": frozenset(
        {
            "loss_function",
            "data_not_shuffled",
            "class_imbalance",
            "data_not_normalized",
            "noisy_data",
            "feature_selection",
        }
    ),
    "gradient_flow": frozenset(
        {"gradient_bug", "dead_relu", "weight_initialization", "model_structure"}
    ),
    "initial_loss": frozenset({"weight_initialization", "loss_function", "activation_function"}),
    "overfit_batch": frozenset(
        {
            "gradient_bug",
            "model_structure",
            "activation_function",
            "loss_function",
            "weight_initialization",
            "dead_relu",
            "vanishing_gradients",
            "learning_rate_too_high",
            "learning_rate_too_low",
            "optimizer_choice",
            "noisy_data",
            "insufficient_training",
        }
    ),
    "lr_range": frozenset(
        {
            "learning_rate_too_high",
            "learning_rate_too_low",
            "exploding_gradients",
            "optimizer_choice",
            "batch_size_too_small",
        }
    ),
    "input_dependence": frozenset({"feature_selection", "noisy_data", "model_structure"}),
    "val_gap": frozenset({"overfitting"}),
    "loop_replay": frozenset(
        {"gradient_bug", "learning_rate_too_high", "exploding_gradients", "dead_relu"}
    ),
}
CHEAP = ("labels_and_data", "gradient_flow", "initial_loss")


def concat_targets(batches: Sequence[Batch]) -> torch.Tensor:
    return concat(batches).targets
