"""Bad input of every kind: exit 2 and one line naming the file and the field, never a traceback."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import example_dict, run_cli


def write(tmp_path: Path, content: str | bytes, name: str = "run.json") -> Path:
    path = tmp_path / name
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content)
    return path


def assert_clean_failure(out: Any, *needles: str) -> None:
    assert out.returncode == 2, (out.returncode, out.stdout, out.stderr)
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1, out.stderr
    assert "Traceback" not in out.stderr
    for needle in needles:
        assert needle in lines[0], (needle, lines[0])


CASES: dict[str, tuple[str | bytes, tuple[str, ...]]] = {
    "garbage": ("this is not json at all", ("not valid JSON",)),
    "empty file": ("", ("empty",)),
    "empty object": ("{}", ("curves", "Field required")),
    "top-level array": ("[1, 2, 3]", ("expected a JSON object",)),
    "not utf-8": (b"\xff\xfe\x00garbage", ("not UTF-8",)),
    "no curves": ('{"curves": {}}', ("curves", "no loss curve")),
    "empty curve": ('{"curves": {"train": {"loss": []}}}', ("curves.train", "empty")),
    "one point only": ('{"curves": {"train": {"loss": [2.3]}}}', ("curves", "single point")),
    "unknown split": ('{"curves": {"holdout": {"loss": [1, 2]}}}', ("curves.holdout",)),
    "wrong type deep": ('{"curves": {"train": {"loss": [1, 2, "x"]}}}', ("curves.train.loss.2",)),
    "misaligned steps": (
        '{"curves": {"train": {"loss": [1, 2], "step": [0]}}}',
        ("curves.train", "step"),
    ),
    "nan in config": (
        '{"config": {"learning_rate": NaN}, "curves": {"train": {"loss": [1, 2]}}}',
        ("config.learning_rate", "finite"),
    ),
    "negative lr": (
        '{"config": {"learning_rate": -1}, "curves": {"train": {"loss": [1, 2]}}}',
        ("config.learning_rate",),
    ),
    "layer series misaligned": (
        '{"curves": {"train": {"loss": [1, 2]}}, "layers": [{"name": "fc", "step": [0, 1],'
        ' "grad_norm": [1]}]}',
        ("layers.0", "grad_norm"),
    ),
    "deeply nested": ("[" * 100_000 + "]" * 100_000, ("JSON",)),
}


@pytest.mark.parametrize("case", list(CASES), ids=list(CASES))
def test_bad_file_exits_2_with_one_line(case: str, tmp_path: Path) -> None:
    content, needles = CASES[case]
    path = write(tmp_path, content)
    for command in ("explain", "validate"):
        out = run_cli(command, str(path))
        assert_clean_failure(out, str(path), *needles)


def test_truncated_file(tmp_path: Path) -> None:
    text = json.dumps(example_dict("lr_too_high"))
    path = write(tmp_path, text[: len(text) // 2])
    assert_clean_failure(run_cli("explain", str(path)), str(path), "not valid JSON")


def test_missing_file_and_directory(tmp_path: Path) -> None:
    assert_clean_failure(run_cli("explain", str(tmp_path / "nope.json")), "no such file")
    assert_clean_failure(run_cli("explain", str(tmp_path)), "directory")


def test_huge_file_is_refused_before_reading(tmp_path: Path) -> None:
    path = write(tmp_path, json.dumps(example_dict("healthy_wine_sgd")))
    out = run_cli("explain", str(path), env={"LOSSEXPERT_MAX_BYTES": "1000"})
    assert_clean_failure(out, str(path), "above the 1000-byte limit")


def test_unwritable_output(tmp_path: Path) -> None:
    path = write(tmp_path, json.dumps(example_dict("healthy_wine_sgd")))
    out = run_cli("explain", str(path), "--output", str(tmp_path / "no" / "such" / "dir.txt"))
    assert_clean_failure(out, "cannot write")


def test_hostile_strings_stay_on_one_line_and_inert(tmp_path: Path) -> None:
    hostile = "evil\n\x1b[31mRED\x1b[0m\r[bold]<script>alert(1)</script>"
    run = example_dict("zero_init")
    run["run"]["name"] = hostile
    run["layers"][0]["name"] = hostile
    run["config"]["init"] = hostile
    path = write(tmp_path, json.dumps(run))
    out = run_cli("explain", str(path))
    assert out.returncode == 0, out.stderr
    assert "\x1b" not in out.stdout
    assert "[bold]<script>" in out.stdout  # printed as text, not interpreted as markup
    md = run_cli("explain", str(path), "--format", "markdown")
    assert "<script>" not in md.stdout
    # a hostile key in an error message cannot break the one-line contract
    bad = {"curves": {hostile: {"loss": [1, 2]}}}
    bad_path = write(tmp_path, json.dumps(bad), "bad.json")
    failure = run_cli("explain", str(bad_path))
    assert_clean_failure(failure)
    assert "\x1b" not in failure.stderr


def test_nan_and_inf_in_curves_are_evidence_not_errors(tmp_path: Path) -> None:
    run = {"curves": {"train": {"loss": [2.3, 2.0, 1.8, float("inf"), float("nan")]}}}
    path = write(tmp_path, json.dumps(run))  # Python writes NaN/Infinity literals
    out = run_cli("explain", str(path), "--format", "json")
    assert out.returncode == 0, out.stderr
    d = json.loads(out.stdout)
    assert d["problems"][0]["id"] == "train_loss_not_decreasing"
    assert d["problems"][0]["evidence"][0]["symptom"] == "train.nonfinite"
    assert d["findings"][0]["cause"] == "learning_rate_too_high"


def test_missing_splits_are_reported_not_fatal(tmp_path: Path) -> None:
    run = example_dict("overfitting_small_data")
    del run["curves"]["test"], run["layers"], run["data"]
    path = write(tmp_path, json.dumps(run))
    d = json.loads(run_cli("explain", str(path), "--format", "json").stdout)
    assert {m["key"] for m in d["missing"]} >= {"curves.test", "layers", "data"}
    assert d["findings"][0]["cause"] == "overfitting"


def test_unknown_fields_warn_once_and_do_not_change_the_diagnosis(tmp_path: Path) -> None:
    run = example_dict("softmax_then_cross_entropy")
    run["mystery"] = {"a": 1}
    run["config"]["flux_capacitor"] = True
    path = write(tmp_path, json.dumps(run))
    out = run_cli("explain", str(path), "--format", "json")
    assert out.returncode == 0
    warnings = [line for line in out.stderr.splitlines() if "warning" in line]
    assert len(warnings) == 1
    assert "mystery" in warnings[0] and "config.flux_capacitor" in warnings[0]
    assert json.loads(out.stdout)["findings"][0]["cause"] == "loss_function"


def test_explain_many_reports_failures_on_their_own_line(tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    runs.mkdir()
    for name in ("lr_too_high", "healthy_wine_sgd", "zero_init", "overfitting_small_data"):
        (runs / f"{name}.json").write_text(json.dumps(example_dict(name)))
    (runs / "broken.json").write_text("{not json")
    out = run_cli("explain", str(runs), "--many", "--jobs", "2")
    assert out.returncode == 2
    lines = [json.loads(line) for line in out.stdout.splitlines()]
    assert [Path(r["path"]).name for r in lines] == sorted(p.name for p in runs.iterdir())
    by_name = {Path(r["path"]).stem: r for r in lines}
    assert by_name["broken"]["ok"] is False and by_name["broken"]["code"] == "LE102"
    assert by_name["lr_too_high"]["diagnosis"]["findings"][0]["cause"] == "learning_rate_too_high"
    assert by_name["healthy_wine_sgd"]["diagnosis"]["healthy"] is True
    assert "1 of 5 runs could not be diagnosed" in out.stderr
    glob_out = run_cli("explain", str(runs / "*.json"), "--many", "--jobs", "1")
    assert len(glob_out.stdout.splitlines()) == 5
