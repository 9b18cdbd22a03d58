"""The generalisation suite: which runs exist, and how each one is built and trained.

``cases()`` lists every case (a frozen, fully seeded description); ``build(case)`` returns
the model, optimizer, criterion, loaders, scheduler and the config a user would pass to
``lossexpert.watch`` — with the fault already injected, before any training — and
``train(built, path)`` runs the training loop through ``lossexpert.watch`` exactly as the
README shows. See ``API.md`` next to this file. Nothing is downloaded: the data sets are
scikit-learn's bundled copies and seeded synthetic sets.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from sklearn.datasets import (
    load_breast_cancer,
    load_diabetes,
    load_digits,
    load_iris,
    load_wine,
    make_classification,
    make_regression,
)
from sklearn.model_selection import train_test_split
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

import lossexpert

# The first catalogue's families, then the families added later (``ADDED``): the cases of an
# added family are listed after every case of the first catalogue, so adding one changes
# neither the names nor the parameters (rotation) of the cases already there.
FIRST_FAMILIES = ("mlp", "cnn", "resnet", "rnn", "transformer", "regression")
ADDED = ("tcn",)
FAMILIES = (*FIRST_FAMILIES, *ADDED)
OPTIMIZERS = ("sgd", "sgd_momentum", "adam", "adamw", "rmsprop")
# Data sets each family trains on (the CNNs need images: digits, 8x8).
FAMILY_DATA: dict[str, tuple[str, ...]] = {
    "mlp": ("digits", "wine", "breast_cancer", "iris", "synthetic"),
    "cnn": ("digits",),
    "resnet": ("digits",),
    "rnn": ("sequence",),
    "transformer": ("sequence",),
    "regression": ("diabetes", "synthetic_regression"),
    "tcn": ("sequence", "digits_sequence"),
}
# The learning rate each optimizer trains these models well with (a sane default a user
# would pick; the faults move away from it).
GOOD_LR = {"sgd": 0.1, "sgd_momentum": 0.03, "adam": 3e-3, "adamw": 3e-3, "rmsprop": 1e-3}


@dataclass(frozen=True)
class Case:
    """One labelled training run. Every field is recorded in the manifest."""

    name: str
    family: str  # FAMILIES
    dataset: str
    optimizer: str  # OPTIMIZERS
    fault: str  # a cause id from lossexpert/kb/units.py, or "none"
    variant: str  # how the fault is injected (or the healthy run's shape)
    severity: int  # 1..3 for faults, 0 for healthy runs
    seed: int
    loss_kind: str = "module"  # "module" (nn.CrossEntropyLoss...) or "functional" (F.*)
    watch_criterion: bool = True  # pass criterion= to watch (only with a loss module)
    watch_loader: bool = True  # pass loader= to watch
    config_level: str = "minimal"  # "minimal": task/num_classes; "full": + what the user knows
    describe_data: bool = False  # call run.describe_data("val"/"test", x, y) (README's option)
    lr: float = 3e-3
    batch_size: int = 32
    epochs: int = 12
    params: tuple[tuple[str, Any], ...] = ()  # fault/shape parameters (hashable)

    def p(self, key: str, default: Any = None) -> Any:
        return dict(self.params).get(key, default)

    def label(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "family": self.family,
            "dataset": self.dataset,
            "optimizer": self.optimizer,
            "fault": self.fault,
            "variant": self.variant,
            "severity": self.severity,
            "seed": self.seed,
            "loss_kind": self.loss_kind,
            "watch": {"criterion": self.watch_criterion, "loader": self.watch_loader},
            "config_level": self.config_level,
            "describe_data": self.describe_data,
            "lr": self.lr,
            "batch_size": self.batch_size,
            "epochs": self.epochs,
            "params": dict(self.params),
        }


# ---------------------------------------------------------------- data


@dataclass
class Data:
    task: str
    num_classes: int | None
    x: dict[str, np.ndarray]
    y: dict[str, np.ndarray]
    standardized: bool = True


def _sequence_task(seed: int, n: int = 900) -> tuple[np.ndarray, np.ndarray]:
    """Sequences of 12 steps x 4 features; the class is the quadrant of the time-mean of
    features 0 and 1 (an LSTM must integrate over time, attention can pool)."""
    rng = np.random.default_rng(1000 + seed)
    x = rng.normal(0.0, 1.0, (n, 12, 4)).astype(np.float32)
    m = x[:, :, :2].mean(1)
    y = (m[:, 0] > 0).astype(np.int64) * 2 + (m[:, 1] > 0).astype(np.int64)
    return x, y


def _raw(dataset: str, seed: int) -> tuple[np.ndarray, np.ndarray, str]:
    bundled = {
        "digits": load_digits,
        "wine": load_wine,
        "breast_cancer": load_breast_cancer,
        "iris": load_iris,
        "diabetes": load_diabetes,
    }
    if dataset in bundled:
        b = bundled[dataset]()
        task = "regression" if dataset == "diabetes" else "classification"
        return b.data.astype(np.float32), b.target, task
    if dataset == "synthetic":
        x, y = make_classification(
            n_samples=1500, n_features=20, n_informative=8, n_classes=4, random_state=seed
        )
        return x.astype(np.float32), y, "classification"
    if dataset == "synthetic_regression":
        x, y = make_regression(
            n_samples=700, n_features=12, n_informative=6, noise=10.0, random_state=seed
        )
        return x.astype(np.float32), y, "regression"
    if dataset == "sequence":
        x, y = _sequence_task(seed)
        return x, y, "classification"
    if dataset == "digits_sequence":
        # The digits read as a sequence: 8 steps (the image rows) of 8 features (the pixels).
        b = load_digits()
        return b.data.reshape(-1, 8, 8).astype(np.float32), b.target, "classification"
    raise ValueError(f"unknown data set {dataset}")


def load_data(case: Case) -> Data:
    """Split 60/20/20, then apply the data faults (they only touch what they say)."""
    x, y, task = _raw(case.dataset, case.seed)
    rng = np.random.default_rng(case.seed + 7)
    cls = task == "classification"
    x_tr, x_rest, y_tr, y_rest = train_test_split(
        x, y, test_size=0.4, random_state=case.seed, stratify=y if cls else None
    )
    x_va, x_te, y_va, y_te = train_test_split(
        x_rest, y_rest, test_size=0.5, random_state=case.seed, stratify=y_rest if cls else None
    )
    xs = {"train": x_tr, "val": x_va, "test": x_te}
    ys = {"train": y_tr, "val": y_va, "test": y_te}
    n_cls = int(y.max()) + 1 if cls else None
    if case.p("train_size"):
        xs["train"], ys["train"] = (
            xs["train"][: case.p("train_size")],
            ys["train"][: case.p("train_size")],
        )
    if case.p("imbalance") is not None and cls:
        keep_frac = float(case.p("imbalance"))
        for s in xs:
            keep = (ys[s] == 0) | (rng.random(len(ys[s])) < keep_frac)
            xs[s], ys[s] = xs[s][keep], ys[s][keep]
    if case.p("uninformative") is not None:
        # feature_selection: a share of the features replaced by noise carrying no label signal
        share = float(case.p("uninformative"))
        for s in xs:
            flat = xs[s].reshape(len(xs[s]), -1)
            k = max(1, round(share * flat.shape[1]))
            cols = np.arange(flat.shape[1])[:k] if share < 1 else np.arange(flat.shape[1])
            flat = flat.copy()
            flat[:, cols] = rng.normal(flat.mean(), flat.std() + 1e-6, (len(flat), len(cols)))
            xs[s] = flat.reshape(xs[s].shape).astype(np.float32)
    standardize = not case.p("raw_inputs", False)
    if standardize:
        axis = (0, 1) if xs["train"].ndim == 3 else 0
        mu, sd = xs["train"].mean(axis), xs["train"].std(axis)
        sd = np.where(sd < 1e-3, 1.0, sd)
        xs = {s: ((v - mu) / sd).astype(np.float32) for s, v in xs.items()}
    elif case.p("input_scale") is not None:
        scale, offset = case.p("input_scale")
        xs = {s: (v * scale + offset).astype(np.float32) for s, v in xs.items()}
    if not cls:
        ym, ysd = float(ys["train"].mean()), float(ys["train"].std())
        ys = {s: ((v - ym) / ysd).astype(np.float32) for s, v in ys.items()}
    else:
        ys = {s: v.astype(np.int64) for s, v in ys.items()}
    if case.p("label_noise"):
        frac = float(case.p("label_noise"))
        for s in ("train", "val", "test"):
            if cls:
                flip = rng.random(len(ys[s])) < frac
                ys[s] = np.where(flip, rng.integers(0, n_cls or 2, len(ys[s])), ys[s]).astype(
                    np.int64
                )
            else:
                ys[s] = (ys[s] + rng.normal(0, frac * 3.0, len(ys[s]))).astype(np.float32)
    if case.p("sort_by_label"):
        order = np.argsort(ys["train"], kind="stable")
        xs["train"], ys["train"] = xs["train"][order], ys["train"][order]
    shift = case.p("test_shift")
    if shift is not None:
        xs["test"] = (xs["test"] + float(shift) * xs["train"].std()).astype(np.float32)
    noise = case.p("test_noise")
    if noise is not None:
        xs["test"] = (
            xs["test"] + rng.normal(0, float(noise) * xs["train"].std(), xs["test"].shape)
        ).astype(np.float32)
    return Data(task, n_cls, xs, ys, standardize)


# ---------------------------------------------------------------- models


def _act(name: str) -> nn.Module:
    return {"relu": nn.ReLU(), "tanh": nn.Tanh(), "sigmoid": nn.Sigmoid()}[name]


class ResBlock(nn.Module):
    def __init__(self, ch: int, act: str) -> None:
        super().__init__()
        self.conv1, self.bn1 = nn.Conv2d(ch, ch, 3, padding=1), nn.BatchNorm2d(ch)
        self.conv2, self.bn2 = nn.Conv2d(ch, ch, 3, padding=1), nn.BatchNorm2d(ch)
        self.act1, self.act2 = _act(act), _act(act)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.act1(self.bn1(self.conv1(x)))
        return self.act2(x + self.bn2(self.conv2(h)))


class SeqRNN(nn.Module):
    def __init__(self, n_in: int, hidden: int, n_out: int, cell: str, layers: int) -> None:
        super().__init__()
        rnn_cls = {"lstm": nn.LSTM, "gru": nn.GRU, "rnn": nn.RNN}[cell]
        self.rnn = rnn_cls(n_in, hidden, num_layers=layers, batch_first=True)
        self.head = nn.Linear(hidden, n_out)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out, _ = self.rnn(x)
        return self.head(out[:, -1])


class SeqTransformer(nn.Module):
    def __init__(self, n_in: int, d: int, n_out: int, layers: int, dropout: float) -> None:
        super().__init__()
        self.proj = nn.Linear(n_in, d)
        self.pos = nn.Parameter(torch.zeros(1, 12, d))
        layer = nn.TransformerEncoderLayer(
            d,
            nhead=2 if d % 2 == 0 else 1,
            dim_feedforward=2 * d,
            dropout=dropout,
            batch_first=True,
        )
        self.encoder = nn.TransformerEncoder(layer, layers, enable_nested_tensor=False)
        self.head = nn.Linear(d, n_out)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.encoder(self.proj(x) + self.pos)
        return self.head(h.mean(1))


class CausalConv1d(nn.Conv1d):
    """A 1-D convolution that sees only the current and earlier steps (left zero padding), the
    length of the sequence kept."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return super().forward(F.pad(x, (self.dilation[0] * (self.kernel_size[0] - 1), 0)))


