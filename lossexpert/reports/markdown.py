"""Markdown report (GitHub-flavoured), user data escaped so it cannot inject markup."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from lossexpert.errors import clean_text
from lossexpert.reports._env import environment

if TYPE_CHECKING:  # the model is only read here; importing it would close a cycle
    from lossexpert.diagnosis import Diagnosis

_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+!|~])")


def escape_markdown(text: object) -> str:
    """One line of inert text: HTML entities for & < >, backslashes for Markdown syntax."""
    line = " ".join(str(text).split())
    line = line.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return _MD_SPECIAL.sub(r"\\\1", line)


def render_markdown(d: Diagnosis) -> str:
    env = environment().overlay()
    env.filters["md"] = escape_markdown
    # The last line of defence: no control character or lone surrogate leaves, whatever
    # built the Diagnosis (the run format already cleans every string it reads).
    return clean_text(env.get_template("markdown.j2").render(d=d))
