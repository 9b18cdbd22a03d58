"""Produce the example runs by really training tiny models, each with one injected fault.

    pip install -e '.[examples]'
    python examples/make_examples.py            # writes examples/runs/*.json

Data ships with scikit-learn (digits, breast cancer, wine, diabetes): nothing is downloaded.
Fixed seeds; each scenario's ``tags.injected_cause`` is its ground truth (``none`` if healthy).
Every run is recorded by the live collector, ``lossexpert.watch``, exactly as a user's
training loop would be, then stored as ``.json`` (``lossexpert convert`` does the same).
"""

from __future__ import annotations

import json
import math
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from sklearn.datasets import load_breast_cancer, load_diabetes, load_digits, load_wine
from sklearn.model_selection import train_test_split
from torch import nn

import lossexpert

OUT = Path(__file__).parent / "runs"
torch.set_num_threads(1)


# ---------------------------------------------------------------- data


@dataclass
class Data:
    name: str
    task: str
    num_classes: int | None
    x: dict[str, np.ndarray]
    y: dict[str, np.ndarray]


def load(
    name: str, *, standardize: bool = True, train_size: int | None = None, seed: int = 0
) -> Data:
    loaders = {
        "digits": load_digits,
        "breast_cancer": load_breast_cancer,
        "wine": load_wine,
        "diabetes": load_diabetes,
    }
    bunch = loaders[name]()
    x, y = bunch.data.astype(np.float32), bunch.target
    task = "regression" if name == "diabetes" else "classification"
    strat = y if task == "classification" else None
    x_tr, x_rest, y_tr, y_rest = train_test_split(
        x, y, test_size=0.4, random_state=seed, stratify=strat
    )
    strat_rest = y_rest if task == "classification" else None
    x_va, x_te, y_va, y_te = train_test_split(
        x_rest, y_rest, test_size=0.5, random_state=seed, stratify=strat_rest
    )
    if train_size is not None:
        x_tr, y_tr = x_tr[:train_size], y_tr[:train_size]
    if standardize:
        mu, sd = x_tr.mean(0), x_tr.std(0)
        sd = np.where(sd < 1e-3, 1.0, sd)  # constant pixels: leave them as they are
        x_tr, x_va, x_te = (x_tr - mu) / sd, (x_va - mu) / sd, (x_te - mu) / sd
    if task == "regression":
        ym, ys = y_tr.mean(), y_tr.std()
        y_tr, y_va, y_te = ((v - ym) / ys for v in (y_tr, y_va, y_te))
        ys_ = {k: v.astype(np.float32) for k, v in (("train", y_tr), ("val", y_va), ("test", y_te))}
    else:
        ys_ = {k: v.astype(np.int64) for k, v in (("train", y_tr), ("val", y_va), ("test", y_te))}
    n_cls = int(y.max()) + 1 if task == "classification" else None
    return Data(name, task, n_cls, {"train": x_tr, "val": x_va, "test": x_te}, ys_)


# ---------------------------------------------------------------- models


def mlp(
    n_in: int,
    hidden: list[int],
    n_out: int,
    act: type[nn.Module] = nn.ReLU,
    dropout: float = 0.0,
    out_act: nn.Module | None = None,
) -> nn.Sequential:
    layers: list[nn.Module] = []
    prev = n_in
    for h in hidden:
        layers += [nn.Linear(prev, h), act()]
        if dropout:
            layers.append(nn.Dropout(dropout))
        prev = h
    layers.append(nn.Linear(prev, n_out))
    if out_act is not None:
        layers.append(out_act)
    return nn.Sequential(*layers)


def he_init(model: nn.Module) -> None:
    for m in model.modules():
        if isinstance(m, nn.Linear):
            nn.init.kaiming_normal_(m.weight, nonlinearity="relu")
            nn.init.zeros_(m.bias)


# ---------------------------------------------------------------- scenarios


@dataclass
class Scenario:
    name: str
    cause: str  # ground truth: a cause id, or "none"
    dataset: str = "digits"
    hidden: list[int] = field(default_factory=lambda: [64, 64])
    act: type[nn.Module] = nn.ReLU
    optimizer: str = "adam"
    lr: float = 1e-3
    momentum: float = 0.0
    weight_decay: float = 0.0
    dropout: float = 0.0
    batch_size: int = 32
    epochs: int = 20
    shuffle: bool = True
    standardize: bool = True
    init: str = "he"
    train_size: int | None = None
    out_act: str | None = None
    loss: str | None = None
    sort_by_label: bool = False
    test_transform: str | None = None
    optimizer_on_copy: bool = False
    bias_init: float | None = None
    record_every: int = 5
    seed: int = 0
    description: str = ""


