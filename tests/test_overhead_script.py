"""``benchmarks/overhead.py --in-loop`` cannot rot: a short run of it prints its table here.

Only that the measurement runs and reports numbers for both models is checked: timings belong
in the benchmark, not in tests."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("torch")

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "overhead.py"


def test_the_in_loop_measurement_prints_a_row_per_model() -> None:
    env = dict(os.environ, OMP_NUM_THREADS="1")
    done = subprocess.run(
        [sys.executable, str(SCRIPT), "--in-loop", "20", "--blocks", "2"],
        capture_output=True,
        text=True,
        timeout=600,
        env=env,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    rows = [line.split("|")[1:-1] for line in done.stdout.splitlines() if line.startswith("| ")]
    body = [r for r in rows if r[0].strip().startswith(("MLP", "CNN"))]
    assert [r[0].strip().split()[0] for r in body] == ["MLP", "CNN"]
    for row in body:
        plain, watched = float(row[1]), float(row[2])
        assert plain > 0 and watched > 0
        assert row[3].strip().endswith("%") and row[5].strip().endswith("%")
