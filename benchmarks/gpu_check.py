"""lossexpert.watch on a GPU: overhead, host syncs, AMP-skipped steps and peak memory.

    python benchmarks/gpu_check.py            # on CUDA: the measurements below, ~3 minutes
    python benchmarks/gpu_check.py --dry-run  # tiny sizes on CPU (auto when no CUDA)

For three models — a launch-bound MLP (many small kernels: where Python-side hooks would
show), ResNet-18 (torchvision's when importable, else a hand-written ResNet-18-like CNN with
the same stages), and a small fp16 transformer trained with autocast and ``GradScaler`` — and
two settings of ``watch`` (default sampling, and ``every=1``: a full sample every step):

- **overhead**: per-step time of the steady state (after the dense window), plain vs watched,
  one process, same seed, runs alternating plain / watched, median of ``--repeats``;
- **host syncs** per 500 steady-state steps, counted from the warnings of
  ``torch.cuda.set_sync_debug_mode("warn")`` (plain vs watched): the only extra syncs should
  be the batched device->host copies (one per 256 logged losses, one per 16 samples);
- **AMP-skipped steps**: the transformer starts with a loss scale that overflows fp16
  (2^40), so ``GradScaler`` skips
  steps while it backs off; the count ``watch`` recorded (``amp_skipped_step`` events) is
  compared with the scaler's own (steps where its scale went down);
- **peak memory**: ``torch.cuda.max_memory_allocated`` of the watched and the plain run.

Prints a Markdown table (the CPU fallback prints "n/a" where CUDA is needed).
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import tempfile
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

import lossexpert


@dataclass
class Case:
    name: str
    make: Callable[[], nn.Module]
    batch: Callable[[torch.device], tuple[torch.Tensor, torch.Tensor]]
    amp: bool = False


# ------------------------------------------------------------------ models


def mlp(width: int, depth: int) -> nn.Module:
    layers: list[nn.Module] = [nn.Flatten()]
    for _ in range(depth):
        layers += [nn.Linear(width, width), nn.ReLU()]
    return nn.Sequential(*layers, nn.Linear(width, 10))


class Block(nn.Module):
    def __init__(self, cin: int, cout: int, stride: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.relu = nn.ReLU()
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.down = (
            nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))
            if stride != 1 or cin != cout
            else nn.Identity()
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return torch.relu(out + self.down(x))


def resnet18_like(width: int = 64, classes: int = 10) -> nn.Module:
    """ResNet-18's layout (stem, 4 stages x 2 basic blocks, 64-128-256-512) when torchvision
    is not installed; ``width`` scales the channels for the CPU dry run."""
    chans = [width, 2 * width, 4 * width, 8 * width]
    layers: list[nn.Module] = [
        nn.Conv2d(3, width, 7, 2, 3, bias=False),
        nn.BatchNorm2d(width),
        nn.ReLU(),
        nn.MaxPool2d(3, 2, 1),
    ]
    cin = width
    for i, c in enumerate(chans):
        layers += [Block(cin, c, 1 if i == 0 else 2), Block(c, c, 1)]
        cin = c
    layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(cin, classes)]
    return nn.Sequential(*layers)


def resnet18(small: bool) -> tuple[str, Callable[[], nn.Module]]:
    if not small:
        try:
            import torchvision  # type: ignore[import-not-found, unused-ignore]

            return "ResNet-18 (torchvision)", lambda: torchvision.models.resnet18(
                num_classes=10
            )
        except ImportError:
            pass
    width = 4 if small else 64
    return f"ResNet-18-like CNN (width {width})", lambda: resnet18_like(width)


class Transformer(nn.Module):
    def __init__(self, vocab: int, dim: int, layers: int, heads: int) -> None:
        super().__init__()
        self.embed = nn.Embedding(vocab, dim)
        layer = nn.TransformerEncoderLayer(dim, heads, 4 * dim, dropout=0.0, batch_first=True)
        self.encoder = nn.TransformerEncoder(layer, layers, enable_nested_tensor=False)
        self.head = nn.Linear(dim, vocab)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        out: torch.Tensor = self.head(self.encoder(self.embed(tokens)))
        return out.reshape(-1, out.shape[-1])


def cases(small: bool) -> list[Case]:
    width, depth, batch = (32, 4, 8) if small else (256, 8, 32)
    image, image_batch = (16, 2) if small else (112, 64)
    vocab, dim, nlayers, seq, tbatch = (50, 32, 2, 16, 4) if small else (8000, 512, 6, 128, 32)
    res_name, res_make = resnet18(small)

    def mlp_batch(device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
        return torch.randn(batch, width, device=device), torch.randint(
            0, 10, (batch,), device=device
        )

    def image_data(device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
        return torch.randn(image_batch, 3, image, image, device=device), torch.randint(
            0, 10, (image_batch,), device=device
        )

    def tokens(device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
        t = torch.randint(0, vocab, (tbatch, seq + 1), device=device)
        return t[:, :-1], t[:, 1:].reshape(-1)

    return [
        Case(f"MLP {depth} x {width}, batch {batch} (launch-bound)", lambda: mlp(width, depth),
             mlp_batch),
        Case(f"{res_name}, {image}x{image}, batch {image_batch}", res_make, image_data),
        Case(
            f"Transformer {nlayers} x {dim}, seq {seq}, batch {tbatch}, fp16 + GradScaler",
            lambda: Transformer(vocab, dim, nlayers, 8 if dim >= 64 else 4),
            tokens,
            amp=True,
        ),
    ]


# ------------------------------------------------------------------ one run


def run_once(
    case: Case,
    device: torch.device,
    watch: dict[str, Any] | None,
    path: Path,
    warmup: int,
    steps: int,
    init_scale: float | None = None,
) -> dict[str, Any]:
    """``warmup`` steps (the dense window), then ``steps`` timed steady-state steps."""
    torch.manual_seed(0)
    model = case.make().to(device)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4)
    crit = nn.CrossEntropyLoss()
    x, y = case.batch(device)
    cuda = device.type == "cuda"
    amp_dtype = torch.float16  # CPU autocast supports fp16 too (the dry run)
    scaler = (
        torch.amp.GradScaler(device.type, init_scale=init_scale or 2.0**16)
        if case.amp
        else None
    )
    scale_drops = 0
    if cuda:
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
    run = (
        lossexpert.watch(model, opt, path, criterion=crit, scaler=scaler, **watch)
        if watch is not None
        else None
    )

    def step() -> torch.Tensor:
        with torch.autocast(device.type, dtype=amp_dtype, enabled=case.amp):
            loss = crit(model(x), y)
        opt.zero_grad(set_to_none=True)
        if scaler is not None:
            scaler.scale(loss).backward()
            scaler.step(opt)
            scaler.update()
        else:
            loss.backward()
            opt.step()
        if run is not None:
            run.log("train", loss)
        return loss

    for _ in range(warmup):
        step()
    if cuda:
        torch.cuda.synchronize()
    syncs = 0
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        if cuda:
            torch.cuda.set_sync_debug_mode("warn")
        start = time.perf_counter()
        for _ in range(steps):
            step()
        if cuda:
            torch.cuda.set_sync_debug_mode(0)
            torch.cuda.synchronize()
        elapsed = time.perf_counter() - start
        syncs = sum("synchroniz" in str(w.message) for w in caught)
    result: dict[str, Any] = {"ms": 1000 * elapsed / steps, "syncs": syncs if cuda else None}
    if run is not None:
        run.close()
    if cuda:
        result["peak_mb"] = torch.cuda.max_memory_allocated() / 2**20
    if init_scale is not None and scaler is not None:
        # The scaler's own count: a skipped step halves the scale (backoff 0.5).
        scale_drops = round(math.log2(init_scale / scaler.get_scale()))
        result["scaler_skipped"] = scale_drops
    return result


def amp_check(case: Case, device: torch.device, path: Path, steps: int) -> tuple[int, int]:
    """Steps GradScaler skipped (by its own scale) vs steps ``watch`` recorded as skipped.

    The scale only goes down on a skip (growth needs 2000 clean steps), so the number of
    halvings from the overflowing start is the scaler's skip count."""
    init = 2.0**40
    result = run_once(case, device, {}, path, 0, steps, init_scale=init)
    recorded = sum(
        1
        for line in path.read_text().splitlines()
        if '"amp_skipped_step"' in line and json.loads(line)["type"] == "event"
    )
    return int(result["scaler_skipped"]), recorded


