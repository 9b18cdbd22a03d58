"""The words of the knowledge base in one language: the problems, symptoms and causal links of
``templates/<lang>/``, and each cause's words from its unit (``kb/causes/<id>/<lang>.j2``, or a
plugin's), checked when the knowledge base loads.

Templates produce plain text; renderers escape it for their medium (the HTML report
autoescapes, the terminal report escapes rich markup).
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable, Iterable, Mapping
from functools import cache
from typing import Any

from jinja2 import ChoiceLoader, Environment, FunctionLoader, PackageLoader, StrictUndefined

from lossexpert._cache import template_cache
from lossexpert.kb.units import LANGUAGES, CausalLink

__all__ = ["LANGUAGES", "Texts", "format_number", "texts"]


def format_number(x: Any) -> str:
    """Three significant figures, no float noise: 0.05, 1e-05, 2.3e+35, 12.5, 3011."""
    if isinstance(x, bool) or not isinstance(x, int | float):
        return str(x)
    if isinstance(x, float) and not math.isfinite(x):
        return str(x)
    if x == 0:
        return "0"
    ax = abs(x)
    if ax >= 1e5 or ax < 1e-3:
        mantissa, exponent = f"{x:.2e}".split("e")
        mantissa = mantissa.rstrip("0").rstrip(".")
        return f"{mantissa}e{int(exponent)}"
    if isinstance(x, int) or float(x).is_integer():
        return str(int(x))
    return f"{x:.3g}"


class Texts:
    """Renders titles, explanations, evidence sentences and remedies in one language."""

    def __init__(self, lang: str) -> None:
        if lang not in LANGUAGES:
            raise ValueError(f"unknown language {lang!r}; available: {', '.join(LANGUAGES)}")
        self.lang = lang
        self.env = Environment(
            loader=ChoiceLoader(
                [
                    PackageLoader("lossexpert.kb", f"templates/{lang}"),
                    FunctionLoader(lambda name: _unit_words(lang, name)),  # causes/<id>.j2
                ]
            ),
            bytecode_cache=template_cache(),
            undefined=StrictUndefined,
            autoescape=False,  # plain text; every renderer escapes for its own medium
            keep_trailing_newline=False,
        )
        self.env.filters["num"] = format_number
        self._lock = threading.Lock()
        self._modules: dict[str, Any] = {}

    def _module(self, name: str) -> Any:
        with self._lock:
            if name not in self._modules:
                self._modules[name] = self.env.get_template(name).module
            return self._modules[name]

    def cause_title(self, cause: str) -> str:
        return str(self._module(f"causes/{cause}.j2").title()).strip()

    def cause_why(self, cause: str) -> str:
        return str(self._module(f"causes/{cause}.j2").why()).strip()

    def cause_remedies(self, cause: str, context: Mapping[str, Any]) -> list[str]:
        text = str(self._module(f"causes/{cause}.j2").remedies(_Attr(context)))
        return [
            line.strip()[2:].strip() for line in text.splitlines() if line.strip().startswith("- ")
        ]

    def symptom(self, name: str, values: Mapping[str, Any]) -> str:
        macro = getattr(self._module("symptoms.j2"), name.replace(".", "_"))
        return " ".join(str(macro(_Attr(values))).split())

    def has_symptom(self, name: str) -> bool:
        return hasattr(self._module("symptoms.j2"), name.replace(".", "_"))

    def problem_title(self, problem: str) -> str:
        return str(self._module("problems.j2").title(problem)).strip()

    def problem_summary(self, problem: str) -> str:
        return str(self._module("problems.j2").summary(problem)).strip()

    def healthy(self, splits: Iterable[str] = ("train", "val", "test")) -> str:
        """The healthy verdict, speaking only of the splits the run has."""
        have = set(splits)
        return str(
            self._module("problems.j2").healthy("val" in have, "test" in have)
        ).strip()

    def link_why(self, link: CausalLink) -> str:
        """How a root cause produced a consequence ("which led to ...")."""
        return str(self._module("chains.j2").link(link.root, link.consequence)).strip()

    def cannot_judge(self) -> str:
        return str(self._module("problems.j2").cannot_judge()).strip()

    def missing(self, key: str) -> str:
        return str(self._module("problems.j2").missing(key)).strip()


class _Attr(dict[str, Any]):
    """A mapping that templates can read as attributes (v.step); absent keys are None."""

    def __init__(self, data: Mapping[str, Any]) -> None:
        super().__init__({k: _Attr(v) if isinstance(v, Mapping) else v for k, v in data.items()})

    def __getattr__(self, key: str) -> Any:
        return self.get(key)


def _unit_words(lang: str, name: str) -> tuple[str, str | None, Callable[[], bool]] | None:
    """``causes/<id>.j2``: the words of the unit of that cause, in the language."""
    from lossexpert.kb import knowledge_base

    if not (name.startswith("causes/") and name.endswith(".j2")):
        return None
    unit = knowledge_base().units.get(name[len("causes/") : -len(".j2")])
    if unit is None or lang not in unit.words:
        return None
    return unit.words[lang], unit.filenames.get(lang), lambda: True


@cache
def texts(lang: str = "en") -> Texts:
    return Texts(lang)