class SeqTCN(nn.Module):
    """A temporal convolutional network: ``layers`` causal convolutions (kernel 3, dilation
    ``base ** (i % 3)``: 1, 2, 4, 1, ... with base 2; none with base 1), each followed by the
    activation (and dropout), global average pooling over time, a linear head. Input
    (batch, steps, features), like the other sequence models."""

    def __init__(
        self, n_in: int, ch: int, n_out: int, layers: int, act: str, base: int, dropout: float
    ) -> None:
        super().__init__()
        body: list[nn.Module] = []
        prev = n_in
        for i in range(layers):
            body += [CausalConv1d(prev, ch, 3, dilation=base ** (i % 3)), _act(act)]
            if dropout:
                body.append(nn.Dropout(dropout))
            prev = ch
        self.body = nn.Sequential(*body)
        self.head = nn.Linear(ch, n_out)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.body(x.transpose(1, 2)).mean(2))


def _with_out_act(model: nn.Module, out_act: str | None) -> nn.Module:
    if out_act is None:
        return model
    last = {"softmax": nn.Softmax(dim=1), "relu": nn.ReLU(), "sigmoid": nn.Sigmoid()}[out_act]
    return nn.Sequential(model, last)


def build_model(case: Case, d: Data) -> nn.Module:
    n_out = d.num_classes or 1
    act = case.p("act", "relu")
    width = case.p("width")
    depth = case.p("depth")
    dropout = float(case.p("dropout", 0.0))
    model: nn.Module
    if case.family in ("mlp", "regression"):
        n_in = d.x["train"].shape[1]
        hidden = [width or 64] * (depth or 2)
        layers: list[nn.Module] = []
        prev = n_in
        for h in hidden:
            layers += [nn.Linear(prev, h), _act(act)]
            if dropout:
                layers.append(nn.Dropout(dropout))
            prev = h
        layers.append(nn.Linear(prev, n_out))
        model = nn.Sequential(*layers)
    elif case.family == "cnn":
        convs: list[nn.Module] = [nn.Unflatten(1, (1, 8, 8)), nn.Conv2d(1, 8, 3, padding=1)]
        convs.append(_act(act))
        for _ in range(max(1, depth or 1)):
            convs += [nn.Conv2d(8, 8, 3, padding=1), _act(act)]
        convs += [nn.MaxPool2d(2), nn.Flatten(), nn.Linear(8 * 16, width or 32), _act(act)]
        if dropout:
            convs.append(nn.Dropout(dropout))
        convs.append(nn.Linear(width or 32, n_out))
        model = nn.Sequential(*convs)
    elif case.family == "resnet":
        ch = 12
        blocks: list[nn.Module] = [
            nn.Unflatten(1, (1, 8, 8)),
            nn.Conv2d(1, ch, 3, padding=1),
            nn.BatchNorm2d(ch),
            _act(act),
        ]
        blocks += [ResBlock(ch, act) for _ in range(depth or 2)]
        blocks += [nn.AdaptiveAvgPool2d(2), nn.Flatten()]
        if dropout:
            blocks.append(nn.Dropout(dropout))
        blocks += [nn.Linear(ch * 4, width or 32), _act(act), nn.Linear(width or 32, n_out)]
        model = nn.Sequential(*blocks)
    elif case.family == "rnn":
        model = SeqRNN(4, width or 32, n_out, case.p("cell", "lstm"), depth or 1)
    elif case.family == "transformer":
        model = SeqTransformer(4, width or 32, n_out, depth or 1, dropout)
    elif case.family == "tcn":
        n_in = d.x["train"].shape[2]
        base = int(case.p("dilation", 2))
        model = SeqTCN(n_in, width or 32, n_out, depth or 3, act, base, dropout)
    else:
        raise ValueError(case.family)
    _init(model, case)
    return _with_out_act(model, case.p("out_act"))


