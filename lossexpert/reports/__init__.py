"""Renderers: a ``Diagnosis`` in, text out. Nothing here computes a diagnosis.

``render`` is the one door: the ``Diagnosis`` methods call it, and the renderers read the
model without importing it at run time, so the two never import each other.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from lossexpert.diagnosis import Diagnosis
    from lossexpert.runformat import Run

Format = Literal["text", "json", "markdown", "html", "html-body"]


def render(
    diagnosis: Diagnosis,
    fmt: Format,
    *,
    run: Run | None = None,
    width: int = 100,
    color: bool = False,
) -> str:
    """The diagnosis as text (terminal), json, markdown, html (a whole page) or html-body
    (the page's body for a notebook). The renderers are imported on first use."""
    if fmt == "json":
        return diagnosis.model_dump_json(indent=2)
    if fmt == "markdown":
        from lossexpert.reports.markdown import render_markdown

        return render_markdown(diagnosis)
    if fmt == "html":
        from lossexpert.reports.html import render_html

        return render_html(diagnosis, run)
    if fmt == "html-body":
        from lossexpert.reports.html import render_html_body

        return render_html_body(diagnosis, run)
    from lossexpert.reports.text import render_text

    return render_text(diagnosis, width=width, color=color)
