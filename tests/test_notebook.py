"""A diagnosis renders itself in Jupyter: ``_repr_html_`` (the report's body, scoped, escaped,
script-free) and ``_repr_markdown_``, checked in a notebook executed by a real kernel."""

from __future__ import annotations

import html
import importlib.util
import json
import re
from pathlib import Path
from typing import Any

import pytest

import lossexpert
from tests.conftest import example, example_dict

NOTEBOOK_DEPS = all(importlib.util.find_spec(m) for m in ("nbformat", "nbclient", "ipykernel"))
PAYLOAD = '<script>alert(1)</script>"><img src=x onerror=alert(2)></style>'


def test_repr_html_is_the_report_body_without_shell() -> None:
    d = lossexpert.diagnose(example("softmax_then_cross_entropy"))
    body = d._repr_html_()
    full = d.to_html()
    assert not re.search(r"<(html|head|body|!doctype)[\s>]", body, re.IGNORECASE)
    assert re.search(r"<html[\s>]", full)
    assert body.startswith('<div class="lossexpert-report">') and body.rstrip().endswith("</div>")
    assert 'id="verdict"' in body and html.escape(d.findings[0].title) in body
    assert "<svg" in body  # the plots come along
    # Every style rule is confined to the wrapper: nothing restyles the page around it.
    css = body.split("<style>", 1)[1].split("</style>", 1)[0]
    selectors = [s.strip() for block in css.split("}") if "{" in block
                 for s in block.split("{", 1)[0].split(",")]
    assert selectors and all(s.startswith(".lossexpert-report") for s in selectors)
    assert d._repr_markdown_() == d.to_markdown()


def test_repr_html_escapes_user_strings() -> None:
    data: dict[str, Any] = example_dict("softmax_then_cross_entropy")
    data["run"]["name"] = PAYLOAD
    data["run"]["tags"] = {PAYLOAD: PAYLOAD}
    body = lossexpert.diagnose(data)._repr_html_()
    assert "<script" not in body.lower() and "<img" not in body.lower()
    assert body.count("</style>") == 1  # only the stylesheet's own end tag
    assert html.escape(PAYLOAD, quote=False) in body or "&lt;script&gt;" in body
    assert not re.search(r"\son\w+\s*=", body.replace("onerror=alert(2)&gt;", ""))


@pytest.mark.skipif(not NOTEBOOK_DEPS, reason="nbformat, nbclient and ipykernel are needed")
def test_notebook_renders_the_diagnosis(tmp_path: Path) -> None:
    import nbformat
    from nbclient import NotebookClient

    run = example("softmax_then_cross_entropy")
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_code_cell("import lossexpert\n"
                                  f"d = lossexpert.diagnose({json.dumps(str(run))})"),
        nbformat.v4.new_code_cell("d"),
    ]
    NotebookClient(nb, timeout=120, kernel_name="python3", resources={
        "metadata": {"path": str(tmp_path)}
    }).execute()
    outputs = nb.cells[1].outputs
    assert len(outputs) == 1 and outputs[0].output_type == "execute_result"
    data = outputs[0].data
    expected = lossexpert.diagnose(run)
    verdict = data["text/html"].split('id="verdict"', 1)[1].split("<section", 1)[0]
    assert html.escape(expected.problems[0].title) in data["text/html"]
    assert html.escape(expected.findings[0].title) in verdict
    assert "<html" not in data["text/html"] and "<script" not in data["text/html"].lower()
    assert expected.findings[0].title.split()[0] in data["text/markdown"]
    nbformat.write(nb, tmp_path / "executed.ipynb")  # a valid notebook after execution
    nbformat.validate(nbformat.read(tmp_path / "executed.ipynb", as_version=4))
