"""``lossexpert.doctor``: experiments on copies of your objects that confirm the cause.

This module imports nothing heavy: torch is imported only when ``doctor()`` is called, so
``import lossexpert`` (and the ``explain`` path) never imports it.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from lossexpert.diagnosis import Diagnosis
    from lossexpert.runformat import Run

PROBE_NAMES: tuple[str, ...] = (
    "labels_and_data",
    "gradient_flow",
    "initial_loss",
    "overfit_batch",
    "lr_range",
    "input_dependence",
    "val_gap",
    "loop_replay",
    "try_fix",
)


def doctor(
    model: Any,
    optimizer: Any,
    criterion: Any,
    loader: Any,
    *,
    val_loader: Any = None,
    test_loader: Any = None,
    run: str | os.PathLike[str] | Run | Mapping[str, Any] | None = None,
    budget_s: float = 60,
    lang: str = "en",
    probes: Iterable[str] | None = None,
    steps: int | None = None,
    seed: int = 0,
    thresholds: Any = None,
    progress: Callable[[str, str], None] | None = None,
    **kw: Any,
) -> Diagnosis:
    """Diagnose by experiment: short probes on deep copies of your objects.

    ``model`` (a ``torch.nn.Module``), ``optimizer`` (a ``torch.optim.Optimizer`` over the
    model's parameters), ``criterion`` (a loss module or a plain function
    ``(output, target) -> loss``) and ``loader`` (re-iterable: a ``DataLoader`` or a list of
    batches). A batch is ``(inputs, targets)`` (a tuple or list; further items are ignored) or a
    dict of tensors: the targets are its ``target``/``targets``/``label``/``labels``/``y`` entry;
    the inputs its ``input``/``inputs``/``x``/``features`` entry if there is one, otherwise
    every other entry is passed to the model as keyword arguments. A model output that is not a
    tensor gives its ``logits`` attribute or its first item.

    ``val_loader`` gives held-out batches (the over-fitting experiments use them);
    ``test_loader`` is read for its inputs only: their statistics are compared with the
    training inputs' (a shifted or noisier test set), and never trained or evaluated on.

    ``run`` (a path, dict or ``Run``: the recording of the real training) joins its curves and
    layer statistics to the probe facts; without it, the doctor records a short training run of
    its own on copies (``steps`` optimizer steps). ``budget_s`` bounds the time of the probes;
    the ones that do not fit are reported as skipped. ``probes`` restricts them to a subset of
    ``PROBE_NAMES``. ``progress(probe, state)`` is called as each probe starts and ends.

    Your objects are never touched: the probes work on deep copies of the model, optimizer and
    criterion, build their batches from one pass over the loader, and restore the global torch,
    numpy and Python random states (and the loader's own generator) afterwards.
    """
    from lossexpert.doctor._core import run_doctor

    return run_doctor(
        model,
        optimizer,
        criterion,
        loader,
        val_loader=val_loader,
        test_loader=test_loader,
        run=run,
        budget_s=budget_s,
        lang=lang,
        probes=probes,
        steps=steps,
        seed=seed,
        thresholds=thresholds,
        progress=progress,
        **kw,
    )


__all__ = ["PROBE_NAMES", "doctor"]
