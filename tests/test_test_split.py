"""A test set that is not drawn as the val set is: read from what each split gained."""

from __future__ import annotations

from pathlib import Path

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("sklearn")
from torch import nn  # noqa: E402

import lossexpert  # noqa: E402
from tests._loops import bundled, loader_of, watched_training  # noqa: E402


def _train(tmp: Path, shift: float, cols: int = 64) -> lossexpert.Diagnosis:
    x, y = bundled("digits")
    xt, yt = x[:1000], y[:1000]
    xv, yv = x[1000:1400], y[1000:1400]
    xs, ys = x[1400:].clone(), y[1400:]
    xs[:, :cols] += shift  # the first `cols` test features moved by `shift` std
    model = nn.Sequential(nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 10))
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    # Label smoothing, as most recipes now use it: the loss cannot fall below ~0.8 here, so a
    # test set that learns far less still ends within a small multiple of val.
    crit = nn.CrossEntropyLoss(label_smoothing=0.2)
    loader = loader_of(xt, yt, 32)
    run = watched_training(
        tmp / f"shift{shift}.jsonl",
        model,
        opt,
        crit,
        loader,
        epochs=8,
        held_out={"val": (xv, yv), "test": (xs, ys)},
        criterion=crit,
        loader=loader,
    )
    return lossexpert.diagnose(run)


def test_a_test_set_that_gains_far_less_than_val_is_shifted(tmp_path: Path) -> None:
    # Half of digits' 64 features moved by 2 std: the test loss ends at 1.7x val (under
    # test.above_val's 2.5x), having gained a third of what val gained.
    d = _train(tmp_path, shift=2.0, cols=32)
    got = {s.symptom: s.values for s in d.symptoms}
    # Not a multiple of val at the end, which is all that was read before ...
    assert "test.above_val" not in got
    # ... but val fell most of the way while test fell far less.
    assert "test.lags_val" in got
    lag = got["test.lags_val"]
    assert lag["test_gain_pct"] < 0.5 * lag["val_gain_pct"]
    assert d.findings[0].cause == "distribution_shift", [f.cause for f in d.findings]


def test_a_test_set_drawn_as_val_is_not_flagged(tmp_path: Path) -> None:
    d = _train(tmp_path, shift=0.0)
    assert "test.lags_val" not in {s.symptom for s in d.symptoms}
    assert d.healthy, [f.cause for f in d.findings]
