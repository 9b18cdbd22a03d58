"""``lossexpert doctor pkg.module:make``: import the factory, run the doctor with a progress bar."""

from __future__ import annotations

import importlib
import os
import sys
from typing import Any

from lossexpert.diagnosis import Diagnosis
from lossexpert.doctor._bench import DoctorInputError

_KEYS = ("model", "optimizer", "criterion", "loader", "val_loader", "test_loader")


def load_factory(target: str) -> dict[str, Any]:
    """``pkg.module:make`` -> the objects ``make()`` returns: a dict with the keys model,
    optimizer, criterion, loader (or train_loader), optionally val_loader, test_loader and
    run; or a tuple (model, optimizer, criterion, loader[, val_loader[, test_loader]])."""
    module_name, _, attr = target.partition(":")
    if not module_name or not attr:
        raise DoctorInputError(f"{target}: expected pkg.module:function")
    if os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())  # like python -m: the current folder is importable
    try:
        module = importlib.import_module(module_name)
    except Exception as exc:
        raise DoctorInputError(
            f"{target}: cannot import {module_name}: {type(exc).__name__}: {exc}"
        ) from None
    factory = getattr(module, attr, None)
    if factory is None:
        raise DoctorInputError(f"{target}: {module_name} has no attribute {attr!r}")
    try:
        made = factory() if callable(factory) else factory
    except Exception as exc:
        raise DoctorInputError(f"{target}: {attr}() raised {type(exc).__name__}: {exc}") from None
    if isinstance(made, dict):
        objs = dict(made)
        if "loader" not in objs and "train_loader" in objs:
            objs["loader"] = objs.pop("train_loader")
        missing = [k for k in _KEYS[:4] if k not in objs]
        if missing:
            raise DoctorInputError(f"{target}: the dict {attr}() returned lacks {missing[0]!r}")
        return {k: objs[k] for k in (*_KEYS, "run") if k in objs}
    if isinstance(made, tuple | list) and len(made) in (4, 5, 6):
        return dict(zip(_KEYS, made, strict=False))
    raise DoctorInputError(
        f"{target}: {attr}() must return a dict or a tuple (model, optimizer, criterion, "
        f"loader[, val_loader[, test_loader]]), got {type(made).__name__}"
    )


def run_cli(target: str, *, budget_s: float, lang: str, run: Any = None) -> Diagnosis:
    from lossexpert.doctor import PROBE_NAMES, doctor

    objs = load_factory(target)
    if run is not None:
        objs["run"] = run
    if not sys.stderr.isatty():
        return doctor(**objs, budget_s=budget_s, lang=lang)
    from rich.console import Console
    from rich.progress import Progress

    with Progress(console=Console(stderr=True), transient=True) as bar:
        task = bar.add_task("doctor", total=len(PROBE_NAMES))

        def progress(name: str, state: str) -> None:
            if state == "start":
                bar.update(task, description=f"probe: {name}")
            elif not name.startswith("try_fix:"):
                bar.advance(task)

        return doctor(**objs, budget_s=budget_s, lang=lang, progress=progress)
