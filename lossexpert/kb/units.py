"""The shape of knowledge: problems, causes, and the rules that link symptoms to them.

A ``RuleUnit`` says: when these symptoms are present (and those absent) while this problem
holds, add this certainty factor to this cause. The engine compiles every unit into one
experta rule whose salience is the unit's priority.

A cause is one self-contained unit, a directory ``kb/causes/<id>/`` (or a plugin's plain data):

- ``__init__.py``: ``CAUSE = CauseUnit(...)``, its rules (each with its English description and
  its hand-written should-fire / must-not-fire cases) and its ``rank``;
- ``<lang>.j2`` for every language of ``LANGUAGES``: the macros ``title()``, ``why()`` and
  ``remedies(c)``; every language but English also holds the description of every rule, as
  ``{% set descriptions = {"RULE-ID": "...", ...} %}``.

``check_unit`` checks one unit, built-in or plugin, when the knowledge base loads: anything
missing fails there, in one line naming the unit, not later in some diagnosis.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from jinja2 import Environment, TemplateSyntaxError, nodes

from lossexpert.errors import LossexpertError

ProblemId = Literal[
    "train_loss_not_decreasing", "val_loss_not_decreasing", "test_loss_not_decreasing"
]
PROBLEM_ORDER: tuple[ProblemId, ...] = (
    "train_loss_not_decreasing",
    "val_loss_not_decreasing",
    "test_loss_not_decreasing",
)
LANGUAGES: tuple[str, ...] = ("en", "zh")
SOURCE_LANGUAGE = "en"  # the language of the descriptions written in Python
MACROS = {"title": 0, "why": 0, "remedies": 1}  # the words of every unit in every language:
# each macro and the number of arguments it is called with (remedies(c): the run's context)
DESCRIPTIONS = "descriptions"  # the dict of rule descriptions in a unit's <lang>.j2

# The per-layer findings that already explain a loss that does not move from its start: each
# of the usual suspects' "no progress" rules stays silent when one of these was measured (the
# measured cause speaks for itself), and adds its own.
STALL_EXPLAINED_BY_LAYERS: tuple[str, ...] = (
    "layers.init_zero",
    "layers.dead_relu",
    "layers.vanishing",
    "layers.zero_update",
    "layers.update_low",
    "layers.barely_moved",
)


# Config facts that explain a train loss held far above a fit by the pipeline itself (a head
# that squashes its logits, a loss that does not match the task, a layer narrower than the
# classes): the data is blamed for a high loss only once these are out.
PIPELINE_HOLDS_LOSS_UP: tuple[str, ...] = (
    "config.squashing_output",
    "config.softmax_before_ce",
    "config.loss_task_mismatch",
    "config.relu_output",
    "config.bottleneck",
    "train.softmax_floor",
)

class UnitError(LossexpertError):
    """A cause unit that cannot join the knowledge base: one line naming the unit and what is
    missing."""

    code = "LE203"


@dataclass(frozen=True)
class RuleUnit:
    """One rule: symptoms (+ problem) -> a certainty factor for a cause.

    ``cf`` > 0 supports the cause; ``cf`` < 0 is contrary evidence that lowers it. The factor
    actually added is ``cf`` times the weakest strength among the ``when`` symptoms.
    """

    id: str
    when: tuple[str, ...]
    cf: float
    description: str
    unless: tuple[str, ...] = ()
    priority: int = 500
    # The problem under which the rule may fire, when not the cause's own: a test-set cause
    # such as a preprocessing mismatch can already show in the val split.
    problem: ProblemId | None = None
    # Further problems it may fire under (they exclude each other in the article's order, so
    # at most one holds): "nothing learned transfers" is read the same whether the train loss
    # is still in question or only the val loss is.
    also_under: tuple[ProblemId, ...] = ()
    # Extra hand-written cases, as sets of symptom names, beyond the derived ones.
    also_fires_on: tuple[frozenset[str], ...] = ()
    never_fires_on: tuple[frozenset[str], ...] = ()


@dataclass(frozen=True)
class CauseUnit:
    id: str
    problem: ProblemId
    reference: str  # the seed article section it comes from
    rules: tuple[RuleUnit, ...]
    rank: int  # the article's order; breaks ties between equal confidences


@dataclass(frozen=True)
class ProblemRule:
    """A symptom that establishes a problem; the article's order is enforced by ``after``."""

    id: str
    problem: ProblemId
    when: str
    description: str
    priority: int = 1000
    after: tuple[ProblemId, ...] = field(default=())
    zh: str = ""  # the description in Chinese

    def describe(self, lang: str) -> str:
        return self.zh if lang == "zh" and self.zh else self.description


