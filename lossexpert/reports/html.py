"""The HTML diagnosis report: one self-contained file, autoescaped, no scripts, no requests."""

from __future__ import annotations

from typing import Any

from lossexpert.diagnosis import Diagnosis
from lossexpert.reports._env import environment
from lossexpert.reports.plots import charts
from lossexpert.runformat import Run


def labels(lang: str) -> dict[str, str]:
    module: Any = environment().get_template(f"labels_{lang}.j2").module
    return {k: str(v) for k, v in vars(module).items() if not k.startswith("_")}


def render_html(d: Diagnosis, run: Run | None) -> str:
    env = environment()
    return env.get_template("report.html.j2").render(d=d, charts=charts(d, run, labels(d.lang)))
