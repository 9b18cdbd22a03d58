"""Plots for the HTML report, as plain geometry rendered to inline SVG by a Jinja template.

Why not matplotlib: it is not a dependency, imports slowly, and its SVG embeds fonts and ids
we would have to scrub; these charts are lines, bands, bars and markers, which a few dozen
lines of geometry draw exactly, in a few kilobytes, with every label autoescaped.
Only what the run recorded is plotted; long curves are reduced to bin medians with a
min-max band, so spikes stay visible and the file stays small.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from lossexpert.engine.features import finite_median
from lossexpert.kb.texts import format_number
from lossexpert.kb.thresholds import DEFAULT_THRESHOLDS
from lossexpert.runformat import LayerStats, Run

if TYPE_CHECKING:  # the model is only read here; importing it would close a cycle
    from lossexpert.diagnosis import Diagnosis

WIDTH, HEIGHT = 760, 300
LEFT, RIGHT, TOP, BOTTOM = 64, 150, 20, 40
MAX_POINTS = 300
SPLIT_COLORS = {"train": "#1f77b4", "val": "#ff7f0e", "test": "#2ca02c"}
LAYER_PALETTE = (
    "#440154",
    "#3b528b",
    "#21918c",
    "#5ec962",
    "#b5de2b",
    "#fde725",
    "#31688e",
    "#35b779",
    "#90d743",
    "#443983",
    "#26828e",
    "#6ece58",
)
MAX_LAYER_LINES = 12


@dataclass
class Line:
    label: str
    color: str
    path: str
    band: str | None = None
    dots: list[tuple[float, float]] = field(default_factory=list)
    width: float = 1.6
    dashed: bool = False


@dataclass
class Marker:
    """A vertical (x set) or horizontal (y set) rule, or a point (both), with a label."""

    label: str
    color: str
    x: float | None = None
    y: float | None = None
    dashed: bool = True


@dataclass
class Bar:
    label: str
    value_text: str
    x: float
    y: float
    width: float
    height: float
    color: str


@dataclass
class Chart:
    id: str
    title: str
    x_label: str
    y_label: str
    log_y: bool
    width: int = WIDTH
    height: int = HEIGHT
    x_ticks: list[tuple[float, str]] = field(default_factory=list)
    y_ticks: list[tuple[float, str]] = field(default_factory=list)
    lines: list[Line] = field(default_factory=list)
    markers: list[Marker] = field(default_factory=list)
    bars: list[Bar] = field(default_factory=list)
    note: str = ""

    @property
    def plot_left(self) -> int:
        return LEFT

    @property
    def plot_right(self) -> int:
        return self.width - RIGHT

    @property
    def plot_top(self) -> int:
        return TOP

    @property
    def plot_bottom(self) -> int:
        return self.height - BOTTOM


class _Scale:
    """Data -> pixels. Any range is drawable: a degenerate or non-finite one is widened, and a
    value outside it (or not finite) is pinned to the edge, never a division by zero."""

    def __init__(self, lo: float, hi: float, a: float, b: float, log: bool = False) -> None:
        if log:
            lo = math.log10(lo) if lo > 0 and math.isfinite(lo) else 0.0
            hi = math.log10(hi) if hi > 0 and math.isfinite(hi) else lo + 1.0
        if not (math.isfinite(lo) and math.isfinite(hi)):
            lo, hi = 0.0, 1.0
        # A span below 1e-9 of the values' own size is one value: float64 cannot tell it apart.
        if not hi - lo > 1e-9 * max(abs(lo), abs(hi)):
            pad = max(1.0, abs(lo) * 0.5) if abs(lo) < 1e300 else abs(lo) * 0.25
            lo, hi = lo - pad, hi + pad
        self.lo, self.hi, self.a, self.b, self.log = lo, hi, a, b, log

    def __call__(self, v: float) -> float:
        if self.log:
            x = math.log10(v) if v > 0 and math.isfinite(v) else (self.lo if v <= 0 else self.hi)
        else:
            x = v if math.isfinite(v) else (self.hi if v > 0 else self.lo)
        t = min(1.0, max(0.0, (x - self.lo) / (self.hi - self.lo)))
        return round(self.a + t * (self.b - self.a), 2)

    def contains(self, v: float) -> bool:
        x = math.log10(v) if self.log and v > 0 else v
        return (not self.log or v > 0) and self.lo - 1e-9 <= x <= self.hi + 1e-9

    def ticks(self, n: int = 5) -> list[tuple[float, str]]:
        if self.log:
            lo, hi = max(-300, math.floor(self.lo)), min(300, math.ceil(self.hi))
            step = max(1, (hi - lo) // n)
            values = [10.0**e for e in range(lo, hi + 1, step)]
        else:
            values = [float(v) for v in np.linspace(self.lo, self.hi, n)]
        out = []
        for v in values:
            x = math.log10(v) if self.log else v
            if self.lo - 1e-9 <= x <= self.hi + 1e-9:
                out.append((self(v), format_number(v)))
        return out


def _array(values: Sequence[float | None]) -> np.ndarray:
    return np.array([np.nan if v is None else v for v in values], dtype=np.float64)


def _reduce(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Bin medians plus min/max per bin, at most MAX_POINTS bins."""
    if x.size <= MAX_POINTS:
        return x, y, y, y
    edges = np.linspace(0, x.size, MAX_POINTS + 1).astype(int)
    xs, med, lo, hi = [], [], [], []
    for a, b in itertools.pairwise(edges):
        xs.append(float(np.median(x[a:b])))
        med.append(float(np.median(y[a:b])))
        lo.append(float(np.min(y[a:b])))
        hi.append(float(np.max(y[a:b])))
    return np.array(xs), np.array(med), np.array(lo), np.array(hi)


