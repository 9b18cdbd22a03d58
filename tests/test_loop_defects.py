"""Defects measured in the loop are reported even when the loss looks plausible (trained for
real): a loop that never resets its gradients, batches that come one class at a time."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")
datasets = pytest.importorskip("sklearn.datasets")
from torch import nn  # noqa: E402

import lossexpert  # noqa: E402


def _train(tmp: Path, defect: str) -> lossexpert.Diagnosis:
    torch.set_num_threads(1)
    torch.manual_seed(0)
    data = datasets.load_digits()
    x = torch.tensor(data.data, dtype=torch.float32)
    x = (x - x.mean(0)) / x.std(0).clamp_min(1e-3)
    y = torch.tensor(data.target)
    order = torch.randperm(len(x))
    x, y = x[order], y[order]
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
    loader = torch.utils.data.DataLoader(
        torch.utils.data.TensorDataset(xt, yt), batch_size=32, shuffle=defect != "sorted"
    )
    path = tmp / f"{defect}.jsonl"
    with lossexpert.watch(model, opt, path, criterion=crit, loader=loader) as run:
        for _ in range(epochs):
            model.train()
            for xb, yb in loader:
                loss = crit(model(xb), yb)
                if defect != "no_zero_grad":
                    opt.zero_grad()
                loss.backward()
                opt.step()
                sched.step()
                run.log("train", loss)
            model.eval()
            with torch.no_grad():
                run.log("val", crit(model(xv), yv))
    return lossexpert.diagnose(lossexpert.load_run(path))


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
