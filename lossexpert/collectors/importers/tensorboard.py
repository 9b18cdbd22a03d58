"""TensorBoard event files, read directly: every point, no TensorFlow, no sampling.

An event file is a TFRecord stream (``uint64 length, uint32 crc, data, uint32 crc``) of
``Event`` protocol buffers. We decode just the fields that matter with a small wire-format
reader: ``Event.wall_time`` (1), ``step`` (2), ``summary`` (5) -> ``Summary.value`` (1) ->
``tag`` (1), ``simple_value`` (2, what PyTorch's ``SummaryWriter.add_scalar`` writes) and
``tensor`` (8, TF2-style summaries: ``TensorProto.float_val`` 5 / ``double_val`` 6 /
``tensor_content`` 4 with ``dtype`` 1). TensorBoard's own ``EventAccumulator`` keeps a
reservoir sample of each tag unless told otherwise; this reader keeps every point.

A log directory may hold several files (a restarted run writes a new one): files are read in
order of their first wall time, and when a later file starts at a step the earlier ones
already passed, the earlier points from that step on are dropped, as TensorBoard's purge does.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from pathlib import Path

from lossexpert.collectors.importers._common import Imported
from lossexpert.collectors.runfile import read_file_bytes
from lossexpert.errors import RunParseError

DT_FLOAT, DT_DOUBLE, DT_HALF, DT_INT32, DT_INT64 = 1, 2, 19, 3, 9
SPLIT_DIRS = {
    "validation": "val",
    "val": "val",
    "eval": "val",
    "valid": "val",
    "train": "train",
    "test": "test",
}


def is_event_file(path: Path) -> bool:
    return "tfevents" in path.name


def find_event_files(path: Path) -> list[Path]:
    if path.is_file():
        return [path]
    return sorted(p for p in path.rglob("*") if p.is_file() and is_event_file(p))


def _varint(buf: bytes, i: int) -> tuple[int, int]:
    shift = result = 0
    while True:
        if i >= len(buf):
            raise ValueError("truncated varint")
        b = buf[i]
        i += 1
        result |= (b & 0x7F) << shift
        if not b & 0x80:
            return result, i
        shift += 7
        if shift > 70:
            raise ValueError("varint too long")


def _fields(buf: bytes) -> Iterator[tuple[int, int, int | bytes]]:
    """(field number, wire type, value) for each field of a protobuf message."""
    i = 0
    while i < len(buf):
        key, i = _varint(buf, i)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, i = _varint(buf, i)
            yield number, wire, value
        elif wire == 1:
            if i + 8 > len(buf):
                raise ValueError("truncated fixed64")
            yield number, wire, buf[i : i + 8]
            i += 8
        elif wire == 2:
            size, i = _varint(buf, i)
            if i + size > len(buf):
                raise ValueError("truncated length-delimited field")
            yield number, wire, buf[i : i + size]
            i += size
        elif wire == 5:
            if i + 4 > len(buf):
                raise ValueError("truncated fixed32")
            yield number, wire, buf[i : i + 4]
            i += 4
        else:
            raise ValueError(f"unsupported wire type {wire}")


def _tensor_value(buf: bytes) -> float | None:
    dtype, content = DT_FLOAT, b""
    floats: list[float] = []
    for number, _, value in _fields(buf):
        if number == 1 and isinstance(value, int):
            dtype = value
        elif number == 4 and isinstance(value, bytes):
            content = value
        elif number == 5 and isinstance(value, bytes):  # float_val (packed or fixed32)
            floats += list(struct.unpack(f"<{len(value) // 4}f", value))
        elif number == 6 and isinstance(value, bytes):  # double_val
            floats += list(struct.unpack(f"<{len(value) // 8}d", value))
    if floats:
        return floats[0] if len(floats) == 1 else None
    formats = {
        DT_FLOAT: ("<f", 4),
        DT_DOUBLE: ("<d", 8),
        DT_HALF: ("<e", 2),
        DT_INT32: ("<i", 4),
        DT_INT64: ("<q", 8),
    }
    if dtype in formats and len(content) == formats[dtype][1]:
        return float(struct.unpack(formats[dtype][0], content)[0])
    return None  # not a scalar (histograms, images, text...)


def _records(data: bytes, source: str) -> Iterator[bytes]:
    i = 0
    while i < len(data):
        if i + 12 > len(data):
            raise RunParseError(source, f"byte {i}", "truncated TFRecord header")
        (length,) = struct.unpack("<Q", data[i : i + 8])
        start = i + 12
        end = start + length
        if end + 4 > len(data):
            raise RunParseError(
                source,
                f"byte {i}",
                f"truncated event record (length {length}, {len(data) - start} bytes left)",
            )
        yield data[start:end]
        i = end + 4


def read_event_file(path: Path) -> list[tuple[str, float, float, float]]:
    """(tag, step, value, wall_time) for every scalar in one file."""
    source = str(path)
    data = read_file_bytes(path)  # regular files only, bounded by LOSSEXPERT_MAX_BYTES
    if data.startswith(b"version https://git-lfs"):
        raise RunParseError(
            source,
            "",
            "a git-lfs pointer, not event data (run 'git lfs pull' to fetch the real file)",
        )
    if len(data) < 12:
        raise RunParseError(source, "", "too short to be an event file")
    scalars: list[tuple[str, float, float, float]] = []
    try:
        for record in _records(data, source):
            wall, step, summary = 0.0, 0, b""
            for number, wire, value in _fields(record):
                if number == 1 and wire == 1 and isinstance(value, bytes):
                    wall = struct.unpack("<d", value)[0]
                elif number == 2 and isinstance(value, int):
                    step = value - (1 << 64) if value >= 1 << 63 else value
                elif number == 5 and wire == 2 and isinstance(value, bytes):
                    summary = value
            if not summary:
                continue
            for number, wire, value in _fields(summary):
                if number != 1 or wire != 2 or not isinstance(value, bytes):
                    continue
                tag, scalar = "", None
                for n2, w2, v2 in _fields(value):
                    if not isinstance(v2, bytes):
                        continue
                    if n2 == 1 and w2 == 2:
                        tag = v2.decode("utf-8", "replace")
                    elif n2 == 2 and w2 == 5:
                        scalar = struct.unpack("<f", v2)[0]
                    elif n2 == 8 and w2 == 2:
                        scalar = _tensor_value(v2)
                if tag and scalar is not None:
                    scalars.append((tag, float(step), float(scalar), wall))
    except ValueError as err:
        raise RunParseError(source, "", f"corrupt event data: {err}") from None
    return scalars


def read(path: Path) -> Imported:
    files = find_event_files(path)
    imported = Imported(source=str(path), framework="tensorboard")
    if not files:
        raise RunParseError(str(path), "", "no TensorBoard event files (*tfevents*) here")
    per_file = []
    for f in files:
        scalars = read_event_file(f)
        if scalars:
            per_file.append((min(s[3] for s in scalars), f, scalars))
    per_file.sort(key=lambda x: x[0])
    merged: dict[str, list[tuple[float, float, float]]] = {}
    for _, f, scalars in per_file:
        split = _split_from_dirs(f, path)
        first_step: dict[str, float] = {}
        for tag, step, _, _ in scalars:
            first_step.setdefault(tag, step)
        for tag, start in first_step.items():
            key = _key(tag, split)
            earlier = merged.get(key)
            if earlier and start <= earlier[-1][0]:
                kept = [p for p in earlier if p[0] < start]
                imported.warnings.append(
                    f"{f}: '{tag}' restarts at step {int(start)}: "
                    f"{len(earlier) - len(kept)} earlier points replaced"
                )
                merged[key] = kept
        for tag, step, value, wall in scalars:
            merged.setdefault(_key(tag, split), []).append((step, value, wall))
    for key, points in merged.items():
        series = imported.series(key)
        for step, value, wall in points:
            series.add(step, value, time=wall)
    _force_splits(imported)
    if not imported.points:
        raise RunParseError(str(path), "", "the event files hold no scalar summaries")
    return imported


def _split_from_dirs(f: Path, root: Path) -> str | None:
    """Keras writes train/ and validation/ sub-folders with the same tags in each."""
    try:
        parts = f.relative_to(root).parts[:-1] if root.is_dir() else ()
    except ValueError:
        parts = ()
    for part in reversed(parts):
        if part.lower() in SPLIT_DIRS:
            return SPLIT_DIRS[part.lower()]
    name = f.name.lower()
    for word, split in SPLIT_DIRS.items():
        if f"_{word}." in name or f"{word}.events" in name:
            return split
    return None


def _key(tag: str, split: str | None) -> str:
    return f"{split}::{tag}" if split else tag


def _force_splits(imported: Imported) -> None:
    """Tags from a split folder: their loss is that split's loss, other tags its metrics."""
    from lossexpert.collectors.importers._mapping import default_target

    renamed: dict[str, str] = {}
    for key in list(imported.points):
        if "::" not in key:
            continue
        split, tag = key.split("::", 1)
        target = default_target(tag, default_split=split)  # a split word in the tag wins
        if target is not None:
            renamed[key] = target
    imported.forced.update(renamed)