def _init(model: nn.Module, case: Case) -> None:
    scheme = case.p("init")
    gain = float(case.p("init_gain", 1.0))
    bias = case.p("bias_init")
    weighted = [m for m in model.modules() if isinstance(m, nn.Linear | nn.Conv1d | nn.Conv2d)]
    for m in weighted:
        if scheme == "zeros":
            nn.init.zeros_(m.weight)
        elif scheme == "constant":
            nn.init.constant_(m.weight, 0.05 * gain)
        elif scheme == "normal":
            nn.init.normal_(m.weight, std=gain)
        elif scheme == "he_scaled":
            nn.init.kaiming_normal_(m.weight, nonlinearity="relu")
            m.weight.data.mul_(gain)
        if scheme is not None and m.bias is not None:
            nn.init.zeros_(m.bias)
    if scheme in ("zeros", "constant", "normal", "he_scaled"):
        for mod in model.modules():
            if isinstance(mod, nn.RNNBase):
                for name, w in mod.named_parameters():
                    if name.startswith("weight"):
                        if scheme == "zeros":
                            nn.init.zeros_(w)
                        elif scheme == "constant":
                            nn.init.constant_(w, 0.05 * gain)
                        else:
                            nn.init.normal_(w, std=gain / math.sqrt(w.shape[1]) * 3)
    if bias is not None:
        for m in weighted[:-1]:
            if m.bias is not None:
                nn.init.constant_(m.bias, float(bias))


