"""The symptom registry (lossexpert/kb/symptoms.py) agrees with the code, the runs and the words.

Everything the registry says is derived again here from what exists: the symptoms the engine
emits on every bundled and benchmark run, with their evidence keys; every ``out.add`` in the
engine and the doctor's probes, read from the source; the ``Thresholds`` fields each detector
compares with, read from the code by following the values and conditions that lead to each
``out.add``; the names every rule, problem rule and causal link of the loaded knowledge base
uses; the macros and the keys the templates of every language read.
"""

from __future__ import annotations

import ast
import importlib.util
import json
import re
import sys
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import replace
from functools import cache
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

import lossexpert
from lossexpert._diagnose import _restrict
from lossexpert.engine import facts, features, signatures
from lossexpert.engine import symptoms as engine_symptoms
from lossexpert.engine.symptoms import Findings, extract
from lossexpert.kb import knowledge_base
from lossexpert.kb import symptoms as registry
from lossexpert.kb.chains import CAUSAL_LINKS
from lossexpert.kb.symptoms import (
    CONTEXT_THRESHOLDS,
    CURVE_SUMMARY_THRESHOLDS,
    ENGINE_SYMPTOMS,
    REMEDY_KEYS,
    SYMPTOMS,
    check_emission,
    check_symptom_names,
    symptom,
    thresholds_of,
    unknown_rule_symptoms,
)
from lossexpert.kb.texts import LANGUAGES, texts
from lossexpert.kb.thresholds import DEFAULT_THRESHOLDS, Thresholds

from .conftest import ROOT

ENGINE_FILES = [Path(m.__file__ or "") for m in (engine_symptoms, signatures, features)]
_probes_spec = importlib.util.find_spec("lossexpert.doctor._probes")  # no torch import
assert _probes_spec is not None and _probes_spec.origin is not None
PROBES_FILE = Path(_probes_spec.origin)
LEVELS = ({"curves", "config", "layers", "data"}, {"curves", "config"}, {"curves"})
# Applied after the detectors, to the facts they produced: a train curve of under min_points
# weighs each of its facts sparse_strength; dead fractions on batches under dead_min_batch
# are dropped.
SPARSE = {"min_points", "sparse_strength"}
DEAD = {"layers.dead_relu", "layers.dead_from_start", "layers.dead_normal"}


# ------------------------------------------------------------------ the runs