# ------------------------------------------------------------------ main


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dry-run", action="store_true", help="tiny sizes on CPU")
    parser.add_argument("--steps", type=int, default=500, help="timed steady-state steps")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    cuda = torch.cuda.is_available() and not args.dry_run
    device = torch.device("cuda" if cuda else "cpu")
    small = not cuda
    if small:
        torch.set_num_threads(1)
    steps = args.steps if cuda else min(args.steps, 20)
    repeats = args.repeats if cuda else 1
    # Past the dense window: 200 steps at the default; 10 with the dry run's dense_steps=10.
    dense = {} if cuda else {"dense_steps": 10}
    warmup = 250 if cuda else 12
    every_step = {**dense, "every": 1, "dense_every": 1, "overhead_budget": None}
    settings = {"default": dict(dense), "every=1": every_step}
    rows = []
    amp_rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for case in cases(small):
            for label, options in settings.items():
                plain: list[dict[str, Any]] = []
                watched: list[dict[str, Any]] = []
                for r in range(repeats):
                    for use in (True, False) if r % 2 else (False, True):
                        path = Path(tmp) / f"run-{len(rows)}-{r}-{use}.jsonl"
                        out = run_once(case, device, options if use else None, path, warmup,
                                       steps)
                        (watched if use else plain).append(out)
                p = statistics.median(o["ms"] for o in plain)
                w = statistics.median(o["ms"] for o in watched)
                rows.append(
                    {
                        "model": case.name,
                        "setting": label,
                        "plain_ms": p,
                        "watched_ms": w,
                        "ratio": w / p,
                        "syncs_plain": plain[0]["syncs"],
                        "syncs_watched": watched[0]["syncs"],
                        "peak_plain": plain[0].get("peak_mb"),
                        "peak_watched": watched[0].get("peak_mb"),
                    }
                )
            if case.amp:
                scaler_count, recorded = amp_check(
                    case, device, Path(tmp) / "amp.jsonl", 60 if cuda else 30
                )
                amp_rows.append((case.name, scaler_count, recorded))
    name = torch.cuda.get_device_name() if cuda else "CPU dry run (tiny sizes)"
    per = f"per {steps} steps"
    print(f"{name}, torch {torch.__version__}, {steps} steady-state steps, median of {repeats}")
    print()
    print(
        f"| model | watch | plain ms/step | watched ms/step | ratio | host syncs {per} "
        "(plain / watched) | peak MB (plain / watched) |"
    )
    print("|---|---|---|---|---|---|---|")

    def fmt(v: Any, spec: str) -> str:
        return "n/a" if v is None else format(v, spec)

    for r in rows:
        print(
            f"| {r['model']} | {r['setting']} | {r['plain_ms']:.3f} | {r['watched_ms']:.3f} | "
            f"{r['ratio']:.3f}x | {fmt(r['syncs_plain'], 'd')} / {fmt(r['syncs_watched'], 'd')} "
            f"| {fmt(r['peak_plain'], '.0f')} / {fmt(r['peak_watched'], '.0f')} |"
        )
    print()
    print("| model | AMP-skipped steps (GradScaler) | recorded by watch |")
    print("|---|---|---|")
    for model, scaler_count, recorded in amp_rows:
        print(f"| {model} | {scaler_count} | {recorded} |")


if __name__ == "__main__":
    main()
