"""Terminal report: rich markup from a Jinja template, user data escaped.

The template writes one logical line per item; here each line becomes a rich renderable with
a hanging indent, so wrapped lines stay aligned under their bullet.
"""

from __future__ import annotations

import io
import re
from typing import TYPE_CHECKING

from rich.console import Console, Group, RenderableType
from rich.markup import escape
from rich.padding import Padding
from rich.table import Table
from rich.text import Text

from lossexpert.errors import clean_text, printable
from lossexpert.reports._env import environment

if TYPE_CHECKING:  # the model is only read here; importing it would close a cycle
    from lossexpert.diagnosis import Diagnosis

_BULLET = re.compile(r"^(\s*)(•|-|\d+\.)\s+(.*)$")


def render_markup(d: Diagnosis) -> str:
    env = environment().overlay()
    # User data: no terminal escapes or line breaks, no rich markup.
    env.filters["e"] = lambda s: escape(printable(str(s), limit=10_000))
    return env.get_template("text.j2").render(d=d)


def _line(line: str) -> RenderableType:
    match = _BULLET.match(line)
    if match:
        indent, bullet, body = match.groups()
        grid = Table.grid(padding=(0, 1))
        grid.add_column(no_wrap=True)
        grid.add_column()
        grid.add_row(bullet, Text.from_markup(body))
        return Padding(grid, (0, 0, 0, len(indent)))
    stripped = line.lstrip(" ")
    return Padding(Text.from_markup(stripped), (0, 0, 0, len(line) - len(stripped)))


def renderable(d: Diagnosis) -> RenderableType:
    return Group(*(_line(line) for line in render_markup(d).splitlines()))


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
    console.print(renderable(d))
    text = "\n".join(line.rstrip() for line in buffer.getvalue().splitlines()) + "\n"
    return text if color else clean_text(text)  # colour codes are ours; nothing else is


def print_text(d: Diagnosis, console: Console) -> None:
    console.print(renderable(d), highlight=False, emoji=False)