def _path(xs: np.ndarray, ys: np.ndarray, sx: _Scale, sy: _Scale) -> str:
    return " ".join(
        f"{'M' if i == 0 else 'L'}{sx(x)},{sy(y)}"
        for i, (x, y) in enumerate(zip(xs, ys, strict=True))
    )


def _band(xs: np.ndarray, lo: np.ndarray, hi: np.ndarray, sx: _Scale, sy: _Scale) -> str:
    upper = [f"{sx(x)},{sy(y)}" for x, y in zip(xs, hi, strict=True)]
    lower = [f"{sx(x)},{sy(y)}" for x, y in zip(xs[::-1], lo[::-1], strict=True)]
    return "M" + " L".join(upper + lower) + " Z"


def _y_scale(values: list[np.ndarray], extra: list[float], top: float, bottom: float) -> _Scale:
    finite = np.concatenate([v[np.isfinite(v)] for v in values] + [np.array(extra)])
    if finite.size == 0:
        return _Scale(0.0, 1.0, bottom, top)
    lo, hi = float(np.min(finite)), float(np.max(finite))
    positive = finite[finite > 0]
    if positive.size == finite.size and positive.size and hi > 30 * lo:
        return _Scale(float(np.min(positive)) / 1.3, hi * 1.3, bottom, top, log=True)
    pad = 0.05 * (hi - lo) if hi > lo else 0.5
    return _Scale(min(0.0, lo) if lo >= 0 and lo < 0.3 * hi else lo - pad, hi + pad, bottom, top)


