"""Speed and scale of lossexpert: cold start, in-process latency, and scaling with run size.

    python benchmarks/speed/run.py [--repeats 5] [--quick]

Prints Markdown tables. Every figure is a median over ``--repeats`` runs. Each scaling point
runs in a fresh subprocess so its peak memory (max RSS) is its own; the run file is written
first, outside the timing. "load" is reading + validating the file, "diagnose" the features,
the rule engine and the report model.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
TYPICAL = ROOT / "examples" / "runs" / "overfitting_small_data.json"

CHILD = r"""
import json, sys, time

def peak_kb():
    # VmHWM: this process's peak resident set (ru_maxrss would include the parent's, which
    # a forked child inherits).
    with open("/proc/self/status") as f:
        return next(int(line.split()[1]) for line in f if line.startswith("VmHWM"))

with open("/proc/self/clear_refs", "w") as f:
    f.write("5")  # reset the peak to the current RSS
t0 = time.perf_counter()
import lossexpert
t1 = time.perf_counter()
rss0 = peak_kb()
loaded = lossexpert.load_run(sys.argv[1])
t2 = time.perf_counter()
d = lossexpert.diagnose(loaded)
t3 = time.perf_counter()
rss1 = peak_kb()
print(json.dumps({"import": t1 - t0, "load": t2 - t1, "diagnose": t3 - t2,
                  "peak_mb": rss1 / 1024, "growth_mb": (rss1 - rss0) / 1024,
                  "healthy": d.healthy}))
"""


def synthetic_run(points: int, layers: int, layer_steps: int = 100) -> dict[str, Any]:
    """A healthy-looking run: decaying noisy loss per split, per-layer statistics."""
    import numpy as np

    rng = np.random.default_rng(0)
    t = np.linspace(0, 1, points)
    curves = {}
    for split, offset in (("train", 0.0), ("val", 0.1), ("test", 0.12)):
        loss = 0.1 + offset + 2.2 * np.exp(-6 * t) + rng.normal(0, 0.02, points)
        curves[split] = {"step": list(range(points)), "loss": np.round(loss, 5).tolist()}
    steps = np.linspace(0, points - 1, layer_steps).astype(int).tolist()
    layer_list = []
    for i in range(layers):
        layer_list.append(
            {
                "name": f"block{i}.linear",
                "type": "Linear",
                "activation": "relu",
                "fan_in": 256,
                "init_weight_std": 0.088,
                "step": steps,
                "grad_norm": np.round(rng.uniform(0.5, 1.5, layer_steps), 5).tolist(),
                "weight_norm": np.round(rng.uniform(10, 12, layer_steps), 4).tolist(),
                "update_ratio": np.round(rng.uniform(5e-4, 2e-3, layer_steps), 7).tolist(),
                "dead_fraction": np.round(rng.uniform(0, 0.1, layer_steps), 4).tolist(),
            }
        )
    return {
        "config": {
            "task": "classification",
            "num_classes": 10,
            "learning_rate": 1e-3,
            "optimizer": {"name": "adam", "lr": 1e-3},
            "batch_size": 32,
        },
        "curves": curves,
        "layers": layer_list,
    }


def measure_child(path: Path, repeats: int) -> dict[str, float]:
    results = []
    for _ in range(repeats):
        out = subprocess.run(
            [sys.executable, "-c", CHILD, str(path)],
            capture_output=True,
            text=True,
            check=True,
            cwd=ROOT,
        )
        results.append(json.loads(out.stdout))
    return {
        k: statistics.median(r[k] for r in results)
        for k in ("import", "load", "diagnose", "peak_mb", "growth_mb")
    }


def cold_explain(repeats: int) -> float:
    exe = shutil.which("lossexpert")
    cmd = [exe] if exe else [sys.executable, "-m", "lossexpert.cli"]
    times = []
    for _ in range(repeats + 1):
        start = time.perf_counter()
        subprocess.run(
            [*cmd, "explain", str(TYPICAL), "--format", "json"], check=True, capture_output=True
        )
        times.append(time.perf_counter() - start)
    return statistics.median(times[1:])  # the first run warms the OS file cache


def in_process(repeats: int) -> tuple[float, float]:
    sys.path.insert(0, str(ROOT))
    import lossexpert

    run = lossexpert.load_run(TYPICAL)
    for _ in range(3):
        lossexpert.diagnose(TYPICAL)
    by_path, by_run = [], []
    for _ in range(max(10, repeats * 6)):
        start = time.perf_counter()
        lossexpert.diagnose(TYPICAL)
        by_path.append(time.perf_counter() - start)
        start = time.perf_counter()
        lossexpert.diagnose(run)
        by_run.append(time.perf_counter() - start)
    return statistics.median(by_path), statistics.median(by_run)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--quick", action="store_true", help="skip the 1e6-point sizes")
    args = parser.parse_args()
    # Imports read cached bytecode in any normal install; this machine sets
    # PYTHONDONTWRITEBYTECODE, so write it once, as pip does when it installs a wheel.
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(ROOT / "lossexpert")], check=True)
    size = TYPICAL.stat().st_size // 1024
    print(
        f"Machine: {os.cpu_count()} cores, Python {sys.version.split()[0]}; medians of "
        f"{args.repeats} runs.\n"
    )
    cold = cold_explain(args.repeats)
    path_ms, run_ms = in_process(args.repeats)
    print("| what | time |\n|---|---|")
    print(
        f"| cold `lossexpert explain` of a typical run ({size} KiB, 1.2k points, 3 layers) "
        f"| {cold * 1000:.0f} ms |"
    )
    print(f"| `diagnose(path)` in process, same run | {path_ms * 1000:.1f} ms |")
    print(f"| `diagnose(run)` in process, already loaded | {run_ms * 1000:.1f} ms |")
    sizes = [
        (1_000, 10),
        (10_000, 10),
        (100_000, 10),
        (1_000_000, 10),
        (10_000, 100),
        (10_000, 1_000),
        (1_000_000, 200),
    ]
    if args.quick:
        sizes = [s for s in sizes if s[0] < 1_000_000]
    print(
        "\n| points per split (x3) | layers | file | load | diagnose | total | peak RSS "
        "| of which the run |"
    )
    print("|---|---|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as tmp:
        for points, layers in sizes:
            path = Path(tmp) / f"run_{points}_{layers}.json"
            path.write_text(json.dumps(synthetic_run(points, layers)))
            m = measure_child(
                path, max(1, args.repeats // 2) if points >= 1_000_000 else args.repeats
            )
            mb = path.stat().st_size / 2**20
            print(
                f"| {points:,} | {layers:,} | {mb:.1f} MB | {m['load']:.3f} s | "
                f"{m['diagnose']:.3f} s | {m['load'] + m['diagnose']:.3f} s | "
                f"{m['peak_mb']:.0f} MB | {m['growth_mb']:.0f} MB |"
            )
            path.unlink()


if __name__ == "__main__":
    main()