@dataclass(frozen=True)
class CausalLink:
    """A root cause that produces another cause's symptoms: when both are found and one of
    ``via`` is present (the root acted first, or is there in the config), the consequence is
    explained away: reported under the root ("which led to ..."), and its evidence counts
    ``transfer`` times towards the root. ``blocked_by`` symptoms show the consequence had
    another origin (e.g. units already dead before the first update)."""

    root: str
    consequence: str
    via: tuple[str, ...]
    description: str
    transfer: float = 0.5
    blocked_by: tuple[str, ...] = ()
    zh: str = ""  # the description in Chinese

    def describe(self, lang: str) -> str:
        return self.zh if lang == "zh" and self.zh else self.description


@dataclass(frozen=True, eq=False)
class Unit:
    """A cause unit as loaded and checked: its rules, its words in every language and the
    description of every rule in every language."""

    cause: CauseUnit
    words: Mapping[str, str]  # lang -> Jinja source: title(), why(), remedies(c)
    descriptions: Mapping[str, Mapping[str, str]]  # lang -> rule id -> description
    origin: str = "lossexpert"  # "lossexpert", a unit folder, or a plugin and its distribution
    filenames: Mapping[str, str] = field(default_factory=dict)  # lang -> file of the words


_PARSER = Environment()  # parses only: a unit is checked before any of its words is rendered
# The built-in units' words are read without a Jinja parse on every start (46 parses were 80 ms
# of a cold `explain`): the macro headers and the descriptions dict by pattern. The tests parse
# every built-in file with Jinja and require the same macros and descriptions.
_MACRO_HEADER = re.compile(r"\{%-?\s*macro\s+(\w+)\s*\(([^)]*)\)")
_DESCRIPTIONS_SET = re.compile(
    r"\{%-?\s*set\s+" + DESCRIPTIONS + r"\s*=\s*(\{.*?\})\s*-?%\}", re.S
)


def scan_words(source: str) -> tuple[dict[str, tuple[int, int]], dict[str, str] | None] | None:
    """Without a Jinja parse: each macro's (arguments, defaults) and the descriptions dict;
    None when the source does not read plainly (then the full parse decides)."""
    macros: dict[str, tuple[int, int]] = {}
    for name, args in _MACRO_HEADER.findall(source):
        parts = [a for a in (p.strip() for p in args.split(",")) if a]
        macros[name] = (len(parts), sum("=" in a for a in parts))
    found = _DESCRIPTIONS_SET.findall(source)
    if len(found) > 1:
        return None
    table = None
    if found:
        try:
            value = ast.literal_eval(found[0])
        except (ValueError, SyntaxError):
            return None
        if not isinstance(value, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in value.items()
        ):
            return None
        table = value
    return macros, table


def parse_words(
    source: str, label: str, error: type[LossexpertError]
) -> tuple[dict[str, tuple[int, int]], dict[str, str] | None]:
    """With the Jinja parser: each macro's (arguments, defaults) and the descriptions dict."""
    try:
        tree = _PARSER.parse(source)
    except TemplateSyntaxError as err:
        raise error(f"{label}: line {err.lineno}: {err.message}") from None
    macros = {
        n.name: (len(n.args), len(n.defaults)) for n in tree.body if isinstance(n, nodes.Macro)
    }
    return macros, _descriptions(tree, label, error)


