"""The W&B importer against run folders written by the real ``wandb`` library offline
(``tests/fixtures/wandb/make_wandb_fixtures.py``) and the panel-export CSV layout."""

from __future__ import annotations

import csv
import importlib.util
import json
import shutil
from pathlib import Path

import pytest

import lossexpert
from lossexpert.collectors.importers import detect, import_run
from lossexpert.collectors.importers import wandb as wandb_log
from tests.conftest import ROOT, run_cli

FIXTURES = ROOT / "tests" / "fixtures" / "wandb"
HAS_WANDB = importlib.util.find_spec("wandb") is not None


def log_file(name: str) -> Path:
    return next((FIXTURES / name).rglob("run-*.wandb"))


def export_column(path: Path, column: str) -> tuple[list[int], list[float]]:
    """Read one column of an export with the csv module alone (an independent reading)."""
    with path.open(newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    pairs = [(int(r["Step"]), float(r[column])) for r in rows if r[column]]
    return [s for s, _ in pairs], [v for _, v in pairs]


@pytest.mark.parametrize(
    "where", ["folder", "wandb_dir", "project_dir", "log_file"], ids=lambda w: w
)
def test_run_folder_is_detected_and_read(where: str) -> None:
    log = log_file("stuck")
    path = {
        "folder": log.parent,
        "wandb_dir": log.parent.parent,
        "project_dir": log.parent.parent.parent,
        "log_file": log,
    }[where]
    assert detect(path) == "wandb"
    run = import_run(path).loaded.run
    assert set(run.curves) == {"train", "val"}
    assert run.run.name == "stuck" and run.run.id == "stuck01"
    assert run.config.learning_rate == 1e-5 and run.config.batch_size == 64
    assert run.config.optimizer is not None and run.config.optimizer.name == "sgd"
    train = run.curves["train"]
    assert train.epoch is not None and train.time is not None  # from 'epoch' and _timestamp
    assert len(run.curves["val"].loss) == run.config.epochs  # one val point per epoch


def test_history_matches_the_export_of_the_same_run() -> None:
    """The transaction log and the export CSV are read by different code: same numbers."""
    run = import_run(FIXTURES / "healthy").loaded.run
    steps, values = export_column(FIXTURES / "export.csv", "healthy - train/loss")
    assert run.curves["train"].step == steps
    assert run.curves["train"].loss == pytest.approx(values, rel=1e-12)
    exported = import_run(FIXTURES / "export.csv")
    assert exported.kind == "wandb"
    assert exported.loaded.run.curves["train"].loss == pytest.approx(values, rel=1e-12)


@pytest.mark.skipif(not HAS_WANDB, reason="wandb is not installed")
def test_builtin_decoder_agrees_with_wandbs_own_schema() -> None:
    for name in ("healthy", "stuck"):
        ours = wandb_log.read(FIXTURES / name, decoder="builtin")
        theirs = wandb_log.read(FIXTURES / name, decoder="wandb")
        assert ours.identity == theirs.identity and ours.config == theirs.config
        assert set(ours.points) == set(theirs.points) == {"train/loss", "val/loss"}
        for key, points in theirs.points.items():
            mine = ours.points[key]
            assert (mine.steps, mine.values, mine.epochs, mine.times) == (
                points.steps,
                points.values,
                points.epochs,
                points.times,
            )


def test_stuck_run_is_diagnosed_from_its_wandb_folder() -> None:
    out = run_cli("explain", str(FIXTURES / "stuck"), "--format", "json")
    assert out.returncode == 0, out.stderr
    d = json.loads(out.stdout)
    assert [p["id"] for p in d["problems"]] == ["train_loss_not_decreasing"]
    # lr 1e-5 with plain SGD is in the config the importer read.
    assert d["findings"][0]["cause"] == "learning_rate_too_low"
    healthy = lossexpert.diagnose(import_run(FIXTURES / "healthy").loaded.run)
    assert healthy.problems == [] and healthy.healthy


def test_verbose_lists_mapped_and_ignored_band_columns() -> None:
    out = run_cli("explain", str(FIXTURES / "export.csv"), "--verbose")
    assert out.returncode == 0, out.stderr
    assert "read " in out.stderr and " as wandb" in out.stderr
    assert "mapped 'train/loss' -> train" in out.stderr
    assert "ignored 'healthy - train/loss__MIN'" in out.stderr
    assert "ignored 'healthy - train/loss__MAX'" in out.stderr


def test_export_with_two_runs_needs_one_named() -> None:
    path = FIXTURES / "export_two_runs.csv"
    out = run_cli("explain", str(path))
    assert out.returncode == 2
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and "2 runs" in lines[0] and "--map" in lines[0]
    picked = import_run(path, mapping=["train=stuck - train/loss"]).loaded.run
    _, values = export_column(path, "stuck - train/loss")
    assert picked.run.name == "stuck"
    assert picked.curves["train"].loss == pytest.approx(values, rel=1e-12)


def test_torn_tail_reads_up_to_the_damage(tmp_path: Path) -> None:
    """A run killed mid-write leaves a partial record: read what is whole, warn once."""
    log = log_file("healthy")
    whole = import_run(log).loaded.run
    torn = tmp_path / "run-torn.wandb"
    data = log.read_bytes()
    torn.write_bytes(data[: len(data) * 2 // 3])
    imported = import_run(torn)
    n = len(imported.loaded.run.curves["train"].loss)
    assert 0 < n < len(whole.curves["train"].loss)
    assert any("damaged or incomplete record" in w for w in imported.loaded.warnings)
    flipped = bytearray(data)
    flipped[len(data) // 2] ^= 0xFF  # a corrupted byte fails its record's CRC
    bad = tmp_path / "run-bad.wandb"
    bad.write_bytes(bytes(flipped))
    assert len(import_run(bad).loaded.run.curves["train"].loss) < len(whole.curves["train"].loss)


def test_legacy_history_jsonl_and_config_yaml(tmp_path: Path) -> None:
    """W&B before 0.10 wrote wandb-history.jsonl and files/config.yaml in the run folder."""
    run_dir = tmp_path / "wandb" / "run-20190101_000000-abc"
    (run_dir / "files").mkdir(parents=True)
    rows = [{"_step": i, "loss": 2.0 / (i + 1), "_timestamp": 1.5e9 + i} for i in range(12)]
    (run_dir / "wandb-history.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    (run_dir / "files" / "config.yaml").write_text(
        "wandb_version: 1\n_wandb:\n  desc: null\n  value: {}\n"
        "lr:\n  desc: null\n  value: 0.3\nbatch_size:\n  desc: null\n  value: 16\n"
    )
    assert detect(tmp_path) == "wandb"
    run = import_run(tmp_path).loaded.run
    assert run.curves["train"].loss == [r["loss"] for r in rows]
    assert run.config.learning_rate == 0.3 and run.config.batch_size == 16


def test_two_run_folders_need_one_named(tmp_path: Path) -> None:
    for name in ("healthy", "stuck"):
        shutil.copytree(log_file(name).parent, tmp_path / "wandb" / log_file(name).parent.name)
    out = run_cli("explain", str(tmp_path), "--from", "wandb")
    assert out.returncode == 2
    assert len(out.stderr.strip().splitlines()) == 1 and "2 W&B runs" in out.stderr


@pytest.mark.skipif(
    not HAS_WANDB or importlib.util.find_spec("sklearn") is None,
    reason="wandb and scikit-learn are needed to regenerate the fixtures",
)
def test_fixtures_regenerate_with_the_real_library(tmp_path: Path) -> None:
    from tests.fixtures.wandb.make_wandb_fixtures import main

    main(tmp_path)
    for name in ("healthy", "stuck"):
        fresh, committed = (import_run(p / name).loaded.run for p in (tmp_path, FIXTURES))
        assert set(fresh.curves) == set(committed.curves)
        assert fresh.config == committed.config and fresh.run.id == committed.run.id
        for split in fresh.curves:
            assert fresh.curves[split].step == committed.curves[split].step
        # Another scikit-learn may round differently: the verdicts, not the digits, must agree.
        verdicts = [[p.id for p in lossexpert.diagnose(r).problems] for r in (fresh, committed)]
        assert verdicts[0] == verdicts[1]
    steps, _ = export_column(tmp_path / "export.csv", "healthy - train/loss")
    assert steps == export_column(FIXTURES / "export.csv", "healthy - train/loss")[0]


def _frame(records: list[bytes]) -> bytes:
    """LevelDB-log framing as W&B writes it (32 KiB blocks; FULL/FIRST/MIDDLE/LAST chunks;
    CRC-32 of type + data), written here independently of the reader."""
    import struct
    import zlib

    out = bytearray(wandb_log.HEADER)
    for data in records:
        first = True
        while True:
            left = 32768 - len(out) % 32768
            if left < 7:
                out += b"\0" * left
                continue
            chunk, data = data[: left - 7], data[left - 7 :]
            kind = (1 if not data else 2) if first else (4 if not data else 3)
            out += struct.pack("<IHB", zlib.crc32(bytes([kind]) + chunk), len(chunk), kind)
            out += chunk
            first = False
            if not data:
                break
    return bytes(out)


@pytest.mark.skipif(not HAS_WANDB, reason="wandb is not installed (its schema writes the records)")
def test_typed_values_and_records_spanning_blocks(tmp_path: Path) -> None:
    """Records written with W&B's own schema: typed history values (number, integer, bool),
    nested keys, and records longer than a 32 KiB block; both decoders read them alike."""
    from wandb.proto import wandb_internal_pb2 as pb

    records = []
    run = pb.Record()
    run.run.run_id, run.run.display_name = "typed01", "typed"
    cfg = run.run.config.update.add()
    cfg.key, cfg.value_json = "lr", "0.05"
    records.append(run.SerializeToString())
    for step in range(40):
        rec = pb.Record()
        item = rec.history.item.add()
        item.nested_key.extend(["train", "loss"])
        if step % 3 == 0:
            item.number = 2.0 / (step + 1)
        elif step % 3 == 1:
            item.value_json = json.dumps(2.0 / (step + 1))
        else:
            item.integer = -step  # zigzag-encoded sint64
        flag = rec.history.item.add()
        flag.key, flag.boolean = "done", step == 39  # a bool is not a curve
        pad = rec.history.item.add()
        pad.key, pad.value_json = "note", json.dumps("x" * (5000 if step % 10 else 70000))
        s = rec.history.item.add()
        s.key, s.value_json = "_step", str(step)
        records.append(rec.SerializeToString())
    log = tmp_path / "run-typed01.wandb"
    log.write_bytes(_frame(records))
    assert len(log.read_bytes()) > 4 * 32768
    ours, theirs = (wandb_log.read(log, decoder=d) for d in ("builtin", "wandb"))
    for imported in (ours, theirs):
        assert set(imported.points) == {"train/loss"}
        assert imported.identity["id"] == "typed01" and imported.config == {"learning_rate": 0.05}
        points = imported.points["train/loss"]
        assert points.steps == [float(s) for s in range(40)]
        expected = [2.0 / (s + 1) if s % 3 != 2 else float(-s) for s in range(40)]
        assert points.values == expected
        assert not imported.warnings
