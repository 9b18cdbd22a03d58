"""CSV logs: Lightning's ``CSVLogger`` (``metrics.csv`` + ``hparams.yaml``), Keras'
``CSVLogger``, and plain CSV / JSON Lines of (step, split, loss, ...) or wide (step,
train_loss, val_loss, ...) tables.

Real files vary: CRLF and ``\\r\\r\\n`` line ends, ``;`` separators, a title line above the
header, ``NA``/empty cells, appended runs whose epoch restarts at 0. All are handled here.
"""

from __future__ import annotations

import csv
import io
import itertools
import json
from pathlib import Path
from typing import Any

from lossexpert.collectors._json import json_constant
from lossexpert.collectors.importers._common import Imported
from lossexpert.collectors.runfile import decode_text, read_file_bytes
from lossexpert.errors import RunParseError, RunSchemaError

MISSING = {"", "na", "n/a", "none", "null", "-"}


def _cell(text: str) -> float | None:
    t = text.strip()
    if t.lower() in MISSING:
        return None
    try:
        return float(t)
    except ValueError:
        return None


def read_rows(path: Path) -> tuple[list[str], list[list[str]], str]:
    """Header and rows of a CSV log, whatever its line ends, separator or title line."""
    source = str(path)
    text = decode_text(read_file_bytes(path), source)
    lines = [
        line for line in text.replace("\r\n", "\n").replace("\r", "\n").split("\n") if line.strip()
    ]
    if not lines:
        raise RunParseError(source, "", "the file is empty")
    start = next((i for i, line in enumerate(lines[:10]) if "loss" in line.lower()), 0)
    sample = "\n".join(lines[start : start + 5])
    try:
        delimiter = csv.Sniffer().sniff(sample, delimiters=",;\t").delimiter
    except csv.Error:
        delimiter = ","
    reader = csv.reader(io.StringIO("\n".join(lines[start:])), delimiter=delimiter)
    rows = list(reader)
    header = [h.strip() for h in rows[0]]
    if len(rows) < 2:
        raise RunParseError(source, "", "a header but no rows: nothing was logged")
    return header, rows[1:], source


def read_lightning(path: Path) -> Imported:
    csv_path = path / "metrics.csv" if path.is_dir() else path
    header, rows, source = read_rows(csv_path)
    imported = Imported(source=source, framework="lightning CSVLogger")
    col = {name: i for i, name in enumerate(header)}
    for r, row in enumerate(rows):
        step = _cell(row[col["step"]]) if "step" in col and col["step"] < len(row) else None
        epoch = _cell(row[col["epoch"]]) if "epoch" in col and col["epoch"] < len(row) else None
        if step is None:
            step = float(r)
        for name, i in col.items():
            if name in ("step", "epoch") or i >= len(row):
                continue
            value = _cell(row[i])
            if value is not None:
                imported.series(name).add(step, value, epoch)
    hparams = csv_path.parent / "hparams.yaml"
    if hparams.is_file():
        imported.config = _lightning_hparams(hparams)
    return imported


def _lightning_hparams(path: Path) -> dict[str, Any]:
    try:
        import yaml
    except ImportError:  # pragma: no cover - PyYAML is a dependency
        return {}
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8", errors="replace"))
    except yaml.YAMLError:
        return {}
    if not isinstance(data, dict):
        return {}
    cfg: dict[str, Any] = {}
    for key, value in data.items():
        k = str(key).lower()
        if k in ("lr", "learning_rate") and isinstance(value, int | float):
            cfg["learning_rate"] = float(value)
        elif k in ("batch_size",) and isinstance(value, int) and value > 0:
            cfg["batch_size"] = value
        elif k in ("weight_decay",) and isinstance(value, int | float) and value >= 0:
            cfg["weight_decay"] = float(value)
        elif k in ("max_epochs", "epochs") and isinstance(value, int) and value >= 0:
            cfg["epochs"] = value
        elif k == "dropout" and isinstance(value, int | float) and 0 <= value <= 1:
            cfg["dropout"] = float(value)
    return cfg


def read_keras(path: Path) -> Imported:
    header, rows, source = read_rows(path)
    imported = Imported(source=source, framework="keras CSVLogger")
    col = {name: i for i, name in enumerate(header)}
    epochs = [
        _cell(row[col["epoch"]]) if "epoch" in col and col["epoch"] < len(row) else None
        for row in rows
    ]
    known = [e for e in epochs if e is not None]
    restarts = sum(1 for a, b in itertools.pairwise(known) if b <= a)
    if restarts:
        imported.warnings.append(
            f"{source}: the epoch column restarts {restarts} time(s) "
            "(appended runs): rows are taken in file order"
        )
    for r, row in enumerate(rows):
        step = float(r) if restarts or epochs[r] is None else float(epochs[r])  # type: ignore[arg-type]
        for name, i in col.items():
            if name == "epoch" or i >= len(row):
                continue
            value = _cell(row[i])
            if value is not None:
                imported.series(name).add(step, value, step + 1)
    return imported


def read_table(path: Path) -> Imported:
    """Plain CSV or JSON Lines: long (step, split, loss) or wide (step, train_loss, ...)."""
    source = str(path)
    if path.suffix.lower() in (".jsonl", ".ndjson"):
        rows = _jsonl_rows(path)
    else:
        header, raw, source = read_rows(path)
        rows = [dict(zip(header, row, strict=False)) for row in raw]
    imported = Imported(source=source, framework="table")
    for r, row in enumerate(rows):
        step = _num(row.get("step", row.get("global_step", row.get("iteration"))))
        epoch = _num(row.get("epoch"))
        if step is None:
            step = float(r)
        split = str(row.get("split", "")).strip().lower()
        for key, raw_value in row.items():
            if key in (
                "step",
                "global_step",
                "iteration",
                "epoch",
                "split",
                "time",
                "timestamp",
                "wall_time",
            ):
                continue
            value = _num(raw_value)
            if value is None:
                continue
            name = f"{split}/{key}" if split else key
            imported.series(name).add(step, value, epoch)
    return imported


def _num(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        return _cell(value)
    return None


def _jsonl_rows(path: Path) -> list[dict[str, Any]]:
    source = str(path)
    text = decode_text(read_file_bytes(path), source)
    rows = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line, parse_constant=json_constant)
        except json.JSONDecodeError as err:
            raise RunParseError(source, f"line {number}", f"not valid JSON: {err.msg}") from None
        if not isinstance(obj, dict):
            raise RunSchemaError(source, f"line {number}", "expected an object per line")
        rows.append(obj)
    return rows
