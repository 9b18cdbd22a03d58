"""The knowledge base: problems, causes, their rules, thresholds and (in templates/) words."""

from __future__ import annotations

import importlib
import pkgutil
from dataclasses import dataclass
from functools import cache

from lossexpert.kb import causes as _causes_pkg
from lossexpert.kb.problems import PROBLEM_RULES
from lossexpert.kb.thresholds import DEFAULT_THRESHOLDS, Thresholds
from lossexpert.kb.units import (
    CAUSE_IDS,
    PROBLEM_ORDER,
    CauseUnit,
    ProblemId,
    ProblemRule,
    RuleUnit,
)


@dataclass(frozen=True)
class KnowledgeBase:
    problem_rules: tuple[ProblemRule, ...]
    causes: dict[str, CauseUnit]


@cache
def knowledge_base() -> KnowledgeBase:
    """Load every cause module once; check ids so a typo fails at import, not in a report."""
    found: dict[str, CauseUnit] = {}
    for info in sorted(pkgutil.iter_modules(_causes_pkg.__path__), key=lambda m: m.name):
        module = importlib.import_module(f"{_causes_pkg.__name__}.{info.name}")
        cause: CauseUnit = module.CAUSE
        if cause.id != info.name or cause.id not in CAUSE_IDS:
            raise RuntimeError(f"cause module {info.name} defines unknown cause {cause.id!r}")
        found[cause.id] = cause
    found.update(_plugin_causes())
    rule_ids = [r.id for c in found.values() for r in c.rules] + [p.id for p in PROBLEM_RULES]
    dupes = {i for i in rule_ids if rule_ids.count(i) > 1}
    if dupes:
        raise RuntimeError(f"duplicate rule ids: {sorted(dupes)}")
    ordered = {cid: found[cid] for cid in CAUSE_IDS if cid in found}
    ordered.update({cid: c for cid, c in found.items() if cid not in ordered})  # plugins
    return KnowledgeBase(problem_rules=PROBLEM_RULES, causes=ordered)


def _plugin_causes() -> dict[str, CauseUnit]:
    """Causes from installed plugins (entry points ``lossexpert.kb``; see ``_plugins``)."""
    from lossexpert._plugins import load_plugins, register
    from lossexpert.kb.texts import LANGUAGES, texts

    loaded = load_plugins(LANGUAGES, texts("en").has_symptom)
    register(loaded)
    return {c.id: c for c in loaded.causes}


__all__ = [
    "CAUSE_IDS",
    "DEFAULT_THRESHOLDS",
    "PROBLEM_ORDER",
    "CauseUnit",
    "KnowledgeBase",
    "ProblemId",
    "ProblemRule",
    "RuleUnit",
    "Thresholds",
    "knowledge_base",
]
