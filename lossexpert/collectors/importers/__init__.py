"""Importers: the logs people already have -> a run in the lossexpert format.

``import_run(path)`` autodetects the source (TensorBoard event files or log dir, Hugging Face
``trainer_state.json`` or checkpoint dir, Lightning ``CSVLogger`` dir or ``metrics.csv``,
Keras ``CSVLogger`` file, MLflow run folder, plain CSV/JSON Lines table, or a lossexpert run
itself); ``source=`` forces one. Names are mapped to splits by ``_mapping``; overrides are
``TARGET=NAME`` pairs.
"""

from __future__ import annotations

import csv
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Literal

# The readers are imported where they are used: a cold `lossexpert explain run.json` needs
# none of them (the W&B, TensorBoard, MLflow and table readers cost ~40 ms to import).
from lossexpert.collectors.importers._common import Imported, to_run
from lossexpert.collectors.importers._mapping import Mapping_
from lossexpert.collectors.runfile import (
    LoadedRun,
    is_jsonl,
    read_file_head,
    read_run_file,
    validate_run,
)
from lossexpert.errors import RunInputError, RunNotFoundError, RunParseError

SourceKind = Literal["run", "tensorboard", "hf", "lightning", "keras", "mlflow", "csv", "wandb"]
SOURCES: tuple[str, ...] = (
    "run", "tensorboard", "hf", "lightning", "keras", "mlflow", "csv", "wandb"
)


@dataclass(frozen=True)
class ImportedRun:
    loaded: LoadedRun
    kind: str
    mapping: list[str] = field(default_factory=list)  # what was mapped / ignored


def detect(path: Path) -> SourceKind:
    if not path.exists():
        raise RunNotFoundError(str(path), "", "no such file or directory")
    if path.is_dir():
        from lossexpert.collectors.importers import hf_state, mlflow_store, tensorboard
        from lossexpert.collectors.importers import wandb as wandb_log

        if tensorboard.find_event_files(path):
            return "tensorboard"
        if hf_state.find_state(path) is not None:
            return "hf"
        if (path / "metrics.csv").is_file():
            return "lightning"
        if mlflow_store.find_run_dirs(path):
            return "mlflow"
        if wandb_log.find_run_dirs(path):
            return "wandb"
        raise RunParseError(
            str(path),
            "",
            "no run, event files, trainer_state.json, "
            "metrics.csv, MLflow run or W&B run found in this directory",
        )
    name = path.name.lower()
    if "tfevents" in path.name:  # tensorboard.is_event_file, without importing the reader
        return "tensorboard"
    if name.endswith(".wandb"):
        from lossexpert.collectors.importers import wandb as wandb_log

        if wandb_log.is_log_file(path):
            return "wandb"
    head = read_file_head(path, 65536)
    if name.endswith((".jsonl", ".ndjson")):
        return "run" if is_jsonl(path, head) and b'"header"' in head.split(b"\n", 1)[0] else "csv"
    if name.endswith(".json"):
        return "hf" if b'"log_history"' in head and b'"curves"' not in head else "run"
    if name.endswith((".csv", ".log", ".tsv", ".txt")):
        first_line = head.decode("utf-8", "replace").lower().replace("\r", "\n").split("\n")[0]
        if name.endswith("metrics.csv") or (path.parent / "hparams.yaml").is_file():
            return "lightning"
        from lossexpert.collectors.importers import wandb as wandb_log

        if wandb_log.is_export(next(csv.reader([first_line]), [])):
            return "wandb"
        if "step" in first_line or "split" in first_line:
            return "csv"
        return "keras"
    return "run"


def import_run(
    path: str | Path,
    *,
    source: str | None = None,
    mapping: list[str] | None = None,
    run_id: str | None = None,
    tracking_uri: str | None = None,
) -> ImportedRun:
    """Read any supported log into a validated run. Raises ``RunInputError`` with one line."""
    p = Path(path)
    try:
        rules = Mapping_.parse(mapping or [])
    except ValueError as err:
        raise RunInputError(str(p), "--map", str(err)) from None
    if source == "mlflow" and run_id:
        from lossexpert.collectors.importers import mlflow_store

        return _finish(mlflow_store.read_client(run_id, tracking_uri), rules, "mlflow")
    kind = source or detect(p)
    if kind not in SOURCES:
        raise RunInputError(
            str(p), "--from", f"unknown source {kind!r}; one of {', '.join(SOURCES)}"
        )
    if kind == "run":
        return ImportedRun(read_run_file(p), "run")
    from lossexpert.collectors.importers import hf_state, mlflow_store, tables, tensorboard
    from lossexpert.collectors.importers import wandb as wandb_log

    readers: dict[str, Callable[[Path], Imported]] = {
        "tensorboard": tensorboard.read,
        "hf": hf_state.read,
        "lightning": tables.read_lightning,
        "keras": tables.read_keras,
        "mlflow": mlflow_store.read,
        "csv": tables.read_table,
        "wandb": partial(wandb_log.read, rules=rules),
    }
    if not p.exists():
        raise RunNotFoundError(str(p), "", "no such file or directory")
    return _finish(readers[kind](p), rules, kind)


def _finish(imported: Imported, rules: Mapping_, kind: str) -> ImportedRun:
    loaded = validate_run(to_run(imported, rules), imported.source)
    loaded = LoadedRun(loaded.run, loaded.source, imported.warnings + loaded.warnings)
    return ImportedRun(loaded, kind, rules.describe())


__all__ = ["SOURCES", "ImportedRun", "detect", "import_run"]
