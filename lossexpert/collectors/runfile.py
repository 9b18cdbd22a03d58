"""Read a ``run.json`` (or a dict, or a ``Run``) and validate it, with one-line errors."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError

try:  # 2-3x faster on big runs; the standard library parser is the fallback
    import orjson
except ImportError:  # pragma: no cover - orjson is a dependency
    orjson = None  # type: ignore[assignment]

from lossexpert.errors import (
    RunInputError,
    RunNotFoundError,
    RunParseError,
    RunSchemaError,
    RunTooLargeError,
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


def json_constant(name: str) -> float:
    """``parse_constant`` for ``json.loads``: NaN/Infinity/-Infinity become floats."""
    # json accepts NaN/Infinity/-Infinity; they are legitimate evidence in curves.
    return float(name.replace("Infinity", "inf"))


def parse_json_bytes(data: bytes, source: str) -> Any:
    text = decode_text(data, source)
    if orjson is not None:
        try:
            return orjson.loads(text)
        except (orjson.JSONDecodeError, RecursionError):
            pass  # NaN/Infinity literals, or a real error: the standard parser says which
    try:
        return json.loads(text, parse_constant=json_constant)
    except json.JSONDecodeError as err:
        raise RunParseError(
            source, "", f"not valid JSON at line {err.lineno} column {err.colno}: {err.msg}"
        ) from None
    except RecursionError:
        raise RunParseError(source, "", "JSON nested too deeply") from None


def read_file_bytes(path: Path) -> bytes:
    source = str(path)
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        raise RunNotFoundError(source, "", "no such file") from None
    except OSError as err:
        raise RunNotFoundError(source, "", f"cannot read: {err.strerror}") from None
    if path.is_dir():
        raise RunNotFoundError(source, "", "is a directory, expected a run file")
    limit = _max_bytes()
    if size > limit:
        raise RunTooLargeError(
            source, "", f"file is {size} bytes, above the {limit}-byte limit (LOSSEXPERT_MAX_BYTES)"
        )
    try:
        return path.read_bytes()
    except OSError as err:
        raise RunNotFoundError(source, "", f"cannot read: {err.strerror}") from None


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
    from lossexpert.collectors.jsonl import read_jsonl_text

    source = str(path)
    data = read_file_bytes(path)
    if is_jsonl(path, data):
        obj, warnings = read_jsonl_text(decode_text(data, source), source)
        loaded = validate_run(obj, source)
        return LoadedRun(loaded.run, loaded.source, warnings + loaded.warnings)
    return validate_run(parse_json_bytes(data, source), source)


def _field_path(loc: tuple[int | str, ...]) -> str:
    return ".".join(str(part) for part in loc)


def validate_run(obj: Any, source: str) -> LoadedRun:
    if not isinstance(obj, dict):
        raise RunSchemaError(source, "", f"expected a JSON object, got {type(obj).__name__}")
    try:
        run = Run.model_validate(obj)
    except ValidationError as err:
        errors = err.errors(include_url=False)
        first = errors[0]
        more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
        msg = str(first["msg"]).removeprefix("Value error, ")
        raise RunSchemaError(source, _field_path(first["loc"]), f"{msg}{more}") from None
    except RecursionError:
        raise RunSchemaError(source, "", "nested too deeply") from None
    return _loaded(run, source)


def _loaded(run: Run, source: str) -> LoadedRun:
    warnings: list[str] = []
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
