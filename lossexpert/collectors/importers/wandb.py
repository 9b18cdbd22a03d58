"""Weights & Biases: a local run folder (``wandb/run-*/``, ``wandb/offline-run-*/``) and the
CSV that W&B's UI exports from a line-plot panel.

A run folder's history lives only in its transaction log ``run-<id>.wandb`` (W&B writes no
``wandb-history.jsonl`` since 0.10, and an offline run has no ``files/wandb-summary.json`` or
``files/config.yaml`` either). That log is a LevelDB-style record log (header ``:W&B``, magic
0xBEE1, version 0; 32 KiB blocks of ``crc32 | length | type | data`` chunks) whose records are
``wandb.internal.Record`` protobuf messages. The framing is read here; each record is decoded
with W&B's own schema (``wandb.proto.wandb_internal_pb2``) where the ``wandb`` package is
installed (``pip install 'lossexpert[wandb]'``), and otherwise by a small protobuf wire-format
reader of the few fields used (history items, config, run identity) — both give the same run,
a test checks it. Folders written by W&B before 0.10 (``wandb-history.jsonl``) are read too.
``files/config.yaml`` fills the config when the log has none (synced runs).

The panel export has a ``Step`` column (or another x axis) and, per run, ``<run> - <metric>``
with ``__MIN``/``__MAX`` companions (the band of the points the panel sampled: ignored, the
middle column is the value). An export holding several runs needs one named:
``--map train='<run> - <metric>'``.
"""

from __future__ import annotations

import json
import math
import struct
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Literal, TypeGuard

from lossexpert.collectors._json import json_constant
from lossexpert.collectors.importers._common import Imported
from lossexpert.collectors.importers._mapping import Mapping_
from lossexpert.collectors.runfile import read_file_bytes
from lossexpert.errors import RunNotFoundError, RunParseError

HEADER = b":W&B" + struct.pack("<HB", 0xBEE1, 0)
BLOCK = 32768
CHUNK_HEADER = 7
FULL, FIRST, MIDDLE, LAST = 1, 2, 3, 4
Decoder = Literal["auto", "wandb", "builtin"]

# W&B config keys that carry a run-format config field.
CONFIG_KEYS = {
    "lr": "learning_rate",
    "learning_rate": "learning_rate",
    "learning_rate_init": "learning_rate",
    "batch_size": "batch_size",
    "per_device_train_batch_size": "batch_size",
    "epochs": "epochs",
    "max_epochs": "epochs",
    "num_epochs": "epochs",
    "num_train_epochs": "epochs",
    "weight_decay": "weight_decay",
    "dropout": "dropout",
    "optimizer": "optimizer",
}
EXPORT_BAND = ("__MIN", "__MAX")


# ---------------------------------------------------------------- detection


def is_log_file(path: Path) -> bool:
    if not (path.is_file() and path.name.endswith(".wandb")):
        return False
    with path.open("rb") as fh:
        return fh.read(len(HEADER)) == HEADER


def _is_run_dir(path: Path) -> bool:
    return path.is_dir() and (
        any(is_log_file(p) for p in path.glob("run-*.wandb"))
        or (path / "wandb-history.jsonl").is_file()
    )


def find_run_dirs(path: Path) -> list[Path]:
    """The W&B run folders at ``path``: the folder itself, or its (``wandb/``) children."""
    if _is_run_dir(path):
        return [path]
    found: list[Path] = []
    for parent in (path, path / "wandb"):
        if not parent.is_dir():
            continue
        for child in sorted(parent.iterdir()):
            # latest-run is a symlink to one of the others: not a run of its own.
            if child.name != "latest-run" and not child.is_symlink() and _is_run_dir(child):
                found.append(child)
    return found


def is_export(header: list[str]) -> bool:
    """A W&B panel export: per-run ``<run> - <metric>`` columns with ``__MIN/__MAX`` bands."""
    return any(h.upper().endswith(EXPORT_BAND) and " - " in h for h in header)


# ---------------------------------------------------------------- the record log


