"""Peak extra memory of lossexpert.watch: the same training in two fresh processes, with and
without the collector, compared by their peak resident set size.

    python benchmarks/memory.py                    # 100M-parameter MLP (24 x Linear 2048x2048)
    python benchmarks/memory.py --width 1024 --depth 16 --steps 12

Why peak RSS of separate processes: the collector's memory is mostly torch tensors, which
tracemalloc does not see (they come from torch's C++ allocator), and an in-process delta
would mix the two runs' allocator state. ``ru_maxrss`` is the kernel's high-water mark of the
whole process, torch included; on Linux large tensors are mmap-ed and returned on free, so the
mark follows what is live at the worst moment. Both children import the same modules (the
plain one imports the collector too), use 1 thread, the same seed and the same steps; the
steps include sampled ones (0 and 10 in the dense window), where the collector used to copy
every weight. glibc's dynamic mmap threshold is pinned (``MALLOC_MMAP_THRESHOLD_=65536``)
in both children: otherwise, after the first large free, glibc serves multi-MB tensors from
the heap, freed memory stays resident, and the peak depends on fragmentation (run-to-run
spread of +-80 MB seen on this machine without it). The target (issue 12): extra <= 2 % of
the parameters' bytes + 64 MB.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path


def child(width: int, depth: int, steps: int, watched: bool, path: str) -> dict[str, float]:
    import resource

    import torch
    from torch import nn

    import lossexpert
    import lossexpert.collectors.torch_watch  # imported in both: the same baseline

    torch.set_num_threads(1)
    torch.manual_seed(0)
    layers: list[nn.Module] = []
    for _ in range(depth):
        layers += [nn.Linear(width, width), nn.ReLU()]
    model = nn.Sequential(*layers[:-1])
    opt = torch.optim.SGD(model.parameters(), lr=1e-3)
    crit = nn.MSELoss()
    x, y = torch.randn(8, width), torch.randn(8, width)
    run = lossexpert.watch(model, opt, path, criterion=crit) if watched else None
    for _ in range(steps):
        loss = crit(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        if run is not None:
            run.log("train", loss)
    if run is not None:
        run.close()
    params = sum(p.numel() * p.element_size() for p in model.parameters())
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    return {"peak_mb": peak_kb / 1024, "param_mb": params / 2**20}


def measure(width: int, depth: int, steps: int) -> dict[str, float]:
    """Peak RSS without and with watch, each in a fresh process."""
    out: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for watched in (False, True):
            cmd = [
                sys.executable,
                __file__,
                "--child",
                "--width",
                str(width),
                "--depth",
                str(depth),
                "--steps",
                str(steps),
                "--path",
                str(Path(tmp) / "run.jsonl"),
            ] + (["--watched"] if watched else [])
            env = dict(os.environ, MALLOC_MMAP_THRESHOLD_="65536", OMP_NUM_THREADS="1")
            done = subprocess.run(cmd, capture_output=True, text=True, timeout=900, env=env)
            if done.returncode:
                raise RuntimeError(f"child failed ({done.returncode}): {done.stderr[-2000:]}")
            result = json.loads(done.stdout.strip().splitlines()[-1])
            out["watched_mb" if watched else "plain_mb"] = result["peak_mb"]
            out["param_mb"] = result["param_mb"]
    out["extra_mb"] = out["watched_mb"] - out["plain_mb"]
    out["budget_mb"] = 0.02 * out["param_mb"] + 64
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--width", type=int, default=2048)
    parser.add_argument("--depth", type=int, default=24)
    parser.add_argument("--steps", type=int, default=12)
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--watched", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--path", default="", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(args.width, args.depth, args.steps, args.watched, args.path)))
        return
    r = measure(args.width, args.depth, args.steps)
    params = r["param_mb"] * 2**20 / 4
    print(
        f"MLP {args.depth} x Linear {args.width}x{args.width} ({params / 1e6:.1f}M parameters, "
        f"{r['param_mb']:.0f} MB), SGD, batch 8, {args.steps} steps, 1 thread"
    )
    print("| peak RSS without | with watch | extra | budget (2 % of params + 64 MB) |")
    print("|---|---|---|---|")
    print(
        f"| {r['plain_mb']:.0f} MB | {r['watched_mb']:.0f} MB | {r['extra_mb']:+.1f} MB | "
        f"{r['budget_mb']:.1f} MB |"
    )


if __name__ == "__main__":
    main()
