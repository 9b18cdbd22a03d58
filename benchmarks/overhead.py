"""Overhead of lossexpert.watch on a training loop: same process, same seed, with and without.

    python benchmarks/overhead.py [--steps 300] [--repeats 9]

For a small CPU MLP and a small CPU CNN, times blocks of training steps of one model with the
collector on (default settings, logging the loss tensor every step) and paused (hooks
detached, nothing logged), alternating the order, and reports the ratio of the median
per-step times. Prints a Markdown table.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

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


def block(
    model: nn.Module,
    opt: torch.optim.Optimizer,
    crit: nn.Module,
    x: torch.Tensor,
    y: torch.Tensor,
    steps: int,
    log: Callable[[torch.Tensor], None] | None,
) -> float:
    start = time.perf_counter()
    for _ in range(steps):
        loss = crit(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        if log is not None:
            log(loss)
    return (time.perf_counter() - start) / steps


def measure(
    name: str,
    make: Callable[[], nn.Module],
    shape: tuple[int, ...],
    steps: int,
    repeats: int,
    workdir: Path,
) -> dict[str, float | str]:
    """One model, one optimizer; blocks alternate between the collector on and paused."""
    torch.manual_seed(0)
    model = make()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    x, y = torch.randn(*shape), torch.randint(0, 10, (shape[0],))
    crit = nn.CrossEntropyLoss()
    plain: list[float] = []
    watched: list[float] = []
    with lossexpert.watch(model, opt, workdir / f"{name[:3]}.jsonl", criterion=crit) as run:

        def log(loss: torch.Tensor) -> None:
            run.log("train", loss)

        # Warm up, and get past the dense early phase: the steady state is what is timed.
        block(model, opt, crit, x, y, 250, log)
        for r in range(repeats):
            for use in (True, False) if r % 2 else (False, True):
                if use:
                    watched.append(block(model, opt, crit, x, y, steps, log))
                else:
                    run.pause()
                    plain.append(block(model, opt, crit, x, y, steps, None))
                    run.resume()
    p, w = statistics.median(plain), statistics.median(watched)
    return {
        "model": name,
        "plain_ms": 1000 * p,
        "watched_ms": 1000 * w,
        "overhead_pct": 100 * (w / p - 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--repeats", type=int, default=15)
    args = parser.parse_args()
    torch.set_num_threads(1)
    with tempfile.TemporaryDirectory() as tmp:
        rows = [
            measure(
                "MLP 784-256-256-10, batch 64", mlp, (64, 784), args.steps, args.repeats, Path(tmp)
            ),
            measure(
                "CNN 2 conv + fc, 28x28, batch 32",
                cnn,
                (32, 1, 28, 28),
                args.steps,
                args.repeats,
                Path(tmp),
            ),
        ]
    print(
        f"torch {torch.__version__}, 1 thread, {args.repeats} repeats x {args.steps} steps, "
        "median per-step time"
    )
    print("| model | without (ms/step) | with watch (ms/step) | overhead |")
    print("|---|---|---|---|")
    for r in rows:
        print(
            f"| {r['model']} | {r['plain_ms']:.3f} | {r['watched_ms']:.3f} | "
            f"{r['overhead_pct']:+.2f}% |"
        )


if __name__ == "__main__":
    main()
