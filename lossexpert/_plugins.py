"""Configuration (``[tool.lossexpert]``) and knowledge-base plugins (entry points).

Configuration comes from the TOML file named by ``LOSSEXPERT_CONFIG`` (its ``[tool.lossexpert]``
table, or its top level), else from the ``[tool.lossexpert]`` table of the nearest
``pyproject.toml`` from the working directory up. Keys:

- ``thresholds``: a table of threshold overrides (``dead_fraction = 0.7``), the defaults of every
  diagnosis that does not pass its own;
- ``plugins``: the entry-point names of the plugins to load (absent: every installed one;
  ``[]``: none);
- ``units``: folders of cause units of one's own, each laid out like ``lossexpert/kb/causes/``
  (a directory per cause: ``__init__.py``, ``en.j2``, ``zh.j2``), relative to the file.

A plugin is a distribution declaring entry points in the group ``lossexpert.kb``; each points at
one cause unit or a list of them (or a function returning either), as plain data, so a plugin
imports nothing from lossexpert::

    UNIT = {
        "id": "acme.stale_cache",                  # namespaced: <entry point name>.<cause>
        "problem": "train_loss_not_decreasing",
        "reference": "ACME runbook §3",
        "rank": 100,                               # breaks ties after the built-in causes
        "rules": [{"id": "acme.STALE-FLAT", "when": ["train.no_progress"], "cf": 0.7,
                   "priority": 600, "description": "<in English>"}],
        "words": {
            "en": "<Jinja: macros title(), why(), remedies(c)>",
            "zh": "<the same macros> {% set descriptions = {'acme.STALE-FLAT': '<中文>'} %}",
        },
    }

The words are the same Jinja source as a built-in unit's ``kb/causes/<id>/<lang>.j2``, one per
language, and are checked by the same ``check_unit``: every language but English describes
every rule in its ``descriptions`` dict. A unit without words or a rule description in every
language, a rule on an unknown symptom, or an id outside its namespace fails at load with one
line naming the unit.
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import cache
from importlib import metadata
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from lossexpert.errors import LossexpertError
from lossexpert.kb.thresholds import DEFAULT_THRESHOLDS, Thresholds
from lossexpert.kb.units import PROBLEM_ORDER, CauseUnit, RuleUnit, Unit, UnitError, check_unit

GROUP = "lossexpert.kb"
CONFIG_ENV = "LOSSEXPERT_CONFIG"
CONFIG_KEYS = ("thresholds", "plugins", "units")
UNIT_KEYS = ("id", "problem", "reference", "rank", "rules", "words")
RULE_KEYS = ("id", "when", "cf", "description", "unless", "priority")


class ConfigError(LossexpertError):
    """A configuration file that cannot be used: one line naming the file and key."""

    code = "LE201"


class PluginError(UnitError):
    """A plugin unit that cannot join the knowledge base: one line naming the unit."""

    code = "LE202"


# ------------------------------------------------------------------------------ config


@dataclass(frozen=True)
class Settings:
    source: str | None  # the file the settings came from, None for the defaults
    thresholds: Mapping[str, Any]
    plugins: tuple[str, ...] | None  # None: every installed plugin
    units: tuple[str, ...] = ()  # folders of cause units, absolute


def _config_file() -> tuple[Path, bool] | None:
    """(file, whole file is the table) for LOSSEXPERT_CONFIG, else the nearest pyproject."""
    named = os.environ.get(CONFIG_ENV)
    if named:
        return Path(named), True
    here = Path.cwd()
    for folder in (here, *here.parents):
        candidate = folder / "pyproject.toml"
        if candidate.is_file():
            return candidate, False
    return None


def settings() -> Settings:
    found = _config_file()
    if found is None:
        return Settings(None, {}, None)
    path, standalone = found
    try:
        stamp = path.stat().st_mtime_ns
    except OSError:
        if standalone:
            raise ConfigError(f"{path}: {CONFIG_ENV} names a file that does not exist") from None
        return Settings(None, {}, None)
    return _settings(str(path), standalone, stamp)


def _toml() -> Any:
    for name in ("tomllib", "tomli"):  # the standard library from Python 3.11; tomli before
        try:
            return importlib.import_module(name)
        except ModuleNotFoundError:
            continue
    return None


@cache
def _settings(path: str, standalone: bool, _stamp: int) -> Settings:
    toml = _toml()
    if toml is None:
        if standalone:
            raise ConfigError(f"{path}: reading TOML needs Python 3.11 or 'pip install tomli'")
        return Settings(None, {}, None)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        if not standalone:
            return Settings(None, {}, None)
        raise ConfigError(f"{path}: cannot read: {err}") from None
    try:
        data = toml.loads(text)
    except toml.TOMLDecodeError as err:
        # Someone else's broken pyproject.toml is not ours to refuse, unless it speaks to us.
        if not standalone and "tool.lossexpert" not in text:
            return Settings(None, {}, None)
        raise ConfigError(f"{path}: not TOML: {err}") from None
    tool = data.get("tool", {}).get("lossexpert") if isinstance(data.get("tool"), dict) else None
    if tool is None:
        if not standalone:
            return Settings(None, {}, None)
        tool = data
    prefix = "tool.lossexpert." if not standalone or "tool" in data else ""
    if not isinstance(tool, dict):
        raise ConfigError(f"{path}: {prefix or 'tool.lossexpert'}: expected a table")
    for key in tool:
        if key not in CONFIG_KEYS and key != "tool":
            raise ConfigError(
                f"{path}: {prefix}{key}: unknown setting; known: {', '.join(CONFIG_KEYS)}"
            )
    thresholds = tool.get("thresholds", {})
    if not isinstance(thresholds, dict):
        raise ConfigError(f"{path}: {prefix}thresholds: expected a table")
    try:
        Thresholds(**thresholds)
    except ValidationError as err:
        first = err.errors()[0]
        key = ".".join(str(p) for p in first["loc"])
        why = "unknown threshold" if first["type"] == "extra_forbidden" else first["msg"]
        raise ConfigError(f"{path}: {prefix}thresholds.{key}: {why}") from None
    plugins = tool.get("plugins")
    if plugins is not None and not (
        isinstance(plugins, list) and all(isinstance(p, str) for p in plugins)
    ):
        raise ConfigError(f"{path}: {prefix}plugins: expected a list of entry-point names")
    units = tool.get("units", [])
    if not (isinstance(units, list) and all(isinstance(u, str) for u in units)):
        raise ConfigError(f"{path}: {prefix}units: expected a list of folders")
    here = Path(path).parent
    return Settings(
        path,
        dict(thresholds),
        tuple(plugins) if plugins is not None else None,
        tuple(str(here / u) for u in units),
    )


def configured_thresholds(base: Thresholds = DEFAULT_THRESHOLDS) -> Thresholds:
    """``base`` with the configuration's overrides."""
    values = settings().thresholds
    return Thresholds(**{**base.model_dump(), **values}) if values else base