def _load(name: str, path: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def _runs() -> Iterator[tuple[str, Any]]:
    for folder in ("tests/fixtures/runs", "examples/runs", "benchmarks/diagnosis/runs"):
        for path in sorted((ROOT / folder).glob("*.json")):
            yield f"{folder}/{path.name}", lossexpert.load_run(path).run
    suite = _load("registry_suite_score", ROOT / "benchmarks" / "suite" / "score.py")
    for item in suite.load_suite():
        yield item["case"]["name"], suite.read_run(item["path"])


@cache
def _emitted() -> dict[str, list[tuple[str, str, frozenset[str]]]]:
    """name -> [(run, source, evidence keys)] over every run, at every level of evidence."""
    seen: dict[str, list[tuple[str, str, frozenset[str]]]] = defaultdict(list)
    for name, run in _runs():
        for keep in LEVELS:
            for s in extract(_restrict(run, keep), DEFAULT_THRESHOLDS).symptoms:
                seen[s.name].append((name, s.source, frozenset(s.values)))
    return dict(seen)


def test_every_symptom_emitted_on_the_runs_is_registered_with_its_keys() -> None:
    wrong = [
        f"{run}: {why}"
        for name, readings in _emitted().items()
        for run, source, keys in readings
        if (why := check_emission(name, source, keys)) is not None
    ]
    assert wrong == []
    # The runs exercise most of the engine's vocabulary, and each key of those symptoms.
    assert len(_emitted()) >= 75
    for name, readings in _emitted().items():
        used = set().union(*(keys for _, _, keys in readings))
        assert set(symptom(name).values) <= used, name


# ------------------------------------------------------------------ the source


def _adds(path: Path) -> Iterator[tuple[str, ast.Call, ast.FunctionDef]]:
    """Every ``<x>.add("<symptom>", ...)`` with a literal name, in its function."""
    for fn in ast.walk(ast.parse(path.read_text())):
        if not isinstance(fn, ast.FunctionDef):
            continue
        for call in ast.walk(fn):
            if (
                isinstance(call, ast.Call)
                and isinstance(call.func, ast.Attribute)
                and call.func.attr == "add"
                and call.args
                and isinstance(call.args[0], ast.Constant)
                and isinstance(call.args[0].value, str)
                and "." in call.args[0].value
            ):
                yield call.args[0].value, call, fn


def _keys(call: ast.Call, fn: ast.FunctionDef) -> set[str]:
    """The keyword names of a call, ``**d`` resolved through ``d = dict(...)`` in ``fn``."""
    dicts = {
        t.id: [k.arg for k in n.value.keywords if k.arg]
        for n in ast.walk(fn)
        if isinstance(n, ast.Assign)
        and isinstance(n.value, ast.Call)
        and isinstance(n.value.func, ast.Name)
        and n.value.func.id == "dict"
        for t in n.targets
        if isinstance(t, ast.Name)
    }
    keys: set[str] = set()
    for k in call.keywords:
        if k.arg is not None:
            keys.add(k.arg)
        else:
            assert isinstance(k.value, ast.Name), ast.unparse(call)
            keys |= set(dicts[k.value.id])
    return keys


def test_every_symptom_the_engine_can_emit_is_registered() -> None:
    found: set[str] = set()
    for path in ENGINE_FILES:
        for name, call, fn in _adds(path):
            found.add(name)
            source = call.args[1]
            assert isinstance(source, ast.Constant), ast.unparse(call)
            assert check_emission(name, source.value, _keys(call, fn)) is None
    assert found == ENGINE_SYMPTOMS  # and nothing registered that the engine never emits


def test_the_doctors_probe_symptoms_are_registered() -> None:
    found: set[str] = set()
    for name, call, fn in _adds(PROBES_FILE):
        found.add(name)
        keys = _keys(call, fn)
        spec = symptom(name)
        assert keys <= spec.keys and set(spec.values) <= keys, (name, keys)
    # probe.fix.<remedy> / probe.nofix.<remedy>: one pair per remedy the doctor can try.
    tree = ast.parse(PROBES_FILE.read_text())
    remedies = next(
        n.value
        for n in ast.walk(tree)
        if isinstance(n, ast.AnnAssign)
        and isinstance(n.target, ast.Name)
        and n.target.id == "REMEDIES"
    )
    assert isinstance(remedies, ast.DictComp)
    pairs = remedies.generators[0].iter
    assert isinstance(pairs, ast.Tuple)
    keys = [ast.literal_eval(p)[1] for p in pairs.elts]
    assert tuple(keys) == REMEDY_KEYS
    tried = {f"probe.{v}.{k}" for k in keys for v in ("fix", "nofix")}
    probes = {n for n, s in SYMPTOMS.items() if s.source == "probe"}
    assert found | tried == probes
    assert not probes & ENGINE_SYMPTOMS


# ------------------------------------------------------------------ the rules


def test_every_name_the_knowledge_base_uses_is_registered() -> None:
    kb = knowledge_base()
    causes = list(kb.causes.values())
    assert unknown_rule_symptoms(causes, kb.problem_rules, CAUSAL_LINKS) == []
    names = {p.when for p in kb.problem_rules}
    for cause in causes:
        for rule in cause.rules:
            names |= {*rule.when, *rule.unless}
            for case in (*rule.also_fires_on, *rule.never_fires_on):
                names |= set(case)
    for link in CAUSAL_LINKS:
        names |= {*link.via, *link.blocked_by}
    assert check_symptom_names(names) == []
    assert len(names) > 60


def test_unknown_names_are_reported() -> None:
    assert check_symptom_names(["train.saw_tooth", "train.sawtooth", "x", "x"]) == [
        "train.sawtooth",
        "x",
    ]
    kb = knowledge_base()
    cause = next(iter(kb.causes.values()))
    rule = cause.rules[0]
    broken = replace(cause, rules=(replace(rule, when=("train.sawtooth",), unless=()),))
    assert unknown_rule_symptoms([broken]) == [
        f"cause {cause.id}: rule {rule.id}: unknown symptom 'train.sawtooth'"
    ]
    with pytest.raises(KeyError, match=r"train\.sawtooth"):
        symptom("train.sawtooth")


def test_the_engine_refuses_a_fact_the_registry_does_not_know() -> None:
    if not __debug__:
        pytest.skip("the check is an assert")
    out = Findings()
    with pytest.raises(AssertionError, match="unknown symptom"):
        out.add("train.sawtooth", "curves", 1.0)
    with pytest.raises(AssertionError, match="unregistered"):
        out.add("train.saw_tooth", "curves", 1.0, r2=0.5, chance_r2=0.1, period=10, extra=1)
    with pytest.raises(AssertionError, match="absent"):
        out.add("train.saw_tooth", "curves", 1.0, r2=0.5)
    with pytest.raises(AssertionError, match="source"):
        out.add("train.saw_tooth", "layers", 1.0, r2=0.5, chance_r2=0.1, period=10)
    out.add("train.saw_tooth", "curves", 1.0, r2=0.5, chance_r2=0.1, period=10)
    assert [s.name for s in out.symptoms] == ["train.saw_tooth"]


# ------------------------------------------------------------------ the words


def _template_source(lang: str) -> str:
    env = texts(lang).env
    assert env.loader is not None
    return env.loader.get_source(env, "symptoms.j2")[0]


@pytest.mark.parametrize("lang", LANGUAGES)
def test_every_symptom_has_words_reading_only_its_keys(lang: str) -> None:
    words = texts(lang)
    assert [n for n in SYMPTOMS if not words.has_symptom(n)] == []
    macros = dict(
        re.findall(
            r"\{%-?\s*macro (\w+)\(v\)\s*-?%\}(.*?)\{%-?\s*endmacro", _template_source(lang), re.S
        )
    )
    by_macro = {n.replace(".", "_"): n for n in SYMPTOMS}
    stale = [m for m in macros if not m.startswith("_") and m not in by_macro]
    assert stale == []  # words for a symptom nothing emits
    for macro, body in macros.items():
        if macro.startswith("_"):
            continue  # a helper (the fix/nofix sentence), called with the caller's values
        spec = SYMPTOMS[by_macro[macro]]
        read = set(re.findall(r"\bv\.(\w+)", body))
        assert read <= spec.keys, (macro, read - spec.keys)
        # Renders with every key, and with the ones every reading carries.
        every = dict.fromkeys(spec.keys, 2.0)
        assert words.symptom(spec.name, every)
        assert words.symptom(spec.name, dict.fromkeys(spec.values, 2.0))


# ------------------------------------------------------------------ the thresholds


def _is_th(node: ast.AST) -> bool:
    """``th`` or ``<x>.th`` (the doctor's ``ctx.th``)."""
    return (isinstance(node, ast.Name) and node.id == "th") or (
        isinstance(node, ast.Attribute) and node.attr == "th"
    )


def _fields(node: ast.AST) -> set[str]:
    return {n.attr for n in ast.walk(node) if isinstance(n, ast.Attribute) and _is_th(n.value)}


class Detectors:
    """A static reading of the detectors: for each ``out.add``, the ``Thresholds`` fields that
    decide whether it runs and what it adds. It follows the names in the call and in the
    conditions around it back to their reaching assignments (and their conditions), and into
    every function called with ``th``."""

    MUTATORS = frozenset({"append", "extend", "add", "update", "insert"})

    def __init__(self, files: list[Path], helpers: tuple[str, ...] = ()) -> None:
        """``helpers``: functions of the engine that these files call with ``th`` (followed
        into, their own ``out.add`` calls not collected)."""
        self.funcs: dict[str, ast.FunctionDef] = {}
        self.helpers: dict[str, ast.FunctionDef] = {}
        for path in files:
            for node in ast.parse(path.read_text()).body:
                if isinstance(node, ast.FunctionDef):
                    assert node.name not in self.funcs, node.name
                    self.funcs[node.name] = node
        for path in ENGINE_FILES:
            for node in ast.parse(path.read_text()).body:
                if isinstance(node, ast.FunctionDef) and node.name in helpers:
                    self.helpers[node.name] = node

    @staticmethod
    def called_with_th(node: ast.AST) -> set[str]:
        out = set()
        for c in ast.walk(node):
            if isinstance(c, ast.Call) and any(
                _is_th(a) for a in (*c.args, *(k.value for k in c.keywords))
            ):
                f = c.func
                if isinstance(f, ast.Name):
                    out.add(f.id)
                elif isinstance(f, ast.Attribute) and isinstance(f.value, ast.Name):
                    out.add(f.attr)  # F.summarize(..., th)
        return out

    def function_fields(self, name: str, seen: set[str] | None = None) -> set[str]:
        """Every field a function reads, with the functions it calls with ``th``."""
        seen = set() if seen is None else seen
        fn = self.funcs.get(name) or self.helpers.get(name)
        if name in seen or fn is None:
            return set()
        seen.add(name)
        got = _fields(fn)
        for g in self.called_with_th(fn):
            got |= self.function_fields(g, seen)
        return got

    def symptom_fields(self) -> dict[str, set[str]]:
        deps: dict[str, set[str]] = defaultdict(set)
        for fn in self.funcs.values():
            _Function(self, fn).collect(deps)
        return dict(deps)


_Def = tuple[ast.AST, list[ast.AST]]  # (the binding, the expressions it takes its value from)
_COMPREHENSIONS = (ast.ListComp, ast.SetComp, ast.GeneratorExp, ast.DictComp)


class _Function:
    def __init__(self, det: Detectors, fn: ast.FunctionDef) -> None:
        self.det, self.fn = det, fn
        self.parent: dict[ast.AST, ast.AST] = {}
        for p in ast.walk(fn):
            for c in ast.iter_child_nodes(p):
                self.parent[c] = p
        self.defs: dict[str, list[_Def]] = defaultdict(list)
        for n in ast.walk(fn):
            if isinstance(n, ast.Assign | ast.AugAssign | ast.AnnAssign) and n.value is not None:
                targets = n.targets if isinstance(n, ast.Assign) else [n.target]
                for t in targets:
                    if isinstance(t, ast.Name | ast.Tuple):
                        own = [t] if isinstance(n, ast.AugAssign) else []  # x |= ... reads x
                        for name in self._names(t):
                            self.defs[name].append((n, [n.value, *own]))
            elif isinstance(n, ast.For):
                for name in self._names(n.target):
                    self.defs[name].append((n, [n.iter]))
            elif isinstance(n, ast.comprehension):
                for name in self._names(n.target):
                    self.defs[name].append((n, [n.iter, *n.ifs]))
            elif isinstance(n, ast.NamedExpr):
                self.defs[n.target.id].append((n, [n.value]))
            elif (
                isinstance(n, ast.Call)
                and isinstance(n.func, ast.Attribute)
                and n.func.attr in Detectors.MUTATORS
                and isinstance(n.func.value, ast.Name)
            ):
                self.defs[n.func.value.id].append((n, list(n.args)))  # stuck.append(...)

    @staticmethod
    def _names(node: ast.AST) -> set[str]:
        return {n.id for n in ast.walk(node) if isinstance(n, ast.Name)} - {"th", "out"}

    def ancestors(self, node: ast.AST) -> list[ast.AST]:
        out = []
        while node in self.parent:
            node = self.parent[node]
            out.append(node)
        return out

    def controls(self, node: ast.AST) -> list[ast.AST]:
        """What decides whether ``node`` runs: the enclosing ifs and loops, and the early
        exits (return, continue, break) before it in an enclosing block."""
        tests: list[ast.AST] = []
        anc = self.ancestors(node)
        for a in anc:
            if isinstance(a, ast.If | ast.While | ast.IfExp):
                tests.append(a.test)
            elif isinstance(a, ast.For):
                tests.append(a.iter)
            elif isinstance(a, ast.comprehension):
                tests += [a.iter, *a.ifs]
        line = getattr(node, "lineno", 0)
        blocks = set(map(id, anc))
        for g in ast.walk(self.fn):
            if (
                isinstance(g, ast.If)
                and g.lineno < line
                and id(self.parent.get(g)) in blocks
                and any(isinstance(b, ast.Return | ast.Continue | ast.Break) for b in ast.walk(g))
            ):
                tests.append(g.test)
        return tests

    def reaching(self, name: str, use: ast.AST) -> list[_Def]:
        """The bindings of ``name`` that can reach ``use``: the last one in an enclosing
        block before it, and any later in branches."""
        anc = self.ancestors(use)
        for a in anc:  # a comprehension's variables are its own
            if isinstance(a, _COMPREHENSIONS):
                own = [d for d in self.defs.get(name, []) if d[0] in a.generators]
                if own:
                    return own
        line = getattr(use, "lineno", 0)
        before = [
            d
            for d in self.defs.get(name, [])
            if not isinstance(d[0], ast.comprehension) and getattr(d[0], "lineno", 0) < line
        ]
        blocks = set(map(id, anc))
        dominating = [
            getattr(s, "lineno", 0)
            for s, _ in before
            if id(self.parent.get(s)) in blocks and not isinstance(s, ast.Call)
        ]
        if dominating:
            last = max(dominating)
            before = [d for d in before if getattr(d[0], "lineno", 0) >= last]
        return before

    def fields_of(self, node: ast.AST, seen: set[tuple[str, int]]) -> set[str]:
        got = _fields(node)
        for g in self.det.called_with_th(node):
            got |= self.det.function_fields(g)
        for use in ast.walk(node):
            if not isinstance(use, ast.Name) or use.id in ("th", "out"):
                continue
            for stmt, values in self.reaching(use.id, use):
                key = (use.id, id(stmt))
                if key in seen:
                    continue
                seen.add(key)
                for v in (*values, *self.controls(stmt)):
                    got |= self.fields_of(v, seen)
        return got

    def collect(self, deps: dict[str, set[str]]) -> None:
        for call in ast.walk(self.fn):
            if (
                isinstance(call, ast.Call)
                and isinstance(call.func, ast.Attribute)
                and call.func.attr == "add"
                and call.args
                and isinstance(call.args[0], ast.Constant)
                and isinstance(call.args[0].value, str)
            ):
                seen: set[tuple[str, int]] = set()
                got = self.fields_of(call, seen)
                for t in self.controls(call):
                    got |= self.fields_of(t, seen)
                deps[call.args[0].value] |= got


def test_every_field_a_detector_compares_with_is_registered() -> None:
    derived = Detectors(ENGINE_FILES).symptom_fields()
    assert set(derived) == ENGINE_SYMPTOMS
    for name, fields in derived.items():
        registered = set(symptom(name).thresholds)
        assert fields <= registered, (name, sorted(fields - registered))
        extra = registered - fields
        allowed = (SPARSE if name.startswith("train.") and name != "train.nonfinite" else set()) | (
            {"dead_min_batch"} if name in DEAD else set()
        )
        assert extra <= allowed, (name, sorted(extra - allowed))


def test_the_curve_summary_and_context_fields_are_what_their_functions_read() -> None:
    det = Detectors(ENGINE_FILES)
    assert set(CURVE_SUMMARY_THRESHOLDS) == det.function_fields("summarize")
    context = det.function_fields("chance_from_first_loss") | det.function_fields("_memorization")
    assert set(CONTEXT_THRESHOLDS) == context
    assert set(CURVE_SUMMARY_THRESHOLDS) <= set(thresholds_of("train.saw_tooth"))
    assert not set(CURVE_SUMMARY_THRESHOLDS) & set(thresholds_of("config.lr_high"))


def test_the_probes_fields_are_registered() -> None:
    derived = Detectors([PROBES_FILE], helpers=("input_scale",)).symptom_fields()
    for name, fields in derived.items():
        assert fields == set(symptom(name).thresholds), name


def test_every_threshold_is_read_and_documented() -> None:
    fields = set(Thresholds.model_fields)
    used = {*CURVE_SUMMARY_THRESHOLDS, *CONTEXT_THRESHOLDS, "min_confidence"}  # the report's
    for spec in SYMPTOMS.values():
        assert set(spec.thresholds) <= fields, spec.name
        used |= set(spec.thresholds)
    assert fields - used == set()  # a field no symptom reads would be a number nobody uses
    for name, info in Thresholds.model_fields.items():
        assert info.description and len(info.description) > 15, name


def test_the_engine_vocabulary_is_the_registrys() -> None:
    assert facts.Source is registry.Source
    d = lossexpert.diagnose(json.loads((ROOT / "examples/runs/lr_too_high.json").read_text()))
    assert d.symptoms and all(e.symptom in SYMPTOMS for e in d.symptoms)
    assert all(e.source in symptom(e.symptom).sources for e in d.symptoms)
