"""A val loss that never changes: the optimizer updates a copy of the model (trained for real).

The classic slip: ``opt = SGD(copy.deepcopy(model).parameters())`` (or an optimizer built
before the model was replaced): backward() fills the model's gradients, step() moves the
copy, and the model that is evaluated never changes. Its train loss still wobbles (each batch
is different); its val loss is the same number at every evaluation.
"""

from __future__ import annotations

import copy
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("sklearn")
from torch import nn  # noqa: E402

import lossexpert  # noqa: E402
from tests._loops import bundled, loader_of, watched_training  # noqa: E402

CURVES_ONLY = ("curves",)


def _train(tmp: Path, variant: str) -> lossexpert.Diagnosis:
    x, y = bundled("wine")
    xt, yt, xv, yv = x[:130], y[:130], x[130:], y[130:]
    model = nn.Sequential(nn.Linear(13, 32), nn.ReLU(), nn.Linear(32, 3))
    target = copy.deepcopy(model) if variant == "optimizer_on_copy" else model
    lr = {"slow": 1e-4}.get(variant, 0.05)
    opt = torch.optim.SGD(target.parameters(), lr=lr, momentum=0.9)
    # The user's loop clears the model's gradients (model.zero_grad(), as many loops do): the
    # model being updated has none, so the copy's step has nothing to apply.
    run = watched_training(
        tmp / f"{variant}.jsonl",
        model,
        opt,
        nn.CrossEntropyLoss(),
        loader_of(xt, yt, 16),
        epochs=15,
        held_out={"val": (xv, yv)},
        reset=model.zero_grad,
        criterion=nn.CrossEntropyLoss(),
    )
    return lossexpert.diagnose(run, evidence=CURVES_ONLY)


def _symptoms(d: lossexpert.Diagnosis) -> set[str]:
    return {s.symptom for s in d.symptoms}


def test_a_val_loss_that_never_changes_names_an_update_that_never_lands(tmp_path: Path) -> None:
    # From the curves alone: before, the flat train loss tied five usual suspects at 0.2.
    d = _train(tmp_path, "optimizer_on_copy")
    assert "val.frozen" in _symptoms(d)
    assert d.findings[0].cause == "gradient_bug", [f.cause for f in d.findings]


@pytest.mark.parametrize("variant", ["healthy", "slow"])
def test_a_val_loss_that_moves_however_little_is_not_frozen(tmp_path: Path, variant: str) -> None:
    # A learning rate 500x too small still moves the weights: its val loss changes in the
    # third digit at every evaluation (6 % over the run): updates land, however small.
    d = _train(tmp_path, variant)
    assert "val.frozen" not in _symptoms(d)
