"""Run the knowledge base over the symptoms with experta, and combine what fired.

The rule base is compiled into one ``KnowledgeEngine`` subclass, once per process, and each
thread keeps one instance of it, reset before every diagnosis (experta keeps its working
memory on the instance), so calls from many threads never share state. Facts are declared
after ``reset()``, never through ``DefFacts`` (which shares state across instances).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from lossexpert._experta import AS, NOT, Fact, KnowledgeEngine, Rule
from lossexpert.engine.symptoms import Symptom
from lossexpert.kb import (
    CauseUnit,
    KnowledgeBase,
    ProblemId,
    ProblemRule,
    RuleUnit,
    knowledge_base,
)


class SymptomFact(Fact):  # type: ignore[misc]
    """name, source, strength: one symptom (its numbers stay outside working memory)."""


class ProblemFact(Fact):  # type: ignore[misc]
    """id: a problem the run has."""


@dataclass(frozen=True)
class Support:
    """One firing of a cause rule: how much it adds to the cause, and on which symptoms."""

    rule: RuleUnit
    cause: CauseUnit
    cf: float
    symptoms: tuple[Symptom, ...]
    problem: ProblemId  # the problem it fired under


@dataclass(frozen=True)
class ProblemEvidence:
    rule: ProblemRule
    symptom: Symptom


@dataclass
class Inference:
    problems: list[str] = field(default_factory=list)
    problem_evidence: list[ProblemEvidence] = field(default_factory=list)
    supports: list[Support] = field(default_factory=list)
    fired: list[str] = field(default_factory=list)


class _LossEngine(KnowledgeEngine):  # type: ignore[misc]
    """Base of the compiled engine; the rules are attached by ``_compile``."""

    def __init__(self, symptoms: dict[str, Symptom]) -> None:
        super().__init__()
        self.symptoms = symptoms
        self.result = Inference()


def _problem_action(unit: ProblemRule) -> Callable[..., None]:
    def fire(self: _LossEngine, s0: Any) -> None:
        symptom = self.symptoms[s0["name"]]
        self.result.fired.append(unit.id)
        self.result.problem_evidence.append(ProblemEvidence(unit, symptom))
        if unit.problem not in self.result.problems:
            self.result.problems.append(unit.problem)
            self.declare(ProblemFact(id=unit.problem))

    fire.__name__ = unit.id
    return fire


def _cause_action(cause: CauseUnit, unit: RuleUnit, problem: ProblemId) -> Callable[..., None]:
    names = [f"s{i}" for i in range(len(unit.when))]

    def fire(self: _LossEngine, **bound: Any) -> None:
        symptoms = tuple(self.symptoms[bound[n]["name"]] for n in names)
        strength = min(s.strength for s in symptoms)
        self.result.fired.append(unit.id)
        self.result.supports.append(
            Support(unit, cause, round(unit.cf * strength, 4), symptoms, problem)
        )

    fire.__name__ = unit.id
    return fire


def _compile(kb: KnowledgeBase) -> type[_LossEngine]:
    members: dict[str, Any] = {}
    for p in kb.problem_rules:
        patterns: list[Any] = [AS.s0 << SymptomFact(name=p.when)]
        patterns += [NOT(ProblemFact(id=earlier)) for earlier in p.after]
        members[f"rule_{p.id}"] = Rule(*patterns, salience=p.priority)(_problem_action(p))
    for cause in kb.causes.values():
        for unit in cause.rules:
            home = unit.problem or cause.problem
            for problem in (home, *unit.also_under):
                patterns = [ProblemFact(id=problem)]
                patterns += [
                    getattr(AS, f"s{i}") << SymptomFact(name=n) for i, n in enumerate(unit.when)
                ]
                patterns += [NOT(SymptomFact(name=n)) for n in unit.unless]
                name = f"rule_{unit.id}" if problem == home else f"rule_{unit.id}@{problem}"
                members[name] = Rule(*patterns, salience=unit.priority)(
                    _cause_action(cause, unit, problem)
                )
    return type("CompiledLossEngine", (_LossEngine,), members)


_compiled: type[_LossEngine] | None = None
_compile_lock = threading.Lock()


def compiled_engine() -> type[_LossEngine]:
    global _compiled
    if _compiled is None:
        with _compile_lock:
            if _compiled is None:
                _compiled = _compile(knowledge_base())
    return _compiled


_per_thread = threading.local()


def _engine() -> _LossEngine:
    """One engine per thread, reused: experta builds its Rete network in the constructor,
    which costs more than a whole diagnosis; ``reset()`` clears it between diagnoses. Never
    shared across threads, so concurrent diagnoses stay independent."""
    engine: _LossEngine | None = getattr(_per_thread, "engine", None)
    if engine is None:
        engine = compiled_engine()({})
        _per_thread.engine = engine
    return engine


def infer(symptoms: Iterable[Symptom]) -> Inference:
    by_name = {s.name: s for s in symptoms}
    engine = _engine()
    engine.symptoms = by_name
    engine.result = Inference()
    engine.reset()
    for s in by_name.values():
        engine.declare(SymptomFact(name=s.name, source=s.source, strength=s.strength))
    engine.run()
    result: Inference = engine.result
    return result


def combine(factors: Iterable[float]) -> float:
    """Certainty-factor combination (MYCIN/EMYCIN): agreeing evidence accumulates as
    ``a + b(1 - a)``; the supporting and contrary totals then meet as
    ``(for - against) / (1 - min(for, against))``. Bounded in [-1, 1] and order-free."""
    support = against = 0.0
    for cf in factors:
        if cf >= 0:
            support += cf * (1 - support)
        else:
            against += -cf * (1 - against)
    denom = 1 - min(support, against)
    return 0.0 if denom <= 0 else max(-1.0, min(1.0, (support - against) / denom))
