"""The knowledge base: problems, cause units (rules and words), causal links, thresholds.

Every cause is one unit, a directory under ``kb/causes/`` (see ``lossexpert.kb.units``). The
units are discovered, not listed, and checked when the knowledge base loads: adding a cause is
adding one directory. ``knowledge_base()`` loads, once per process, the built-in units, those
of the folders named by the setting ``units`` (``[tool.lossexpert]``, see ``_plugins``) and
those of the installed plugins; ``load_knowledge_base()`` does the same for given folders.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from types import ModuleType
from typing import Any

from lossexpert.kb import causes as _causes_pkg
from lossexpert.kb.problems import PROBLEM_RULES
from lossexpert.kb.thresholds import DEFAULT_THRESHOLDS, Thresholds
from lossexpert.kb.units import (
    LANGUAGES,
    PROBLEM_ORDER,
    CauseUnit,
    ProblemId,
    ProblemRule,
    RuleUnit,
    Unit,
    UnitError,
    check_unit,
)

BUILTIN_UNITS = Path(_causes_pkg.__file__).parent
BUILTIN = "lossexpert"  # the origin of the built-in units

# The built-in causes in rank order, derived from the unit directories on first use (a module
# __getattr__, so that importing lossexpert.kb loads nothing).
CAUSE_IDS: tuple[str, ...]


@dataclass(frozen=True)
class KnowledgeBase:
    problem_rules: tuple[ProblemRule, ...]
    causes: dict[str, CauseUnit]  # built-in and folder units by rank, then the plugins'
    units: Mapping[str, Unit] = field(default_factory=dict)  # cause id -> its checked unit
    # lang -> rule id -> description, from the units (filled in from ``units``)
    descriptions: Mapping[str, Mapping[str, str]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        table: dict[str, dict[str, str]] = {}
        for unit in self.units.values():
            for lang, texts in unit.descriptions.items():
                table.setdefault(lang, {}).update(texts)
        object.__setattr__(self, "descriptions", table)

    def describe(self, rule: RuleUnit | ProblemRule, lang: str) -> str:
        """A rule's description in ``lang``: the diagnosis language's, for every trace."""
        if isinstance(rule, ProblemRule):
            return rule.describe(lang)
        return self.descriptions.get(lang, {}).get(rule.id, rule.description)

    def origin(self, cause: str) -> str:
        """Where a cause came from: "lossexpert", a unit folder, or a plugin."""
        unit = self.units.get(cause)
        return unit.origin if unit is not None else BUILTIN


@cache
def knowledge_base() -> KnowledgeBase:
    """The knowledge base of this process: built-in units, configured unit folders, plugins.

    Loaded and checked once; a unit that is incomplete fails here (``UnitError``, or
    ``PluginError`` for a plugin's), in one line naming the unit and what is missing.
    """
    from lossexpert._plugins import settings

    return load_knowledge_base(settings().units, plugins=True)


def load_knowledge_base(
    unit_folders: Iterable[str | Path] = (), *, plugins: bool = False
) -> KnowledgeBase:
    """Load and check the built-in units, the units of ``unit_folders`` (each a folder of unit
    directories laid out like ``kb/causes/``) and, with ``plugins``, the installed plugins'.

    Folder units join the built-in ones in ``rank`` order; plugin units follow them. Not
    cached: ``knowledge_base()`` is the process's one.
    """
    from lossexpert.kb.chains import CAUSAL_LINKS
    from lossexpert.kb.symptoms import is_symptom, unknown_rule_symptoms

    known = is_symptom  # the symptom registry: a rule may use only a symptom that exists
    units: dict[str, Unit] = {}
    ranks: dict[int, str] = {}
    for folder in (BUILTIN_UNITS, *(Path(f) for f in unit_folders)):
        builtin = folder == BUILTIN_UNITS
        if not builtin and not folder.is_dir():
            raise UnitError(f"unit folder {folder}: not a directory")
        for directory in unit_directories(folder):
            unit = load_unit(directory, builtin=builtin, known_symptom=known)
            cid, rank = unit.cause.id, unit.cause.rank
            if cid in units:
                raise UnitError(
                    f"cause unit {cid} ({directory}): defined twice (also in {units[cid].origin})"
                )
            if rank in ranks:
                raise UnitError(
                    f"cause unit {cid} ({directory}): rank {rank} is already {ranks[rank]}'s"
                )
            units[cid], ranks[rank] = unit, cid
    ordered = {u.cause.id: u for u in sorted(units.values(), key=lambda u: u.cause.rank)}
    if plugins:
        from lossexpert._plugins import load_plugins

        for unit in load_plugins(known).units:
            if unit.cause.id in ordered:
                raise UnitError(f"{unit.origin}: unit {unit.cause.id}: defined twice")
            ordered[unit.cause.id] = unit
    unknown = unknown_rule_symptoms((), PROBLEM_RULES, CAUSAL_LINKS)
    if unknown:
        raise UnitError("; ".join(unknown))
    for p in PROBLEM_RULES:
        if not p.zh.strip():
            raise UnitError(f"problem rule {p.id}: no zh description")
    owners: dict[str, list[str]] = {p.id: ["the problem rules"] for p in PROBLEM_RULES}
    for u in ordered.values():
        for r in u.cause.rules:
            owners.setdefault(r.id, []).append(f"cause unit {u.cause.id}")
    for rid, where in owners.items():
        if len(where) > 1:
            raise UnitError(f"rule {rid}: defined twice ({' and '.join(where[:2])})")
    return KnowledgeBase(
        problem_rules=PROBLEM_RULES,
        causes={cid: u.cause for cid, u in ordered.items()},
        units=ordered,
    )


def unit_directories(folder: Path) -> list[Path]:
    """The unit directories of a folder: every subdirectory but hidden ones, caches, and
    those that hold nothing but caches (what a checkout of another commit leaves behind)."""
    return sorted(
        d
        for d in folder.iterdir()
        if d.is_dir()
        and not d.name.startswith((".", "_"))
        and any(not f.name.startswith((".", "__pycache__")) for f in d.iterdir())
    )


def load_unit(
    directory: Path, *, builtin: bool = False, known_symptom: Any = None
) -> Unit:
    """One unit directory: ``__init__.py`` (``CAUSE``), ``<lang>.j2`` per language; checked."""
    where = f"cause unit {directory.name} ({directory})"
    module = _unit_module(directory, builtin, where)
    cause = getattr(module, "CAUSE", None)
    if not isinstance(cause, CauseUnit):
        raise UnitError(f"{where}: __init__.py defines no CAUSE = CauseUnit(...)")
    if cause.id != directory.name:
        raise UnitError(
            f"{where}: CAUSE has the id {cause.id!r}; a unit's id is its directory's name"
        )
    words: dict[str, str | None] = {}
    for lang in LANGUAGES:
        path = directory / f"{lang}.j2"
        try:
            words[lang] = path.read_text(encoding="utf-8") if path.is_file() else None
        except (OSError, UnicodeDecodeError) as err:
            raise UnitError(f"{where}: {lang}.j2: cannot read: {err}") from None
    return check_unit(
        cause,
        words,
        where=where,
        files=True,
        known_symptom=known_symptom,
        origin=BUILTIN if builtin else f"units {directory.parent}",
        filenames={lang: str(directory / f"{lang}.j2") for lang in LANGUAGES},
        trusted=builtin,
    )


def _unit_module(directory: Path, builtin: bool, where: str) -> ModuleType:
    init = directory / "__init__.py"
    if not init.is_file():
        raise UnitError(f"{where}: no __init__.py (its rules: CAUSE = CauseUnit(...))")
    if builtin:
        return importlib.import_module(f"{_causes_pkg.__name__}.{directory.name}")
    name = f"lossexpert_units.{directory.name}"
    spec = importlib.util.spec_from_file_location(
        name, init, submodule_search_locations=[str(directory)]
    )
    if spec is None or spec.loader is None:
        raise UnitError(f"{where}: cannot import __init__.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except Exception as err:  # a unit that does not import: said in one line
        sys.modules.pop(name, None)
        raise UnitError(f"{where}: cannot import: {type(err).__name__}: {err}") from err
    return module


@cache
def _builtin_cause_ids() -> tuple[str, ...]:
    causes = []
    for directory in unit_directories(BUILTIN_UNITS):
        module = importlib.import_module(f"{_causes_pkg.__name__}.{directory.name}")
        causes.append(module.CAUSE)
    return tuple(c.id for c in sorted(causes, key=lambda c: c.rank))


def __getattr__(name: str) -> Any:
    if name == "CAUSE_IDS":
        return _builtin_cause_ids()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "CAUSE_IDS",
    "DEFAULT_THRESHOLDS",
    "LANGUAGES",
    "PROBLEM_ORDER",
    "CauseUnit",
    "KnowledgeBase",
    "ProblemId",
    "ProblemRule",
    "RuleUnit",
    "Thresholds",
    "Unit",
    "UnitError",
    "knowledge_base",
    "load_knowledge_base",
]
