"""Tiny real training runs with one injected fault each, recorded by ``lossexpert.watch``.

Shared by the bundled examples (``make_examples.py``) and the diagnosis-accuracy benchmark
(``benchmarks/diagnosis/generate.py``). Data ships with scikit-learn (digits, breast cancer,
wine, diabetes): nothing is downloaded. Everything is seeded.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from sklearn.datasets import load_breast_cancer, load_diabetes, load_digits, load_wine
from sklearn.model_selection import train_test_split
from torch import nn

import lossexpert

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


def cnn(
    n_out: int, hidden: int = 32, act: type[nn.Module] = nn.ReLU, out_act: nn.Module | None = None
) -> nn.Sequential:
    """A small CNN for the 8x8 digits images (input reshaped to 1x8x8)."""
    layers: list[nn.Module] = [
        nn.Unflatten(1, (1, 8, 8)),
        nn.Conv2d(1, 8, 3, padding=1),
        act(),
        nn.Conv2d(8, 16, 3, padding=1),
        act(),
        nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(16 * 4 * 4, hidden),
        act(),
        nn.Linear(hidden, n_out),
    ]
    if out_act is not None:
        layers.append(out_act)
    return nn.Sequential(*layers)


def init_weights(model: nn.Module, scheme: str, gain: float = 1.0) -> None:
    for m in model.modules():
        if isinstance(m, nn.Linear | nn.Conv2d):
            if scheme == "he":
                nn.init.kaiming_normal_(m.weight, nonlinearity="relu")
            elif scheme == "zeros":
                nn.init.zeros_(m.weight)
            elif scheme == "constant":
                nn.init.constant_(m.weight, 0.05 * gain)
            elif scheme == "normal":
                nn.init.normal_(m.weight, std=gain)
            elif scheme == "he_scaled":
                nn.init.kaiming_normal_(m.weight, nonlinearity="relu")
                m.weight.data.mul_(gain)
            if scheme != "default" and m.bias is not None:
                nn.init.zeros_(m.bias)


# ---------------------------------------------------------------- scenarios


@dataclass
class Scenario:
    name: str
    cause: str  # ground truth: a cause id, or "none"
    dataset: str = "digits"
    family: str = "mlp"  # or "cnn" (digits only)
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
    init: str = "he"  # he, zeros, constant, normal, he_scaled, default
    init_gain: float = 1.0
    train_size: int | None = None
    out_act: str | None = None  # softmax, relu
    loss: str | None = None  # mse_onehot for a classification task
    sort_by_label: bool = False
    test_transform: str | None = None  # translate, noise
    optimizer_on_copy: bool = False
    optimizer_last_layer_only: bool = False
    bias_init: float | None = None
    label_noise: float = 0.0
    schedule: str | None = None  # warmup_cosine, step
    spike_at: int | None = None  # one step at 30x the learning rate
    early_stopping: int | None = None  # patience in epochs
    class_weights: bool = False
    imbalance: float | None = None  # keep this fraction of every class but the first
    seed: int = 0
    description: str = ""


def make_batches(n: int, bs: int, rng: np.random.Generator, shuffle: bool) -> list[np.ndarray]:
    idx = rng.permutation(n) if shuffle else np.arange(n)
    return [idx[i : i + bs] for i in range(0, n, bs)]


def prepare_data(sc: Scenario) -> Data:
    rng = np.random.default_rng(sc.seed + 1)
    d = load(sc.dataset, standardize=sc.standardize, train_size=sc.train_size, seed=sc.seed)
    if sc.imbalance is not None and d.task == "classification":
        for split in ("train", "val", "test"):
            keep = [
                i for i, label in enumerate(d.y[split]) if label == 0 or rng.random() < sc.imbalance
            ]
            d.x[split], d.y[split] = d.x[split][keep], d.y[split][keep]
    if sc.label_noise and d.task == "classification":
        for split in ("train", "val", "test"):
            flip = rng.random(len(d.y[split])) < sc.label_noise
            d.y[split] = np.where(
                flip, rng.integers(0, d.num_classes or 2, len(d.y[split])), d.y[split]
            ).astype(np.int64)
    if sc.sort_by_label:
        order = np.argsort(d.y["train"], kind="stable")
        d.x["train"], d.y["train"] = d.x["train"][order], d.y["train"][order]
    if sc.test_transform == "translate" and sc.dataset == "digits":
        # Standardised pixels, shifted two columns right: the digits sit elsewhere in the frame.
        img = d.x["test"].reshape(-1, 8, 8)
        moved = np.full_like(img, float(img.min()))
        moved[:, :, 2:] = img[:, :, :-2]
        d.x["test"] = moved.reshape(-1, 64)
    elif sc.test_transform == "shift":
        d.x["test"] = d.x["test"] + 1.5  # every feature moves by 1.5 training std
    elif sc.test_transform == "noise":
        d.x["test"] = d.x["test"] + rng.normal(0, 2.0, d.x["test"].shape).astype(np.float32)
    return d


def build_model(sc: Scenario, d: Data) -> nn.Module:
    n_in = d.x["train"].shape[1]
    n_out = d.num_classes or 1
    out_act = {"softmax": nn.Softmax(dim=1), "relu": nn.ReLU()}.get(sc.out_act or "")
    if sc.family == "cnn":
        model = cnn(n_out, sc.hidden[0] if sc.hidden else 32, sc.act, out_act)
    else:
        model = mlp(n_in, sc.hidden, n_out, sc.act, sc.dropout, out_act)
    init_weights(model, sc.init, sc.init_gain)
    if sc.bias_init is not None:
        linears = [m for m in model.modules() if isinstance(m, nn.Linear | nn.Conv2d)]
        for m in linears[:-1]:
            nn.init.constant_(m.bias, sc.bias_init)
    return model


def run_scenario(sc: Scenario, workdir: Path) -> dict[str, Any]:
    torch.manual_seed(sc.seed)
    d = prepare_data(sc)
    model = build_model(sc, d)
    params = list(model.parameters())
    if sc.optimizer_last_layer_only:
        params = list([m for m in model.modules() if isinstance(m, nn.Linear)][-1].parameters())
    if sc.optimizer_on_copy:
        params = [p.detach().clone().requires_grad_(True) for p in params]
    opt: torch.optim.Optimizer
    if sc.optimizer == "adam":
        opt = torch.optim.Adam(params, lr=sc.lr, weight_decay=sc.weight_decay)
    else:
        opt = torch.optim.SGD(params, lr=sc.lr, momentum=sc.momentum, weight_decay=sc.weight_decay)
    xt = {k: torch.tensor(v) for k, v in d.x.items()}
    yt = {k: torch.tensor(v) for k, v in d.y.items()}
    n = len(xt["train"])
    steps_per_epoch = math.ceil(n / sc.batch_size)
    total = steps_per_epoch * sc.epochs
    scheduler = None
    if sc.schedule == "warmup_cosine":
        warm = max(1, total // 10)
        scheduler = torch.optim.lr_scheduler.LambdaLR(
            opt,
            lambda s: (
                (s + 1) / warm
                if s < warm
                else 0.5 * (1 + math.cos(math.pi * (s - warm) / max(1, total - warm)))
            ),
        )
    elif sc.schedule == "step":
        scheduler = torch.optim.lr_scheduler.StepLR(opt, step_size=max(1, total // 3), gamma=0.1)
    weight = None
    if sc.class_weights and d.task == "classification":
        counts = np.bincount(d.y["train"], minlength=d.num_classes or 2).astype(np.float32)
        weight = torch.tensor(counts.sum() / np.maximum(counts, 1) / len(counts))
    criterion: nn.Module
    if d.task == "regression":
        criterion = nn.MSELoss()
        yt = {k: v.unsqueeze(1) for k, v in yt.items()}
    elif sc.loss == "mse_onehot":
        criterion = nn.MSELoss()
    else:
        criterion = nn.CrossEntropyLoss(weight=weight)

    def loss_of(out: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        if sc.loss == "mse_onehot":
            return criterion(out, nn.functional.one_hot(y, d.num_classes or 2).float())
        return criterion(out, y)

    # What the objects cannot tell the collector: the task and how the data was prepared.
    config: dict[str, Any] = {
        "task": d.task,
        "num_classes": d.num_classes,
        "batch_size": sc.batch_size,
        "epochs": sc.epochs,
        "steps_per_epoch": steps_per_epoch,
        "init": {
            "he": "kaiming_normal",
            "zeros": "zeros",
            "default": "default",
            "constant": f"constant({0.05 * sc.init_gain:g})",
            "normal": f"normal(std={sc.init_gain})",
            "he_scaled": f"kaiming_normal x{sc.init_gain}",
        }[sc.init]
        + (f"+bias({sc.bias_init})" if sc.bias_init is not None else ""),
        "shuffle": sc.shuffle,
        "input_normalization": "standardize" if sc.standardize else "none",
        "split_sizes": {k: len(v) for k, v in d.x.items()},
    }
    if sc.loss == "mse_onehot":
        config["loss"] = "mse"
    if sc.dropout:
        config["dropout"] = sc.dropout
    tags = {
        "injected_cause": sc.cause,
        "dataset": sc.dataset,
        "family": sc.family,
        "description": sc.description,
    }
    path = workdir / f"{sc.name}.jsonl"
    path.unlink(missing_ok=True)

    def evaluate(split: str) -> tuple[float, float | None]:
        model.eval()
        with torch.no_grad():
            out = model(xt[split])
            loss = float(loss_of(out, yt[split]))
            acc = (
                float((out.argmax(1) == yt[split]).float().mean())
                if d.task == "classification"
                else None
            )
        model.train()
        return loss, acc

    with lossexpert.watch(
        model,
        opt,
        path,
        config=config,
        criterion=criterion,
        name=sc.name,
        tags=tags,
        overhead_budget=None,  # bundled examples regenerate identically on any machine
    ) as run:
        for split in ("val", "test"):
            run.describe_data(split, xt[split], d.y[split] if d.task == "classification" else None)

        def log_eval(epoch: float) -> float:
            val_loss = math.nan
            for split in ("val", "test"):
                loss, acc = evaluate(split)
                run.log(split, loss, epoch=epoch, **({"accuracy": acc} if acc is not None else {}))
                if split == "val":
                    val_loss = loss
            return val_loss

        best, since_best = log_eval(0.0), 0
        batch_rng = np.random.default_rng(sc.seed)
        step = 0
        for epoch in range(sc.epochs):
            batches = make_batches(n, sc.batch_size, batch_rng, sc.shuffle)
            for i, idx in enumerate(batches):
                xb, yb = xt["train"][idx], yt["train"][idx]
                loss = loss_of(model(xb), yb)
                opt.zero_grad()
                model.zero_grad()
                loss.backward()
                spike = sc.spike_at is not None and step == sc.spike_at
                if spike:
                    for g in opt.param_groups:
                        g["lr"] *= 30
                opt.step()
                if spike:
                    for g in opt.param_groups:
                        g["lr"] /= 30
                if scheduler is not None:
                    scheduler.step()
                step += 1
                run.log("train", loss, epoch=round(epoch + (i + 1) / len(batches), 4))
            val = log_eval(float(epoch + 1))
            if sc.early_stopping is not None:
                if val < best - 1e-4:
                    best, since_best = val, 0
                else:
                    since_best += 1
                    if since_best >= sc.early_stopping:
                        break
    return lossexpert.load_run(path).run.model_dump(mode="json", exclude_none=True)


def clean(obj: Any) -> Any:
    """Round floats for small files; keep NaN/Inf as the JSON constants Python writes."""
    if isinstance(obj, float):
        return obj if not math.isfinite(obj) else float(f"{obj:.6g}")
    if isinstance(obj, dict):
        return {k: clean(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [clean(v) for v in obj]
    return obj
