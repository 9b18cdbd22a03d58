"""Read a ``run.json`` (or a dict, or a ``Run``) and validate it, with one-line errors."""

from __future__ import annotations

import json
import os
import re
import stat
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError

try:  # 2-3x faster on big runs; the standard library parser is the fallback
    import orjson
except ImportError:  # pragma: no cover - orjson is a dependency
    orjson = None  # type: ignore[assignment]

from lossexpert.collectors._json import json_constant
from lossexpert.collectors.jsonl import read_jsonl_text
from lossexpert.errors import (
    RunInputError,
    RunNotFoundError,
    RunParseError,
    RunSchemaError,
    RunTooLargeError,
    clean_text,
)
from lossexpert.runformat import Run

#: Files above this size are refused before reading (override with LOSSEXPERT_MAX_BYTES).
DEFAULT_MAX_BYTES = 1 << 30


@dataclass(frozen=True)
class LoadedRun:
    """A validated run plus what reading it taught us (ignored fields, where it came from)."""

    run: Run
    source: str
    warnings: list[str] = field(default_factory=list)


RunSource = str | os.PathLike[str] | dict[str, Any] | Run | LoadedRun


def _max_bytes() -> int:
    raw = os.environ.get("LOSSEXPERT_MAX_BYTES")
    try:
        return int(raw) if raw else DEFAULT_MAX_BYTES
    except ValueError:
        return DEFAULT_MAX_BYTES


def parse_json_bytes(data: bytes, source: str) -> Any:
    text = decode_text(data, source)
    if orjson is not None:
        try:
            return orjson.loads(text)
        except (orjson.JSONDecodeError, RecursionError):
            pass  # NaN/Infinity literals, or a real error: the standard parser says which
    return parse_json_text(text, source)


def parse_json_text(text: str, source: str) -> Any:
    """The standard library parser, with NaN/Infinity, and one-line errors for everything."""
    try:
        return json.loads(text, parse_constant=json_constant)
    except json.JSONDecodeError as err:
        raise RunParseError(
            source, "", f"not valid JSON at line {err.lineno} column {err.colno}: {err.msg}"
        ) from None
    except RecursionError:
        raise RunParseError(source, "", "JSON nested too deeply") from None
    except ValueError:  # Python refuses integer literals of more than 4300 digits
        raise RunParseError(source, "", "a number with more than 4300 digits") from None


#: Files from this size on are parsed column-wise (long number arrays straight into numpy),
#: so that a run of millions of points never exists as millions of Python floats. Below it a
#: number costs ~64 bytes as Python objects (parsed, then validated) for at least 2 bytes of
#: file ("0,"): 2 MiB of file stay under 70 MB, inside the 3x + 200 MB memory budget.
COLUMN_PARSE_BYTES = 2 << 20


def _kind(mode: int) -> str | None:
    """What a non-regular file is, in words; None for a regular file."""
    if stat.S_ISREG(mode):
        return None
    if stat.S_ISDIR(mode):
        return "is a directory, expected a run file"
    if stat.S_ISFIFO(mode):
        return "is a named pipe (FIFO); only regular files are read"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "is a device; only regular files are read"
    if stat.S_ISSOCK(mode):
        return "is a socket; only regular files are read"
    return "is not a regular file"


def read_file_bytes(path: Path, limit: int | None = None, *, truncate: bool = False) -> bytes:
    """The bytes of a regular file, at most ``limit`` (LOSSEXPERT_MAX_BYTES) of them.

    Special files are refused before they are opened (a FIFO would block the open, /dev/zero
    never ends); the limit is enforced by the read itself, not by ``st_size``, which a device,
    a /proc file or a growing file does not report truthfully.
    """
    source = str(path)
    try:
        info = path.stat()
    except FileNotFoundError:
        raise RunNotFoundError(source, "", "no such file") from None
    except OSError as err:
        raise RunNotFoundError(source, "", f"cannot read: {err.strerror}") from None
    what = _kind(info.st_mode)
    if what is not None:
        raise RunNotFoundError(source, "", what)
    limit = _max_bytes() if limit is None else limit
    if info.st_size > limit and not truncate:
        raise _too_large(source, info.st_size, limit)
    try:
        # O_NONBLOCK: should the path have become a FIFO since the stat, the open returns.
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except OSError as err:
        raise RunNotFoundError(source, "", f"cannot read: {err.strerror}") from None
    with os.fdopen(fd, "rb") as handle:
        if _kind(os.fstat(fd).st_mode) is not None:
            raise RunNotFoundError(source, "", "is not a regular file")
        try:
            data = handle.read(limit + 1)
        except OSError as err:
            raise RunNotFoundError(source, "", f"cannot read: {err.strerror}") from None
    if len(data) > limit:
        if truncate:
            return data[:limit]
        raise _too_large(source, None, limit)
    return data


