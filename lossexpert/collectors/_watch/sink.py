"""The run file, with faults in the disk turned into one warning: training never stops for us."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

from lossexpert.collectors.jsonl import JsonlWriter


class Sink:
    """Rank 0's ``JsonlWriter``, or nothing on other ranks.

    A write that fails (``ENOSPC`` when the disk fills, ``EROFS`` when the folder becomes
    read-only, any other ``OSError``) warns once as a ``RuntimeWarning`` and stops the
    recording; the writer has cut the file back to its last complete line, so what was written
    before reads back. The training loop never sees the error.
    """

    def __init__(
        self, path: Path, *, enabled: bool, flush_records: int, flush_seconds: float
    ) -> None:
        self.path = path
        self.writer = (
            JsonlWriter(path, flush_records=flush_records, flush_seconds=flush_seconds)
            if enabled
            else None
        )
        self.step = 0  # the collector's step, for the warning

    @property
    def active(self) -> bool:
        return self.writer is not None

    def write(self, record: dict[str, Any]) -> None:
        if self.writer is None:
            return
        try:
            self.writer.write(record)
        except Exception as err:
            self._fail(err)

    def write_many(self, records: list[dict[str, Any]]) -> None:
        if self.writer is None:
            return
        try:
            self.writer.write_many(records)
        except Exception as err:
            self._fail(err)

    def close(self) -> None:
        if self.writer is None:
            return
        try:
            self.writer.close()
        except Exception as err:
            self._fail(err)
        self.writer = None

    def _fail(self, err: Exception) -> None:
        self.writer = None
        why = f"{err.strerror} (errno {err.errno})" if isinstance(err, OSError) else repr(err)
        warnings.warn(
            f"lossexpert.watch: cannot write {self.path}: {why}; recording stopped at step "
            f"{self.step}, training goes on, and what was written before stays readable",
            RuntimeWarning,
            stacklevel=4,
        )


def close_quietly(sink: Sink) -> None:
    """For ``weakref.finalize``: close without warning at interpreter exit."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        sink.close()
