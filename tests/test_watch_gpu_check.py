"""``benchmarks/gpu_check.py`` cannot rot: its CPU dry run (tiny sizes) runs here."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("torch")

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "gpu_check.py"


def test_gpu_check_dry_run_prints_its_tables() -> None:
    env = dict(os.environ, OMP_NUM_THREADS="1")
    done = subprocess.run(
        [sys.executable, str(SCRIPT), "--dry-run", "--steps", "10"],
        capture_output=True,
        text=True,
        timeout=600,
        env=env,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    lines = done.stdout.splitlines()
    assert lines[0].startswith("CPU dry run")
    rows = [line.split("|")[1:-1] for line in lines if line.startswith("| ") and "x |" in line]
    assert len(rows) == 6  # 3 models x (default, every=1)
    assert {r[1].strip() for r in rows} == {"default", "every=1"}
    for row in rows:
        ratio = float(row[4].strip().rstrip("x"))
        assert 0.2 < ratio < 20  # both timings real and positive
    cells = [line.split("|")[1:-1] for line in lines]
    amp = [r for r in cells if len(r) == 3 and "GradScaler" in r[0]]
    assert len(amp) == 1
    scaler_count, recorded = int(amp[0][1]), int(amp[0][2])
    # The overflowing start makes the scaler skip steps; watch records exactly those.
    assert scaler_count > 0 and recorded == scaler_count