def read_file_head(path: Path, size: int = 65536) -> bytes:
    """The first ``size`` bytes of a regular file (to detect what it is), same refusals."""
    return read_file_bytes(path, limit=size, truncate=True)


def _too_large(source: str, size: int | None, limit: int) -> RunTooLargeError:
    what = f"file is {size} bytes" if size is not None else "file is larger than the limit"
    return RunTooLargeError(
        source, "", f"{what}, above the {limit}-byte limit (LOSSEXPERT_MAX_BYTES)"
    )


def decode_text(data: bytes, source: str) -> str:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        raise RunParseError(source, "", f"not UTF-8 text (byte {err.start})") from None
    if not text.strip():
        raise RunParseError(source, "", "the file is empty")
    return text


def is_jsonl(path: Path, data: bytes) -> bool:
    """By suffix, or by content: a first line that is a complete header record."""
    if path.suffix.lower() in (".jsonl", ".ndjson"):
        return True
    first = data.lstrip()[:4096].split(b"\n", 1)
    return len(first) == 2 and b'"type"' in first[0] and b'"header"' in first[0]


def read_run_file(path: Path) -> LoadedRun:
    source = str(path)
    data = read_file_bytes(path)
    if is_jsonl(path, data):
        obj, warnings = read_jsonl_text(decode_text(data, source), source)
        loaded = validate_run(obj, source)
        return LoadedRun(loaded.run, loaded.source, warnings + loaded.warnings)
    if len(data) >= COLUMN_PARSE_BYTES:
        holder = [data]
        del data  # the column parser drops the bytes as soon as it has the skeleton
        parsed = _parse_columns(holder, source)
        if parsed is not None:
            obj, notes = parsed
            loaded = validate_run(obj, source)
            return LoadedRun(loaded.run, loaded.source, notes + loaded.warnings)
        data = holder[0]
    return validate_run(parse_json_bytes(data, source), source)


# --- Big runs, column-wise --------------------------------------------------------------------
# A 500 MB run of 30M points parsed as Python objects is 30M floats of 32 bytes, twice over
# (parser, then validation): ~5 GB. Instead, the long number arrays are cut out of the bytes
# and parsed by numpy (8 bytes a point), the small rest by the JSON parser, and curves longer
# than MAX_CURVE_POINTS are down-sampled before any Python list is built.

#: Arrays of at least this many bytes are parsed apart (shorter ones stay with the parser).
COLUMN_MIN_BYTES = 1 << 16
#: Curves (and layer series) longer than this are down-sampled for the diagnosis: the
#: features reduce a curve to 200 bin medians and the plots to 300 bins, so a million points
#: per curve keeps every statistic at the resolution it is computed with, at ~32 MB a column.
MAX_CURVE_POINTS = 1_000_000
#: All the down-sampled columns together keep at most this many values: as Python objects
#: (~64 bytes each, parsed then validated) that is ~100 MB whatever the file holds, so that
#: peak memory stays within 3x the file + 200 MB. Three splits of step + loss keep 250k each.
POINT_BUDGET = 1_500_000
#: A column is parsed in pieces of about this many bytes: its Python floats never exist all
#: at once (4 MB of text is ~400k numbers, ~13 MB of objects), only its float64 array.
_PIECE_BYTES = 4 << 20


@dataclass
class _Column:
    values: Any  # numpy float64 array
    nulls: Any  # numpy bool array, or None when the column has no null
    integral: bool


def _flat_arrays(data: bytes, min_bytes: int) -> list[tuple[int, int]]:
    """(start, end) of every ``[...]`` of at least ``min_bytes`` holding no ``[``, ``{`` or
    ``"``. Linear: the next position of each delimiter is cached, never searched twice."""
    found: list[tuple[int, int]] = []
    cache: dict[bytes, int] = {}

    def next_of(char: bytes, pos: int) -> int:
        at = cache.get(char, -2)
        if at == -2 or (at != -1 and at < pos):
            at = data.find(char, pos)
            cache[char] = at
        return at

    pos = 0
    while True:
        start = data.find(b"[", pos)
        if start < 0:
            return found
        end = next_of(b"]", start + 1)
        if end < 0:
            return found
        inner = [next_of(c, start + 1) for c in (b"[", b"{", b'"')]
        if any(0 <= p < end for p in inner):
            pos = start + 1
            continue
        if end + 1 - start >= min_bytes:
            found.append((start, end + 1))
        pos = end + 1


