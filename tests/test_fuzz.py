"""A fixed-seed subset of the fuzz harness (``benchmarks/fuzz.py``): mutants of the bundled
runs through the library (all renderers on a sample) and the CLI, plus special files. The
full run (10,000 + 300) is a benchmark; its figures are in the README."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from tests.conftest import ROOT


def _harness() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "lossexpert_fuzz", ROOT / "benchmarks" / "fuzz.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses resolve their annotations through it
    spec.loader.exec_module(module)
    return module


fuzz = _harness()


def test_a_fixed_seed_subset_finds_no_crash_hang_or_false_health() -> None:
    report = fuzz.fuzz(library=400, cli=6, seed=20261128, render_every=8)
    counts = report.as_dict()
    assert report.failures == [], counts["failure_samples"]
    assert report.hangs == 0
    assert counts["library_cases"] == 400 + counts["mutations"]["special"]
    # Every kind of mutation ran, the specials were refused, and some mutants were diagnosed
    # and rendered: the subset exercises the whole path, not only the refusals.
    for kind in (
        "delete",
        "replace",
        "boolean",
        "number",
        "string",
        "lengths",
        "steps",
        "truncate",
        "column",
    ):
        assert counts["mutations"].get(kind, 0) > 0, kind
    assert counts["mutations"]["special"] >= 3
    assert counts["outcomes"].get("diagnosed", 0) + counts["outcomes"].get("healthy", 0) > 20
    assert report.rendered > 3
    assert set(counts["cli_exit_codes"]) <= {"0", "2"} and report.cli_calls >= 6


def test_the_harness_reports_what_it_is_built_to_find(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    import lossexpert

    calls = {"n": 0}
    real = lossexpert.diagnose

    def flaky(run: Any, **kw: Any) -> Any:
        calls["n"] += 1
        if calls["n"] == 3:
            raise ZeroDivisionError("float division by zero")
        d = real(run, **kw)
        if calls["n"] == 5:
            return d.model_copy(update={"healthy": True})
        return d

    monkeypatch.setattr(lossexpert, "diagnose", flaky)
    report = fuzz.Report()
    base = fuzz.json.loads((ROOT / "examples" / "runs" / "lr_too_high.json").read_text())
    bools = dict(base, curves={"train": {"loss": [True, False, True]}})
    for i in range(6):
        case = fuzz.Case("probe", "lr_too_high", run=base, must_refuse=(i == 4))
        fuzz.run_library_case(case, report, tmp_path, render=False)
    assert any("ZeroDivisionError" in f for f in report.failures)
    assert any("healthy on input the format must refuse" in f for f in report.failures)
    monkeypatch.setattr(lossexpert, "diagnose", real)
    clean = fuzz.Report()
    fuzz.run_library_case(
        fuzz.Case("bools", "x", run=bools, must_refuse=True), clean, tmp_path, render=False
    )
    assert clean.failures == [] and clean.outcomes["refused LE103"] == 1
