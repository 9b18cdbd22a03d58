"""End to end: the CLI on every bundled example names the injected cause first."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from lossexpert.kb import CAUSE_IDS
from tests.conftest import EXAMPLES, run_cli

PROBLEM_OF = {
    "overfitting": "val_loss_not_decreasing",
    "distribution_shift": "test_loss_not_decreasing",
    "test_noise": "test_loss_not_decreasing",
}


def injected(path: Path) -> str:
    cause: str = json.loads(path.read_text())["run"]["tags"]["injected_cause"]
    return cause


def test_examples_cover_every_problem_and_eight_causes() -> None:
    causes = {injected(p) for p in EXAMPLES}
    assert "none" in causes
    assert len(causes - {"none"}) >= 8
    assert causes - {"none"} <= set(CAUSE_IDS)
    problems = {PROBLEM_OF.get(c, "train_loss_not_decreasing") for c in causes - {"none"}}
    assert len(problems) == 3


@pytest.mark.parametrize("path", EXAMPLES, ids=[p.stem for p in EXAMPLES])
def test_explain_json_names_the_injected_cause_first(path: Path) -> None:
    out = run_cli("explain", str(path), "--format", "json")
    assert out.returncode == 0, out.stderr
    d = json.loads(out.stdout)
    truth = injected(path)
    assert d["run"]["name"] == path.stem
    assert d["lossexpert_version"]
    if truth == "none":
        assert d["healthy"] is True
        assert d["findings"] == [] and d["problems"] == []
        return
    assert d["findings"], "no findings on a faulty run"
    top = d["findings"][0]
    # The first finding names the cause, or is the root whose chain leads to it (a deep
    # sigmoid stack -> vanishing gradients): the report's first item says both.
    assert top["cause"] == truth or truth in top["explains"]
    assert top["problem"] == PROBLEM_OF.get(truth, "train_loss_not_decreasing")
    assert [p["id"] for p in d["problems"]] == [top["problem"]]
    # Root causes are ranked by confidence; each consequence follows the root that explains it.
    roots = [f for f in d["findings"] if f["explained_by"] is None]
    confidences = [f["confidence"] for f in roots]
    assert confidences == sorted(confidences, reverse=True)
    order = [f["cause"] for f in d["findings"]]
    for f in d["findings"]:
        if f["explained_by"] is not None:
            assert order.index(f["explained_by"]) < order.index(f["cause"])
            root = d["findings"][order.index(f["explained_by"])]
            assert f["cause"] in root["explains"]
    for f in d["findings"]:
        assert 0 < f["confidence"] <= 1
        assert f["title"] and f["reference"] and f["explanation"]
        assert f["evidence"] and all(
            e["text"] and e["values"] for e in f["evidence"] if e["symptom"] != "config.no_shuffle"
        )
        assert f["remedies"] and all(isinstance(r, str) and r for r in f["remedies"])
        assert f["rules"] and all(r["rule"] and r["facts"] for r in f["rules"])


def test_remedies_are_made_concrete_for_the_run() -> None:
    out = run_cli("explain", str(EXAMPLES[0].parent / "lr_too_high.json"), "--format", "json")
    top = json.loads(out.stdout)["findings"][0]
    assert any("2 → try 0.2, then 0.02" in r for r in top["remedies"])


@pytest.mark.parametrize("fmt", ["text", "markdown"])
def test_other_formats_render_every_example(fmt: str, tmp_path: Path) -> None:
    for path in EXAMPLES:
        target = tmp_path / f"{path.stem}.{fmt}"
        out = run_cli("explain", str(path), "--format", fmt, "--output", str(target))
        assert out.returncode == 0, out.stderr
        text = target.read_text()
        assert path.stem.replace("_", "\\_" if fmt == "markdown" else "_") in text
        if injected(path) != "none":
            assert "What to do" in text
