"""Import experta on Python >= 3.10.

experta 1.9.4 pins frozendict 1.2, which subclasses ``collections.Mapping`` (removed in 3.10).
We add that alias only for the duration of the import, and undo the ``logging.basicConfig()``
experta runs at import time, so the host's logging setup is left exactly as it was.
"""

from __future__ import annotations

import collections
import collections.abc
import logging
import threading

_import_lock = threading.Lock()


def _import_experta() -> None:
    with _import_lock:
        root = logging.getLogger()
        handlers_before = list(root.handlers)
        had_alias = hasattr(collections, "Mapping")
        if not had_alias:
            collections.Mapping = collections.abc.Mapping  # type: ignore[attr-defined]
        try:
            import experta  # noqa: F401
        finally:
            if not had_alias:
                del collections.Mapping  # type: ignore[attr-defined]
            for handler in list(root.handlers):
                if handler not in handlers_before:
                    root.removeHandler(handler)


_import_experta()

from experta import (  # noqa: E402
    AS,
    NOT,
    Fact,
    Field,
    KnowledgeEngine,
    Rule,
)

__all__ = ["AS", "NOT", "Fact", "Field", "KnowledgeEngine", "Rule"]