def _parse_column(data: bytes, start: int, end: int) -> _Column | None:
    """Numbers (and null, NaN, Infinity) between ``data[start] == "["`` and ``data[end - 1]``,
    as a float64 array; None for anything else (the plain parser then says what is wrong)."""
    import numpy as np

    parts: list[Any] = []
    masks: list[Any] = []
    integral, any_null = True, False
    a = start + 1
    while a < end - 1:
        cut = data.find(b",", min(a + _PIECE_BYTES, end - 1), end - 1)
        b = end - 1 if cut < 0 else cut
        piece = b"[" + data[a:b] + b"]"
        try:
            items = orjson.loads(piece) if orjson is not None else None
        except orjson.JSONDecodeError:
            items = None
        if items is None:
            try:
                items = json.loads(piece, parse_constant=json_constant)
            except ValueError:
                return None
        kinds = set(map(type, items))
        if not kinds <= {int, float, type(None)}:
            return None  # booleans, or anything that is not a number: validation names it
        integral = integral and float not in kinds
        try:
            array = np.array(items, dtype=np.float64)
        except (OverflowError, ValueError):
            return None
        if type(None) in kinds:
            any_null = True
            masks.append(np.fromiter((v is None for v in items), dtype=bool, count=len(items)))
        else:
            masks.append(None)
        parts.append(array)
        a = b + 1
    if not parts:
        return None
    values = np.concatenate(parts) if len(parts) > 1 else parts[0]
    nulls = None
    if any_null:
        nulls = np.concatenate(
            [
                m if m is not None else np.zeros(p.size, dtype=bool)
                for m, p in zip(masks, parts, strict=True)
            ]
        )
    return _Column(values, nulls, integral)


def _parse_columns(holder: list[bytes], source: str) -> tuple[Any, list[str]] | None:
    import secrets

    data = holder[0]
    if not re.match(rb"(?:\xef\xbb\xbf)?\s*\{", data):
        return None
    nonce = secrets.token_hex(8)
    columns: dict[str, _Column] = {}
    pieces: list[bytes] = []
    last = 0
    for start, end in _flat_arrays(data, COLUMN_MIN_BYTES):
        column = _parse_column(data, start, end)
        if column is None:
            return None
        key = f"lossexpert-column-{nonce}-{len(columns)}"
        columns[key] = column
        pieces += [data[last:start], b'"' + key.encode() + b'"']
        last = end
    if not columns:
        return None
    pieces.append(data[last:])
    skeleton = b"".join(pieces)
    del pieces
    try:
        obj = parse_json_bytes(skeleton, source)
    except RunParseError:
        return None  # a match inside a string, or broken JSON: the plain parser says which
    holder.clear()
    del data  # the caller's reference is gone too: the bytes are freed here
    notes: list[str] = []
    if isinstance(obj, dict):
        _down_sample(obj, columns, source, notes)
    return _substitute(obj, columns), notes


