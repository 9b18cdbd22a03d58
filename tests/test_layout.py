"""The package's shape: no module imports a module that imports it back.

Imports inside functions count too (a lazy import only hides a circle); imports under
``TYPE_CHECKING`` do not (they never run). A package's ``__init__`` re-exporting its own
children is not a circle.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent / "lossexpert"


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path, known: set[str]) -> set[str]:
    found: set[str] = set()
    for node in ast.parse(path.read_text(encoding="utf-8")).body:
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            continue
        for sub in ast.walk(node):
            if isinstance(sub, ast.Import):
                names = [a.name for a in sub.names]
            elif isinstance(sub, ast.ImportFrom) and sub.module and sub.level == 0:
                names = [sub.module] + [f"{sub.module}.{a.name}" for a in sub.names]
            else:
                continue
            found |= {n for n in names if n in known}
    return found


def test_no_import_circles() -> None:
    files = {_module_name(p): p for p in ROOT.rglob("*.py")}
    graph = {m: _imports(p, set(files)) - {m} for m, p in files.items()}
    # A package's __init__ re-exporting its children is not a cycle with them.
    graph = {m: {d for d in deps if not m.startswith(d + ".")} for m, deps in graph.items()}
    cycles = []
    for start in graph:
        stack, seen = [(start, [start])], set()
        while stack:
            node, path = stack.pop()
            for nxt in graph[node]:
                if nxt == start:
                    cycles.append(path)
                elif nxt not in seen:
                    seen.add(nxt)
                    stack.append((nxt, [*path, nxt]))
    assert cycles == []


def test_every_error_code_is_stable_and_unique() -> None:
    # pandera-style stable codes: a platform matches on them, so two errors never share one.
    import lossexpert._consult
    import lossexpert._plugins
    import lossexpert.doctor._bench
    import lossexpert.kb.units  # noqa: F401
    from lossexpert.errors import LossexpertError

    def subclasses(cls: type) -> list[type]:
        return [cls, *(s for c in cls.__subclasses__() for s in subclasses(c))]

    owners: dict[str, list[str]] = {}
    for cls in subclasses(LossexpertError):
        if "code" in vars(cls):
            owners.setdefault(vars(cls)["code"], []).append(cls.__name__)
    shared = {code: names for code, names in owners.items() if len(names) > 1}
    assert not shared, shared
