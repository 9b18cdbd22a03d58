"""The training loop the real-training tests share: a user's loop, recorded by ``watch``.

Imported only by test modules that skip without torch."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import torch
from sklearn import datasets
from torch import nn

import lossexpert

Split = tuple[torch.Tensor, torch.Tensor]


def watched_training(
    path: Path,
    model: nn.Module,
    optimizer: torch.optim.Optimizer,
    loss_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
    batches: Any,
    *,
    epochs: int,
    held_out: Mapping[str, Split] | None = None,
    scheduler: Any = None,
    reset: Callable[[], None] | str | None = "optimizer",
    **watch: Any,
) -> lossexpert.Run:
    """Train for ``epochs`` over ``batches`` (a loader), log every step's loss and, after
    each epoch, each held-out split's loss in eval mode; return the recording. ``watch``'s
    own arguments (``criterion=``, ``loader=``, ``config=``) pass through.

    ``reset`` is how the loop clears gradients: the optimizer's ``zero_grad`` (default), another
    callable (``model.zero_grad``), or None for a loop that never does."""
    clear = optimizer.zero_grad if reset == "optimizer" else reset
    assert clear is None or callable(clear)
    with lossexpert.watch(model, optimizer, path, **watch) as run:
        for _ in range(epochs):
            model.train()
            for xb, yb in batches:
                loss = loss_fn(model(xb), yb)
                if clear is not None:
                    clear()
                loss.backward()
                optimizer.step()
                if scheduler is not None:
                    scheduler.step()
                run.log("train", loss)
            model.eval()
            with torch.no_grad():
                for split, (x, y) in (held_out or {}).items():
                    run.log(split, loss_fn(model(x), y))
    return lossexpert.load_run(path)


def recorded_fit(
    path: Path,
    model: nn.Module,
    optimizer: torch.optim.Optimizer,
    loss_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
    train: Split,
    val: Split,
    *,
    epochs: int,
    batch_size: int,
    criterion: nn.Module,
) -> Any:
    """The common case of ``watched_training``: shuffled batches of ``train``, the val split
    after each epoch, ``watch`` told the loss module and the loader; returns the recording."""
    loader = loader_of(train[0], train[1], batch_size)
    return watched_training(
        path,
        model,
        optimizer,
        loss_fn,
        loader,
        epochs=epochs,
        held_out={"val": val},
        criterion=criterion,
        loader=loader,
    )


def loader_of(x: torch.Tensor, y: torch.Tensor, batch_size: int, shuffle: bool = True) -> Any:
    return torch.utils.data.DataLoader(
        torch.utils.data.TensorDataset(x, y), batch_size=batch_size, shuffle=shuffle
    )


def bundled(name: str) -> tuple[torch.Tensor, torch.Tensor]:
    """One of scikit-learn's bundled classification sets (``wine``, ``digits``), features
    standardised, in a seeded random order; seeds torch and uses one thread, so the training
    that follows is the same run every time."""
    torch.set_num_threads(1)
    torch.manual_seed(0)
    data = getattr(datasets, f"load_{name}")()
    x = torch.tensor(data.data, dtype=torch.float32)
    x = (x - x.mean(0)) / x.std(0).clamp_min(1e-3)
    order = torch.randperm(len(x))
    return x[order], torch.tensor(data.target)[order]
