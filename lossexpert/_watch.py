"""``lossexpert.watch``: the door into a live PyTorch loop. torch is imported only when called."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from lossexpert.collectors.torch_watch import Watch


def watch(model: Any, optimizer: Any, path: str | Path, **options: Any) -> Watch:
    """Record a training loop into ``path`` (JSON Lines). Use as a context manager::

        with lossexpert.watch(model, optimizer, path="runs/exp1.jsonl", config={...},
                              criterion=criterion, loader=train_loader) as run:
            for epoch in range(E):
                for x, y in train_loader:
                    loss = criterion(model(x), y)
                    optimizer.zero_grad(); loss.backward(); optimizer.step()
                    run.log("train", loss)            # a tensor is fine: no sync required
                run.log("val", val_loss, epoch=epoch)
        diagnosis = run.diagnose()

    Options (all keyword): ``config`` (merged over what is read from the objects),
    ``criterion`` (the loss module: loss type, task, label statistics), ``loader`` (batch
    size, shuffle, data set size), ``name``, ``tags``, ``every`` (sample every N optimizer
    steps, default 50, widened after the dense window when sampled steps would take more than
    ``overhead_budget`` of the training time, default 0.0025; ``None`` keeps ``every`` exact),
    ``dense_steps``/``dense_every`` (denser sampling early: every 10 of
    the first 200), ``transfer_every`` (samples per device->host copy), ``data_batches``
    (batches used for input/label statistics), ``average_across_ranks`` (all-reduce logged
    loss tensors under DDP), ``scaler`` (a GradScaler, to count AMP-skipped steps),
    ``update_sample`` (elements per layer read before and after a sampled step for the update
    ratio, default 4096: no copy of the weights).

    Without a loss module (a functional loss), ``loader=`` still gives label statistics: the
    batches the loop pulls from it are looked at, never pulled by the collector; or pass
    ``run.log("train", loss, target=y)``. ``run.doctor()`` runs ``lossexpert.doctor`` on the
    watched objects (needs ``criterion=`` and ``loader=``).
    """
    from lossexpert.collectors.torch_watch import Watch

    return Watch(model, optimizer, path, **options)
