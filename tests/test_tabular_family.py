"""Facts learned from an outside family of tabular models (a BatchNorm MLP on scikit-learn's
bundled breast-cancer set, trained for real here): weights that barely moved over enough steps
took steps too small, not too few; a train loss logged once per epoch (the epoch's mean, as
Keras and Lightning log it) is not full-batch training."""

from __future__ import annotations

from pathlib import Path

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("sklearn")
from torch import nn  # noqa: E402

import lossexpert  # noqa: E402
from tests._loops import bundled, loader_of, watched_training  # noqa: E402


def _facts(d: lossexpert.Diagnosis) -> set[str]:
    return {s.symptom for s in d.symptoms}


def _causes(d: lossexpert.Diagnosis) -> list[str]:
    return [f.cause for f in d.findings]


def _batchnorm_mlp(width: int = 64) -> nn.Module:
    return nn.Sequential(
        nn.Linear(30, width),
        nn.BatchNorm1d(width),
        nn.ReLU(),
        nn.Linear(width, width),
        nn.BatchNorm1d(width),
        nn.ReLU(),
        nn.Linear(width, 2),
    )


def _cancer_fit(path: Path, lr: float, epochs: int) -> lossexpert.Diagnosis:
    x, y = bundled("breast_cancer")
    model = _batchnorm_mlp()
    crit = nn.CrossEntropyLoss()
    opt = torch.optim.SGD(model.parameters(), lr=lr)
    train = loader_of(x[:341], y[:341], 32)
    run = watched_training(
        path,
        model,
        opt,
        crit,
        train,
        epochs=epochs,
        held_out={"val": (x[341:455], y[341:455])},
        criterion=crit,
        loader=train,
        config={"task": "classification", "num_classes": 2},
    )
    return lossexpert.diagnose(run)


def test_weights_that_barely_moved_over_enough_steps_took_steps_too_small(tmp_path: Path) -> None:
    # SGD at 1e-4 for 220 steps: the largest update is ~1.5e-4 of the weights per step, above
    # the 1e-4 that reads as "updates too small" outright, but 220 steps at the healthy 1e-3
    # would have moved the weights by a fifth of their norm. Before, "barely moved" was read as
    # too few steps of a usual size, and "not trained long enough" came first.
    d = _cancer_fit(tmp_path / "slow.jsonl", lr=1e-4, epochs=20)
    small = next(s.values for s in d.symptoms if s.symptom == "layers.small_steps")
    ratio, steps = float(small["ratio"]), int(small["steps"])  # type: ignore[arg-type]
    assert ratio < 1e-3 and steps * 1e-3 >= 0.1, (ratio, steps)
    assert _causes(d)[:1] == ["learning_rate_too_low"], _causes(d)
    assert "INS-BARELY-MOVED" not in {r.rule for f in d.findings for r in f.rules}


def test_a_run_of_few_steps_at_a_usual_size_is_not_read_as_small_steps(tmp_path: Path) -> None:
    # One epoch (11 steps) at SGD 0.01: even at the healthy ratio, 11 steps cannot move the
    # weights far, so their count, not their size, is what fell short.
    d = _cancer_fit(tmp_path / "short.jsonl", lr=0.01, epochs=1)
    assert "layers.small_steps" not in _facts(d)
    assert "learning_rate_too_low" not in _causes(d)[:1], _causes(d)


def _epoch_logged_fit(path: Path, batch_size: int) -> lossexpert.Diagnosis:
    """The train loss logged once per epoch as the mean of its batches, the way epoch-level
    logs hold it; ``watch`` counts the optimizer's steps between the points."""
    x, y = bundled("breast_cancer")
    model = nn.Sequential(
        nn.Linear(30, 64), nn.BatchNorm1d(64), nn.ReLU(), nn.Dropout(0.2), nn.Linear(64, 2)
    )
    crit = nn.CrossEntropyLoss()
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
    train = loader_of(x[:341], y[:341], batch_size)
    with lossexpert.watch(model, opt, path, criterion=crit) as run:
        for epoch in range(20):
            total = 0.0
            for xb, yb in train:
                loss = crit(model(xb), yb)
                opt.zero_grad()
                loss.backward()
                opt.step()
                total += loss.item() * len(xb)
            run.log("train", total / 341, epoch=float(epoch + 1))
    return lossexpert.diagnose(lossexpert.load_run(path), evidence=("curves",))


def test_a_train_loss_logged_once_per_epoch_is_not_read_as_one_update_per_epoch(
    tmp_path: Path,
) -> None:
    # Batches of 32: 11 steps between two points. The epoch means are smooth by averaging;
    # before, smooth points one epoch apart read as full-batch training.
    epochs = _epoch_logged_fit(tmp_path / "epochs.jsonl", batch_size=32)
    assert "train.one_step_per_epoch" not in _facts(epochs)
    assert "batch_size_too_large" not in _causes(epochs)
    # The whole set in one batch: one step between two points, no minibatch noise.
    full = _epoch_logged_fit(tmp_path / "full.jsonl", batch_size=341)
    assert "train.one_step_per_epoch" in _facts(full)