def check_unit(
    cause: CauseUnit,
    words: Mapping[str, object],
    *,
    where: str,
    error: type[LossexpertError] = UnitError,
    files: bool = False,
    known_symptom: Callable[[str], bool] | None = None,
    origin: str = "lossexpert",
    filenames: Mapping[str, str] | None = None,
    trusted: bool = False,
) -> Unit:
    """Check one unit (a directory's, or a plugin's) and return it with its words.

    ``words``: lang -> the Jinja source of that language (None where there is none); ``where``
    names the unit at the start of every message; ``files``: the words are ``<lang>.j2`` files
    (said so in the messages); ``known_symptom``: may a rule use this symptom; ``trusted``:
    the package's own files, read by pattern (``scan_words``) instead of a Jinja parse. Raises
    ``error`` with one line naming the unit and what is missing.
    """
    problems = ", ".join(PROBLEM_ORDER)
    if cause.problem not in PROBLEM_ORDER:
        raise error(f"{where}: problem must be one of {problems}")
    if not cause.rules:
        raise error(f"{where}: no rules")
    seen: set[str] = set()
    for rule in cause.rules:
        if rule.id in seen:
            raise error(f"{where}: rule {rule.id}: defined twice")
        seen.add(rule.id)
        if any(p not in PROBLEM_ORDER for p in rule.also_under):
            raise error(f"{where}: rule {rule.id}: also_under must be among {problems}")
        if rule.problem is not None and rule.problem not in PROBLEM_ORDER:
            raise error(f"{where}: rule {rule.id}: problem must be one of {problems}")
        if not rule.when or not -1.0 <= rule.cf <= 1.0:
            raise error(f"{where}: rule {rule.id}: needs symptoms in 'when' and -1 <= cf <= 1")
        if not rule.description.strip():
            raise error(f"{where}: rule {rule.id}: no {SOURCE_LANGUAGE} description")
        if known_symptom is not None:
            unknown = [s for s in (*rule.when, *rule.unless) if not known_symptom(s)]
            if unknown:
                raise error(f"{where}: rule {rule.id}: unknown symptom {unknown[0]!r}")
    sources: dict[str, str] = {}
    described: dict[str, Mapping[str, str]] = {
        SOURCE_LANGUAGE: {r.id: r.description for r in cause.rules}
    }
    macros = ", ".join(f"{m}(c)" if n else f"{m}()" for m, n in MACROS.items())
    for lang in LANGUAGES:
        label = f"{lang}.j2" if files else f"{lang} words"
        source = words.get(lang)
        if not isinstance(source, str) or not source.strip():
            what = f"{lang}.j2 with the macros {macros}" if files else f"macros {macros}"
            raise error(f"{where}: no {lang} words ({what})")
        scanned = scan_words(source) if trusted else None
        defined, table = scanned or parse_words(source, f"{where}: {label}", error)
        for name, arity in MACROS.items():
            if name not in defined:
                raise error(f"{where}: {label}: no macro {name}()")
            n_args, n_defaults = defined[name]
            if not n_args - n_defaults <= arity <= n_args:
                raise error(f"{where}: {label}: macro {name}() must take {arity} argument(s)")
        if lang == SOURCE_LANGUAGE:
            if table is not None:
                raise error(
                    f"{where}: {label}: defines {DESCRIPTIONS}; the {lang} description of a "
                    "rule is the rule's own"
                )
        else:
            table = table or {}
            for rule in cause.rules:
                text = table.get(rule.id)
                if text is None or not text.strip():
                    raise error(
                        f"{where}: rule {rule.id}: no {lang} description "
                        f"({label}: {{% set {DESCRIPTIONS} = {{\"{rule.id}\": \"...\"}} %}})"
                    )
            stray = sorted(set(table) - seen)
            if stray:
                raise error(f"{where}: {label}: {DESCRIPTIONS} names an unknown rule {stray[0]}")
            described[lang] = {r.id: table[r.id].strip() for r in cause.rules}
        sources[lang] = source
    return Unit(cause, sources, described, origin, dict(filenames or {}))


def _descriptions(
    tree: nodes.Template, where: str, error: type[LossexpertError]
) -> dict[str, str] | None:
    """The ``{% set descriptions = {...} %}`` of a parsed template, None where there is none."""
    for node in tree.body:
        if not (isinstance(node, nodes.Assign | nodes.AssignBlock)):
            continue
        if not (isinstance(node.target, nodes.Name) and node.target.name == DESCRIPTIONS):
            continue
        value = None
        if isinstance(node, nodes.Assign) and isinstance(node.node, nodes.Expr):
            try:
                value = node.node.as_const()
            except nodes.Impossible:
                value = None
        if not isinstance(value, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in value.items()
        ):
            raise error(f"{where}: {DESCRIPTIONS} must be a dict of rule ids to strings")
        return value
    return None


def __getattr__(name: str) -> Any:
    """``CAUSE_IDS`` lived here as a hand-written list; it is now derived from the units."""
    if name == "CAUSE_IDS":
        from lossexpert.kb import CAUSE_IDS

        return CAUSE_IDS
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