def records(path: Path, warnings: list[str]) -> Iterator[bytes]:
    """The records of a ``.wandb`` log, CRC-checked; a torn or damaged tail ends the read."""
    data = read_file_bytes(path)
    if data[: len(HEADER)] != HEADER:
        raise RunParseError(str(path), "header", "not a W&B transaction log (no :W&B header)")
    pos, pending = len(HEADER), b""
    while pos < len(data):
        left = BLOCK - pos % BLOCK
        if left < CHUNK_HEADER:  # block trailer: zero padding
            pos += left
            continue
        if pos + CHUNK_HEADER > len(data):
            break
        crc, length, kind = struct.unpack_from("<IHB", data, pos)
        if kind == 0 and length == 0:  # the rest of the block is padding
            pos += left
            continue
        chunk = data[pos + CHUNK_HEADER : pos + CHUNK_HEADER + length]
        if len(chunk) < length or zlib.crc32(bytes([kind]) + chunk) != crc:
            warnings.append(
                f"{path}: damaged or incomplete record at byte {pos} (a run still writing, or "
                "killed): read up to there"
            )
            return
        pos += CHUNK_HEADER + length
        if kind == FULL:
            yield chunk
        elif kind == FIRST:
            pending = chunk
        elif kind == MIDDLE:
            pending += chunk
        elif kind == LAST:
            yield pending + chunk
            pending = b""


class _Record:
    """What is used of one record: history items, config updates, run identity."""

    __slots__ = ("config", "history", "identity", "step")

    def __init__(self) -> None:
        self.history: list[tuple[str, Any]] | None = None
        self.step: int | None = None
        self.config: list[tuple[str, Any]] = []
        self.identity: dict[str, Any] = {}


def _value(text: str) -> Any:
    try:
        return json.loads(text, parse_constant=json_constant)
    except ValueError:
        return None


def _key(key: str, nested: list[str]) -> str:
    return key or "/".join(nested)


def _decode_wandb(raw: bytes) -> _Record:
    """Decode one record with W&B's own protobuf schema."""
    from wandb.proto import wandb_internal_pb2

    schema: Any = wandb_internal_pb2
    rec = schema.Record.FromString(raw)
    out = _Record()
    kind = rec.WhichOneof("record_type")
    if kind == "history":
        out.history = []
        for item in rec.history.item:
            which = item.WhichOneof("value")
            if which in ("number", "integer", "boolean"):
                value: Any = getattr(item, which)
            elif which is not None:
                value = None
            else:
                value = _value(item.value_json)
            out.history.append((_key(item.key, list(item.nested_key)), value))
        if rec.history.HasField("step"):
            out.step = rec.history.step.num
    elif kind == "config":
        out.config = [
            (_key(i.key, list(i.nested_key)), _value(i.value_json)) for i in rec.config.update
        ]
    elif kind == "run":
        r = rec.run
        out.config = [
            (_key(i.key, list(i.nested_key)), _value(i.value_json)) for i in r.config.update
        ]
        out.identity = {
            "id": r.run_id or None,
            "name": r.display_name or r.run_id or None,
            "project": r.project or None,
            "tags": list(r.tags),
            "started": r.start_time.seconds if r.HasField("start_time") else None,
        }
    return out


# A minimal protobuf wire-format reader, for where ``wandb`` is not installed. Field numbers
# are those of wandb/proto/wandb_internal.proto (stable since 0.10).
_R_HISTORY, _R_CONFIG, _R_RUN = 2, 5, 17
_ITEM_KEY, _ITEM_NESTED, _ITEM_VALUE_JSON = 1, 2, 16
_ITEM_NONE, _ITEM_BOOL, _ITEM_INT, _ITEM_NUMBER, _ITEM_TEXT, _ITEM_JSON = 3, 4, 5, 6, 7, 8


