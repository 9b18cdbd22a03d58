"""What every importer produces, and how it becomes a run in the lossexpert format."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lossexpert.collectors.importers._mapping import Mapping_
from lossexpert.errors import RunSchemaError
from lossexpert.runformat import FORMAT_ID


@dataclass
class Points:
    """One logged scalar: its steps, values and (when known) epochs and wall times."""

    name: str
    steps: list[float] = field(default_factory=list)
    values: list[float] = field(default_factory=list)
    epochs: list[float | None] = field(default_factory=list)
    times: list[float | None] = field(default_factory=list)

    def add(
        self, step: float, value: float, epoch: float | None = None, time: float | None = None
    ) -> None:
        self.steps.append(step)
        self.values.append(value)
        self.epochs.append(epoch)
        self.times.append(time)


@dataclass
class Imported:
    """An importer's reading of a source, before mapping."""

    source: str
    framework: str
    points: dict[str, Points] = field(default_factory=dict)
    config: dict[str, Any] = field(default_factory=dict)
    identity: dict[str, Any] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    default_split: str = "train"
    # Names whose split is known from where they were found (a Keras "validation" folder...).
    forced: dict[str, str] = field(default_factory=dict)

    def series(self, name: str) -> Points:
        if name not in self.points:
            self.points[name] = Points(name)
        return self.points[name]


def to_run(imported: Imported, mapping: Mapping_) -> dict[str, Any]:
    """Map the imported scalars to curves, metrics and config; refuse if no loss curve."""
    names = [n for n, p in imported.points.items() if p.values]
    counts = {n: len(imported.points[n].values) for n in names}
    resolved = mapping.resolve(
        [n for n in names if n not in imported.forced],
        default_split=imported.default_split,
        loss_preference=counts,
    )
    taken = set(resolved.values())
    forced = sorted((n for n in imported.forced if n in counts), key=lambda n: -counts[n])
    for name in forced:  # several tags for one loss: the densest wins
        target = imported.forced[name]
        if target in ("train", "val", "test", "lr") and target in taken:
            mapping.ignored.append(name)
            continue
        resolved[name] = target
        mapping.mapped[name] = target
        taken.add(target)
    curves: dict[str, dict[str, Any]] = {}
    metrics: dict[str, dict[str, Points]] = {}
    config = dict(imported.config)
    for name, target in resolved.items():
        points = imported.points[name]
        if target in ("train", "val", "test"):
            order = sorted(range(len(points.steps)), key=lambda i: points.steps[i])
            curves[target] = {
                "step": [int(points.steps[i]) for i in order],
                "epoch": [points.epochs[i] for i in order],
                "time": [points.times[i] for i in order],
                "loss": [points.values[i] for i in order],
                "metrics": {},
            }
        elif target == "lr":
            pairs = sorted(
                (s, v)
                for s, v in zip(points.steps, points.values, strict=True)
                if math.isfinite(v) and v >= 0
            )
            if pairs:
                config["lr_schedule"] = {
                    "step": [int(s) for s, _ in pairs],
                    "value": [v for _, v in pairs],
                }
                config.setdefault("learning_rate", pairs[0][1])
        else:
            split, _, metric = target.partition(":")
            metrics.setdefault(split, {})[metric] = points
    for split, by_name in metrics.items():
        curve = curves.get(split)
        if curve is None:
            continue
        for metric, points in by_name.items():
            lookup = dict(zip(points.steps, points.values, strict=True))
            column = [lookup.get(step) for step in curve["step"]]
            if any(v is not None for v in column):
                curve["metrics"][metric] = column
    for curve in curves.values():
        for key in ("epoch", "time"):
            if all(e is None for e in curve[key]):
                curve[key] = None
    if not curves:
        found = ", ".join(sorted(names)[:12]) or "none"
        raise RunSchemaError(
            imported.source,
            "",
            f"no loss curve found (scalars: {found}); name one with --map train=NAME",
        )
    # One value per split still compares (train 0.11 against val 12.7); a single point in a
    # single split does not.
    if len(curves) < 2 and not any(len(c["loss"]) >= 2 for c in curves.values()):
        raise RunSchemaError(
            imported.source, "", "a single loss curve with a single point: nothing to diagnose"
        )
    identity = {"framework": imported.framework, **imported.identity}
    identity.setdefault("name", Path(imported.source).name)
    return {"format": FORMAT_ID, "run": identity, "config": config, "curves": curves}
