"""A learning rate with a warm-up is judged by its peak, not by the first rate of the ramp."""

from __future__ import annotations

from pathlib import Path

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("sklearn")
from torch import nn  # noqa: E402

import lossexpert  # noqa: E402
from lossexpert.runformat import Config  # noqa: E402
from tests._loops import bundled, loader_of, watched_training  # noqa: E402


def _warmed_up_run(tmp: Path) -> lossexpert.Diagnosis:
    x, y = bundled("wine")
    model = nn.Sequential(nn.Linear(13, 32), nn.ReLU(), nn.Linear(32, 3))
    opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    # A linear warm-up over 100 steps (the scheduler sets the optimizer's rate to 1 % of the
    # peak as it is built, before watch reads the config).
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: min(1.0, (s + 1) / 100))
    loader = loader_of(x, y, 16)
    run = watched_training(
        tmp / "warmup.jsonl",
        model,
        opt,
        nn.CrossEntropyLoss(),
        loader,
        epochs=20,
        scheduler=sched,
        criterion=nn.CrossEntropyLoss(),
        loader=loader,
    )
    return lossexpert.diagnose(run)


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