# ---------------------------------------------------------------- building a case


@dataclass
class Built:
    """Everything a training of ``case`` uses, built and with the fault injected."""

    case: Case
    data: Data
    model: nn.Module
    optimizer: torch.optim.Optimizer
    criterion: nn.Module | None  # the loss module; None when the loss is a function
    loss_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]  # what the loop calls
    train_loader: DataLoader[Any]
    val_loader: DataLoader[Any]
    test_loader: DataLoader[Any]
    config: dict[str, Any]  # what the user passes as watch(config=...)
    scheduler: Any = None  # a torch LR scheduler stepped every optimizer step, or None
    zero_grad: bool = True  # False: the missing-zero_grad bug
    spike_at: int | None = None  # one step at 30x the learning rate
    early_stopping: int | None = None  # patience in epochs
    max_steps: int | None = None  # training stopped early (insufficient training)
    watch_kwargs: dict[str, Any] = field(default_factory=dict)  # criterion=/loader= as chosen


def _optimizer(case: Case, params: list[nn.Parameter]) -> torch.optim.Optimizer:
    wd = float(case.p("weight_decay", 0.0))
    if case.optimizer == "sgd":
        return torch.optim.SGD(params, lr=case.lr, weight_decay=wd)
    if case.optimizer == "sgd_momentum":
        return torch.optim.SGD(params, lr=case.lr, momentum=0.9, weight_decay=wd)
    if case.optimizer == "adam":
        return torch.optim.Adam(params, lr=case.lr, weight_decay=wd)
    if case.optimizer == "adamw":
        return torch.optim.AdamW(params, lr=case.lr, weight_decay=wd or 0.01)
    if case.optimizer == "rmsprop":
        return torch.optim.RMSprop(params, lr=case.lr, weight_decay=wd)
    raise ValueError(case.optimizer)


def _loss(case: Case, d: Data) -> tuple[nn.Module | None, Callable[..., torch.Tensor]]:
    smoothing = float(case.p("label_smoothing", 0.0))
    weight = None
    if case.p("class_weights") and d.num_classes:
        counts = np.bincount(d.y["train"], minlength=d.num_classes).astype(np.float32)
        weight = torch.tensor(counts.sum() / np.maximum(counts, 1) / len(counts))
    n_cls = d.num_classes or 2
    if d.task == "regression":
        if case.loss_kind == "module":
            mse = nn.MSELoss()
            return mse, lambda out, y: mse(out.squeeze(1), y)
        return None, lambda out, y: F.mse_loss(out.squeeze(1), y)
    if case.p("mse_onehot"):
        if case.loss_kind == "module":
            mse = nn.MSELoss()
            return mse, lambda out, y: mse(out, F.one_hot(y, n_cls).float())
        return None, lambda out, y: F.mse_loss(out, F.one_hot(y, n_cls).float())
    if case.loss_kind == "module":
        ce = nn.CrossEntropyLoss(weight=weight, label_smoothing=smoothing)
        return ce, ce
    return None, lambda out, y: F.cross_entropy(out, y, weight=weight, label_smoothing=smoothing)


def _loader(x: np.ndarray, y: np.ndarray, bs: int, shuffle: bool, seed: int) -> DataLoader[Any]:
    g = torch.Generator()
    g.manual_seed(seed)
    ds = TensorDataset(torch.tensor(x), torch.tensor(y))
    return DataLoader(ds, batch_size=bs, shuffle=shuffle, generator=g)


