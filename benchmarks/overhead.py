"""Overhead of lossexpert.watch on a training loop: same process, same seed, with and without.

    python benchmarks/overhead.py [--steps 200] [--repeats 31] [--fresh-steps 1000]
                                  [--fresh-repeats 9] [--clock wall|cpu]
                                  [--budget FRACTION] [--only fresh|steady]

(``--budget`` runs ``watch`` with another ``overhead_budget``, to compare settings; ``--only``
runs one of the two measurements.)

For a small CPU MLP and a small CPU CNN, two measurements:

- **steady state**: blocks of ``--steps`` training steps of one model with the collector on
  (default settings, logging the loss tensor every step) and paused (hooks detached, nothing
  logged), after the dense early window and the time budget's first look (600 steps of
  warm-up), alternating the order;
- **fresh watch, first ``--fresh-steps`` steps**: a new model (same seed) trained from step
  0, once plain and once inside a ``watch`` created for it; the timed region holds the
  ``watch`` call (config, layer info, file), the dense sampling window, the data statistics
  of the first batches, every ``run.log`` and ``close`` (flush and fsync). Plain and watched
  runs alternate in order.

Each watched block or run is paired with the plain one next to it in time; the overhead is the
median of the paired ratios (a drift of the machine's speed cancels within a pair) and the
interquartile range of those ratios says how far one pair can be trusted.

``--clock cpu`` times with ``time.process_time`` (CPU time of this process, 1 torch thread)
instead of the wall clock: on a shared machine other jobs then only add cache noise, not
whole time slices. It leaves out time spent waiting on the disk (the ``fsync`` at ``close``,
a few ms), which the wall clock includes.

Prints a Markdown table.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

import lossexpert


def mlp() -> nn.Module:
    return nn.Sequential(
        nn.Flatten(),
        nn.Linear(784, 256),
        nn.ReLU(),
        nn.Linear(256, 256),
        nn.ReLU(),
        nn.Linear(256, 10),
    )


def cnn() -> nn.Module:
    return nn.Sequential(
        nn.Conv2d(1, 16, 3),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(16, 32, 3),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(32 * 5 * 5, 10),
    )


CLOCK: Callable[[], float] = time.perf_counter
WATCH_KWARGS: dict[str, Any] = {}  # --budget: a non-default overhead_budget, to compare


def block(
    model: nn.Module,
    opt: torch.optim.Optimizer,
    crit: nn.Module,
    x: torch.Tensor,
    y: torch.Tensor,
    steps: int,
    log: Callable[[torch.Tensor], None] | None,
    times: list[float] | None = None,
) -> float:
    """Mean time per training step; ``times`` collects each step's own (``--in-loop``)."""
    start = last = CLOCK()
    for _ in range(steps):
        loss = crit(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        if log is not None:
            log(loss)
        if times is not None:
            now = CLOCK()
            times.append(now - last)
            last = now
    return (CLOCK() - start) / steps


def _problem(
    make: Callable[[], nn.Module], shape: tuple[int, ...]
) -> tuple[nn.Module, torch.optim.Optimizer, nn.Module, torch.Tensor, torch.Tensor]:
    """The seeded model, its Adam, the loss and one fixed batch every measurement trains on."""
    torch.manual_seed(0)
    model = make()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    x, y = torch.randn(*shape), torch.randint(0, 10, (shape[0],))
    return model, opt, nn.CrossEntropyLoss(), x, y


def measure(
    name: str,
    make: Callable[[], nn.Module],
    shape: tuple[int, ...],
    steps: int,
    repeats: int,
    workdir: Path,
) -> dict[str, float | str]:
    """One model, one optimizer; blocks alternate between the collector on and paused."""
    model, opt, crit, x, y = _problem(make, shape)
    plain: list[float] = []
    watched: list[float] = []
    with lossexpert.watch(
        model, opt, workdir / f"{name[:3]}.jsonl", criterion=crit, **WATCH_KWARGS
    ) as run:

        def log(loss: torch.Tensor) -> None:
            run.log("train", loss)

        # Warm up, and get past the dense early phase and the time budget's first look
        # (3 samples after step 200): the steady state is what is timed.
        block(model, opt, crit, x, y, 600, log)
        for r in range(repeats):
            for use in (True, False) if r % 2 else (False, True):
                if use:
                    watched.append(block(model, opt, crit, x, y, steps, log))
                else:
                    run.pause()
                    plain.append(block(model, opt, crit, x, y, steps, None))
                    run.resume()
    return _summary(name, plain, watched, 1)


def fresh(
    name: str,
    make: Callable[[], nn.Module],
    shape: tuple[int, ...],
    steps: int,
    repeats: int,
    workdir: Path,
) -> dict[str, float | str]:
    """Whole runs from step 0: plain vs a watch created (and closed) inside the timing."""
    x, y = torch.randn(*shape), torch.randint(0, 10, (shape[0],))
    crit = nn.CrossEntropyLoss()

    def one(watched: bool, index: int) -> float:
        torch.manual_seed(0)
        model = make()
        opt = torch.optim.Adam(model.parameters(), lr=1e-3)
        start = CLOCK()
        if watched:
            path = workdir / f"fresh-{name[:3]}-{index}.jsonl"
            with lossexpert.watch(model, opt, path, criterion=crit, **WATCH_KWARGS) as run:
                block(model, opt, crit, x, y, steps, lambda loss: run.log("train", loss))
        else:
            block(model, opt, crit, x, y, steps, None)
        return CLOCK() - start

    one(True, -1)  # warm up both paths (first calls of every kernel, imports)
    one(False, -1)
    plain: list[float] = []
    watched: list[float] = []
    for r in range(repeats):
        for use in (True, False) if r % 2 else (False, True):
            (watched if use else plain).append(one(use, r))
    return _summary(name, plain, watched, steps)


def in_loop(
    name: str,
    make: Callable[[], nn.Module],
    shape: tuple[int, ...],
    every: int,
    blocks: int,
    workdir: Path,
) -> dict[str, float | str]:
    """Per-step clocks inside the loop (``--in-loop``): blocks of ``every`` steps alternate
    between the collector on (sampling exactly every ``every`` steps, no time budget) and
    paused. What every step costs is the ratio of the median steps; what a sample costs, the
    extra time of the steps around it over a watched mid-interval step (mean per position in
    the interval, less the mid-interval mean); the whole, their sum. Each is read over
    thousands of steps (medians where one disturbed step must not count), so it resolves
    tenths of a per cent where the block benchmark's pairs cannot."""
    model, opt, crit, x, y = _problem(make, shape)
    on: list[list[float]] = []
    off: list[list[float]] = []
    first = 0
    with lossexpert.watch(
        model,
        opt,
        workdir / f"loop-{name[:3]}.jsonl",
        criterion=crit,
        every=every,
        overhead_budget=None,
    ) as run:

        def log(loss: torch.Tensor) -> None:
            run.log("train", loss)

        block(model, opt, crit, x, y, 600, log)
        for r in range(blocks):
            for use in (True, False) if r % 2 else (False, True):
                times: list[float] = []
                if use:
                    first = first or run.step
                    block(model, opt, crit, x, y, every, log, times)
                    on.append(times)
                else:
                    run.pause()
                    block(model, opt, crit, x, y, every, None, times)
                    run.resume()
                    off.append(times)
    watched, plain = np.array(on), np.array(off)
    phase = (np.arange(every) + first) % every  # position of each column in the interval
    mid = watched[:, (phase > _AROUND) & (phase < every - _AROUND)]
    per_step = float(np.median(watched) / np.median(plain) - 1)
    sample_s = float((watched.mean(axis=0) - mid.mean()).sum())
    sample_share = sample_s / (every * float(plain.mean()))
    return {
        "model": name,
        "plain_ms": 1000 * float(plain.mean()),
        "watched_ms": 1000 * float(watched.mean()),
        "per_step_pct": 100 * per_step,
        "sample_ms": 1000 * sample_s,
        "sample_pct": 100 * sample_share,
        "overhead_pct": 100 * (per_step + sample_share),
    }


# Steps either side of a sample that its cost may reach (hooks attached the step before, the
# gradient-reset look and refilled caches after): the rest of the interval is "mid-interval".
_AROUND = 10


def _summary(
    name: str, plain: list[float], watched: list[float], steps: int
) -> dict[str, float | str]:
    """Median of the paired ratios (each watched block against the plain block next to it, so
    a drift of the machine's speed cancels), and their interquartile range as the spread."""
    ratios = sorted(w / p for p, w in zip(plain, watched, strict=True))
    q1, _, q3 = statistics.quantiles(ratios, n=4) if len(ratios) > 1 else (ratios * 3)
    return {
        "model": name,
        "plain_ms": 1000 * statistics.median(plain) / steps,
        "watched_ms": 1000 * statistics.median(watched) / steps,
        "overhead_pct": 100 * (statistics.median(ratios) - 1),
        "q1_pct": 100 * (q1 - 1),
        "q3_pct": 100 * (q3 - 1),
    }


MODELS: list[tuple[str, Callable[[], nn.Module], tuple[int, ...]]] = [
    ("MLP 784-256-256-10, batch 64", mlp, (64, 784)),
    ("CNN 2 conv + fc, 28x28, batch 32", cnn, (32, 1, 28, 28)),
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--repeats", type=int, default=31)
    parser.add_argument("--fresh-steps", type=int, default=1000)
    parser.add_argument("--fresh-repeats", type=int, default=9)
    parser.add_argument("--clock", choices=("wall", "cpu"), default="wall")
    parser.add_argument(
        "--budget", type=float, default=None, help="overhead_budget (default: watch's own)"
    )
    parser.add_argument("--only", choices=("fresh", "steady"), default=None)
    parser.add_argument(
        "--in-loop",
        type=int,
        default=None,
        metavar="EVERY",
        help="per-step clocks in the loop, sampling every EVERY steps (see in_loop)",
    )
    parser.add_argument("--blocks", type=int, default=40, help="--in-loop: pairs of blocks")
    args = parser.parse_args()
    if args.budget is not None:
        WATCH_KWARGS["overhead_budget"] = args.budget
    global CLOCK
    CLOCK = time.process_time if args.clock == "cpu" else time.perf_counter
    torch.set_num_threads(1)
    if args.in_loop is not None:
        _print_in_loop(args.in_loop, args.blocks, args.clock)
        return
    rows: list[tuple[str, dict[str, float | str]]] = []
    with tempfile.TemporaryDirectory() as tmp:
        for name, make, shape in MODELS:
            if args.only != "steady":
                rows.append(
                    (
                        f"fresh watch, first {args.fresh_steps} steps",
                        fresh(name, make, shape, args.fresh_steps, args.fresh_repeats, Path(tmp)),
                    )
                )
            if args.only != "fresh":
                rows.append(
                    (
                        "steady state",
                        measure(name, make, shape, args.steps, args.repeats, Path(tmp)),
                    )
                )
    print(
        f"torch {torch.__version__}, 1 thread, {args.clock} clock; steady state: "
        f"{args.repeats} repeats x {args.steps} steps, median per-step time; "
        f"fresh: {args.fresh_repeats} runs each, median run time"
    )
    print(
        "| model | window | without (ms/step) | with watch (ms/step) | overhead "
        "(median of paired ratios) | interquartile range |"
    )
    print("|---|---|---|---|---|---|")
    for window, r in rows:
        print(
            f"| {r['model']} | {window} | {r['plain_ms']:.3f} | {r['watched_ms']:.3f} | "
            f"{r['overhead_pct']:+.2f}% | {r['q1_pct']:+.1f}% .. {r['q3_pct']:+.1f}% |"
        )


def _print_in_loop(every: int, blocks: int, clock: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        rows = [in_loop(n, make, shape, every, blocks, Path(tmp)) for n, make, shape in MODELS]
    print(
        f"torch {torch.__version__}, 1 thread, {clock} clock; in the loop: {blocks} pairs of "
        f"{every}-step blocks, one sample per watched block"
    )
    print(
        "| model | without (ms/step, mean) | with watch | every step (median step) "
        "| a sample (ms; share at this interval) | in all |"
    )
    print("|---|---|---|---|---|---|")
    for r in rows:
        print(
            f"| {r['model']} | {r['plain_ms']:.3f} | {r['watched_ms']:.3f} | "
            f"{r['per_step_pct']:+.2f}% | {r['sample_ms']:.2f} ({r['sample_pct']:+.2f}%) | "
            f"{r['overhead_pct']:+.2f}% |"
        )


if __name__ == "__main__":
    main()
