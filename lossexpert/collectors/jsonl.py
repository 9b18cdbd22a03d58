"""The run as append-only JSON Lines (``.jsonl``): what a live collector writes.

One record per line, each an object with a ``type``:

- ``header``: ``{"type": "header", "format": "lossexpert.run/1", "run": {...}, "config": {...}}``
  (first line; later ``config`` records are merged into it, e.g. what the collector learns from
  the first batches);
- ``loss``: ``{"type": "loss", "split": "train", "step": 12, "epoch": 0.4, "value": 2.1,
  "metrics": {"accuracy": 0.3}}``;
- ``losses``: ``{"type": "losses", "split": "train", "step": [12, 13], "value": [2.1, 2.0]}``:
  consecutive loss values of one split without epoch or metrics, column-wise (what the live
  collector writes for its batched train losses: one record per batch instead of one per step);
- ``layer_info``: ``{"type": "layer_info", "layers": [{"name", "type", "activation", "fan_in",
  "init_weight_std", "init_weight_mean"}]}``;
- ``layers``: ``{"type": "layers", "step": 40, "stats": {"fc1": {"grad_norm": ..., ...}}}``;
- ``lr``: ``{"type": "lr", "step": 40, "value": 0.001}``;
- ``data``: ``{"type": "data", "split": "train", "stats": {...DataStats}}``;
- ``event``: ``{"type": "event", "kind": "amp_skipped_step", "step": 41}`` or
  ``{"type": "event", "kind": "sampling_interval", "step": 301, "every": 103}`` (the layer
  statistics are sampled every 103 steps from there: the collector's time budget);
- ``end``: ``{"type": "end", "steps": 1000}`` on a clean close.

A process killed mid-write leaves a torn last line: it is ignored with a warning, and every
complete line before it still reads back.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import math
import os
import threading
import time
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from lossexpert.collectors._json import json_constant
from lossexpert.errors import RunParseError, RunSchemaError
from lossexpert.runformat import FORMAT_ID, SERIES_FIELDS

# One encoder, built once: json.dumps with options builds a new one per call (0.7 µs of the
# 2.4 µs a loss record costs to encode).
_encode = json.JSONEncoder(separators=(",", ":"), allow_nan=True).encode


class JsonlWriter:
    """Append records to a ``.jsonl`` file; flush every ``flush_records`` records or
    ``flush_seconds`` seconds, fsync on close. Thread-safe.

    Records are buffered as text and written with ``os.write`` on the raw descriptor, so a
    failed write (disk full, file system remounted read-only) leaves no half-flushed buffer
    behind: the writer cuts the file back to its last complete line, closes it and raises the
    ``OSError`` once; later calls do nothing. What was written before stays readable.
    """

    def __init__(
        self, path: str | os.PathLike[str], *, flush_records: int = 200, flush_seconds: float = 5.0
    ) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._fd: int | None = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        self._complete = os.fstat(self._fd).st_size  # bytes that end in a complete line
        self._buffer: list[str] = []
        self._units = 0  # records in the buffer, a "losses" record counting its values
        self._lock = threading.Lock()
        self._last_flush = time.monotonic()
        self.flush_records = flush_records
        self.flush_seconds = flush_seconds
        self.failed: OSError | None = None

    @property
    def closed(self) -> bool:
        return self._fd is None

    def write(self, record: dict[str, Any]) -> None:
        self.write_many((record,))

    def write_many(self, records: Iterable[dict[str, Any]]) -> None:
        """Several records under one lock (the collector's batched loss values)."""
        lines = [_encode(r) for r in records]
        # A column-wise "losses" record counts as the values it holds: the flush comes after
        # as many losses as it did when each had its own line.
        units = sum(len(r["value"]) if r.get("type") == "losses" else 1 for r in records)
        with self._lock:
            if self._fd is None:
                return
            self._buffer.extend(lines)
            self._units += units
            now = time.monotonic()
            if (
                self._units >= self.flush_records
                or now - self._last_flush >= self.flush_seconds
            ):
                self._flush_locked()
                self._last_flush = now

    def flush(self) -> None:
        with self._lock:
            self._flush_locked()

    def close(self) -> None:
        with self._lock:
            if self._fd is None:
                return
            self._flush_locked()
            fd = self._fd
            try:
                os.fsync(fd)
            except OSError as err:
                self._abandon(err)
                raise
            self._fd = None
            os.close(fd)

    def _raw_write(self, fd: int, data: memoryview) -> int:
        return os.write(fd, data)

    def _flush_locked(self) -> None:
        if self._fd is None or not self._buffer:
            return
        data = ("\n".join(self._buffer) + "\n").encode("utf-8", "surrogatepass")
        self._buffer, self._units = [], 0
        view = memoryview(data)
        try:
            while view:
                view = view[self._raw_write(self._fd, view) :]
        except OSError as err:
            self._abandon(err)
            raise
        self._complete += len(data)

    def _abandon(self, err: OSError) -> None:
        """A write failed: keep the file readable (no torn last line), stop writing."""
        fd, self._fd, self._buffer, self.failed = self._fd, None, [], err
        if fd is None:
            return
        with contextlib.suppress(OSError):  # read-only: the reader skips a torn last line
            os.ftruncate(fd, self._complete)
        with contextlib.suppress(OSError):
            os.close(fd)


def read_jsonl_text(text: str, source: str) -> tuple[dict[str, Any], list[str]]:
    """Assemble the run dict from JSON Lines text; returns (run dict, warnings).

    Streaming: each line is parsed and folded into the run at once, so a file of millions of
    records never exists as a list of lines or of record dicts (only the run's columns).
    """
    warnings: list[str] = []
    return _assemble(_records(text, source, warnings), source, warnings), warnings


def _records(text: str, source: str, warnings: list[str]) -> Iterator[tuple[int, dict[str, Any]]]:
    # Lines end at "\n" only: U+2028 and friends are legal inside a JSON string.
    pos, number, size = 0, 0, len(text)
    while pos < size:
        end = text.find("\n", pos)
        end = size if end < 0 else end
        line = text[pos:end]
        pos, number = end + 1, number + 1
        if not line.strip():
            continue
        try:
            record = json.loads(line, parse_constant=json_constant)
        except (ValueError, RecursionError) as err:  # ValueError: also a 5000-digit integer
            if end == size and not text.endswith("\n"):
                warnings.append(
                    f"{source}: line {number}: torn last line ignored (the writer was interrupted)"
                )
                return
            msg = err.msg if isinstance(err, json.JSONDecodeError) else "a number too long"
            if isinstance(err, RecursionError):
                msg = "nested too deeply"
            raise RunParseError(source, f"line {number}", f"not valid JSON: {msg}") from None
        if not isinstance(record, dict) or not isinstance(record.get("type"), str):
            raise RunSchemaError(
                source, f"line {number}", "each line must be an object with a string 'type'"
            )
        yield number, record


def _empty_run() -> dict[str, Any]:
    return {"format": FORMAT_ID, "run": {}, "config": {}, "curves": {}, "layers": [], "data": {}}


def _assemble(
    records: Iterator[tuple[int, dict[str, Any]]], source: str, warnings: list[str]
) -> dict[str, Any]:
    run = _empty_run()
    layer_info: dict[str, dict[str, Any]] = {}
    layer_rows: dict[str, dict[str, list[Any]]] = {}
    lr_steps: list[Any] = []
    lr_values: list[Any] = []
    head = next(records, None)
    if head is None:
        raise RunParseError(source, "", "the file holds no records")
    first_number, first = head
    if first.get("type") != "header":
        raise RunSchemaError(
            source,
            f"line {first_number}",
            'the first record must be the header ({"type": "header", ...})',
        )
    for number, record in itertools.chain([head], records):
        kind = record["type"]
        where = f"line {number}"
        try:
            if kind == "header":
                if number != first_number:
                    # A second watch() on the same path appends a new run (the file is never
                    # truncated: nothing is lost). The latest run is the one read.
                    warnings.append(
                        f"{source}: {where} starts another run in the same file; the run from "
                        f"{where} on is read, the earlier one ignored (give each run its own path)"
                    )
                    run = _empty_run()
                    layer_info, layer_rows, lr_steps, lr_values = {}, {}, [], []
                if "format" in record:
                    run["format"] = record["format"]
                run["run"].update(_mapping(record.get("run", {}), "run"))
                run["config"].update(_mapping(record.get("config", {}), "config"))
            elif kind == "config":
                _merge(run["config"], _mapping(record.get("config", {}), "config"))
            elif kind == "loss":
                split = record["split"]
                curve = run["curves"].setdefault(
                    split, {"step": [], "epoch": [], "loss": [], "metrics": {}}
                )
                n = len(curve["loss"])
                curve["step"].append(record.get("step", n))
                curve["epoch"].append(record.get("epoch"))
                curve["loss"].append(record["value"])
                for name, value in _mapping(record.get("metrics", {}), "metrics").items():
                    column = curve["metrics"].setdefault(name, [None] * n)
                    column.append(value)
                for column in curve["metrics"].values():
                    if len(column) < n + 1:
                        column.append(None)
            elif kind == "losses":
                steps, values = record["step"], record["value"]
                if not isinstance(steps, list) or not isinstance(values, list):
                    raise ValueError("step and value must be lists")
                if len(steps) != len(values):
                    raise ValueError(
                        f"step has {len(steps)} entries but value has {len(values)}"
                    )
                curve = run["curves"].setdefault(
                    record["split"], {"step": [], "epoch": [], "loss": [], "metrics": {}}
                )
                curve["step"].extend(steps)
                curve["epoch"].extend([None] * len(values))
                curve["loss"].extend(values)
                for column in curve["metrics"].values():
                    column.extend([None] * len(values))
            elif kind == "layer_info":
                for info in record["layers"]:
                    layer_info[str(info["name"])] = dict(info)
            elif kind == "layers":
                step = record["step"]
                for name, stats in _mapping(record["stats"], "stats").items():
                    rows = layer_rows.setdefault(str(name), {"step": []})
                    n = len(rows["step"])
                    rows["step"].append(step)
                    for key in SERIES_FIELDS:
                        column = rows.setdefault(key, [None] * n)
                        column.append(_mapping(stats, f"stats.{name}").get(key))
            elif kind == "lr":
                lr_steps.append(record["step"])
                lr_values.append(record["value"])
            elif kind == "data":
                run["data"][record["split"]] = _mapping(record["stats"], "stats")
            elif kind in ("event", "end"):
                pass  # informational; the diagnosis reads curves, layers, config and data
            else:
                raise ValueError(f"unknown record type {kind!r}")
        except (KeyError, TypeError, ValueError) as err:
            detail = f"missing field {err}" if isinstance(err, KeyError) else str(err)
            raise RunSchemaError(source, where, f"bad '{kind}' record: {detail}") from None
    for curve in run["curves"].values():
        if all(e is None for e in curve["epoch"]):
            curve["epoch"] = None
    names = list(layer_info) + [n for n in layer_rows if n not in layer_info]
    for name in names:
        entry: dict[str, Any] = {"name": name, "step": []}
        entry.update({k: v for k, v in layer_info.get(name, {}).items() if k != "name"})
        rows = layer_rows.get(name, {})
        entry.update(
            {k: v for k, v in rows.items() if k == "step" or any(x is not None for x in v)}
        )
        run["layers"].append(entry)
    if lr_steps and "lr_schedule" not in run["config"]:
        finite = [
            (s, v)
            for s, v in zip(lr_steps, lr_values, strict=True)
            if isinstance(v, int | float) and math.isfinite(v)
        ]
        run["config"]["lr_schedule"] = {
            "step": [s for s, _ in finite],
            "value": [v for _, v in finite],
        }
    return run


def _mapping(value: Any, name: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ValueError(f"{name} must be an object")
    return value


def _merge(target: dict[str, Any], update: dict[str, Any]) -> None:
    for key, value in update.items():
        if isinstance(value, dict) and isinstance(target.get(key), dict):
            _merge(target[key], value)
        else:
            target[key] = value


def run_to_records(run: dict[str, Any]) -> list[dict[str, Any]]:
    """The inverse of reading: a run dict as JSON Lines records (for ``lossexpert convert``)."""
    records: list[dict[str, Any]] = [
        {
            "type": "header",
            "format": run.get("format", FORMAT_ID),
            "run": run.get("run", {}),
            "config": run.get("config", {}),
        }
    ]
    info_keys = ("type", "activation", "fan_in", "init_weight_std", "init_weight_mean")
    layers = run.get("layers", [])
    if layers:
        records.append(
            {
                "type": "layer_info",
                "layers": [
                    {"name": L["name"], **{k: L[k] for k in info_keys if L.get(k) is not None}}
                    for L in layers
                ],
            }
        )
    events: list[tuple[float, int, dict[str, Any]]] = []
    for split, curve in run.get("curves", {}).items():
        steps = curve.get("step") or list(range(len(curve["loss"])))
        epochs = curve.get("epoch") or [None] * len(curve["loss"])
        metrics = curve.get("metrics", {})
        for i, value in enumerate(curve["loss"]):
            rec: dict[str, Any] = {"type": "loss", "split": split, "step": steps[i], "value": value}
            if epochs[i] is not None:
                rec["epoch"] = epochs[i]
            m = {k: v[i] for k, v in metrics.items() if v[i] is not None}
            if m:
                rec["metrics"] = m
            events.append((float(steps[i]), 1, rec))
    by_step: dict[int, dict[str, dict[str, Any]]] = {}
    for L in layers:
        for i, step in enumerate(L.get("step", [])):
            stats = {k: L[k][i] for k in SERIES_FIELDS if L.get(k) is not None}
            by_step.setdefault(step, {})[L["name"]] = stats
    for step, stats in by_step.items():
        events.append((float(step), 0, {"type": "layers", "step": step, "stats": stats}))
    events.sort(key=lambda e: (e[0], e[1]))
    records += [rec for _, _, rec in events]
    for split, stats in run.get("data", {}).items():
        records.append({"type": "data", "split": split, "stats": stats})
    records.append({"type": "end"})
    return records
