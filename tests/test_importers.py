"""Importers against files written by the real libraries (committed fixtures) and against the
real logs in ../shared/real_logs (skipped where that folder is absent)."""

from __future__ import annotations

import importlib.util
import json
import shutil
from pathlib import Path

import pytest

import lossexpert
from lossexpert.collectors.importers import detect, import_run
from tests.conftest import ROOT, run_cli

FIXTURES = ROOT / "tests" / "fixtures" / "logs"
REAL = ROOT.parent / "shared" / "real_logs"


def mlflow_run_dir() -> Path:
    return next(p.parent for p in (FIXTURES / "mlflow").rglob("metrics") if p.is_dir())


CASES = {
    # fixture path -> (detected kind, splits, what else must be there)
    "hf": ("hf", {"train", "val"}, "lr"),
    "hf/trainer_state.json": ("hf", {"train", "val"}, "lr"),
    "lightning": ("lightning", {"train", "val"}, "hparams"),
    "lightning/metrics.csv": ("lightning", {"train", "val"}, "hparams"),
    "keras/training.log": ("keras", {"train", "val"}, "val:accuracy"),
    "tensorboard": ("tensorboard", {"train", "val"}, "lr"),
    "mlflow": ("mlflow", {"train", "val"}, "params"),
}


@pytest.mark.parametrize("rel", list(CASES), ids=list(CASES))
def test_explain_every_fixture(rel: str) -> None:
    kind, splits, extra = CASES[rel]
    path = FIXTURES / rel
    assert detect(path) == kind
    out = run_cli("explain", str(path), "--format", "json")
    assert out.returncode == 0, out.stderr
    d = json.loads(out.stdout)
    missing = {m["key"] for m in d["missing"]}
    assert {"layers", "data"} <= missing  # says what the logs could not hold
    run = import_run(path).loaded.run
    assert set(run.curves) == splits
    assert len(run.curves["train"].loss) >= 5
    if extra == "lr":
        assert run.config.lr_schedule is not None and len(run.config.lr_schedule.value) >= 5
    elif extra == "hparams":
        assert run.config.learning_rate == 0.01 and run.config.batch_size == 16
    elif extra == "params":
        assert run.config.learning_rate == 0.01 and run.config.epochs == 8
        assert run.run.name == "tiny-mlp"
    elif extra.startswith("val:"):
        assert extra.split(":")[1] in run.curves["val"].metrics


def test_lightning_keeps_the_per_step_train_loss() -> None:
    imported = import_run(FIXTURES / "lightning", mapping=[])
    assert "mapped 'train_loss_step' -> train" in imported.mapping
    assert "ignored 'train_loss_epoch'" in imported.mapping
    steps = imported.loaded.run.curves["train"].steps()
    assert steps == sorted(steps) and len(steps) == len(set(steps))


def test_hf_nan_hidden_by_the_filter_is_reported_as_diverged() -> None:
    out = run_cli("explain", str(FIXTURES / "hf_nan"), "--format", "json")
    assert out.returncode == 0, out.stderr
    assert "NaN filter hid a non-finite loss" in out.stderr
    d = json.loads(out.stdout)
    assert not d["healthy"]
    assert d["problems"][0]["id"] == "train_loss_not_decreasing"
    assert d["problems"][0]["evidence"][0]["symptom"] == "train.nonfinite"
    assert d["problems"][0]["evidence"][0]["values"]["step"] == 24


def test_map_override_and_verbose(tmp_path: Path) -> None:
    table = tmp_path / "log.csv"
    table.write_text(
        "step,my/objective,holdout/objective,speed\n"
        + "".join(f"{i},{2.3 / (i + 1)},{2.4 / (i + 1) + 0.1},{i}\n" for i in range(20))
    )
    plain = run_cli("explain", str(table), "--format", "json")
    assert plain.returncode == 2 and "--map train=NAME" in plain.stderr
    out = run_cli(
        "explain",
        str(table),
        "--format",
        "json",
        "--verbose",
        "--map",
        "train=my/objective",
        "--map",
        "val=holdout/objective",
    )
    assert out.returncode == 0, out.stderr
    assert "mapped 'my/objective' -> train" in out.stderr
    assert "read " in out.stderr and "as csv" in out.stderr
    d = json.loads(out.stdout)
    assert d["run"]["source"] == str(table)
    bad = run_cli("explain", str(table), "--map", "nonsense")
    assert bad.returncode == 2 and "--map" in bad.stderr


