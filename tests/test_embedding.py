"""An embedding-bag classifier (a family not in the suite), trained for real."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

torch = pytest.importorskip("torch")
from torch import nn  # noqa: E402

import lossexpert  # noqa: E402

VOCAB, LENGTH, CLASSES = 200, 12, 5


class _Bag(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.emb = nn.Embedding(VOCAB, 32)
        self.fc = nn.Linear(32, 64)
        self.out = nn.Linear(64, CLASSES)

    def forward(self, x: Any) -> Any:
        return self.out(torch.relu(self.fc(self.emb(x).mean(1))))


def _tokens(n: int, gen: Any) -> tuple[Any, Any]:
    # Each class prefers its own 20 tokens: half the tokens of a text are its class's.
    topic = torch.randint(0, CLASSES, (n,), generator=gen)
    x = torch.randint(0, VOCAB, (n, LENGTH), generator=gen)
    own = topic[:, None] * 20 + torch.randint(0, 20, (n, LENGTH), generator=gen)
    mask = torch.rand(n, LENGTH, generator=gen) < 0.5
    return torch.where(mask, own, x), topic


def _train(tmp: Path, scale: float) -> lossexpert.Diagnosis:
    torch.set_num_threads(1)
    torch.manual_seed(0)
    gen = torch.Generator().manual_seed(0)
    x, y = _tokens(900, gen)
    xv, yv = _tokens(300, gen)
    model = _Bag()
    with torch.no_grad():
        for p in model.parameters():
            if p.dim() > 1:
                p.mul_(scale)
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    crit = nn.CrossEntropyLoss()
    loader = torch.utils.data.DataLoader(
        torch.utils.data.TensorDataset(x, y), batch_size=32, shuffle=True, generator=gen
    )
    path = tmp / f"x{scale}.jsonl"
    config = {"task": "classification", "num_classes": CLASSES}
    with lossexpert.watch(model, opt, path, config=config, criterion=crit, loader=loader) as run:
        for epoch in range(12):
            for xb, yb in loader:
                loss = crit(model(xb), yb)
                opt.zero_grad()
                loss.backward()
                opt.step()
                run.log("train", loss)
            with torch.no_grad():
                run.log("val", float(crit(model(xv), yv)), epoch=epoch + 1)
    return lossexpert.diagnose(lossexpert.load_run(path))


def test_weights_started_large_memorise_and_the_init_is_the_root(tmp_path: Path) -> None:
    # Every weight matrix x8: the first loss is ~30x ln 5, the training set is fitted to ~0 and
    # val ends far worse than guessing (4.8 against ln 5 = 1.6). Before: "no problem found" (val
    # worse than guessing did not establish a val problem), and with a longer run "over-fitting"
    # and "a shifted val set" only: the init, the root, was not named.
    d = _train(tmp_path, 8.0)
    first = d.findings[0]
    assert first.cause == "weight_initialization", [f.cause for f in d.findings]
    assert {"train.init_loss_high", "val.worse_than_chance"} <= {e.symptom for e in first.evidence}
    # Huge untrained outputs explain the confident mistakes on val: no val pipeline blamed.
    assert "distribution_shift" not in [f.cause for f in d.findings]
    # The same model at its default init generalises: no init finding at all.
    healthy = _train(tmp_path, 1.0)
    assert "weight_initialization" not in [f.cause for f in healthy.findings]
