"""Bad input of every kind: exit 2 and one line naming the file and the field, never a traceback."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest

import lossexpert
from tests.conftest import example, example_dict, run_cli


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


# --- Issue 10: every class of input that crashed, hung or passed as healthy -------------------

HUGE = 10**400  # parses as a Python int; no float64 holds it


def _mutated(base: str, path: tuple[Any, ...], value: Any) -> dict[str, Any]:
    run = example_dict(base)
    node: Any = run
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    return run


def _train(loss: list[Any], **extra: Any) -> dict[str, Any]:
    return {"curves": {"train": {"loss": loss, **extra}}}


REFUSED: dict[str, tuple[dict[str, Any], str]] = {
    "hidden size 0": (
        _mutated("healthy_wine_sgd", ("config", "model", "hidden_sizes"), [0]),
        "config.model.hidden_sizes.0",
    ),
    "400-digit num_classes": (
        _mutated("healthy_wine_sgd", ("config", "num_classes"), HUGE),
        "config.num_classes",
    ),
    "400-digit batch_size": (
        _mutated("healthy_wine_sgd", ("config", "batch_size"), HUGE),
        "config.batch_size",
    ),
    "400-digit fan_in": (_mutated("healthy_wine_sgd", ("layers", 0, "fan_in"), HUGE), "fan_in"),
    "400-digit step": (_train([3.0, 2.0, 1.0], step=[0, 1, HUGE]), "curves.train.step.2"),
    "boolean losses": (_train([True, False, True, False]), "curves.train.loss.0"),
    "boolean num_classes": (
        _mutated("healthy_wine_sgd", ("config", "num_classes"), True),
        "config.num_classes",
    ),
    "boolean step": (_train([3.0, 2.0, 1.0], step=[0, True, 2]), "curves.train.step"),
    "boolean learning rate": (
        _mutated("healthy_wine_sgd", ("config", "learning_rate"), True),
        "config.learning_rate",
    ),
    "boolean grad norm": (
        _mutated("healthy_wine_sgd", ("layers", 0, "grad_norm", 1), False),
        "layers.0.grad_norm.1",
    ),
    "all nulls": (_train([None] * 6), "no curve has two recorded points"),
    "one point then nulls": (_train([2.3] + [None] * 6), "no curve has two recorded points"),
    "all steps equal": (_train([2.3, 2.0, 1.5, 1.0], step=[5, 5, 5, 5]), "two different steps"),
    "negative steps": (_train([2.3, 2.0, 1.5, 1.0], step=[-4, -3, -2, -1]), "curves.train.step.0"),
    "decreasing steps": (_train([2.3, 2.0, 1.5, 1.0], step=[0, 10, 3, 11]), "step.2"),
    "layer steps repeated": (
        _mutated("healthy_wine_sgd", ("layers", 0, "step", 1), 0),
        "must increase",
    ),
}


@pytest.mark.parametrize("case", list(REFUSED), ids=list(REFUSED))
def test_input_the_format_refuses_is_a_clean_error(case: str) -> None:
    run, needle = REFUSED[case]
    with pytest.raises(lossexpert.RunInputError) as caught:
        lossexpert.diagnose(run)
    assert needle in str(caught.value), str(caught.value)
    assert caught.value.code == "LE103" and "\n" not in str(caught.value)


def test_a_5000_digit_integer_is_a_parse_error_not_a_crash(tmp_path: Path) -> None:
    path = write(tmp_path, '{"curves": {"train": {"loss": [1, 2]}}, "x": ' + "9" * 5000 + "}")
    assert_clean_failure(run_cli("explain", str(path)), str(path), "LE102")


def test_special_files_are_refused_at_once(tmp_path: Path) -> None:
    import os
    import subprocess
    import sys

    fifo = tmp_path / "run.json"
    os.mkfifo(fifo)
    for target in [str(fifo), *(p for p in ("/dev/zero",) if Path(p).exists())]:
        out = subprocess.run(
            [sys.executable, "-m", "lossexpert.cli", "explain", target],
            capture_output=True,
            text=True,
            timeout=60,  # a FIFO used to block forever, /dev/zero to read until memory ran out
        )
        assert_clean_failure(out, target, "only regular files are read", "LE101")


def test_the_size_limit_is_a_bounded_read_not_st_size() -> None:
    from lossexpert.collectors.runfile import read_file_bytes

    proc = Path("/proc/self/maps")  # a regular file whose st_size is 0
    if not proc.exists() or proc.stat().st_size != 0:
        pytest.skip("no /proc file with a lying st_size here")
    with pytest.raises(lossexpert.RunInputError) as caught:
        read_file_bytes(proc, limit=64)
    assert caught.value.code == "LE104"


def _all_outputs(d: lossexpert.Diagnosis) -> dict[str, str]:
    return {fmt: d.render(fmt) for fmt in ("text", "json", "markdown", "html")}


EXTREME: dict[str, dict[str, Any]] = {
    "learning rate 0 with SGD": _mutated("lr_too_low", ("config", "learning_rate"), 0),
    "alternating 1e-300 / 1e300": _train([1e-300 if i % 2 else 1e300 for i in range(60)]),
    "loss of 1e308": _train([1e308] * 3),
    "subnormal loss": _train([5e-324] * 3),
    "grad norm 1e308": _mutated("vanishing_sigmoid_deep", ("layers", 0, "grad_norm", 3), 1e308),
    "tiny and huge together": _train([5e-324, 1e308, 1.0, 2.0, 1e-310, 3.0]),
    "feature std 1e308": _mutated(
        "test_distribution_shift", ("data", "train", "feature_std", 0), 1e308
    ),
    "learning rate 5e-324": _mutated("lr_too_low", ("config", "learning_rate"), 5e-324),
}


@pytest.mark.parametrize("case", list(EXTREME), ids=list(EXTREME))
def test_extreme_numbers_render_everywhere_without_numpy_warnings(case: str) -> None:
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a RuntimeWarning (overflow...) would reach stderr
        d = lossexpert.diagnose(EXTREME[case])
        outputs = _all_outputs(d)
    assert all(outputs.values())
    json.loads(outputs["json"])


def test_extreme_losses_are_not_healthy() -> None:
    for case in ("alternating 1e-300 / 1e300", "loss of 1e308"):
        d = lossexpert.diagnose(EXTREME[case])
        assert not d.healthy, case
        assert any("1e100" in w for w in d.warnings), d.warnings


def test_a_zero_learning_rate_is_diagnosed_with_a_warning() -> None:
    d = lossexpert.diagnose(EXTREME["learning rate 0 with SGD"])
    assert any("learning_rate is 0" in w for w in d.warnings), d.warnings
    assert not d.healthy


def test_unencodable_and_control_characters_never_reach_an_output() -> None:
    run = example_dict("vanishing_sigmoid_deep")
    run["run"]["name"] = "a\ud800b\x1b[31mred\x07bell\x85c1"
    run["run"]["tags"] = {"k\udfff": "v\x1b"}
    run["layers"][0]["name"] = "fc\x1b]0;title\x07"
    run["config"]["init"] = "x\x9by"
    run["config"]["mystery\x1b"] = "z\x00\ud801"
    d = lossexpert.diagnose(run)
    for fmt, out in _all_outputs(d).items():
        out.encode("utf-8")  # a lone surrogate used to fail every renderer
        bad = [c for c in out if (ord(c) < 32 and c not in "\n\t") or 0x7F <= ord(c) <= 0x9F]
        assert not bad, (fmt, bad[:5])
    assert d.run.name == "a\ufffdb[31mredbellc1"  # ESC, BEL and the C1 NEL dropped


def test_fewer_than_two_finite_train_points_is_never_healthy() -> None:
    for run in (
        {"curves": {"train": {"loss": [2.3, None, None]}, "val": {"loss": [1.0, 0.9, 0.8]}}},
        {"curves": {"train": {"loss": [2.3] + [None] * 9}, "test": {"loss": [2.0, 1.0]}}},
    ):
        d = lossexpert.diagnose(run)
        assert d.conclusive is False and d.healthy is False, d.summary


def test_checkpoint_position_is_measured_over_the_run_steps() -> None:
    steps = list(range(0, 5001, 10))
    train = [2.3 * math.exp(-s / 800) + 0.01 for s in steps]
    val_steps = list(range(500, 5001, 500))  # minimum at step 1000 of 5000: 20 % into the run
    val = [0.9, 0.5, 0.7, 0.9, 1.1, 1.3, 1.5, 1.7, 1.9, 2.1]
    run = {
        "config": {"task": "classification", "num_classes": 10},
        "curves": {
            "train": {"step": steps, "loss": train},
            "val": {"step": val_steps, "loss": val},
        },
    }
    d = lossexpert.diagnose(run)
    rising = next(e for e in d.symptoms if e.symptom == "val.rising")
    assert 15 <= float(rising.values["min_at_pct"]) <= 25, rising.values


def test_sequential_layer_names_show_their_module_type() -> None:
    d = lossexpert.diagnose(example("vanishing_sigmoid_deep"))
    for fmt, out in _all_outputs(d).items():
        assert "0 (Linear)" in out.replace("\\", ""), fmt


def test_html_x_axis_spans_the_data_that_exists() -> None:
    from lossexpert.reports.html import labels
    from lossexpert.reports.plots import loss_chart

    d = lossexpert.diagnose(example("lr_too_high"))
    run = example_dict("lr_too_high")
    last_finite = max(
        s
        for s, v in zip(run["curves"]["train"]["step"], run["curves"]["train"]["loss"], strict=True)
        if v is not None and math.isfinite(v)
    )
    chart = loss_chart(d, d._run, labels("en"))  # type: ignore[arg-type]
    assert chart is not None
    top = max(float(text) for _, text in chart.x_ticks)
    assert top <= 2 * (last_finite + 1), (top, last_finite)  # not the run's 680 steps
    assert {line.label for line in chart.lines} >= {"train", "val", "test"}


def test_help_shows_flags_as_flags_and_the_language_choices() -> None:
    from lossexpert.cli import Lang
    from lossexpert.kb.texts import LANGUAGES

    out = run_cli("explain", "--help", env={"COLUMNS": "120"})
    assert out.returncode == 0
    assert "<bool>" not in out.stdout and "{run}" not in out.stdout
    assert "explain [OPTIONS] RUN" in out.stdout
    assert "--lang <en|zh>" in out.stdout
    assert tuple(lang.value for lang in Lang) == tuple(LANGUAGES)


def _big_run(n: int) -> dict[str, Any]:
    loss: list[Any] = [2.3 * math.exp(-3 * i / n) + 0.1 for i in range(n)]
    loss[n // 3] = None  # a missing point
    loss[n // 2] = 0.001  # the minimum, between strides
    loss[n // 2 + 1] = 50.0  # the maximum
    loss[2 * n // 3 + 1] = math.nan  # where it diverged
    return {
        "config": {"task": "classification", "num_classes": 10},
        "curves": {
            "train": {"step": list(range(n)), "loss": loss, "metrics": {"acc": [0.5] * n}},
            "val": {"step": list(range(0, n, 100)), "loss": [1.0] * len(range(0, n, 100))},
        },
    }


def test_big_files_parse_column_wise_to_the_same_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from lossexpert.collectors import runfile

    path = write(tmp_path, json.dumps(_big_run(20_000)))
    plain = runfile.load_run(path).run
    monkeypatch.setattr(runfile, "COLUMN_PARSE_BYTES", 0)
    monkeypatch.setattr(runfile, "COLUMN_MIN_BYTES", 1000)
    columns = runfile.load_run(path).run
    assert columns.model_dump_json() == plain.model_dump_json()  # NaN, null, ints all kept


def test_long_curves_are_down_sampled_keeping_extremes_and_divergence(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from lossexpert.collectors import runfile

    n = 20_000
    path = write(tmp_path, json.dumps(_big_run(n)))
    monkeypatch.setattr(runfile, "COLUMN_PARSE_BYTES", 0)
    monkeypatch.setattr(runfile, "COLUMN_MIN_BYTES", 1000)
    monkeypatch.setattr(runfile, "MAX_CURVE_POINTS", 1000)
    loaded = runfile.load_run(path)
    train = loaded.run.curves["train"]
    steps = train.steps()
    assert 1000 <= len(steps) <= 1010 and len(train.metrics["acc"]) == len(steps)
    assert steps[0] == 0 and steps[-1] == n - 1
    kept = dict(zip(steps, train.loss, strict=True))
    assert kept[n // 2] == 0.001 and kept[n // 2 + 1] == 50.0
    assert math.isnan(kept[2 * n // 3 + 1])
    assert any("down-sampled" in w and "curves.train" in w for w in loaded.warnings)
    assert len(loaded.run.curves["val"].loss) == len(range(0, n, 100))  # short: untouched


def test_a_column_that_is_not_numbers_falls_back_to_the_plain_parser(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from lossexpert.collectors import runfile

    run = _big_run(5000)
    run["curves"]["train"]["loss"][7] = True
    path = write(tmp_path, json.dumps(run))
    monkeypatch.setattr(runfile, "COLUMN_PARSE_BYTES", 0)
    monkeypatch.setattr(runfile, "COLUMN_MIN_BYTES", 1000)
    with pytest.raises(lossexpert.RunInputError) as caught:
        runfile.load_run(path)
    assert "curves.train.loss.7" in str(caught.value)


def test_weights_decayed_to_exactly_zero_are_a_finding_not_a_crash() -> None:
    # AdamW with weight decay 50 on an embedding classifier drove every recorded weight norm
    # to exactly 0.0: the shrink ratio divided by it (ZeroDivisionError from diagnose()).
    steps = list(range(0, 200, 10))
    layer = {
        "name": "fc",
        "type": "Linear",
        "step": steps,
        "weight_norm": [5.0 * 0.5**i if i < 8 else 0.0 for i in range(len(steps))],
    }
    run = {
        "curves": {"train": {"loss": [1.61] * 200}},
        "config": {"task": "classification", "num_classes": 5, "weight_decay": 50.0},
        "layers": [layer],
    }
    d = lossexpert.diagnose(run)
    shrink = {s.symptom: s.values for s in d.symptoms}["layers.weight_shrink"]
    assert shrink["ratio"] == 0.0
    assert "over_regularization" in [f.cause for f in d.findings[:2]]