def _varint(buf: bytes, pos: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        if pos >= len(buf):
            raise ValueError("truncated varint")
        b = buf[pos]
        pos += 1
        result |= (b & 0x7F) << shift
        if not b & 0x80:
            return result, pos
        shift += 7


def _fields(buf: bytes) -> Iterator[tuple[int, int, Any]]:
    pos = 0
    while pos < len(buf):
        tag, pos = _varint(buf, pos)
        number, wire = tag >> 3, tag & 7
        if wire == 0:
            value, pos = _varint(buf, pos)
            yield number, wire, value
        elif wire == 1:
            yield number, wire, buf[pos : pos + 8]
            pos += 8
        elif wire == 2:
            length, pos = _varint(buf, pos)
            yield number, wire, buf[pos : pos + length]
            pos += length
        elif wire == 5:
            yield number, wire, buf[pos : pos + 4]
            pos += 4
        else:
            raise ValueError(f"unsupported wire type {wire}")


def _item(buf: bytes) -> tuple[str, Any]:
    key, nested, value = "", [], None
    for number, wire, raw in _fields(buf):
        if number == _ITEM_KEY:
            key = raw.decode("utf-8", "replace")
        elif number == _ITEM_NESTED:
            nested.append(raw.decode("utf-8", "replace"))
        elif number == _ITEM_VALUE_JSON:
            value = _value(raw.decode("utf-8", "replace"))
        elif number == _ITEM_NUMBER and wire == 1:
            value = struct.unpack("<d", raw)[0]
        elif number == _ITEM_INT and wire == 0:
            value = (raw >> 1) ^ -(raw & 1)  # sint64: zigzag
        elif number == _ITEM_BOOL and wire == 0:
            value = bool(raw)
        elif number in (_ITEM_NONE, _ITEM_TEXT, _ITEM_JSON):
            value = None
    return _key(key, nested), value


def _config_items(buf: bytes) -> list[tuple[str, Any]]:
    return [_item(raw) for number, wire, raw in _fields(buf) if number == 1 and wire == 2]


def _decode_builtin(raw: bytes) -> _Record:
    out = _Record()
    for number, wire, value in _fields(raw):
        if wire != 2:
            continue
        if number == _R_HISTORY:
            out.history = []
            for n, w, v in _fields(value):
                if n == 1 and w == 2:
                    out.history.append(_item(v))
                elif n == 2 and w == 2:
                    out.step = next((s for k, ww, s in _fields(v) if k == 1 and ww == 0), 0)
        elif number == _R_CONFIG:
            out.config = _config_items(value)
        elif number == _R_RUN:
            ident: dict[str, Any] = {"tags": []}
            for n, w, v in _fields(value):
                if w != 2:
                    continue
                if n == 1:
                    ident["id"] = v.decode("utf-8", "replace")
                elif n == 3:
                    ident["project"] = v.decode("utf-8", "replace")
                elif n == 4:
                    out.config = _config_items(v)
                elif n == 8:
                    ident["name"] = v.decode("utf-8", "replace")
                elif n == 10:
                    ident["tags"].append(v.decode("utf-8", "replace"))
                elif n == 17:
                    ident["started"] = next(
                        (s for k, ww, s in _fields(v) if k == 1 and ww == 0), None
                    )
            ident["name"] = ident.get("name") or ident.get("id")
            out.identity = ident
    return out


def _decoder(choice: Decoder) -> Any:
    if choice == "builtin":
        return _decode_builtin
    try:
        from wandb.proto import wandb_internal_pb2  # noqa: F401
    except ImportError:
        if choice == "wandb":
            raise RunParseError(
                "wandb", "", "reading with W&B's reader needs the 'wandb' package"
            ) from None
        return _decode_builtin
    return _decode_wandb


# ---------------------------------------------------------------- reading a run


def read(path: Path, rules: Mapping_ | None = None, *, decoder: Decoder = "auto") -> Imported:
    """A W&B run folder, its ``.wandb`` log, or a panel export CSV."""
    if path.is_file() and path.suffix.lower() == ".csv":
        return read_export(path, rules)
    if path.is_file():
        log, folder = path, path.parent
    else:
        runs = find_run_dirs(path)
        if not runs:
            raise RunNotFoundError(
                str(path), "", "no W&B run (a run-*/offline-run-* folder with a .wandb log) here"
            )
        if len(runs) > 1:
            names = ", ".join(r.name for r in runs[:5]) + (" ..." if len(runs) > 5 else "")
            raise RunParseError(
                str(path), "", f"{len(runs)} W&B runs here ({names}); name one run folder"
            )
        folder = runs[0]
        logs = sorted(p for p in folder.glob("run-*.wandb") if is_log_file(p))
        log = logs[0] if logs else folder / "wandb-history.jsonl"
    imported = Imported(source=str(log), framework="wandb")
    if log.suffix == ".jsonl":
        _read_history_jsonl(log, imported)
    else:
        _read_log(log, imported, _decoder(decoder))
    if not imported.config:
        imported.config = _config_file(folder / "files" / "config.yaml")
    imported.identity.setdefault("name", folder.name)
    return imported


def _read_log(log: Path, imported: Imported, decode: Any) -> None:
    config: dict[str, Any] = {}
    auto_step = 0
    for number, raw in enumerate(records(log, imported.warnings)):
        try:
            rec = decode(raw)
        except Exception:  # a record that does not decode is skipped, and said
            imported.warnings.append(f"{log}: record {number} does not decode: skipped")
            continue
        if rec.identity:
            ident = rec.identity
            imported.identity = {
                k: v for k, v in (("id", ident.get("id")), ("name", ident.get("name"))) if v
            }
            tags = {f"wandb.tag.{t}": True for t in ident.get("tags") or []}
            if ident.get("project"):
                tags["wandb.project"] = ident["project"]
            if tags:
                imported.identity["tags"] = tags
        for key, value in rec.config:
            config[key] = value
        if rec.history is not None:
            row = dict(rec.history)
            step = row.get("_step")
            if not isinstance(step, int | float) or isinstance(step, bool):
                step = rec.step if rec.step is not None else auto_step
            auto_step = int(step) + 1
            _add_row(imported, row, float(step))
    imported.config = _config(config)


def _add_row(imported: Imported, row: dict[str, Any], step: float) -> None:
    raw_epoch, stamp = row.get("epoch"), row.get("_timestamp")
    epoch = float(raw_epoch) if _is_number(raw_epoch) else None
    time = float(stamp) if _is_number(stamp) else None
    for key, value in row.items():
        if key.startswith("_") or key == "epoch" or not _is_number(value):
            continue
        imported.series(key).add(step, float(value), epoch, time)


def _is_number(value: Any) -> TypeGuard[int | float]:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _read_history_jsonl(path: Path, imported: Imported) -> None:
    """W&B before 0.10: one JSON object per history row."""
    text = read_file_bytes(path).decode("utf-8", "replace")
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        row = _value(line)
        if not isinstance(row, dict):
            raise RunParseError(str(path), f"line {number}", "not a JSON object")
        step = row.get("_step", number - 1)
        _add_row(imported, row, float(step) if _is_number(step) else float(number - 1))


def _config_file(path: Path) -> dict[str, Any]:
    """``files/config.yaml``: ``key: {desc: ..., value: ...}`` per entry."""
    if not path.is_file():
        return {}
    import yaml  # here, not at the top: a cold `lossexpert explain` never needs it

    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8", errors="replace"))
    except yaml.YAMLError:
        return {}
    if not isinstance(data, dict):
        return {}
    flat = {
        k: v.get("value") if isinstance(v, dict) and "value" in v else v for k, v in data.items()
    }
    return _config(flat)


def _config(values: dict[str, Any]) -> dict[str, Any]:
    cfg: dict[str, Any] = {}
    for key, value in values.items():
        target = CONFIG_KEYS.get(str(key).lower())
        if target is None:
            continue
        if target == "optimizer":
            if isinstance(value, str) and value.strip():
                cfg["optimizer"] = {"name": value.strip().lower()}
            continue
        if not _is_number(value) or not math.isfinite(float(value)) or value < 0:
            continue
        if target in ("batch_size", "epochs"):
            if float(value).is_integer() and value > 0:
                cfg[target] = int(value)
        elif target != "dropout" or value <= 1:
            cfg[target] = float(value)
    return cfg


# ---------------------------------------------------------------- the panel export


def read_export(path: Path, rules: Mapping_ | None = None) -> Imported:
    from lossexpert.collectors.importers.tables import read_rows

    header, rows, source = read_rows(path)
    imported = Imported(source=source, framework="wandb export")
    x = 0
    runs: dict[str, list[int]] = {}
    for i, name in enumerate(header):
        run, sep, _ = name.partition(" - ")
        if not sep:
            continue
        if name.endswith(EXPORT_BAND):
            if rules is not None:
                rules.ignored.append(name)
            continue
        runs.setdefault(run, []).append(i)
    if not runs:
        raise RunParseError(source, "header", "no '<run> - <metric>' column: not a W&B export")
    wanted = set(rules.overrides.values()) if rules is not None else set()
    if len(runs) > 1:
        named = [r for r in runs if any(w.startswith(f"{r} - ") for w in wanted)]
        if len(named) != 1:
            raise RunParseError(
                source,
                "header",
                f"{len(runs)} runs in this export ({', '.join(list(runs)[:5])}); "
                f"name one: --map train='{next(iter(runs))} - <metric>'",
            )
        runs = {named[0]: runs[named[0]]}
    run = next(iter(runs))
    if rules is not None:  # --map train='run - loss' means the metric 'loss' of that run
        prefix = f"{run} - "
        for target, name in list(rules.overrides.items()):
            if name.startswith(prefix):
                rules.overrides[target] = name[len(prefix) :]
    for r, row in enumerate(rows):
        step = _cell(row[x]) if x < len(row) else None
        for i in runs[run]:
            value = _cell(row[i]) if i < len(row) else None
            if value is not None:
                imported.series(header[i].partition(" - ")[2]).add(
                    step if step is not None else float(r), value
                )
    imported.identity = {"name": run}
    return imported


def _cell(text: str) -> float | None:
    t = text.strip().strip('"')
    if not t or t.lower() in ("nan", "null", "none"):
        return math.nan if t.lower() == "nan" else None
    try:
        return float(t)
    except ValueError:
        return None
