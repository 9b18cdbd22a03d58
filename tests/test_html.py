"""The HTML report: self-contained, honest about what it saw, and safe with hostile data."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

import lossexpert
from tests.conftest import example, example_dict, run_cli

RESOURCE_REF = re.compile(
    r"""(?:src|href|action|xlink:href)\s*=\s*["']?\s*(?:https?:)?//|url\(|@import""", re.I
)
PAYLOADS = [
    "<script>window.__pwned=1</script>",
    '"><img src=x onerror="window.__pwned=1">',
    "</style><style>body{display:none}</style>",
    "</svg><svg onload=window.__pwned=1>",
    "javascript:window.__pwned=1",
]


def hostile_run() -> dict[str, object]:
    run = example_dict("vanishing_sigmoid_deep")
    run["run"]["name"] = PAYLOADS[0]  # type: ignore[index]
    run["run"]["tags"] = {p: p for p in PAYLOADS}  # type: ignore[index]
    run["config"]["init"] = PAYLOADS[1]  # type: ignore[index]
    run["config"]["optimizer"]["name"] = PAYLOADS[2]  # type: ignore[index]
    for i, layer in enumerate(run["layers"]):  # type: ignore[arg-type]
        layer["name"] = PAYLOADS[i % len(PAYLOADS)]
    return run


def test_html_command_writes_a_self_contained_file(tmp_path: Path) -> None:
    target = tmp_path / "report.html"
    out = run_cli(
        "explain",
        str(example("overfitting_small_data")),
        "--format",
        "html",
        "--output",
        str(target),
    )
    assert out.returncode == 0, out.stderr
    html = target.read_text(encoding="utf-8")
    assert html.startswith("<!DOCTYPE html>")
    assert html.count("<svg") >= 3
    assert "http://" not in html and "https://" not in html
    assert not RESOURCE_REF.search(html)
    assert "<script" not in html.lower()
    assert 'id="verdict"' in html and "Over-fitting" in html
    assert 'id="plot-loss"' in html and 'id="plot-grad"' in html


def test_only_the_plots_the_run_has_data_for(tmp_path: Path) -> None:
    run = example_dict("lr_too_low")
    del run["layers"]
    html = lossexpert.diagnose(run).to_html()
    assert 'id="plot-loss"' in html
    assert 'id="plot-grad"' not in html and 'id="plot-dead"' not in html
    assert "no per-layer statistics" in html  # says what it could not see


def test_events_are_marked_on_the_loss_plot() -> None:
    diverging = lossexpert.diagnose(example("lr_too_high")).to_html()
    assert "NaN/Inf @ 14" in diverging
    assert "ln C = 2.3" in diverging
    overfit = lossexpert.diagnose(example("overfitting_small_data")).to_html()
    assert re.search(r"val min 0\.\d+", overfit)


def test_hostile_strings_render_as_text() -> None:
    d = lossexpert.diagnose(hostile_run())
    html = d.to_html()
    assert "<script" not in html.lower()
    assert "<img" not in html.lower()
    assert not re.search(r"<[a-z][^<>]*\son\w+\s*=", html, re.I)  # no event-handler attribute
    assert html.count("</style>") == 1
    assert html.count("</svg>") == html.count("<svg")
    assert "&lt;script&gt;" in html
    # The Markdown and JSON renderings are inert too.
    assert "<script" not in d.to_markdown()
    assert json.loads(d.to_json())["run"]["name"] == PAYLOADS[0]


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_every_example_renders(lang: str) -> None:
    from tests.conftest import EXAMPLES

    for path in EXAMPLES:
        html = lossexpert.diagnose(path, lang=lang).to_html()
        assert "<svg" in html and "</html>" in html


def test_plots_mark_the_layers_the_diagnosis_flagged_and_no_others() -> None:
    from lossexpert.reports.plots import charts

    run = Path(__file__).parent / "fixtures" / "runs" / "lr_high_adam_dead_units.json"
    d = lossexpert.diagnose(run)
    named = {str(s.values["layer"]) for s in d.symptoms if s.symptom == "layers.dead_relu"}
    class Words(dict[str, str]):
        def __missing__(self, key: str) -> str:
            return key

    dead = next(c for c in charts(d, d._run, Words()) if c.id == "plot-dead")
    red = {b.label for b in dead.bars if b.color == "#d62728"}
    assert red == named and named