def test_long_table_and_forced_source(tmp_path: Path) -> None:
    table = tmp_path / "long.jsonl"
    rows = [
        {"step": i, "split": s, "loss": v}
        for i in range(12)
        for s, v in (("train", 2.0 / (i + 1)), ("val", 2.1 / (i + 1)))
    ]
    table.write_text("".join(json.dumps(r) + "\n" for r in rows))
    run = import_run(table).loaded.run
    assert set(run.curves) == {"train", "val"} and len(run.curves["val"].loss) == 12
    forced = run_cli("explain", str(FIXTURES / "keras" / "training.log"), "--from", "csv")
    assert forced.returncode == 0, forced.stderr


def test_convert_an_imported_log(tmp_path: Path) -> None:
    target = tmp_path / "run.json"
    out = run_cli("convert", str(FIXTURES / "tensorboard"), "-o", str(target))
    assert out.returncode == 0, out.stderr
    again = lossexpert.load_run(target).run
    assert set(again.curves) == {"train", "val"}


@pytest.mark.parametrize(
    "case",
    ["corrupt_event", "empty_csv", "no_log_history", "lfs_pointer", "empty_dir", "two_mlflow_runs"],
)
def test_unreadable_logs_exit_2_with_one_line(case: str, tmp_path: Path) -> None:
    if case == "corrupt_event":
        good = next((FIXTURES / "tensorboard").iterdir()).read_bytes()
        path = tmp_path / "events.out.tfevents.1.host"
        path.write_bytes(good[: len(good) // 2] + b"\x00garbage")
        needle = "event"
    elif case == "empty_csv":
        path = tmp_path / "training.log"
        path.write_text("")
        needle = "empty"
    elif case == "no_log_history":
        path = tmp_path / "trainer_state.json"
        path.write_text(json.dumps({"global_step": 10, "log_history": []}))
        needle = "log_history"
    elif case == "lfs_pointer":
        path = tmp_path / "events.out.tfevents.2.host"
        path.write_text("version https://git-lfs.github.com/spec/v1\noid sha256:abc\nsize 9\n")
        needle = "git-lfs"
    elif case == "empty_dir":
        path = tmp_path / "nothing"
        path.mkdir()
        needle = "found"
    else:
        path = tmp_path / "mlruns"
        for name in ("a", "b"):
            shutil.copytree(mlflow_run_dir(), path / "1" / name)
        needle = "2 MLflow runs"
    out = run_cli("explain", str(path))
    assert out.returncode == 2, (out.stdout, out.stderr)
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in out.stderr
    assert needle in lines[0] and str(path) in lines[0]


def _real_files() -> list[Path]:
    if not REAL.is_dir():
        return []
    files = [
        p
        for kind in ("tfevents", "trainer_state", "lightning_csv", "keras_csv")
        for p in sorted((REAL / kind).iterdir())
    ]
    runs = {
        p.parent for p in (REAL / "mlflow").rglob("meta.yaml") if (p.parent / "metrics").is_dir()
    }
    return files + sorted(runs)


REAL_FILES = _real_files()


@pytest.mark.skipif(not REAL.is_dir(), reason="../shared/real_logs is absent")
@pytest.mark.parametrize("path", REAL_FILES, ids=[p.name[:50] for p in REAL_FILES])
def test_real_logs_read_or_refused_cleanly(path: Path) -> None:
    try:
        imported = import_run(path)
    except lossexpert.RunInputError as err:
        assert "\n" not in str(err) and str(path) in str(err)
        return
    diagnosis = lossexpert.diagnose(imported.loaded)
    assert diagnosis.to_json()
    assert {m.key for m in diagnosis.missing} >= {"layers", "data"}


@pytest.mark.skipif(not REAL.is_dir(), reason="../shared/real_logs is absent")
def test_real_log_edge_cases() -> None:
    lfs = (
        REAL
        / "tfevents"
        / "CoralReefFish__whisper-tiny-nbaiLab__runs_Dec30_LFS_POINTER.events.out.tfevents"
    )
    with pytest.raises(lossexpert.RunParseError, match="git-lfs"):
        import_run(lfs)
    resumed = import_run(
        REAL
        / "tfevents"
        / "Kirito-012__Deep-Learning__lightning_version_3_resumed.events.out.tfevents"
    )
    assert resumed.loaded.run.curves["train"].steps()[0] >= 4000  # the step offset is kept
    step0 = next(
        p.parent
        for p in (REAL / "mlflow").rglob("meta.yaml")
        if "Toma0916" in str(p) and (p.parent / "metrics").is_dir()
    )
    with pytest.raises(lossexpert.RunInputError, match="no loss curve"):
        import_run(step0)
    whisper = import_run(
        REAL / "trainer_state" / "Merlinmy__Whisper_small_hi__root.trainer_state.json"
    )
    d = lossexpert.diagnose(whisper.loaded)
    assert d.findings and d.findings[0].cause == "overfitting"  # eval_loss rises at every eval


WRITERS = {
    "hf": "transformers",
    "lightning": "lightning",
    "keras": "keras",
    "tensorboard": "tensorboard",
    "mlflow": "mlflow",
}


@pytest.mark.parametrize("name", list(WRITERS))
def test_fixtures_regenerate_with_the_real_library(name: str, tmp_path: Path) -> None:
    if importlib.util.find_spec(WRITERS[name]) is None:
        pytest.skip(f"{WRITERS[name]} is not installed")
    from tests.fixtures.make_log_fixtures import main

    main(tmp_path, [name])
    fresh = tmp_path / name
    committed = FIXTURES / name
    if name == "mlflow":
        fresh, committed = (
            next(p.parent for p in d.rglob("metrics") if p.is_dir()) for d in (fresh, committed)
        )
    if name == "keras":
        fresh, committed = fresh / "training.log", committed / "training.log"
    a, b = import_run(fresh).loaded.run, import_run(committed).loaded.run
    assert set(a.curves) == set(b.curves)
    for split in a.curves:
        assert len(a.curves[split].loss) == len(b.curves[split].loss)


def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        out.append(b | (0x80 if n else 0))
        if not n:
            return bytes(out)


def _event(step: int, wall: float, tag: str, value: float) -> bytes:
    """One TFRecord holding an Event with a simple_value summary, written by hand."""
    import struct

    tag_b = tag.encode()
    val = b"\x0a" + _varint(len(tag_b)) + tag_b + b"\x15" + struct.pack("<f", value)
    summary = b"\x0a" + _varint(len(val)) + val
    event = (
        b"\x09"
        + struct.pack("<d", wall)
        + b"\x10"
        + _varint(step)
        + b"\x2a"
        + _varint(len(summary))
        + summary
    )
    return struct.pack("<Q", len(event)) + b"\0" * 4 + event + b"\0" * 4


def test_tensorboard_restart_purges_the_overlap(tmp_path: Path) -> None:
    logdir = tmp_path / "tb"
    logdir.mkdir()
    first = b"".join(_event(s, 1000.0 + s, "train/loss", 2.0 - 0.01 * s) for s in range(0, 100))
    # The job died at step 99 and resumed from its step-60 checkpoint in a new file.
    second = b"".join(
        _event(s, 5000.0 + s, "train/loss", 1.5 - 0.01 * (s - 60)) for s in range(60, 120)
    )
    (logdir / "events.out.tfevents.1000.host.1").write_bytes(first)
    (logdir / "events.out.tfevents.5000.host.2").write_bytes(second)
    imported = import_run(logdir)
    curve = imported.loaded.run.curves["train"]
    assert curve.steps() == list(range(120))  # 0..59 from the first file, 60..119 from the second
    assert curve.loss[60] == pytest.approx(1.5)
    assert any("restarts at step 60" in w for w in imported.loaded.warnings)


def test_mlflow_through_its_own_client(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    pytest.importorskip("mlflow")
    monkeypatch.setenv("MLFLOW_ALLOW_FILE_STORE", "true")
    # git keeps no empty folders, and MLflow's file store wants the run's artifacts/ folder.
    store = tmp_path / "mlruns"
    shutil.copytree(FIXTURES / "mlflow", store)
    run_dir = next(p.parent for p in store.rglob("metrics") if p.is_dir())
    (run_dir / "artifacts").mkdir(exist_ok=True)
    (store / ".trash").mkdir(exist_ok=True)
    via_client = import_run(
        run_dir, source="mlflow", run_id=run_dir.name, tracking_uri=store.as_uri()
    )
    via_files = import_run(run_dir)
    a, b = via_client.loaded.run, via_files.loaded.run
    assert a.curves["train"].loss == b.curves["train"].loss
    assert a.curves["val"].steps() == b.curves["val"].steps()
    assert a.run.name == "tiny-mlp"


def test_wall_time_is_kept() -> None:
    run = import_run(FIXTURES / "tensorboard").loaded.run
    times = run.curves["train"].time
    assert times is not None and all(t is not None and t > 1.6e9 for t in times)