def loss_chart(d: Diagnosis, run: Run, labels: dict[str, str]) -> Chart | None:
    series = []
    for split in ("train", "val", "test"):
        curve = run.curves.get(split)
        if curve is None:
            continue
        x = np.asarray(curve.steps(), dtype=np.float64)
        y = _array(curve.loss)
        order = np.argsort(x, kind="stable")
        series.append((split, x[order], y[order]))
    if not series:
        return None
    chance = next((e.value for e in d.events if e.kind == "chance_level"), None)
    chart = Chart(
        id="plot-loss",
        title=labels["plot_loss"],
        x_label=labels["step"],
        y_label=labels["loss"],
        log_y=False,
    )
    # The x-axis spans the points that exist (finite), plus the first non-finite one: a run
    # that diverged at step 14 of 680 is drawn over its 14 steps, not as a spike at the edge.
    all_x = np.concatenate([s[1][np.isfinite(s[2])] for s in series])
    events_x = [float(e.step) for e in d.events if e.kind == "nonfinite" and e.step is not None]
    all_x = np.concatenate([all_x, np.array(events_x)]) if events_x else all_x
    if all_x.size == 0:
        all_x = np.concatenate([s[1] for s in series])
    sx = _Scale(float(np.min(all_x)), float(np.max(all_x)), chart.plot_left, chart.plot_right)
    sy = _y_scale(
        [s[2] for s in series], [chance] if chance else [], chart.plot_top, chart.plot_bottom
    )
    chart.log_y = sy.log
    chart.x_ticks, chart.y_ticks = sx.ticks(), sy.ticks()
    for split, x, y in series:
        keep = np.isfinite(y) & ((y > 0) if sy.log else True) & (x >= sx.lo) & (x <= sx.hi)
        xs, med, lo, hi = _reduce(x[keep], y[keep])
        if xs.size == 0:
            continue
        line = Line(label=labels[split], color=SPLIT_COLORS[split], path=_path(xs, med, sx, sy))
        if xs.size != x[keep].size:
            line.band = _band(xs, lo, hi, sx, sy)
        if xs.size <= 60:
            line.dots = [(sx(a), sy(b)) for a, b in zip(xs, med, strict=True)]
        chart.lines.append(line)
    if chance:
        chart.markers.append(Marker(f"ln C = {format_number(chance)}", "#7f7f7f", y=sy(chance)))
    for e in d.events:
        if e.step is not None and not sx.contains(e.step):
            continue
        if e.kind == "nonfinite" and e.step is not None:
            chart.markers.append(
                Marker(f"{labels['nonfinite']} @ {e.step}", "#d62728", x=sx(e.step), dashed=False)
            )
        elif e.kind == "plateau_onset" and e.step is not None:
            chart.markers.append(Marker(f"{labels['plateau']} @ {e.step}", "#9467bd", x=sx(e.step)))
        elif (
            e.kind == "val_minimum"
            and e.step is not None
            and e.value is not None
            and (not sy.log or e.value > 0)
        ):
            label = f"{labels['val_min']} {format_number(e.value)}"
            chart.markers.append(Marker(label, SPLIT_COLORS["val"], x=sx(e.step), y=sy(e.value)))
    return chart


def _pick_layers(layers: list[LayerStats]) -> list[LayerStats]:
    if len(layers) <= MAX_LAYER_LINES:
        return layers
    idx = sorted(set(np.linspace(0, len(layers) - 1, MAX_LAYER_LINES).astype(int).tolist()))
    return [layers[i] for i in idx]


def grad_chart(d: Diagnosis, run: Run, labels: dict[str, str]) -> Chart | None:
    layers = [L for L in run.layers if L.grad_norm]
    if not layers:
        return None
    shown = _pick_layers(layers)
    chart = Chart(
        id="plot-grad",
        title=labels["plot_grad"],
        x_label=labels["step"],
        y_label=labels["grad_norm"],
        log_y=True,
    )
    values = [_array(L.grad_norm or []) for L in shown]
    positive = [v[np.isfinite(v) & (v > 0)] for v in values]
    pooled = np.concatenate(positive) if positive else np.array([])
    if pooled.size == 0:
        chart.note = labels["no_positive_grads"]
        return chart
    steps = np.concatenate([np.asarray(L.step, dtype=np.float64) for L in shown])
    sx = _Scale(float(steps.min()), float(steps.max()), chart.plot_left, chart.plot_right)
    sy = _Scale(
        float(pooled.min()) / 1.5,
        float(pooled.max()) * 1.5,
        chart.plot_bottom,
        chart.plot_top,
        log=True,
    )
    chart.x_ticks, chart.y_ticks = sx.ticks(), sy.ticks()
    flagged = _flagged_layers(d, "layers.vanishing", "layers.exploding")
    for i, (L, v) in enumerate(zip(shown, values, strict=True)):
        x = np.asarray(L.step, dtype=np.float64)
        keep = np.isfinite(v) & (v > 0)
        xs, med, _, _ = _reduce(x[keep], v[keep])
        if xs.size == 0:
            continue
        color = LAYER_PALETTE[i % len(LAYER_PALETTE)]
        chart.lines.append(
            Line(
                label=L.name + (" ⚠" if L.name in flagged else ""),
                color=color,
                path=_path(xs, med, sx, sy),
                width=2.8 if L.name in flagged else 1.4,
            )
        )
    if len(shown) < len(layers):
        chart.note = labels["layers_sampled"].format(shown=len(shown), total=len(layers))
    return chart


