"""What watch sees of the data when the loss is a function: targets from the loader's own
iteration (or ``run.log(target=)``), one-hot float targets, the model's output width."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

torch = pytest.importorskip("torch")
sklearn_datasets = pytest.importorskip("sklearn.datasets")
from torch import nn  # noqa: E402
from torch.nn import functional as F  # noqa: E402

import lossexpert  # noqa: E402


def digits(one_hot: bool, batch: int = 32) -> tuple[Any, Any]:
    torch.set_num_threads(1)
    x, y = sklearn_datasets.load_digits(return_X_y=True)
    xt = torch.tensor(x / 16.0, dtype=torch.float32)
    yt = torch.tensor(y)
    target = F.one_hot(yt, 10).float() if one_hot else yt
    g = torch.Generator().manual_seed(0)
    loader = torch.utils.data.DataLoader(
        torch.utils.data.TensorDataset(xt, target), batch_size=batch, shuffle=True, generator=g
    )
    return loader, yt


def model() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(64, 32), nn.ReLU(), nn.Linear(32, 10))


def train(run: Any, net: nn.Module, opt: Any, loader: Any, loss_fn: Any, **log: Any) -> None:
    for xb, yb in loader:
        loss = loss_fn(net(xb), yb)
        opt.zero_grad()
        loss.backward()
        opt.step()
        run.log("train", loss, **({"target": yb} if log.get("target") else {}))


def test_mse_on_one_hot_targets_with_a_functional_loss(tmp_path: Path) -> None:
    """The failure of issue 9: a classifier trained with F.mse_loss on one-hot targets, no
    loss module for watch to hook. With ``loader=`` it still sees the targets, says they
    are one-hot, counts the classes, and records the output width."""
    loader, _ = digits(one_hot=True)
    net = model()
    opt = torch.optim.SGD(net.parameters(), lr=0.1)
    path = tmp_path / "mse.jsonl"
    with lossexpert.watch(net, opt, path, loader=loader) as run:
        train(run, net, opt, loader, F.mse_loss)
        assert "_get_iterator" not in vars(loader)  # unwrapped after the first 20 batches
    loaded = lossexpert.load_run(path).run
    stats = loaded.data["train"]
    assert stats.target_one_hot is True
    assert stats.label_counts is not None and sum(stats.label_counts.values()) == 20 * 32
    assert len(stats.label_counts) == 10
    assert stats.ordered_batch_fraction == 0.0  # shuffled
    assert stats.feature_mean is not None and len(stats.feature_mean) == 64
    assert loaded.config.model is not None and loaded.config.model.output_width == 10
    assert loaded.config.loss is None  # nothing claimed about a loss it did not see


def test_class_index_targets_from_the_loader_are_counted_exactly(tmp_path: Path) -> None:
    loader, labels = digits(one_hot=False, batch=1797)  # the whole data set in one batch
    net = model()
    opt = torch.optim.SGD(net.parameters(), lr=0.1)
    path = tmp_path / "ce.jsonl"
    with lossexpert.watch(net, opt, path, loader=loader, data_batches=1) as run:
        for _ in range(2):
            train(run, net, opt, loader, F.cross_entropy)
    stats = lossexpert.load_run(path).run.data["train"]
    # One batch holding the whole (shuffled) data set: its counts are the data set's.
    want = torch.bincount(labels).tolist()
    assert stats.label_counts == {str(i): c for i, c in enumerate(want)}
    assert stats.target_one_hot is None  # integer labels: the question does not arise


def test_explicit_targets_without_a_loader(tmp_path: Path) -> None:
    loader, _ = digits(one_hot=True)
    net = model()
    opt = torch.optim.SGD(net.parameters(), lr=0.1)
    path = tmp_path / "explicit.jsonl"
    with lossexpert.watch(net, opt, path, data_batches=5) as run:
        train(run, net, opt, loader, F.mse_loss, target=True)
    stats = lossexpert.load_run(path).run.data["train"]
    assert stats.target_one_hot is True
    assert stats.label_counts is not None and sum(stats.label_counts.values()) == 5 * 32


def test_soft_targets_are_not_one_hot(tmp_path: Path) -> None:
    """Label smoothing: float rows that sum to 1 but are not 0/1."""
    loader, _ = digits(one_hot=True)
    net = model()
    opt = torch.optim.SGD(net.parameters(), lr=0.1)
    path = tmp_path / "soft.jsonl"

    def smoothed(out: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return F.cross_entropy(out, y * 0.9 + 0.01)

    with lossexpert.watch(net, opt, path, data_batches=3) as run:
        for xb, yb in loader:
            soft = yb * 0.9 + 0.01
            loss = smoothed(net(xb), yb)
            opt.zero_grad()
            loss.backward()
            opt.step()
            run.log("train", loss, target=soft)
    stats = lossexpert.load_run(path).run.data["train"]
    assert stats.target_one_hot is False
    assert stats.label_counts is None and stats.label_mean == pytest.approx(0.1, abs=1e-6)


def test_doctor_needs_the_loss_module_and_the_loader(tmp_path: Path) -> None:
    net = model()
    opt = torch.optim.SGD(net.parameters(), lr=0.1)
    with (
        lossexpert.watch(net, opt, tmp_path / "d.jsonl") as run,
        pytest.raises(ValueError, match="criterion and loader"),
    ):
        run.doctor(budget_s=1)


def test_an_autoencoders_chance_level_is_each_outputs_own_variance(tmp_path: Path) -> None:
    """Digits reconstructed by an autoencoder: a constant prediction predicts every pixel's own
    mean and pays the mean of the pixels' variances (0.07 here). The pooled std of all target
    values also counts how the pixels' means differ (0.14): against it, a model stuck at the
    mean image looked half-way to a fit."""
    x, _ = sklearn_datasets.load_digits(return_X_y=True)
    xt = torch.tensor(x / 16.0, dtype=torch.float32)
    loader = torch.utils.data.DataLoader(
        torch.utils.data.TensorDataset(xt, xt), batch_size=64, shuffle=False
    )
    torch.manual_seed(0)
    net = nn.Sequential(nn.Linear(64, 16), nn.ReLU(), nn.Linear(16, 64))
    opt = torch.optim.SGD(net.parameters(), lr=0.01)
    path = tmp_path / "ae.jsonl"
    crit = nn.MSELoss()
    with lossexpert.watch(net, opt, path, criterion=crit, loader=loader) as run:
        train(run, net, opt, loader, crit)
    stats = lossexpert.load_run(path).run.data["train"]
    seen = xt[: 20 * 64].double()  # the first 20 batches
    assert stats.label_output_var == pytest.approx(float(seen.var(0, unbiased=False).mean()))
    assert stats.label_std is not None
    assert stats.label_output_var < 0.6 * stats.label_std**2
    from lossexpert.engine.facts import target_variance

    assert target_variance(lossexpert.load_run(path).run) == stats.label_output_var


@pytest.mark.parametrize("order", ["sorted", "shuffled", "regression"])
def test_float_zero_one_targets_of_a_binary_loss_are_class_labels(
    tmp_path: Path, order: str
) -> None:
    """BCEWithLogitsLoss takes its labels as floats 0 and 1: before, they were read as a
    regression target (mean, std), so a loader sorted by label showed no single-class batches
    and the class balance was unknown. Float targets with other values stay a regression's."""
    torch.set_num_threads(1)
    x, y = sklearn_datasets.load_breast_cancer(return_X_y=True)
    xt = torch.tensor((x - x.mean(0)) / x.std(0), dtype=torch.float32)
    yt = torch.tensor(y, dtype=torch.float32)
    if order == "sorted":
        idx = torch.argsort(yt, stable=True)
        xt, yt = xt[idx], yt[idx]
    if order == "regression":
        yt = yt + 0.1 * torch.tensor(x[:, 0] / x[:, 0].max(), dtype=torch.float32)
    loader = torch.utils.data.DataLoader(
        torch.utils.data.TensorDataset(xt, yt),
        batch_size=32,
        shuffle=order != "sorted",
        generator=torch.Generator().manual_seed(0),
    )
    torch.manual_seed(0)
    net = nn.Sequential(nn.Linear(30, 16), nn.ReLU(), nn.Linear(16, 1), nn.Flatten(0))
    opt = torch.optim.SGD(net.parameters(), lr=0.05)
    crit = nn.BCEWithLogitsLoss() if order != "regression" else nn.MSELoss()
    path = tmp_path / f"{order}.jsonl"
    with lossexpert.watch(net, opt, path, criterion=crit, loader=loader) as run:
        train(run, net, opt, loader, crit)
    stats = lossexpert.load_run(path).run.data["train"]
    if order == "regression":
        assert stats.label_counts is None and stats.label_mean is not None
        return
    assert stats.label_counts is not None and set(stats.label_counts) == {"0", "1"}
    if order == "sorted":
        # 212 malignant samples, then 357 benign: 17 of the epoch's 18 batches hold one class.
        assert stats.ordered_batch_fraction == pytest.approx(17 / 18)
        d = lossexpert.diagnose(lossexpert.load_run(path))
        assert "data.ordered_batches" in {s.symptom for s in d.symptoms}
    else:
        assert stats.ordered_batch_fraction is not None and stats.ordered_batch_fraction < 0.5


