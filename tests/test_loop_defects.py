"""Defects measured in the loop are reported even when the loss looks plausible (trained for
real): a loop that never resets its gradients, batches that come one class at a time."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("sklearn")
from torch import nn  # noqa: E402

import lossexpert  # noqa: E402
from tests._loops import bundled, loader_of, recorded_fit, watched_training  # noqa: E402


def _train(tmp: Path, defect: str) -> lossexpert.Diagnosis:
    x, y = bundled("digits")
    xt, yt, xv, yv = x[:1200], y[:1200], x[1200:], y[1200:]
    if defect == "sorted":
        by_label = torch.argsort(yt, stable=True)
        xt, yt = xt[by_label], yt[by_label]
    model = nn.Sequential(nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 10))
    if defect == "no_zero_grad":
        # Summed gradients act as momentum that never forgets: a rate 25x lower than the
        # healthy loop's, without momentum, keeps the loss from blowing up.
        opt = torch.optim.SGD(model.parameters(), lr=0.002)
    else:
        opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    epochs, batches = 10, math.ceil(len(xt) / 32)
    # A cosine decay, as most recipes have: it tames the summed gradients enough that the
    # loss still falls.
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, epochs * batches)
    crit = nn.CrossEntropyLoss(label_smoothing=0.1)
    loader = loader_of(xt, yt, 32, shuffle=defect != "sorted")
    run = watched_training(
        tmp / f"{defect}.jsonl",
        model,
        opt,
        crit,
        loader,
        epochs=epochs,
        held_out={"val": (xv, yv)},
        scheduler=sched,
        reset=None if defect == "no_zero_grad" else "optimizer",
        criterion=crit,
        loader=loader,
    )
    return lossexpert.diagnose(run)


@pytest.mark.parametrize(
    ("defect", "fact", "cause"),
    [
        ("no_zero_grad", "config.grads_accumulate", "gradient_bug"),
        ("sorted", "data.ordered_batches", "data_not_shuffled"),
    ],
)
def test_a_measured_loop_defect_is_not_healthy(
    tmp_path: Path, defect: str, fact: str, cause: str
) -> None:
    d = _train(tmp_path, defect)
    assert fact in {s.symptom for s in d.symptoms}
    assert not d.healthy
    assert d.findings[0].cause == cause, [f.cause for f in d.findings]


def test_the_loop_without_a_defect_is_healthy(tmp_path: Path) -> None:
    d = _train(tmp_path, "none")
    assert d.healthy, [f.cause for f in d.findings]


@pytest.mark.parametrize("raw", [True, False])
def test_raw_inputs_are_not_healthy_though_the_loss_falls(tmp_path: Path, raw: bool) -> None:
    """Wine's thirteen features as measured (proline in the hundreds, hues near 1): Adam still
    fits them, yet the recording shows the scale and says so."""
    from sklearn import datasets

    torch.manual_seed(0)
    data = datasets.load_wine()
    x = torch.tensor(data.data, dtype=torch.float32)
    if not raw:
        x = (x - x.mean(0)) / x.std(0)
    y = torch.tensor(data.target)
    order = torch.randperm(len(x))
    x, y = x[order], y[order]
    xt, yt, xv, yv = x[:130], y[:130], x[130:], y[130:]
    model = nn.Sequential(nn.Linear(13, 32), nn.LayerNorm(32), nn.ReLU(), nn.Linear(32, 3))
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    crit = nn.CrossEntropyLoss()
    run = recorded_fit(
        tmp_path / "run.jsonl",
        model,
        opt,
        crit,
        (xt, yt),
        (xv, yv),
        epochs=100,
        batch_size=16,
        criterion=crit,
    )
    d = lossexpert.diagnose(run)
    if raw:
        assert "data.unnormalized" in {s.symptom for s in d.symptoms}
        assert not d.healthy
        assert d.findings[0].cause == "data_not_normalized", [f.cause for f in d.findings]
    else:
        assert d.healthy, [f.cause for f in d.findings]
