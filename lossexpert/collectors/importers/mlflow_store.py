"""MLflow runs: the file store (``mlruns/<experiment>/<run>/metrics/<key>``, lines of
``<timestamp_ms> <value> <step>``; ``params/<key>``; ``tags/mlflow.runName``) read directly,
or any tracking server through MLflow's own client (``MlflowClient.get_metric_history``) when
the ``mlflow`` package is installed.

Runs that log every value at step 0 (it happens) are ordered by timestamp instead, with a
warning.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from lossexpert.collectors.importers._common import Imported
from lossexpert.errors import RunNotFoundError, RunParseError

PARAM_KEYS = {
    "lr": "learning_rate",
    "learning_rate": "learning_rate",
    "opt_learning_rate": "learning_rate",
    "batch_size": "batch_size",
    "epochs": "epochs",
    "max_epochs": "epochs",
    "weight_decay": "weight_decay",
    "dropout": "dropout",
}


def is_run_dir(path: Path) -> bool:
    return path.is_dir() and (path / "metrics").is_dir() and (path / "meta.yaml").is_file()


def find_run_dirs(path: Path) -> list[Path]:
    if is_run_dir(path):
        return [path]
    return sorted({p.parent for p in path.rglob("meta.yaml") if is_run_dir(p.parent)})


def read(path: Path) -> Imported:
    runs = find_run_dirs(path)
    if not runs:
        raise RunNotFoundError(
            str(path), "", "no MLflow run (a folder with metrics/ and meta.yaml) here"
        )
    if len(runs) > 1:
        names = ", ".join(r.name for r in runs[:5]) + (" ..." if len(runs) > 5 else "")
        raise RunParseError(
            str(path), "", f"{len(runs)} MLflow runs here ({names}); name one run folder"
        )
    run = runs[0]
    imported = Imported(source=str(run), framework="mlflow")
    for metric in sorted((run / "metrics").rglob("*")):
        if not metric.is_file():
            continue
        key = metric.relative_to(run / "metrics").as_posix()
        rows: list[tuple[float, float, float]] = []
        for number, line in enumerate(
            metric.read_text(encoding="utf-8", errors="replace").splitlines(), start=1
        ):
            parts = line.split()
            if not parts:
                continue
            try:
                ts, value = float(parts[0]), float(parts[1])
                step = float(parts[2]) if len(parts) > 2 else 0.0
            except (ValueError, IndexError):
                raise RunParseError(
                    str(metric), f"line {number}", "expected '<timestamp> <value> <step>'"
                ) from None
            rows.append((ts, value, step))
        _add(imported, key, rows, str(metric))
    imported.config = _params(run / "params")
    name_tag = run / "tags" / "mlflow.runName"
    imported.identity = {
        "id": run.name,
        "name": name_tag.read_text(errors="replace").strip() if name_tag.is_file() else run.name,
    }
    return imported


def _add(imported: Imported, key: str, rows: list[tuple[float, float, float]], source: str) -> None:
    if len(rows) > 1 and len({step for _, _, step in rows}) == 1:
        imported.warnings.append(
            f"{source}: every value is logged at step {int(rows[0][2])}: "
            "ordered by timestamp instead"
        )
        rows = [(ts, v, float(i)) for i, (ts, v, _) in enumerate(sorted(rows))]
    series = imported.series(key)
    for ts, value, step in sorted(rows, key=lambda r: (r[2], r[0])):
        series.add(step, value, time=ts / 1000.0)


def _params(folder: Path) -> dict[str, Any]:
    cfg: dict[str, Any] = {}
    if not folder.is_dir():
        return cfg
    for param in folder.iterdir():
        target = PARAM_KEYS.get(param.name.lower())
        if target is None or not param.is_file():
            continue
        text = param.read_text(errors="replace").strip()
        try:
            value = float(text)
        except ValueError:
            continue
        if target in ("batch_size", "epochs"):
            if value.is_integer() and value > 0:
                cfg[target] = int(value)
        elif value >= 0 and (target != "dropout" or value <= 1):
            cfg[target] = value
    return cfg


def read_client(run_id: str, tracking_uri: str | None) -> Imported:
    """Read a run through MLflow's own client (any tracking server or store)."""
    try:
        from mlflow.tracking import MlflowClient
    except ImportError:
        raise RunParseError(
            run_id,
            "",
            "reading from a tracking server needs the 'mlflow' package (pip install mlflow-skinny)",
        ) from None
    client = MlflowClient(tracking_uri=tracking_uri)
    run = client.get_run(run_id)
    imported = Imported(source=f"mlflow:{run_id}", framework="mlflow")
    for key in run.data.metrics:
        history = client.get_metric_history(run_id, key)
        _add(
            imported,
            key,
            [(m.timestamp, m.value, m.step) for m in history],
            f"mlflow:{run_id}/{key}",
        )
    imported.identity = {"id": run_id, "name": run.data.tags.get("mlflow.runName", run_id)}
    return imported