def build(case: Case) -> Built:
    """Build the model, optimizer, criterion, loaders and config of ``case`` (seeded, fault
    injected), without training. Calling it twice gives identical objects."""
    torch.manual_seed(case.seed)
    d = load_data(case)
    model = build_model(case, d)
    params = list(model.parameters())
    if case.p("optimizer_last_layer_only"):
        last = [m for m in model.modules() if isinstance(m, nn.Linear)][-1]
        params = list(last.parameters())
    if case.p("optimizer_on_copy"):
        params = [nn.Parameter(p.detach().clone()) for p in params]
    opt = _optimizer(case, params)
    criterion, loss_fn = _loss(case, d)
    n = len(d.x["train"])
    bs = n if case.batch_size <= 0 else min(case.batch_size, n)
    shuffle = not case.p("sort_by_label", False) and not case.p("no_shuffle", False)
    train_loader = _loader(d.x["train"], d.y["train"], bs, shuffle, case.seed)
    val_loader = _loader(d.x["val"], d.y["val"], 256, False, case.seed)
    test_loader = _loader(d.x["test"], d.y["test"], 256, False, case.seed)
    steps_per_epoch = math.ceil(n / bs)
    total = steps_per_epoch * case.epochs
    scheduler: Any = None
    sched = case.p("schedule")
    if sched == "warmup_cosine":
        warm = max(1, total // 10)
        scheduler = torch.optim.lr_scheduler.LambdaLR(
            opt,
            lambda s: (
                (s + 1) / warm
                if s < warm
                else 0.5 * (1 + math.cos(math.pi * (s - warm) / max(1, total - warm)))
            ),
        )
    elif sched == "warm_restarts":
        scheduler = torch.optim.lr_scheduler.CosineAnnealingWarmRestarts(
            opt, T_0=max(1, total // 3)
        )
    elif sched == "plateau_then_drop":
        # A long stretch at a tiny learning rate (a plateau), then the normal rate: a loss
        # that sits still, then falls. Healthy in the end.
        flat = int(total * 0.4)
        scheduler = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: 0.002 if s < flat else 1.0)
    config: dict[str, Any] = {"task": d.task}
    if d.num_classes:
        config["num_classes"] = d.num_classes
    if case.config_level == "full":
        config.update(
            epochs=case.epochs,
            shuffle=shuffle,
            input_normalization="standardize" if d.standardized else "none",
            split_sizes={s: len(v) for s, v in d.x.items()},
        )
        if case.p("init"):
            config["init"] = case.p("init")
        if case.p("mse_onehot"):
            config["loss"] = "mse"
        if case.p("dropout"):
            config["dropout"] = case.p("dropout")
    watch_kwargs: dict[str, Any] = {}
    if case.watch_criterion and criterion is not None:
        watch_kwargs["criterion"] = criterion
    if case.watch_loader:
        watch_kwargs["loader"] = train_loader
    return Built(
        case=case,
        data=d,
        model=model,
        optimizer=opt,
        criterion=criterion,
        loss_fn=loss_fn,
        train_loader=train_loader,
        val_loader=val_loader,
        test_loader=test_loader,
        config=config,
        scheduler=scheduler,
        zero_grad=not case.p("no_zero_grad", False),
        spike_at=case.p("spike_at"),
        early_stopping=case.p("early_stopping"),
        max_steps=case.p("max_steps"),
        watch_kwargs=watch_kwargs,
    )


# ---------------------------------------------------------------- training


def evaluate(built: Built, loader: DataLoader[Any]) -> float:
    """Mean loss over a loader, eval mode, no gradients."""
    model = built.model
    was = model.training
    model.eval()
    total, count = 0.0, 0
    with torch.no_grad():
        for xb, yb in loader:
            total += float(built.loss_fn(model(xb), yb)) * len(xb)
            count += len(xb)
    model.train(was)
    return total / max(count, 1)


def train(built: Built, path: Path) -> dict[str, Any]:
    """Train ``built`` through ``lossexpert.watch`` into ``path`` (JSON Lines). Returns the
    measurements the labelling check uses (see ``generate.py``)."""
    case = built.case
    model, opt, loss_fn = built.model, built.optimizer, built.loss_fn
    path.unlink(missing_ok=True)
    torch.manual_seed(case.seed)
    tags = {"injected_cause": case.fault, "family": case.family, "dataset": case.dataset}
    step = 0
    best, since_best = math.inf, 0
    nonfinite = False
    with lossexpert.watch(
        model,
        opt,
        path,
        config=built.config,
        name=case.name,
        tags=tags,
        overhead_budget=None,  # sample the same steps on every machine: reproducible runs
        **built.watch_kwargs,
    ) as run:
        if case.describe_data:
            cls = built.data.task == "classification"
            for split in ("val", "test"):
                x = torch.tensor(built.data.x[split])
                run.describe_data(split, x, built.data.y[split] if cls else None)
        for epoch in range(case.epochs):
            model.train()
            n_batches = len(built.train_loader)
            for i, (xb, yb) in enumerate(built.train_loader):
                if built.max_steps is not None and step >= built.max_steps:
                    break
                loss = loss_fn(model(xb), yb)
                if built.zero_grad:
                    opt.zero_grad()
                loss.backward()
                spike = built.spike_at is not None and step == built.spike_at
                if spike:
                    for g in opt.param_groups:
                        g["lr"] *= 30
                opt.step()
                if spike:
                    for g in opt.param_groups:
                        g["lr"] /= 30
                if built.scheduler is not None:
                    built.scheduler.step()
                step += 1
                run.log("train", loss, epoch=round(epoch + (i + 1) / n_batches, 4))
            val = evaluate(built, built.val_loader)
            test = evaluate(built, built.test_loader)
            run.log("val", val, epoch=float(epoch + 1))
            run.log("test", test, epoch=float(epoch + 1))
            if not math.isfinite(val):
                nonfinite = True
            if built.max_steps is not None and step >= built.max_steps:
                break
            if built.early_stopping is not None:
                if val < best - 1e-4:
                    best, since_best = val, 0
                else:
                    since_best += 1
                    if since_best >= built.early_stopping:
                        break
    return {"steps": step, "nonfinite_val": nonfinite}


def iter_batches(built: Built) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
    """The training batches of one epoch, in the loader's order (for probes)."""
    yield from built.train_loader


def with_seed(case: Case, seed: int) -> Case:
    return replace(case, seed=seed, name=f"{case.name.rsplit('_s', 1)[0]}_s{seed}")


# ---------------------------------------------------------------- the catalogue

# Steps per epoch differ by data set; epochs are chosen for a few hundred optimizer steps.
EPOCHS = {
    "digits": 12,
    "wine": 50,
    "breast_cancer": 8,
    "iris": 45,
    "synthetic": 8,
    "sequence": 20,
    "digits_sequence": 12,
    "diabetes": 6,
    "synthetic_regression": 30,
}
CLASSIFIERS = ("mlp", "cnn", "resnet", "rnn", "transformer")
ALL = (*CLASSIFIERS, "regression")

# fault -> (families of the first catalogue it applies to, number of severities). Every fault
# applies to the added families (ADDED). Not injected: optimizer_choice (no optimizer fails on
# these tasks where another succeeds without it being a learning-rate fault: no clean
# injection at this scale).
FAULTS: dict[str, tuple[tuple[str, ...], int]] = {
    "learning_rate_too_high": (ALL, 3),
    "learning_rate_too_low": (ALL, 2),
    "weight_initialization": (ALL, 2),
    "over_regularization": (ALL, 2),
    "activation_function": (ALL, 2),
    "loss_function": (CLASSIFIERS, 2),
    "insufficient_training": (ALL, 2),
    "vanishing_gradients": (("mlp", "cnn", "regression"), 2),
    "exploding_gradients": (("mlp", "cnn", "rnn", "regression"), 2),
    "dead_relu": (("mlp", "cnn", "resnet", "regression"), 2),
    "gradient_bug": (ALL, 3),
    "batch_size_too_large": (ALL, 2),
    "batch_size_too_small": (ALL, 2),
    "data_not_shuffled": (CLASSIFIERS, 2),
    "noisy_data": (ALL, 2),
    "data_not_normalized": (("mlp", "cnn", "rnn", "transformer", "regression"), 2),
    "feature_selection": (ALL, 2),
    "model_structure": (("mlp", "cnn", "resnet", "rnn", "transformer"), 2),
    "class_imbalance": (("mlp",), 2),
    "overfitting": (ALL, 2),
    "distribution_shift": (ALL, 2),
    "test_noise": (ALL, 2),
}

HIGH_LR = {
    "sgd": (1.0, 3.0, 10.0),
    "sgd_momentum": (0.5, 1.5, 5.0),
    "adam": (0.05, 0.2, 1.0),
    "adamw": (0.05, 0.2, 1.0),
    "rmsprop": (0.05, 0.2, 1.0),
}


def _fault(fault: str, family: str, opt: str, sev: int, dataset: str) -> dict[str, Any]:
    """The injection: overrides of the case's fields plus ``params``."""
    lr = GOOD_LR[opt]
    reg = family == "regression"
    seq = family in ("rnn", "transformer", "tcn")  # the sequence models
    if fault == "learning_rate_too_high":
        return {"variant": f"lr_x{HIGH_LR[opt][sev - 1] / lr:.0f}", "lr": HIGH_LR[opt][sev - 1]}
    if fault == "learning_rate_too_low":
        f = (1e-3, 1e-4)[sev - 1]
        return {"variant": f"lr_x{f:g}", "lr": lr * f}
    if fault == "weight_initialization":
        scheme = ("constant", "zeros")[sev - 1]
        return {"variant": f"init_{scheme}", "params": {"init": scheme}}
    if fault == "over_regularization":
        wd = ((0.05, 0.3) if not seq else (0.3, 1.0))[sev - 1]
        drop = 0.0 if family == "rnn" else (0.8, 0.9)[sev - 1]
        o = "adam" if opt == "adamw" else opt
        return {
            "variant": f"dropout{drop:g}_wd{wd:g}",
            "optimizer": o,
            "lr": GOOD_LR[o],
            "params": {"dropout": drop, "weight_decay": wd},
        }
    if fault == "activation_function":
        if sev == 2 and family in ("mlp", "regression"):
            return {
                "variant": "deep_tanh_saturated",
                "params": {"act": "tanh", "depth": 6, "init": "normal", "init_gain": 1.0},
            }
        out = "relu" if sev == 1 else "sigmoid"
        return {"variant": f"{out}_on_output", "params": {"out_act": out}}
    if fault == "loss_function":
        if sev == 1:
            return {"variant": "softmax_before_ce", "params": {"out_act": "softmax"}}
        return {
            "variant": "mse_on_onehot",
            "loss_kind": "functional",
            "params": {"mse_onehot": True},
        }
    if fault == "insufficient_training":
        return {
            "variant": f"stopped_after_{(30, 12)[sev - 1]}_steps",
            "params": {"max_steps": (30, 12)[sev - 1]},
        }
    if fault == "vanishing_gradients":
        depth = (8, 12)[sev - 1] if family != "cnn" else (4, 6)[sev - 1]
        o = "sgd" if sev == 1 else "sgd_momentum"
        return {
            "variant": f"sigmoid_depth{depth}",
            "optimizer": o,
            "lr": GOOD_LR[o],
            "params": {"act": "sigmoid", "depth": depth, "width": 32},
        }
    if fault == "exploding_gradients":
        o = "sgd"
        if family == "rnn":
            return {
                "variant": f"rnn_recurrent_init_x{(3, 6)[sev - 1]}",
                "optimizer": o,
                "lr": 0.05,
                "params": {"cell": "rnn", "init": "normal", "init_gain": (3.0, 6.0)[sev - 1]},
            }
        gain = (2.2, 2.6)[sev - 1]
        depth = 8 if family != "cnn" else 4
        return {
            "variant": f"he_x{gain:g}_depth{depth}",
            "optimizer": o,
            "lr": 0.01,
            "params": {"init": "he_scaled", "init_gain": gain, "depth": depth, "width": 32},
        }
    if fault == "dead_relu":
        b = (-3.0, -6.0)[sev - 1]
        o = "sgd" if opt in ("adam", "adamw", "rmsprop") else opt
        return {
            "variant": f"bias_init{b:g}",
            "optimizer": o,
            "lr": GOOD_LR[o],
            "params": {"bias_init": b},
        }
    if fault == "gradient_bug":
        key = ("no_zero_grad", "optimizer_last_layer_only", "optimizer_on_copy")[sev - 1]
        return {"variant": key, "params": {key: True}}
    if fault == "batch_size_too_large":
        o = "sgd" if sev == 1 else "sgd_momentum"
        return {
            "variant": "full_batch",
            "optimizer": o,
            "lr": GOOD_LR[o],
            "batch_size": 0,
            "epochs": (40, 20)[sev - 1],
        }
    if fault == "batch_size_too_small":
        o = "sgd_momentum"
        return {
            "variant": f"batch{(2, 1)[sev - 1]}",
            "optimizer": o,
            "lr": 0.1,
            "batch_size": (2, 1)[sev - 1],
            "epochs": 2 if dataset in ("digits", "digits_sequence") else 3,
        }
    if fault == "data_not_shuffled":
        return {"variant": "sorted_by_label", "params": {"sort_by_label": True}}
    if fault == "noisy_data":
        frac = (0.5, 0.8)[sev - 1]
        return {"variant": f"label_noise{frac:g}", "params": {"label_noise": frac}}
    if fault == "data_not_normalized":
        o = "sgd" if sev == 1 else "sgd_momentum"
        bundled = ("digits", "digits_sequence", "wine", "breast_cancer", "iris", "diabetes")
        bundled_raw = dataset in bundled
        scale = (1.0, 0.0) if bundled_raw and sev == 1 else ((30.0, 50.0), (100.0, 300.0))[sev - 1]
        return {
            "variant": f"raw_inputs_x{scale[0]:g}+{scale[1]:g}",
            "optimizer": o,
            "lr": GOOD_LR[o] / 3,
            "params": {"raw_inputs": True, "input_scale": scale},
        }
    if fault == "feature_selection":
        share = (0.8, 1.0)[sev - 1]
        return {"variant": f"uninformative{share:g}", "params": {"uninformative": share}}
    if fault == "model_structure":
        w = (2, 1)[sev - 1]
        return {"variant": f"width{w}", "params": {"width": w}}
    if fault == "class_imbalance":
        keep = (0.05, 0.02)[sev - 1]
        return {"variant": f"keep{keep:g}_of_minority", "params": {"imbalance": keep}}
    if fault == "overfitting":
        n = (60, 100)[sev - 1] if not reg else (40, 80)[sev - 1]
        return {
            "variant": f"train{n}_wide",
            "epochs": (400, 250)[sev - 1] if not seq else (150, 100)[sev - 1],
            "params": {"train_size": n, "width": 256 if not seq else 64},
        }
    if fault == "distribution_shift":
        shift = (1.0, 2.0)[sev - 1]
        return {"variant": f"test_shift{shift:g}", "params": {"test_shift": shift}}
    if fault == "test_noise":
        noise = (1.0, 2.0)[sev - 1]
        return {"variant": f"test_noise{noise:g}", "params": {"test_noise": noise}}
    raise ValueError(fault)


# Healthy shapes: (variant, overrides). Hard negatives for a diagnosis tool.
HEALTHY: tuple[tuple[str, dict[str, Any]], ...] = (
    ("noisy_small_batches", {"optimizer": "sgd", "batch_size": 8}),
    ("warm_restarts", {"params": {"schedule": "warm_restarts"}}),
    ("warmup_cosine", {"params": {"schedule": "warmup_cosine"}}),
    ("spike_recovers", {"optimizer": "sgd_momentum", "params": {"spike_at": 60}}),
    ("early_stopped", {"epoch_factor": 4, "params": {"early_stopping": 3, "width": 128}}),
    ("plateau_then_drop", {"epoch_factor": 2, "params": {"schedule": "plateau_then_drop"}}),
    ("class_weights", {"params": {"imbalance": 0.3, "class_weights": True}}),
    ("label_smoothing", {"params": {"label_smoothing": 0.1}}),
    ("dropout_val_below_train", {"params": {"dropout": 0.4}}),
)


def _make(
    name: str,
    family: str,
    dataset: str,
    opt: str,
    fault: str,
    sev: int,
    seed: int,
    k: int,
    over: dict[str, Any],
) -> Case:
    over = dict(over)
    params = dict(over.pop("params", {}))
    opt = over.pop("optimizer", opt)
    epoch_factor = over.pop("epoch_factor", 1)
    lr = over.pop("lr", GOOD_LR[opt])
    loss_kind = over.pop("loss_kind", "functional" if k % 3 == 0 else "module")
    variant = over.pop("variant")
    epochs = over.pop("epochs", EPOCHS[dataset] * epoch_factor)
    batch_size = over.pop("batch_size", 32)
    assert not over, over
    if family == "rnn" and "cell" not in params:
        params["cell"] = ("lstm", "gru")[k % 2]
    if family == "tcn" and "dilation" not in params:
        params["dilation"] = (2, 1)[(k // 2) % 2]  # dilated (1, 2, 4) or not
    return Case(
        name=name,
        family=family,
        dataset=dataset,
        optimizer=opt,
        fault=fault,
        variant=variant,
        severity=sev,
        seed=seed,
        loss_kind=loss_kind,
        watch_criterion=loss_kind == "module" and k % 4 != 3,
        watch_loader=k % 4 not in (1, 2) or (loss_kind == "functional" and k % 2 == 0),
        config_level="full" if k % 2 == 1 else "minimal",
        describe_data=k % 2 == 1,
        lr=lr,
        batch_size=batch_size,
        epochs=epochs,
        params=tuple(sorted(params.items())),
    )


def cases() -> list[Case]:
    """Every case of the suite, in a fixed order. Names are unique and stable."""
    out: list[Case] = []
    k = 0
    # The reference runs: plain, healthy, Adam, one per family x data set x seed. They are
    # healthy runs of the suite and the yardstick the labelling check compares faults with.
    for family in FIRST_FAMILIES:
        for dataset in FAMILY_DATA[family]:
            for seed in (0, 1):
                out.append(
                    _make(
                        f"none_{family}_{dataset}_reference_s{seed}",
                        family,
                        dataset,
                        "adam",
                        "none",
                        0,
                        seed,
                        k,
                        {"variant": "reference"},
                    )
                )
                k += 1
    for i, (variant, over) in enumerate(HEALTHY):
        for j, family in enumerate(FIRST_FAMILIES):
            if variant in ("class_weights", "label_smoothing") and family == "regression":
                continue
            datasets = FAMILY_DATA[family]
            dataset = datasets[(i + j) % len(datasets)]
            opt = OPTIMIZERS[(i + j) % len(OPTIMIZERS)]
            seed = (i + j) % 2
            out.append(
                _make(
                    f"none_{family}_{dataset}_{variant}_s{seed}",
                    family,
                    dataset,
                    opt,
                    "none",
                    0,
                    seed,
                    k,
                    {"variant": variant, **over},
                )
            )
            k += 1
    for i, (fault, (families, n_sev)) in enumerate(FAULTS.items()):
        for j, family in enumerate(families):
            datasets = FAMILY_DATA[family]
            for sev in range(1, n_sev + 1):
                seed = (sev + j) % 2
                dataset = datasets[(i + j + sev) % len(datasets)]
                if fault == "class_imbalance" and dataset == "iris":
                    dataset = "digits"
                opt = OPTIMIZERS[(i + 2 * j + sev) % len(OPTIMIZERS)]
                over = _fault(fault, family, opt, sev, dataset)
                out.append(
                    _make(
                        f"{fault}_{family}_{dataset}_sev{sev}_s{seed}",
                        family,
                        dataset,
                        opt,
                        fault,
                        sev,
                        seed,
                        k,
                        over,
                    )
                )
                k += 1

    # Added later, after the list above (so that its rotation index k is unchanged): a third
    # seed at each fault's strongest severity, on another data set and optimizer, and the
    # reference runs that seed is checked against.
    for family in FIRST_FAMILIES:
        for dataset in FAMILY_DATA[family]:
            out.append(
                _make(
                    f"none_{family}_{dataset}_reference_s2",
                    family,
                    dataset,
                    "adam",
                    "none",
                    0,
                    2,
                    k,
                    {"variant": "reference"},
                )
            )
            k += 1
    for i, (fault, (families, n_sev)) in enumerate(FAULTS.items()):
        for j, family in enumerate(families):
            datasets = FAMILY_DATA[family]
            sev = n_sev
            dataset = datasets[(i + j + sev + 1) % len(datasets)]
            if fault == "class_imbalance" and dataset == "iris":
                dataset = "digits"
            opt = OPTIMIZERS[(i + 2 * j + sev + 2) % len(OPTIMIZERS)]
            over = _fault(fault, family, opt, sev, dataset)
            out.append(
                _make(
                    f"{fault}_{family}_{dataset}_sev{sev}_s2",
                    family,
                    dataset,
                    opt,
                    fault,
                    sev,
                    2,
                    k,
                    over,
                )
            )
            k += 1
    for family in ADDED:
        k = _added_family(out, family, k)
    names = [c.name for c in out]
    assert len(names) == len(set(names)), "duplicate case names"
    return out


def _added_family(out: list[Case], family: str, k: int) -> int:
    """Append the cases of a family added after the first catalogue, in the first
    catalogue's scheme: reference runs (seeds 0 and 1), the healthy shapes, every fault at
    every severity, then the third seed (references, each fault at its strongest severity).
    The rotations use the index the family would have had in each list had it been
    appended to it. Returns the next rotation index."""

    def add(name: str, dataset: str, opt: str, fault: str, sev: int, seed: int, over: Any) -> None:
        nonlocal k
        out.append(_make(name, family, dataset, opt, fault, sev, seed, k, over))
        k += 1

    datasets = FAMILY_DATA[family]
    ref = {"variant": "reference"}
    for dataset in datasets:
        for seed in (0, 1):
            add(f"none_{family}_{dataset}_reference_s{seed}", dataset, "adam", "none", 0, seed, ref)
    j = FAMILIES.index(family)
    for i, (variant, over) in enumerate(HEALTHY):
        dataset = datasets[(i + j) % len(datasets)]
        opt = OPTIMIZERS[(i + j) % len(OPTIMIZERS)]
        seed = (i + j) % 2
        name = f"none_{family}_{dataset}_{variant}_s{seed}"
        add(name, dataset, opt, "none", 0, seed, {"variant": variant, **over})
    for i, (fault, (families, n_sev)) in enumerate(FAULTS.items()):
        j = len(families)
        for sev in range(1, n_sev + 1):
            seed = (sev + j) % 2
            dataset = datasets[(i + j + sev) % len(datasets)]
            opt = OPTIMIZERS[(i + 2 * j + sev) % len(OPTIMIZERS)]
            over = _fault(fault, family, opt, sev, dataset)
            name = f"{fault}_{family}_{dataset}_sev{sev}_s{seed}"
            add(name, dataset, opt, fault, sev, seed, over)
    for dataset in datasets:
        add(f"none_{family}_{dataset}_reference_s2", dataset, "adam", "none", 0, 2, ref)
    for i, (fault, (families, n_sev)) in enumerate(FAULTS.items()):
        j, sev = len(families), n_sev
        dataset = datasets[(i + j + sev + 1) % len(datasets)]
        opt = OPTIMIZERS[(i + 2 * j + sev + 2) % len(OPTIMIZERS)]
        over = _fault(fault, family, opt, sev, dataset)
        add(f"{fault}_{family}_{dataset}_sev{sev}_s2", dataset, opt, fault, sev, 2, over)
    return k


def by_name(name: str) -> Case:
    for c in cases():
        if c.name == name:
            return c
    raise KeyError(name)