@pytest.mark.parametrize("corruption", ["noise", "shift"])
def test_held_out_inputs_are_read_from_the_evaluation_forwards(
    tmp_path: Path, corruption: str
) -> None:
    """The loop evaluates val and test in eval mode and logs each loss: the forwards before a
    ``log`` are that split's inputs (from the first held-out ``log`` on). Before, only the
    training batches were described, so a test loss far above val could not be told apart
    between noisy test inputs and a shifted test set (outside GRU, LSTM, ViT runs: 11 of them
    second)."""
    torch.set_num_threads(1)
    x, y = sklearn_datasets.load_digits(return_X_y=True)
    xt = torch.tensor(x / 16.0, dtype=torch.float32)
    xt = (xt - xt.mean(0)) / xt.std(0).clamp_min(1e-3)
    yt = torch.tensor(y)
    g = torch.Generator().manual_seed(0)
    held = {"val": xt[1100:1450], "test": xt[1450:].clone()}
    if corruption == "noise":
        held["test"] += 1.5 * torch.randn(held["test"].shape, generator=g)
    else:
        held["test"] = held["test"] * 1.5 + 3.0
    labels = {"val": yt[1100:1450], "test": yt[1450:]}
    loader = torch.utils.data.DataLoader(
        torch.utils.data.TensorDataset(xt[:1100], yt[:1100]),
        batch_size=32,
        shuffle=True,
        generator=g,
    )
    net = model()
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    crit = nn.CrossEntropyLoss()
    path = tmp_path / f"{corruption}.jsonl"
    with lossexpert.watch(net, opt, path, criterion=crit, loader=loader) as run:
        for epoch in range(6):
            net.train()
            train(run, net, opt, loader, crit)
            if epoch == 0:
                # No hook on the forwards until a held-out loss is logged: a loop that logs
                # none pays nothing; the first evaluation read is test's, then val's second.
                assert not net._forward_pre_hooks
            net.eval()
            with torch.no_grad():
                for split in ("val", "test"):
                    run.log(split, crit(net(held[split]), labels[split]))
    data = lossexpert.load_run(path).run.data
    assert data["val"].feature_mean is not None
    assert data["val"].feature_mean == pytest.approx(held["val"].mean(0).tolist(), abs=1e-4)
    assert data["test"].feature_std == pytest.approx(
        held["test"].std(0, unbiased=False).tolist(), abs=1e-3
    )
    d = lossexpert.diagnose(lossexpert.load_run(path))
    facts = {s.symptom for s in d.symptoms}
    if corruption == "noise":
        assert "data.test_noisier" in facts and "data.test_shift" not in facts
        assert d.findings[0].cause == "test_noise", [f.cause for f in d.findings]
    else:
        assert "data.test_shift" in facts
        assert d.findings[0].cause == "distribution_shift", [f.cause for f in d.findings]
