"""The Jinja environment shared by the renderers, with their filters."""

from __future__ import annotations

from functools import cache

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from lossexpert._cache import template_cache
from lossexpert.kb.texts import format_number


@cache
def environment() -> Environment:
    env = Environment(
        loader=PackageLoader("lossexpert.reports", "templates"),
        bytecode_cache=template_cache(),
        undefined=StrictUndefined,
        # Every HTML/SVG template is autoescaped (matched on "<name>.html.j2" / ".svg.j2").
        autoescape=select_autoescape(["html.j2", "svg.j2"], default_for_string=True),
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["num"] = format_number
    env.filters["pct"] = lambda x: f"{100 * float(x):.0f}%"
    return env