SCENARIOS = [
    Scenario(
        "healthy_digits_mlp",
        "none",
        weight_decay=1e-4,
        epochs=15,
        description="A well-set-up MLP on digits: standardised, shuffled, He init, Adam 1e-3.",
    ),
    Scenario(
        "healthy_wine_sgd",
        "none",
        dataset="wine",
        optimizer="sgd",
        lr=0.05,
        momentum=0.9,
        batch_size=16,
        epochs=30,
        hidden=[32],
        description="A small MLP on wine with SGD+momentum: noisy but fine.",
    ),
    Scenario(
        "lr_too_high",
        "learning_rate_too_high",
        optimizer="sgd",
        lr=2.0,
        description="Plain SGD at lr 2.0: the loss blows up to Inf, then NaN.",
    ),
    Scenario(
        "lr_too_low",
        "learning_rate_too_low",
        optimizer="sgd",
        lr=1e-4,
        description="Plain SGD at lr 1e-4: the loss barely moves from its starting value.",
    ),
    Scenario(
        "zero_init",
        "weight_initialization",
        init="zeros",
        description="All weights and biases start at zero: the ReLU MLP cannot break symmetry.",
    ),
    Scenario(
        "unshuffled_sorted",
        "data_not_shuffled",
        shuffle=False,
        sort_by_label=True,
        optimizer="sgd",
        lr=0.05,
        momentum=0.9,
        epochs=15,
        description="Training set sorted by label and never shuffled: every batch is one class.",
    ),
    Scenario(
        "unnormalized_breast_cancer",
        "data_not_normalized",
        dataset="breast_cancer",
        standardize=False,
        optimizer="adam",
        lr=1e-2,
        epochs=30,
        hidden=[32],
        description="Raw breast-cancer features (scales from 1e-3 to 4e3) fed to an MLP.",
    ),
    Scenario(
        "over_regularized",
        "over_regularization",
        weight_decay=0.5,
        dropout=0.6,
        description="L2 weight decay 0.5 and dropout 0.6 from the first step.",
    ),
    Scenario(
        "softmax_then_cross_entropy",
        "loss_function",
        out_act="softmax",
        description="A softmax output layer fed to CrossEntropyLoss (which applies its own).",
    ),
    Scenario(
        "vanishing_sigmoid_deep",
        "vanishing_gradients",
        act=nn.Sigmoid,
        hidden=[64] * 10,
        optimizer="sgd",
        lr=0.1,
        init="default",
        description="A 10-hidden-layer sigmoid MLP trained with plain SGD.",
    ),
    Scenario(
        "optimizer_on_stale_params",
        "gradient_bug",
        optimizer_on_copy=True,
        description="The optimizer holds copies of the parameters: gradients flow, nothing moves.",
    ),
    Scenario(
        "dead_relu_negative_bias",
        "dead_relu",
        bias_init=-4.0,
        optimizer="sgd",
        lr=0.05,
        description="Hidden biases start at -4: most ReLU units never activate.",
    ),
    Scenario(
        "overfitting_small_data",
        "overfitting",
        train_size=100,
        hidden=[512, 512],
        epochs=300,
        batch_size=32,
        lr=3e-3,
        description="A large MLP on 100 digits for 300 epochs, no regularisation.",
    ),
    Scenario(
        "test_distribution_shift",
        "distribution_shift",
        test_transform="translate",
        description="The test digits sit two pixels to the right: another scenario than training.",
    ),
    Scenario(
        "test_noise",
        "test_noise",
        test_transform="noise",
        description="The test inputs carry heavy Gaussian noise the training data never had.",
    ),
    Scenario(
        "insufficient_training",
        "insufficient_training",
        optimizer="sgd",
        lr=0.01,
        epochs=2,
        description="Stopped after two epochs of SGD while the loss is still falling fast.",
    ),
    Scenario(
        "model_too_small",
        "model_structure",
        hidden=[2],
        epochs=30,
        description="A two-unit hidden layer cannot separate ten digit classes.",
    ),
]


def make_batches(n: int, bs: int, rng: np.random.Generator, shuffle: bool) -> list[np.ndarray]:
    idx = rng.permutation(n) if shuffle else np.arange(n)
    return [idx[i : i + bs] for i in range(0, n, bs)]


