"""The failure classes of the generalisation issue, on real training runs of the suite.

Every run here was trained by ``benchmarks/suite/generate.py`` (six model families, real or
synthetic data, the fault injected, recorded through lossexpert.watch) and kept only if it
shows its fault. Before differential diagnosis, causal chains and the real-world signatures,
each class below went wrong the way its test name says.
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterator
from functools import cache
from typing import Any

import pytest

import lossexpert

from .conftest import ROOT

SUITE = ROOT / "benchmarks" / "suite"


# Families added to the suite to be scored in aggregate only (benchmarks/suite/score.py,
# README "Leave-one-family-out"): a test here names the run and its diagnosis when it fails,
# and reading it would end the family's being held out. Not asserted on run by run.
SCORED_IN_AGGREGATE_ONLY = ("tcn",)


@cache
def _manifest() -> list[dict[str, Any]]:
    runs: list[dict[str, Any]] = json.loads((SUITE / "manifest.json").read_text())["runs"]
    return [
        r for r in runs if r.get("kept") and r["case"]["family"] not in SCORED_IN_AGGREGATE_ONLY
    ]


def _runs(fault: str, variant: str | None = None, **case: Any) -> Iterator[tuple[str, Any]]:
    for item in _manifest():
        c = item["case"]
        if c["fault"] != fault or (variant is not None and not c["variant"].startswith(variant)):
            continue
        if any(c.get(k) != v for k, v in case.items()):
            continue
        run = json.loads(gzip.decompress((SUITE / item["file"]).read_bytes()))
        yield c["name"], lossexpert.diagnose(run)


def _causes(d: lossexpert.Diagnosis) -> list[str]:
    return [f.cause for f in d.findings]


def _named_first(d: lossexpert.Diagnosis, cause: str) -> bool:
    return bool(d.findings) and (d.findings[0].cause == cause or cause in d.findings[0].explains)


@pytest.mark.parametrize(
    ("fault", "variant"), [("learning_rate_too_high", None), ("gradient_bug", "no_zero_grad")]
)
def test_the_root_is_ranked_before_the_dead_units_it_caused(fault: str, variant: str) -> None:
    seen = dead_seen = in_top3 = 0
    wrong = []
    for name, d in _runs(fault, variant):
        seen += 1
        causes = _causes(d)
        in_top3 += fault in causes[:3]
        if "dead_relu" in causes:
            dead_seen += 1
            if fault not in causes or causes.index(fault) > causes.index("dead_relu"):
                wrong.append((name, causes[:3]))
    # (a gated recurrent net without ReLU is no longer suspected of dead units: 2 runs left)
    assert seen >= 5 and dead_seen >= 2
    # Known exception (README): a resnet run whose unzeroed gradients grow sub-linearly.
    assert len(wrong) <= 1, wrong
    assert in_top3 >= 0.6 * seen  # measured: 3 of 5 missing-zero_grad runs, 21 of 24 LR runs


def test_mse_on_one_hot_targets_with_a_functional_loss_is_not_healthy() -> None:
    runs = list(_runs("loss_function", "mse_on_onehot", loss_kind="functional"))
    assert len(runs) >= 5
    for name, d in runs:
        assert not d.healthy, name
        assert _named_first(d, "loss_function"), (name, _causes(d))


def test_data_sorted_by_label_is_named_even_with_a_functional_loss() -> None:
    runs = list(_runs("data_not_shuffled", "sorted_by_label"))
    functional = list(_runs("data_not_shuffled", "sorted_by_label", loss_kind="functional"))
    assert len(runs) >= 4 and functional  # no loss module: watch saw no label statistics
    for name, d in runs:
        assert not d.healthy, name
        assert _named_first(d, "data_not_shuffled"), (name, _causes(d))


@pytest.mark.parametrize(
    ("fault", "variant"),
    [("loss_function", "softmax_before_ce"), ("noisy_data", None), ("feature_selection", None)],
)
def test_not_everything_is_too_little_training(fault: str, variant: str | None) -> None:
    runs = list(_runs(fault, variant))
    assert len(runs) >= 5
    alone = [name for name, d in runs if _causes(d) == ["insufficient_training"]]
    assert len(alone) <= 1, alone  # one rnn run with 80 % uninformative inputs still is
    in_top3 = sum(fault in _causes(d)[:3] for _, d in runs)
    assert in_top3 >= 0.7 * len(runs), [(n, _causes(d)[:3]) for n, d in runs]


def test_full_batch_training_is_named_not_five_suspects_at_equal_odds() -> None:
    runs = list(_runs("batch_size_too_large", "full_batch"))
    assert len(runs) >= 5
    for name, d in runs:
        assert "batch_size_too_large" in _causes(d)[:3], (name, _causes(d))
        top = [f.confidence for f in d.findings[:3]]
        assert len(set(top)) > 1 or len(top) == 1, name
