"""Terminal report: rich markup from a Jinja template, user data escaped."""

from __future__ import annotations

import io

from rich.console import Console
from rich.markup import escape

from lossexpert.diagnosis import Diagnosis
from lossexpert.reports._env import environment


def render_markup(d: Diagnosis) -> str:
    env = environment().overlay()
    env.filters["e"] = lambda s: escape(str(s))
    return env.get_template("text.j2").render(d=d)


def render_text(d: Diagnosis, *, width: int = 100, color: bool = False) -> str:
    buffer = io.StringIO()
    console = Console(
        file=buffer,
        width=width,
        color_system="standard" if color else None,
        force_terminal=color,
        highlight=False,
        emoji=False,
    )
    console.print(render_markup(d), end="", soft_wrap=False)
    return buffer.getvalue()


def print_text(d: Diagnosis, console: Console) -> None:
    console.print(render_markup(d), end="", highlight=False, emoji=False)
