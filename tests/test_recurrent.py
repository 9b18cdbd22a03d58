"""Recurrent nets, trained for real: what the collector sees of an RNN and what is read from it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

torch = pytest.importorskip("torch")
from torch import nn  # noqa: E402

import lossexpert  # noqa: E402


class _TanhRNN(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.rnn = nn.RNN(4, 32, batch_first=True)
        self.head = nn.Linear(32, 4)

    def forward(self, x: Any) -> Any:
        h, _ = self.rnn(x)
        return self.head(h[:, -1])


def _train(tmp: Path, init: str) -> lossexpert.Diagnosis:
    torch.set_num_threads(1)
    torch.manual_seed(0)
    x = torch.randn(512, 16, 4)
    y = x.sum(1).argmax(1)  # which channel sums highest over the sequence: 4 classes
    model = _TanhRNN()
    with torch.no_grad():
        if init == "orthogonal":
            nn.init.orthogonal_(model.rnn.weight_hh_l0)
        elif init == "x6":  # a hand-rolled init six times too large
            for name, p in model.rnn.named_parameters():
                if name.startswith("weight"):
                    p.mul_(6.0)
    opt = torch.optim.SGD(model.parameters(), lr=0.03, momentum=0.9)
    crit = nn.CrossEntropyLoss()
    loader = torch.utils.data.DataLoader(
        torch.utils.data.TensorDataset(x, y), batch_size=32, shuffle=True
    )
    path = tmp / f"{init}.jsonl"
    config = {"task": "classification", "num_classes": 4}
    with lossexpert.watch(model, opt, path, config=config, criterion=crit) as run:
        for _ in range(8):
            for xb, yb in loader:
                loss = crit(model(xb), yb)
                opt.zero_grad()
                loss.backward()
                opt.step()
                run.log("train", loss)
    return lossexpert.diagnose(lossexpert.load_run(path))


def test_a_recurrent_matrix_started_far_above_gain_one_is_the_init(tmp_path: Path) -> None:
    # std x sqrt(hidden) of weight_hh: 0.58 by PyTorch's default, 1 orthogonal, 3.5 at x6
    # (the spectral radius of a random matrix): above 2 the state is multiplied by more than
    # one at every step, chaotic from the start (Sompolinsky et al. 1988; Pascanu et al. 2013).
    seen: dict[str, Any] = {}
    for init in ("default", "orthogonal", "x6"):
        d = _train(tmp_path, init)
        seen[init] = {e.symptom: e.values for e in d.symptoms}
        if init == "x6":
            assert d.findings and d.findings[0].cause == "weight_initialization", [
                f.cause for f in d.findings
            ]
    assert "layers.recurrent_gain_high" not in seen["default"]
    assert "layers.recurrent_gain_high" not in seen["orthogonal"]
    gain = seen["x6"]["layers.recurrent_gain_high"]
    assert gain["layer"] == "rnn.weight_hh_l0"
    assert 3.0 < float(gain["gain"]) < 4.0
