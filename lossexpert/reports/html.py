"""The HTML diagnosis report: one self-contained file, autoescaped, no scripts, no requests."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from lossexpert.errors import clean_text
from lossexpert.reports._env import environment
from lossexpert.reports.plots import charts
from lossexpert.runformat import Run

if TYPE_CHECKING:  # the model is only read here; importing it would close a cycle
    from lossexpert.diagnosis import Diagnosis


def labels(lang: str) -> dict[str, str]:
    module: Any = environment().get_template(f"labels_{lang}.j2").module
    return {k: str(v) for k, v in vars(module).items() if not k.startswith("_")}


def render_html(d: Diagnosis, run: Run | None) -> str:
    from lossexpert.reports.probes import probe_charts

    env = environment()
    words = labels(d.lang)
    page = env.get_template("report.html.j2").render(
        d=d, charts=charts(d, run, words), probe_charts=probe_charts(d, words)
    )
    return clean_text(page)  # no control character or lone surrogate, whatever built `d`


_SCOPE = "lossexpert-report"


def _scoped_css(css: str) -> str:
    """The report's stylesheet with every selector confined to ``.lossexpert-report``, so that
    embedding it (a notebook cell) restyles nothing around it: ``body``/``:root`` become the
    wrapper itself, every other selector is prefixed with it."""
    out = []
    for block in css.split("}"):
        if "{" not in block:
            continue
        selectors, body = block.split("{", 1)
        scoped = []
        for sel in selectors.split(","):
            sel = sel.strip()
            if sel in ("body", ":root"):
                scoped.append(f".{_SCOPE}")
            elif sel == "*":
                scoped.append(f".{_SCOPE}, .{_SCOPE} *")
            else:
                scoped.append(f".{_SCOPE} {sel}")
        out.append(f"{', '.join(scoped)} {{{body}}}")
    return "\n".join(out)


def render_html_body(d: Diagnosis, run: Run | None) -> str:
    """The report without its ``<html>`` shell, for embedding (Jupyter's ``_repr_html_``): the
    same autoescaped, script-free markup, in a ``<div class="lossexpert-report">`` with the
    stylesheet scoped to that div."""
    page = render_html(d, run)
    css = page.split("<style>", 1)[1].split("</style>", 1)[0]
    main = "<main>" + page.split("<main>", 1)[1].rsplit("</main>", 1)[0] + "</main>\n"
    return f'<div class="{_SCOPE}">\n<style>\n{_scoped_css(css)}\n</style>\n{main}</div>\n'
