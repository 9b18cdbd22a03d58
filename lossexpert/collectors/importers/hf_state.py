"""Hugging Face ``trainer_state.json``: ``log_history`` of train entries, eval entries and a
final summary, plus ``global_step``, ``max_steps``, ``num_train_epochs``, ``train_batch_size``.

The Trainer's default ``logging_nan_inf_filter=True`` *hides* a NaN loss: the logged ``loss``
becomes the mean of the finite losses of the window, or 0.0 when none is finite, while the
``grad_norm`` of the same entry is NaN/Inf. Such an entry's loss is recorded as NaN here, with
a warning, so a diverged run is reported as diverged rather than healthy.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from lossexpert.collectors.importers._common import Imported
from lossexpert.collectors.runfile import parse_json_bytes, read_file_bytes
from lossexpert.errors import RunParseError, RunSchemaError

SUMMARY_KEYS = ("train_runtime", "train_loss", "total_flos", "train_samples_per_second")


def find_state(path: Path) -> Path | None:
    if path.is_file():
        return path if path.name.endswith(".json") else None
    direct = path / "trainer_state.json"
    if direct.is_file():
        return direct
    checkpoints = sorted(
        path.glob("checkpoint-*/trainer_state.json"),
        key=lambda p: _checkpoint_number(p.parent.name),
    )
    return checkpoints[-1] if checkpoints else None


def _checkpoint_number(name: str) -> int:
    tail = name.rsplit("-", 1)[-1]
    return int(tail) if tail.isdigit() else -1


def read(path: Path) -> Imported:
    state_path = find_state(path)
    if state_path is None:
        raise RunParseError(str(path), "", "no trainer_state.json here (nor in checkpoint-*/)")
    source = str(state_path)
    state = parse_json_bytes(read_file_bytes(state_path), source)
    if not isinstance(state, dict):
        raise RunSchemaError(source, "", "expected a JSON object (a trainer_state.json)")
    history = state.get("log_history")
    if not isinstance(history, list) or not history:
        raise RunSchemaError(
            source, "log_history", "missing or empty: the state holds no logged loss"
        )
    imported = Imported(source=source, framework="transformers Trainer")
    for i, entry in enumerate(history):
        if not isinstance(entry, dict):
            raise RunSchemaError(source, f"log_history.{i}", "expected an object")
        if any(k in entry for k in SUMMARY_KEYS) and "loss" not in entry:
            continue  # the final summary: a mean over the run, not a point of the curve
        step, epoch = entry.get("step"), entry.get("epoch")
        if not isinstance(step, int | float):
            raise RunSchemaError(source, f"log_history.{i}.step", "missing or not a number")
        epoch_value = float(epoch) if isinstance(epoch, int | float) else None
        grad = entry.get("grad_norm")
        hidden_nan = isinstance(grad, int | float) and not math.isfinite(grad)
        for key, value in entry.items():
            if (
                key in ("step", "epoch")
                or not isinstance(value, int | float)
                or isinstance(value, bool)
            ):
                continue
            value = float(value)
            if key == "loss" and hidden_nan:
                imported.warnings.append(
                    f"{source}: log_history.{i}: grad_norm is {grad} at step {step}: the "
                    f"Trainer's NaN filter hid a non-finite loss (logged {value}); recorded "
                    "as NaN"
                )
                value = math.nan
            imported.series(key).add(float(step), value, epoch_value)
    batch = state.get("train_batch_size")
    config: dict[str, Any] = {
        "batch_size": batch if isinstance(batch, int) and batch > 0 else None,
        "max_steps": state.get("max_steps") if isinstance(state.get("max_steps"), int) else None,
        "epochs": int(state["num_train_epochs"])
        if isinstance(state.get("num_train_epochs"), int | float)
        else None,
    }
    imported.config = {k: v for k, v in config.items() if v is not None and v >= 0}
    name = state_path.parent.name if state_path.parent.name.startswith("checkpoint") else None
    if name:
        imported.identity["name"] = f"{state_path.parent.parent.name}/{name}"
    return imported