def _down_sample(
    obj: dict[str, Any], columns: dict[str, _Column], source: str, notes: list[str]
) -> None:
    """Curves and layer series longer than MAX_CURVE_POINTS keep a uniform stride of their
    points plus the first and last point, the minimum, the maximum and the first non-finite
    value: the medians stay faithful (a uniform sample), and so do the extremes and where
    the run diverged."""
    import numpy as np

    groups: list[tuple[str, dict[str, Any], list[tuple[dict[str, Any], str]], str]] = []
    curves = obj.get("curves")
    if isinstance(curves, dict):
        for split, curve in curves.items():
            if isinstance(curve, dict):
                slots = [(curve, k) for k in ("loss", "step", "epoch", "time")]
                metrics = curve.get("metrics")
                if isinstance(metrics, dict):
                    slots += [(metrics, k) for k in metrics]
                groups.append((f"curves.{split}", curve, slots, "loss"))
    layers = obj.get("layers")
    if isinstance(layers, list):
        from lossexpert.runformat import SERIES_FIELDS

        for i, layer in enumerate(layers):
            if isinstance(layer, dict):
                slots = [(layer, k) for k in ("step", *SERIES_FIELDS)]
                groups.append((f"layers.{i}", layer, slots, "grad_norm"))
    long_columns = sum(
        1
        for _, _, slots, _ in groups
        for owner, k in slots
        if isinstance(v := owner.get(k), str) and v in columns
    )
    # Never fewer than 10k points a curve: 50 per feature bin (200 bins), so bin medians
    # stay medians of many points even when a run has hundreds of long columns.
    cap = min(MAX_CURVE_POINTS, max(10_000, POINT_BUDGET // max(1, long_columns)))
    for where, _, slots, lead in groups:
        cols = [
            columns[v] for owner, k in slots if isinstance(v := owner.get(k), str) and v in columns
        ]
        lengths = {c.values.size for c in cols}
        if not cols or len(lengths) != 1:
            continue  # nothing long here, or misaligned: validation names the field
        n = lengths.pop()
        if n <= cap:
            continue
        owner_lead = next((o for o, k in slots if k == lead), None)
        lead_key = owner_lead.get(lead) if owner_lead is not None else None
        lead_column = (
            columns[lead_key] if isinstance(lead_key, str) and lead_key in columns else None
        )
        stride = -(-n // cap)
        keep = np.zeros(n, dtype=bool)
        keep[::stride] = True
        keep[n - 1] = True
        if lead_column is not None:
            values = lead_column.values
            finite = np.isfinite(values)
            if finite.any():
                keep[int(np.argmin(np.where(finite, values, np.inf)))] = True
                keep[int(np.argmax(np.where(finite, values, -np.inf)))] = True
            if lead_column.nulls is not None:
                finite |= lead_column.nulls  # a missing point is not a divergence
            first_bad = int(np.argmin(finite))  # the first False, if any
            if not finite[first_bad]:
                keep[first_bad] = True
        index = np.flatnonzero(keep)
        for owner, k in slots:
            v = owner.get(k)
            if isinstance(v, str) and v in columns:
                c = columns[v]
                columns[v] = _Column(
                    c.values[index], None if c.nulls is None else c.nulls[index], c.integral
                )
            elif isinstance(v, list) and len(v) == n:
                owner[k] = [v[i] for i in index.tolist()]
        notes.append(
            f"{source}: {where}: {n} points down-sampled to {index.size} for the diagnosis "
            f"(every {stride}th point, plus the first, last, minimum, maximum and first "
            "non-finite one)"
        )


def _substitute(node: Any, columns: dict[str, _Column]) -> Any:
    if isinstance(node, str):
        column = columns.get(node)
        return node if column is None else _as_list(column)
    if isinstance(node, dict):
        for key, value in node.items():
            if isinstance(value, (str, dict, list)):
                node[key] = _substitute(value, columns)
        return node
    if isinstance(node, list):
        for i, value in enumerate(node):
            if isinstance(value, (str, dict, list)):
                node[i] = _substitute(value, columns)
        return node
    return node


def _as_list(column: _Column) -> list[Any]:
    import numpy as np

    values = column.values
    if column.integral and values.size and bool(np.all(np.abs(values) < 2.0**53)):
        out: list[Any] = values.astype(np.int64).tolist()
    else:
        out = values.tolist()
    if column.nulls is not None:
        for i in np.flatnonzero(column.nulls).tolist():
            out[i] = None
    return out


def _field_path(loc: tuple[int | str, ...]) -> str:
    return ".".join(str(part) for part in loc)


def validate_run(obj: Any, source: str) -> LoadedRun:
    if not isinstance(obj, dict):
        raise RunSchemaError(source, "", f"expected a JSON object, got {type(obj).__name__}")
    found: list[str] = []
    try:
        run = Run.model_validate(obj, context={"warnings": found})
    except ValidationError as err:
        errors = err.errors(include_url=False)
        first = errors[0]
        more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
        msg = str(first["msg"]).removeprefix("Value error, ")
        raise RunSchemaError(source, _field_path(first["loc"]), f"{msg}{more}") from None
    except RecursionError:
        raise RunSchemaError(source, "", "nested too deeply") from None
    return _loaded(run, source, [f"{source}: {w}" for w in found])


def _loaded(run: Run, source: str, found: list[str] | None = None) -> LoadedRun:
    source = clean_text(source)  # a path can hold undecodable bytes (surrogate escapes)
    warnings: list[str] = [clean_text(w) for w in found or []]
    unknown = run.unknown_fields()
    if unknown:
        shown = ", ".join(unknown[:8]) + (
            f" (+{len(unknown) - 8} more)" if len(unknown) > 8 else ""
        )
        warnings.append(f"{source}: unknown fields ignored by the diagnosis: {shown}")
    return LoadedRun(run=run, source=source, warnings=warnings)


def load_run(source: RunSource) -> LoadedRun:
    """Read and validate a run from a path (``.json`` or ``.jsonl``), a dict or a ``Run``.

    Raises ``RunInputError`` (one line: file, field path, what is wrong) for anything that is
    not a readable run. Never raises anything else for bad input.
    """
    if isinstance(source, LoadedRun):
        return source
    if isinstance(source, Run):
        return _loaded(source, source.run.name or "<run>")
    if isinstance(source, dict):
        return validate_run(source, "<dict>")
    if isinstance(source, (str, os.PathLike)):
        return read_run_file(Path(source))
    raise RunInputError("<input>", "", f"cannot read a run from a {type(source).__name__}")
