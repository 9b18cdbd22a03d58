"""Error types. Each carries a stable code so callers can branch on it without parsing text."""

from __future__ import annotations

import re

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029]")
# C0 and C1 control characters but tab and newline (ESC starts terminal escapes, BEL rings),
# and lone surrogates (they cannot be encoded: every writer would fail on them).
_UNSAFE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff]")
_MAX_PART = 300


def clean_text(text: str) -> str:
    """A user string fit for any output: controls (but tab/newline) dropped, lone surrogates
    replaced with U+FFFD. Well-formed text comes back as the same object (no copy)."""
    if _UNSAFE.search(text) is None:
        return text
    return _UNSAFE.sub(lambda m: "\ufffd" if m.group() >= "\ud800" else "", text)


def printable(text: str, limit: int = _MAX_PART) -> str:
    """One safe line out of user data: no newlines, no terminal escapes, bounded length."""
    line = " ".join(_CONTROL.sub("?", clean_text(text)).split())
    return line if len(line) <= limit else line[: limit - 1] + "…"


class LossexpertError(Exception):
    """Base class of every error lossexpert raises on purpose."""

    code = "LE000"


class RunInputError(LossexpertError):
    """A run could not be read, or does not fit the run format.

    ``source`` names the file (or ``<dict>``), ``field`` the dotted path inside it (empty when
    the problem is the file as a whole). ``str(err)`` is the one line the CLI prints.
    """

    code = "LE100"

    def __init__(self, source: str, field: str, message: str, *, code: str | None = None) -> None:
        self.source = source
        self.field = field
        self.message = message
        if code is not None:
            self.code = code
        super().__init__(self.one_line())

    def one_line(self) -> str:
        source, field = printable(self.source), printable(self.field)
        where = f"{source}: {field}: " if field else f"{source}: "
        return f"{where}{printable(self.message)} [{self.code}]"


class RunNotFoundError(RunInputError):
    code = "LE101"


class RunParseError(RunInputError):
    """The bytes are not JSON (garbage, truncated, wrong encoding)."""

    code = "LE102"


class RunSchemaError(RunInputError):
    """The JSON does not fit the run format (wrong type, missing curve, bad value)."""

    code = "LE103"


class RunTooLargeError(RunInputError):
    code = "LE104"
