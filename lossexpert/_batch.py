"""``lossexpert explain --many``: diagnose many runs at once, one JSON line per run, on all
cores. A run that cannot be read gets its own error line; the others go on."""

from __future__ import annotations

import glob
import json
import os
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

RUN_SUFFIXES = (".json", ".jsonl")


def expand(pattern: str) -> list[Path]:
    """A directory (its run files, recursively), a glob, or a single path."""
    path = Path(pattern)
    if path.is_dir():
        return sorted(p for p in path.rglob("*") if p.is_file() and p.suffix in RUN_SUFFIXES)
    matches = sorted(Path(m) for m in glob.glob(pattern, recursive=True))
    return [m for m in matches if m.is_file()] if matches else [path]


def explain_one(job: tuple[str, str, str | None]) -> tuple[bool, str]:
    """(diagnosed?, the JSON line) for one run."""
    path, lang, source = job
    from lossexpert._diagnose import diagnose
    from lossexpert.collectors.importers import import_run
    from lossexpert.errors import LossexpertError, printable

    record: dict[str, Any]
    try:
        loaded = import_run(path, source=source).loaded
        record = {
            "path": path,
            "ok": True,
            "diagnosis": diagnose(loaded, lang=lang).model_dump(mode="json"),
        }
    except LossexpertError as err:
        record = {"path": path, "ok": False, "error": str(err), "code": err.code}
    except Exception as err:  # one bad run must not stop the rest
        record = {
            "path": path,
            "ok": False,
            "code": "LE000",
            "error": f"internal error: {type(err).__name__}: {printable(str(err))}",
        }
    return bool(record["ok"]), json.dumps(record, separators=(",", ":"), ensure_ascii=False)


def explain_many(
    paths: list[Path], *, lang: str = "en", source: str | None = None, jobs: int | None = None
) -> Iterator[tuple[bool, str]]:
    """(diagnosed?, JSON line) in input order; parallel processes when there are several."""
    work = [(str(p), lang, source) for p in paths]
    workers = min(jobs or os.cpu_count() or 1, len(work))
    if workers <= 1 or len(work) < 4:
        yield from map(explain_one, work)
        return
    with ProcessPoolExecutor(max_workers=workers) as pool:
        yield from pool.map(explain_one, work, chunksize=max(1, len(work) // (workers * 8)))
