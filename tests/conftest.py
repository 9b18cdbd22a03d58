from __future__ import annotations

import copy
import gzip
import json
import math
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = sorted((ROOT / "examples" / "runs").glob("*.json"))


def example(name: str) -> Path:
    return ROOT / "examples" / "runs" / f"{name}.json"


def suite_run(name: str) -> dict[str, Any]:
    """A run of the generalisation suite (a real training recorded by watch), by case name."""
    path = ROOT / "benchmarks" / "suite" / "runs" / f"{name}.json.gz"
    return json.loads(gzip.decompress(path.read_bytes()))  # type: ignore[no-any-return]


def example_dict(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(example(name).read_text())
    return data


def decaying_curve(n: int = 200, start: float = 2.3, end: float = 0.05) -> list[float]:
    return [end + (start - end) * math.exp(-5 * i / n) for i in range(n)]


def minimal_run(**curves: list[float]) -> dict[str, Any]:
    return {"curves": {k: {"loss": v} for k, v in curves.items()}}


@pytest.fixture
def healthy_dict() -> dict[str, Any]:
    return copy.deepcopy(example_dict("healthy_digits_mlp"))


def run_cli(*args: str, env: dict[str, str] | None = None) -> Any:
    import os
    import subprocess

    full_env = dict(os.environ)
    full_env.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "lossexpert.cli", *args],
        capture_output=True,
        text=True,
        env=full_env,
        timeout=120,
    )