# ------------------------------------------------------------------------------ plugins


@dataclass(frozen=True)
class Loaded:
    units: tuple[Unit, ...]  # checked, with their words and descriptions in every language

    @property
    def causes(self) -> tuple[CauseUnit, ...]:
        return tuple(u.cause for u in self.units)


def _entry_points() -> list[metadata.EntryPoint]:
    return sorted(metadata.entry_points(group=GROUP), key=lambda e: e.name)


def _origin(ep: metadata.EntryPoint) -> str:
    dist = ep.dist
    if dist is not None:
        return f"plugin {ep.name} ({dist.metadata['Name']} {dist.version})"
    return f"plugin {ep.name}"


def _units(ep: metadata.EntryPoint) -> list[Any]:
    try:
        obj = ep.load()
    except Exception as err:  # a plugin that does not import: said in one line
        raise PluginError(f"plugin {ep.name} ({ep.value}): cannot load: {err}") from None
    if callable(obj):
        obj = obj()
    return list(obj) if isinstance(obj, list | tuple) else [obj]


def _unit(ep: metadata.EntryPoint, raw: Any, known_symptom: Callable[[str], bool]) -> Unit:
    if not isinstance(raw, Mapping):
        raise PluginError(f"plugin {ep.name}: a unit must be a mapping, got {type(raw).__name__}")
    uid = str(raw.get("id", "?"))
    where = f"plugin {ep.name}: unit {uid}"
    if not uid.startswith(f"{ep.name}.") or len(uid) <= len(ep.name) + 1:
        raise PluginError(f"{where}: the id must be namespaced '{ep.name}.<cause>'")
    unknown = sorted(set(raw) - set(UNIT_KEYS))
    if unknown:
        raise PluginError(f"{where}: unknown key {unknown[0]!r}")
    if raw.get("problem") not in PROBLEM_ORDER:
        raise PluginError(f"{where}: problem must be one of {', '.join(PROBLEM_ORDER)}")
    rules = []
    for i, rule in enumerate(raw.get("rules") or []):
        rid = str(rule.get("id", f"#{i}")) if isinstance(rule, Mapping) else f"#{i}"
        if not isinstance(rule, Mapping) or sorted(set(rule) - set(RULE_KEYS)):
            raise PluginError(f"{where}: rule {rid}: expected a mapping of {', '.join(RULE_KEYS)}")
        if not rid.startswith(f"{ep.name}."):
            raise PluginError(f"{where}: rule {rid}: the id must start with '{ep.name}.'")
        try:
            unit = RuleUnit(
                id=rid,
                when=tuple(str(s) for s in rule["when"]),
                cf=float(rule["cf"]),
                description=str(rule["description"]),
                unless=tuple(str(s) for s in rule.get("unless", ())),
                priority=int(rule.get("priority", 500)),
            )
        except (KeyError, TypeError, ValueError) as err:
            raise PluginError(f"{where}: rule {rid}: missing or bad value {err}") from None
        rules.append(unit)
    words = raw.get("words")
    if not isinstance(words, Mapping):
        words = {}
    try:
        rank = int(raw.get("rank", 1000))
    except (TypeError, ValueError):
        raise PluginError(f"{where}: rank must be an integer") from None
    cause = CauseUnit(
        id=uid,
        problem=raw["problem"],
        reference=str(raw.get("reference") or _origin(ep)),
        rules=tuple(rules),
        rank=rank,
    )
    return check_unit(
        cause,
        words,
        where=where,
        error=PluginError,
        known_symptom=known_symptom,
        origin=_origin(ep),
    )


def load_plugins(known_symptom: Callable[[str], bool]) -> Loaded:
    """The selected plugins' units, checked; ``known_symptom``: may a rule use this name."""
    wanted = settings().plugins
    eps = _entry_points()
    if wanted is not None:
        names = {ep.name for ep in eps}
        absent = [w for w in wanted if w not in names]
        if absent:
            raise PluginError(
                f"plugin {absent[0]}: selected in {settings().source} but not installed "
                f"(installed: {', '.join(sorted(names)) or 'none'})"
            )
        eps = [ep for ep in eps if ep.name in wanted]
    units: dict[str, Unit] = {}
    for ep in eps:
        for raw in _units(ep):
            unit = _unit(ep, raw, known_symptom)
            if unit.cause.id in units:
                raise PluginError(f"plugin {ep.name}: unit {unit.cause.id}: defined twice")
            units[unit.cause.id] = unit
    return Loaded(tuple(units.values()))
