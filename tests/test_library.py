"""The library door: diagnose() inside a host process."""

from __future__ import annotations

import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

import pytest

import lossexpert
from tests.conftest import EXAMPLES, example, example_dict


def test_diagnose_accepts_a_path_a_dict_and_a_model() -> None:
    path = example("vanishing_sigmoid_deep")
    by_path = lossexpert.diagnose(path)
    by_str = lossexpert.diagnose(str(path))
    by_dict = lossexpert.diagnose(example_dict("vanishing_sigmoid_deep"))
    by_model = lossexpert.diagnose(lossexpert.load_run(path).run)
    tops = {d.findings[0].cause for d in (by_path, by_str, by_dict, by_model)}
    assert tops == {"activation_function"}  # the root of the vanishing gradients
    assert isinstance(by_dict, lossexpert.Diagnosis)
    assert isinstance(by_dict.findings[0], lossexpert.Finding)


def test_bad_input_raises_the_typed_error() -> None:
    with pytest.raises(lossexpert.RunSchemaError) as info:
        lossexpert.diagnose({"curves": {"train": {"loss": "nope"}}})
    assert info.value.field == "curves.train.loss"
    assert info.value.code == "LE103"
    with pytest.raises(lossexpert.RunNotFoundError):
        lossexpert.diagnose("/definitely/not/here.json")


def test_evidence_levels_restrict_what_is_seen() -> None:
    full = lossexpert.diagnose(example("zero_init"))
    curves_only = lossexpert.diagnose(example("zero_init"), evidence=("curves",))
    assert any(e.source == "layers" for f in full.findings for e in f.evidence)
    assert all(e.source == "curves" for f in curves_only.findings for e in f.evidence)
    assert {m.key for m in curves_only.missing} >= {"layers", "data", "config"}


def test_thresholds_are_overridable() -> None:
    default = lossexpert.diagnose(example("healthy_digits_mlp"))
    strict = lossexpert.diagnose(
        example("healthy_digits_mlp"),
        thresholds={"test_vs_val_ratio": 1.5, "test_vs_val_abs": 0.01},
    )
    assert default.healthy
    assert not strict.healthy
    assert strict.problems[0].id == "test_loss_not_decreasing"


def test_thread_safe_and_deterministic() -> None:
    serial = {p.stem: lossexpert.diagnose(p).model_dump() for p in EXAMPLES}
    jobs = [p for p in EXAMPLES for _ in range(3)]
    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(lambda p: (p.stem, lossexpert.diagnose(p).model_dump()), jobs))
    for stem, result in results:
        assert result == serial[stem]


def _python(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)


def test_explain_path_never_imports_torch() -> None:
    code = (
        "import sys, lossexpert\n"
        f"lossexpert.diagnose({str(example('lr_too_high'))!r}).to_text()\n"
        "assert 'torch' not in sys.modules, 'torch imported'\n"
    )
    out = _python(code)
    assert out.returncode == 0, out.stderr


def test_import_leaves_the_hosts_logging_alone() -> None:
    code = (
        "import logging, lossexpert\n"
        f"lossexpert.diagnose({str(example('healthy_wine_sgd'))!r})\n"
        "assert logging.getLogger().handlers == [], logging.getLogger().handlers\n"
        "import collections\n"
        "assert not hasattr(collections, 'Mapping')\n"
    )
    out = _python(code)
    assert out.returncode == 0, out.stderr


def test_too_short_a_curve_is_inconclusive_not_healthy() -> None:
    d = lossexpert.diagnose({"curves": {"train": {"loss": [0.067, 0.05, 0.039]}}})
    assert d.problems == [] and not d.healthy and not d.conclusive
    assert d.summary.startswith("Cannot judge")
    ok = lossexpert.diagnose(example("healthy_digits_mlp"))
    assert ok.healthy and ok.conclusive


def test_a_frozen_loss_is_a_problem() -> None:
    loss = [2.0 - 0.005 * i for i in range(300)] + [0.5] * 300
    d = lossexpert.diagnose({"curves": {"train": {"loss": loss}}})
    assert d.problems and d.problems[0].id == "train_loss_not_decreasing"
    assert d.problems[0].evidence[0].symptom == "train.frozen"
    assert d.findings and d.findings[0].cause == "dead_relu"