def _flagged_layers(d: Diagnosis, *symptoms: str) -> set[str]:
    """The layers the diagnosis named in these symptoms: the plots mark what was judged, and
    never judge again with numbers of their own."""
    return {
        str(v)
        for s in d.symptoms
        if s.symptom in symptoms
        for k, v in s.values.items()
        if k in ("layer", "first_layer", "last_layer")
    }


def layer_bars(
    run: Run,
    field_name: str,
    title: str,
    log: bool,
    chart_id: str,
    fmt_pct: bool,
    flagged: frozenset[str] | set[str] = frozenset(),
) -> Chart | None:
    # Each bar is the statistic the engine read (engine/symptoms.py): dead and saturated
    # fractions from ``layer_stats_from`` of the run on, update ratios over the whole run. The
    # red bars are the layers the diagnosis flagged; nothing is judged here.
    start = (
        DEFAULT_THRESHOLDS.layer_stats_from
        if field_name in ("dead_fraction", "saturated_fraction")
        else 0.0
    )
    rows = []
    for L in run.layers:
        series = getattr(L, field_name)
        if not series:
            continue
        value = finite_median(series, start)
        if value is not None:
            rows.append((L.name, value))
    if not rows:
        return None
    rows = rows[:40]
    bar_h = 16
    height = TOP + BOTTOM + bar_h * len(rows) + 10
    chart = Chart(id=chart_id, title=title, x_label="", y_label="", log_y=log, height=height)
    values = [v for _, v in rows]
    if log:
        positive = [v for v in values if v > 0] or [1e-8]
        sx = _Scale(
            min(positive) / 2, max(positive) * 2, chart.plot_left + 80, chart.plot_right, log=True
        )
    else:
        sx = _Scale(0.0, max(1.0, max(values)), chart.plot_left + 80, chart.plot_right)
    chart.x_ticks = sx.ticks()
    for i, (name, value) in enumerate(rows):
        y = TOP + i * bar_h
        start = chart.plot_left + 80
        end = sx(value) if (value > 0 or not log) else start
        text = f"{100 * value:.0f}%" if fmt_pct else format_number(value)
        color = "#d62728" if name in flagged else "#1f77b4"
        chart.bars.append(
            Bar(
                label=name,
                value_text=text,
                x=start,
                y=y + 2,
                width=max(0.0, end - start),
                height=bar_h - 4,
                color=color,
            )
        )
    return chart


def charts(d: Diagnosis, run: Run | None, labels: dict[str, str]) -> list[Chart]:
    if run is None:
        return []
    found = [
        loss_chart(d, run, labels),
        grad_chart(d, run, labels),
        layer_bars(
            run,
            "dead_fraction",
            labels["plot_dead"],
            False,
            "plot-dead",
            True,
            _flagged_layers(d, "layers.dead_relu", "layers.dead_from_start"),
        ),
        layer_bars(
            run,
            "saturated_fraction",
            labels["plot_saturated"],
            False,
            "plot-saturated",
            True,
            _flagged_layers(d, "layers.saturated"),
        ),
        layer_bars(
            run,
            "update_ratio",
            labels["plot_update"],
            True,
            "plot-update",
            False,
            _flagged_layers(d, "layers.update_burst", "layers.zero_update"),
        ),
    ]
    return [c for c in found if c is not None]
