"""A learning rate with a warm-up is judged by its peak, not by the first rate of the ramp."""

from __future__ import annotations

from pathlib import Path

import pytest

torch = pytest.importorskip("torch")
datasets = pytest.importorskip("sklearn.datasets")
from torch import nn  # noqa: E402

import lossexpert  # noqa: E402
from lossexpert.runformat import Config  # noqa: E402


def _warmed_up_run(tmp: Path) -> lossexpert.Diagnosis:
    torch.set_num_threads(1)
    torch.manual_seed(0)
    data = datasets.load_wine()
    x = torch.tensor(data.data, dtype=torch.float32)
    x = (x - x.mean(0)) / x.std(0)
    y = torch.tensor(data.target)
    model = nn.Sequential(nn.Linear(13, 32), nn.ReLU(), nn.Linear(32, 3))
    opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    # A linear warm-up over 100 steps (the scheduler sets the optimizer's rate to 1 % of the
    # peak as it is built, before watch reads the config).
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: min(1.0, (s + 1) / 100))
    crit = nn.CrossEntropyLoss()
    loader = torch.utils.data.DataLoader(
        torch.utils.data.TensorDataset(x, y), batch_size=16, shuffle=True
    )
    path = tmp / "warmup.jsonl"
    with lossexpert.watch(model, opt, path, criterion=crit, loader=loader) as run:
        for _ in range(20):
            for xb, yb in loader:
                loss = crit(model(xb), yb)
                opt.zero_grad()
                loss.backward()
                opt.step()
                sched.step()
                run.log("train", loss)
    return lossexpert.diagnose(lossexpert.load_run(path))


def test_a_warm_up_is_judged_by_the_rate_it_climbs_to(tmp_path: Path) -> None:
    # Before: the config held 5e-4 (the ramp's first rate), read as "SGD rate too low".
    d = _warmed_up_run(tmp_path)
    lr_facts = {s.symptom: s.values for s in d.symptoms if s.symptom.startswith("config.lr_")}
    assert set(lr_facts) == {"config.lr_typical"}, lr_facts
    assert lr_facts["config.lr_typical"]["lr"] == pytest.approx(0.05, rel=0.05)
    assert d.healthy, [f.cause for f in d.findings]


def test_the_peak_rate_falls_back_to_the_configured_one() -> None:
    assert Config(learning_rate=0.1).peak_lr() == 0.1
    ramp = {"step": [0, 10, 20], "value": [0.001, 0.01, 0.0]}
    assert Config(learning_rate=0.001, lr_schedule=ramp).peak_lr() == 0.01
    assert Config(lr_schedule={"step": [0, 1], "value": [0.0, 0.0]}).peak_lr() is None
