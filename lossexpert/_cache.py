"""A bytecode cache for the Jinja templates, so a cold ``lossexpert explain`` does not
recompile them every time. Lives in the user's cache directory; silently off where that is
not writable (a library must not fail because of a cache)."""

from __future__ import annotations

import os
from pathlib import Path

from jinja2 import BytecodeCache, FileSystemBytecodeCache

from lossexpert._version import __version__


def template_cache() -> BytecodeCache | None:
    if os.environ.get("LOSSEXPERT_NO_CACHE"):
        return None
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    folder = base / "lossexpert" / f"jinja-{__version__}"
    try:
        folder.mkdir(parents=True, exist_ok=True)
        probe = folder / ".writable"
        probe.touch()
    except OSError:
        return None
    return FileSystemBytecodeCache(str(folder))