def run_scenario(sc: Scenario, workdir: Path) -> dict[str, Any]:
    torch.manual_seed(sc.seed)
    rng = np.random.default_rng(sc.seed)
    d = load(sc.dataset, standardize=sc.standardize, train_size=sc.train_size, seed=sc.seed)
    if sc.sort_by_label:
        order = np.argsort(d.y["train"], kind="stable")
        d.x["train"], d.y["train"] = d.x["train"][order], d.y["train"][order]
    if sc.test_transform == "translate" and sc.dataset == "digits":
        # Standardised pixels, shifted two columns right: the digits sit elsewhere in the frame.
        img = d.x["test"].reshape(-1, 8, 8)
        moved = np.full_like(img, float(img.min()))
        moved[:, :, 2:] = img[:, :, :-2]
        d.x["test"] = moved.reshape(-1, 64)
    elif sc.test_transform == "noise":
        d.x["test"] = d.x["test"] + rng.normal(0, 2.0, d.x["test"].shape).astype(np.float32)
    n_in = d.x["train"].shape[1]
    n_out = d.num_classes or 1
    out_act = nn.Softmax(dim=1) if sc.out_act == "softmax" else None
    model = mlp(n_in, sc.hidden, n_out, sc.act, sc.dropout, out_act)
    if sc.init == "he":
        he_init(model)
    elif sc.init == "zeros":
        for m in model.modules():
            if isinstance(m, nn.Linear):
                nn.init.zeros_(m.weight)
                nn.init.zeros_(m.bias)
    if sc.bias_init is not None:
        linears = [m for m in model.modules() if isinstance(m, nn.Linear)]
        for m in linears[:-1]:
            nn.init.constant_(m.bias, sc.bias_init)
    params_for_opt = (
        [p.detach().clone().requires_grad_(True) for p in model.parameters()]
        if sc.optimizer_on_copy
        else list(model.parameters())
    )
    opt: torch.optim.Optimizer
    if sc.optimizer == "adam":
        opt = torch.optim.Adam(params_for_opt, lr=sc.lr, weight_decay=sc.weight_decay)
    else:
        opt = torch.optim.SGD(
            params_for_opt, lr=sc.lr, momentum=sc.momentum, weight_decay=sc.weight_decay
        )
    criterion: nn.Module = nn.CrossEntropyLoss() if d.task == "classification" else nn.MSELoss()
    xt = {k: torch.tensor(v) for k, v in d.x.items()}
    yt = {k: torch.tensor(v) for k, v in d.y.items()}
    if d.task == "regression":
        yt = {k: v.unsqueeze(1) for k, v in yt.items()}
    n = len(xt["train"])
    steps_per_epoch = math.ceil(n / sc.batch_size)
    # What the objects cannot tell the collector: the task and how the data was prepared.
    config: dict[str, Any] = {
        "task": d.task,
        "num_classes": d.num_classes,
        "batch_size": sc.batch_size,
        "epochs": sc.epochs,
        "steps_per_epoch": steps_per_epoch,
        "init": {"he": "kaiming_normal", "zeros": "zeros", "default": "default"}[sc.init]
        + (f"+bias({sc.bias_init})" if sc.bias_init is not None else ""),
        "shuffle": sc.shuffle,
        "input_normalization": "standardize" if sc.standardize else "none",
        "split_sizes": {k: len(v) for k, v in d.x.items()},
    }
    tags = {"injected_cause": sc.cause, "dataset": sc.dataset, "description": sc.description}
    path = workdir / f"{sc.name}.jsonl"
    path.unlink(missing_ok=True)

    def evaluate(split: str) -> tuple[float, float | None]:
        model.eval()
        with torch.no_grad():
            out = model(xt[split])
            loss = float(criterion(out, yt[split]))
            acc = (
                float((out.argmax(1) == yt[split]).float().mean())
                if d.task == "classification"
                else None
            )
        model.train()
        return loss, acc

    with lossexpert.watch(
        model, opt, path, config=config, criterion=criterion, name=sc.name, tags=tags
    ) as run:
        for split in ("val", "test"):
            run.describe_data(split, xt[split], d.y[split] if d.task == "classification" else None)

        def log_eval(epoch: float) -> None:
            for split in ("val", "test"):
                loss, acc = evaluate(split)
                run.log(split, loss, epoch=epoch, **({"accuracy": acc} if acc is not None else {}))

        log_eval(0.0)
        batch_rng = np.random.default_rng(sc.seed)
        for epoch in range(sc.epochs):
            batches = make_batches(n, sc.batch_size, batch_rng, sc.shuffle)
            for i, idx in enumerate(batches):
                xb, yb = xt["train"][idx], yt["train"][idx]
                loss = criterion(model(xb), yb)
                opt.zero_grad()
                model.zero_grad()
                loss.backward()
                opt.step()
                run.log("train", loss, epoch=round(epoch + (i + 1) / len(batches), 4))
            log_eval(float(epoch + 1))
    return lossexpert.load_run(path).run.model_dump(mode="json", exclude_none=True)


def _clean(obj: Any) -> Any:
    """Round floats for small files; keep NaN/Inf as the JSON constants Python writes."""
    if isinstance(obj, float):
        return obj if not math.isfinite(obj) else float(f"{obj:.6g}")
    if isinstance(obj, dict):
        return {k: _clean(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_clean(v) for v in obj]
    return obj


def main(argv: list[str]) -> None:
    wanted = set(argv)
    OUT.mkdir(parents=True, exist_ok=True)
    workdir = Path(tempfile.mkdtemp(prefix="lossexpert-examples-"))
    for sc in SCENARIOS:
        if wanted and sc.name not in wanted:
            continue
        run = run_scenario(sc, workdir)
        path = OUT / f"{sc.name}.json"
        path.write_text(json.dumps(run, separators=(",", ":")) + "\n")
        tr = run["curves"]["train"]["loss"]
        va = run["curves"]["val"]["loss"]
        te = run["curves"]["test"]["loss"]
        print(
            f"{sc.name:32s} train {tr[0]:.3f}->{tr[-1]:.3f}  val {min(va):.3f}/{va[-1]:.3f}  "
            f"test {te[-1]:.3f}  {path.stat().st_size // 1024} KiB"
        )


if __name__ == "__main__":
    main(sys.argv[1:])
