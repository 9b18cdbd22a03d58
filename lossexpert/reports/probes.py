"""Plots of ``lossexpert.doctor``'s experiments for the HTML report (the LR range test)."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np

from lossexpert.kb.texts import format_number
from lossexpert.reports.plots import Chart, Line, Marker, _path, _Scale, _y_scale

if TYPE_CHECKING:  # the model is only read here; importing it would close a cycle
    from lossexpert.diagnosis import Diagnosis


def probe_charts(d: Diagnosis, labels: dict[str, str]) -> list[Chart]:
    """The learning-rate sweep: smoothed loss against the LR (log x), with the configured LR
    and the suggested one marked."""
    out = []
    for p in d.probes:
        lr, loss = p.series.get("lr"), p.series.get("loss")
        if p.status != "ran" or not lr or not loss or len(lr) != len(loss) or len(lr) < 2:
            continue
        x = np.asarray(lr, dtype=np.float64)
        y = np.asarray(loss, dtype=np.float64)
        keep = np.isfinite(x) & np.isfinite(y) & (x > 0)
        if keep.sum() < 2:
            continue
        x, y = x[keep], y[keep]
        chart = Chart(
            id=f"plot-probe-{p.name}",
            title=labels["lr_sweep"],
            x_label=labels["learning_rate"],
            y_label=labels["loss"],
            log_y=False,
        )
        sx = _Scale(float(x.min()), float(x.max()), chart.plot_left, chart.plot_right, log=True)
        sy = _y_scale([y], [], chart.plot_top, chart.plot_bottom)
        chart.log_y = sy.log
        chart.x_ticks, chart.y_ticks = sx.ticks(), sy.ticks()
        chart.lines.append(Line(label=labels["loss"], color="#1f77b4", path=_path(x, y, sx, sy)))
        for key, color in (("lr", "#d62728"), ("suggested", "#2ca02c")):
            value = p.values.get(key)
            if (
                isinstance(value, int | float)
                and value > 0
                and math.isfinite(value)
                and sx.contains(float(value))
            ):
                name = labels["configured_lr" if key == "lr" else "suggested_lr"]
                text = f"{name} {format_number(float(value))}"
                chart.markers.append(Marker(text, color, x=sx(float(value))))
        out.append(chart)
    return out
