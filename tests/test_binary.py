"""A binary classifier with BatchNorm on scikit-learn's breast cancer set, trained for real."""

from __future__ import annotations

from pathlib import Path

import pytest

torch = pytest.importorskip("torch")
datasets = pytest.importorskip("sklearn.datasets")
from torch import nn  # noqa: E402

import lossexpert  # noqa: E402


def _train(tmp: Path, sigmoid_head: bool) -> lossexpert.Diagnosis:
    torch.set_num_threads(1)
    torch.manual_seed(0)
    data = datasets.load_breast_cancer()
    x = torch.tensor(data.data, dtype=torch.float32)
    x = (x - x.mean(0)) / x.std(0)
    y = torch.tensor(data.target, dtype=torch.float32)
    layers: list[nn.Module] = [nn.Linear(30, 64), nn.BatchNorm1d(64), nn.ReLU(), nn.Linear(64, 1)]
    if sigmoid_head:
        layers.append(nn.Sigmoid())  # then BCEWithLogitsLoss: the sigmoid applied twice
    model = nn.Sequential(*layers)
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    crit = nn.BCEWithLogitsLoss()
    loader = torch.utils.data.DataLoader(
        torch.utils.data.TensorDataset(x, y), batch_size=32, shuffle=True, drop_last=True
    )
    path = tmp / f"sigmoid_{sigmoid_head}.jsonl"
    with lossexpert.watch(
        model, opt, path, config={"task": "classification", "num_classes": 2}, criterion=crit
    ) as run:
        for _ in range(15):
            for xb, yb in loader:
                loss = crit(model(xb).squeeze(-1), yb)
                opt.zero_grad()
                loss.backward()
                opt.step()
                run.log("train", loss)
    return lossexpert.diagnose(lossexpert.load_run(path))


def test_a_sigmoid_before_bce_with_logits_is_the_output_activation(tmp_path: Path) -> None:
    # The double sigmoid: outputs squashed into (0, 1) are read as logits, so the loss cannot go
    # below ln(1 + e^-1) on positives and ln 2 on negatives (0.45 on this set, where the same
    # net with logits reaches 0.02). Before, only a cross-entropy loss was checked for it.
    d = _train(tmp_path, sigmoid_head=True)
    assert "config.squashing_output" in {s.symptom for s in d.symptoms}
    assert d.findings[0].cause == "activation_function", [f.cause for f in d.findings]
    plain = _train(tmp_path, sigmoid_head=False)
    assert "config.squashing_output" not in {s.symptom for s in plain.symptoms}
    assert plain.healthy, [f.cause for f in plain.findings]
