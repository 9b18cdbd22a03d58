"""Features: robust summaries of curves and per-layer series. Pure functions, numpy only.

Every function here takes arrays and returns plain Python numbers, so the engine never sees
raw points, NaN or numpy scalars. Long curves are reduced to at most ``Thresholds.summary_bins``
bin medians first, which keeps every later statistic O(bins) and the whole pass O(points).
Every window, fraction and minimum count is a field of ``Thresholds`` (``th``); what is left
inline is arithmetic (a slope needs two points, "half"), indices and numerical epsilons.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from lossexpert.kb.thresholds import Thresholds
from lossexpert.runformat import Curve

FloatArray = NDArray[np.float64]
# A bound on memory and time, not a judgement: above this many (points x window) the local
# level is taken per non-overlapping window instead of a rolling one.
LOCAL_MEDIAN_MAX_WORK = 20_000_000


@dataclass(frozen=True)
class Series:
    """One curve, sorted by step, missing points dropped; values may be NaN/Inf."""

    steps: FloatArray
    values: FloatArray
    epochs: FloatArray | None

    @property
    def n(self) -> int:
        return int(self.values.size)

    def finite(self) -> FloatArray:
        return self.values[np.isfinite(self.values)]


def to_series(curve: Curve) -> Series:
    # numpy turns None into NaN for a float dtype; a None (missing point) must be dropped,
    # while a NaN (diverged) must stay, so the mask is taken from the list itself.
    values = np.array(curve.loss, dtype=np.float64)
    if None in curve.loss:  # a C-level scan; the per-item mask only when needed
        present = np.fromiter(
            (v is not None for v in curve.loss), dtype=bool, count=len(curve.loss)
        )
    else:
        present = np.ones(values.size, dtype=bool)
    steps = np.asarray(curve.steps(), dtype=np.float64)
    epochs = None
    if curve.epoch is not None:
        epochs = np.array(curve.epoch, dtype=np.float64)
    order = np.argsort(steps[present], kind="stable")
    return Series(
        steps=steps[present][order],
        values=values[present][order],
        epochs=None if epochs is None else epochs[present][order],
    )


def first_nonfinite(series: Series) -> tuple[int, float] | None:
    """(step, value) of the first NaN/Inf, or None."""
    bad = np.flatnonzero(~np.isfinite(series.values))
    if bad.size == 0:
        return None
    i = int(bad[0])
    return int(series.steps[i]), float(series.values[i])


def binned_medians(values: FloatArray, max_bins: int) -> FloatArray:
    """Medians of at most ``max_bins`` equal-size bins of the finite values, in order.

    Bins hold ``ceil(n / max_bins)`` points; the (fewer than a bin's worth of) leading points
    that do not fill a bin are left out, so the median is one vectorised call.
    """
    finite = values[np.isfinite(values)]
    if finite.size <= max_bins:
        return finite.astype(np.float64)
    k = -(-finite.size // max_bins)
    nb = finite.size // k
    return np.asarray(
        np.median(finite[finite.size - nb * k :].reshape(nb, k), axis=1), dtype=np.float64
    )


def level(values: FloatArray, start: float, end: float) -> float:
    """Median of the finite values between fractions ``start`` and ``end`` of the curve."""
    finite = values[np.isfinite(values)]
    if finite.size == 0:
        return math.nan
    a = math.floor(start * finite.size)
    b = max(a + 1, math.ceil(end * finite.size))
    return float(np.median(finite[a:b]))


def theil_sen_slope(y: FloatArray) -> float:
    """Median of pairwise slopes of y against position in [0, 1] (robust to spikes)."""
    n = y.size
    if n < 3:
        return 0.0 if n < 2 else float(y[-1] - y[0])
    x = np.linspace(0.0, 1.0, n)
    i, j = np.triu_indices(n, k=1)
    return float(np.median((y[j] - y[i]) / (x[j] - x[i])))


def rolling_median(values: FloatArray, window: int) -> FloatArray:
    """Centred rolling median; ``window`` is forced odd and at least 1."""
    window = max(1, window | 1)
    if window == 1 or values.size < window:
        return values.copy() if window == 1 else np.full_like(values, np.median(values))
    half = window // 2
    padded = np.pad(values, half, mode="edge")
    view = np.lib.stride_tricks.sliding_window_view(padded, window)
    return np.asarray(np.median(view, axis=1), dtype=np.float64)


def local_median(values: FloatArray, window: int) -> FloatArray:
    """The local level of a curve: a centred rolling median while that is cheap, else the
    median of each non-overlapping window (O(n) memory for curves of millions of points)."""
    if values.size * max(window, 1) <= LOCAL_MEDIAN_MAX_WORK:
        return rolling_median(values, window)
    window = max(1, window)
    n_chunks = -(-values.size // window)
    padded = np.pad(values, (0, n_chunks * window - values.size), mode="edge")
    medians = np.median(padded.reshape(n_chunks, window), axis=1)
    return np.asarray(np.repeat(medians, window)[: values.size], dtype=np.float64)


@dataclass(frozen=True)
class CurveSummary:
    n: int
    first: float  # loss at the first point (at init, when logged from step 0)
    start: float  # robust level over the first points (th.start_level_*)
    final: float  # robust level over the last points (th.final_level_from)
    minimum: float  # lowest bin median
    min_position: float  # where the minimum is, as a fraction of the run
    rel_improvement: float  # (start - final) / |start|
    late_log_slope: float  # Theil-Sen change of ln(loss) across the last third of the run
    noise: float  # median |residual| over the last half, relative to ``start``
    plateau_onset: float  # fraction of the run after which the level stays near final
    spikes: int  # points far above the local median
    nonfinite_step: int | None
    last_step: int
    min_step: int  # step of the lowest bin median (for plots and reports)
    plateau_step: int  # step where the plateau starts
    points_after_min: int  # how many points come after the minimum (a rise needs several)
    frozen_fraction: float  # trailing fraction of the curve with exactly one repeated value
    first_step: int = 0  # a curve that starts late is a window, not the whole run
    falling_fraction: float = 0.0  # share of point-to-point changes that go down
    sign_changes: float = 0.0  # share of consecutive changes that reverse direction
    exact_zero_fraction: float = 0.0  # share of finite points exactly 0.0
    late_level: float = math.nan  # median of the last fifth (th.late_level_*): robust end
    noise_abs: float = 0.0  # median |residual| over the second half, in loss units
    # The curve starts late in the run (a posted excerpt, a resumed log): its first point is
    # not the start of training, so progress since the start cannot be judged.
    is_window: bool = False


def summarize(series: Series, th: Thresholds) -> CurveSummary | None:
    finite = series.finite()
    if finite.size < 1:
        return None
    bins = binned_medians(finite, th.summary_bins)
    nb = bins.size
    head = max(1, min(th.start_level_max_points, math.ceil(th.start_level_fraction * finite.size)))
    start = float(np.median(finite[:head]))
    final = level(finite, th.final_level_from, 1.0)
    # The minimum of a lightly smoothed curve: one lucky low point is not a minimum.
    smoothed_bins = (
        rolling_median(bins, th.minimum_smoothing_window)
        if nb >= th.minimum_smoothing_min_bins
        else bins
    )
    imin = int(np.argmin(smoothed_bins))
    minimum = float(smoothed_bins[imin])
    # The last third; a short curve (a handful of posted points) keeps at least its last two.
    tail = bins[min(int(nb * th.late_slope_from), nb - 2) :]
    positive = tail[tail > 0]
    late = theil_sen_slope(np.log(positive)) if positive.size >= 2 else 0.0
    window = max(th.local_level_min_window, finite.size // th.local_level_window_divisor)
    smooth = local_median(finite, window)
    resid = np.abs(finite - smooth)
    half = finite.size // 2  # noise is read over the second half
    scale = abs(start) if start != 0 else 1.0
    # Too few points cannot separate a trend from noise around it.
    noisy = finite.size >= th.noise_min_points
    noise = float(np.median(resid[half:]) / scale) if noisy else 0.0
    local = np.maximum(np.abs(smooth), 1e-12)
    spikes = int(
        np.count_nonzero(
            (finite > th.spike_ratio * local)
            & (finite - smooth > th.spike_min_height_vs_start * scale)
        )
    )
    span = abs(start - final)
    band = max(th.plateau_band_of_drop * span, th.plateau_band_of_level * abs(final), 1e-12)
    outside = np.flatnonzero(np.abs(bins - final) > band)
    onset = 0.0 if outside.size == 0 else min(1.0, float(outside[-1] + 1) / nb)
    nf = first_nonfinite(series)
    first_step = int(series.steps[np.isfinite(series.values)][0])
    last_step = int(series.steps[-1])
    late_points = max(th.late_level_min_points, finite.size // th.late_level_divisor)
    return CurveSummary(
        n=series.n,
        first=float(finite[0]),
        start=start,
        final=final,
        minimum=minimum,
        min_position=imin / max(1, nb - 1),
        rel_improvement=(start - final) / scale,
        late_log_slope=late,
        noise=noise,
        plateau_onset=onset,
        spikes=spikes,
        nonfinite_step=None if nf is None else nf[0],
        last_step=last_step,
        min_step=_step_at(series, (imin + 0.5) / nb),
        plateau_step=_step_at(series, onset),
        points_after_min=round((nb - 1 - imin) / nb * finite.size),
        frozen_fraction=_frozen_tail(finite, th),
        first_step=first_step,
        falling_fraction=float(np.mean(np.diff(bins) < 0)) if nb >= 2 else 0.0,
        sign_changes=_sign_changes(bins),
        exact_zero_fraction=float(np.mean(finite == 0.0)),
        late_level=float(np.median(finite[-late_points:])),
        noise_abs=float(np.median(resid[half:])) if noisy else 0.0,
        # A first step of 0 or 1 is the start of training, however short the curve.
        is_window=first_step > th.window_start_fraction * max(last_step, 1) and first_step > 1,
    )


def begin_level(s: CurveSummary, th: Thresholds) -> float:
    """Where training started from: the untrained model's loss (the first point, when logged at
    step 0 or 1) if it is above the robust start level, which a loss falling fast in its first
    points pulls down; and the first point too when the robust start is several times above
    it, the level of a blow-up in the first steps rather than of the untrained model."""
    if blew_up_early(s, th):
        return s.first
    if s.first_step <= 1 and not s.is_window and math.isfinite(s.first):
        return max(s.start, s.first)
    return s.start


def blew_up_early(s: CurveSummary, th: Thresholds) -> bool:
    """The robust start level is several times the untrained model's loss (the first point,
    logged at step 0 or 1): the first steps blew up, and that start is the explosion's level."""
    return (
        s.first_step <= 1
        and not s.is_window
        and math.isfinite(s.first)
        and s.first > 0
        and s.start >= th.spike_ratio * s.first
    )


def progress(s: CurveSummary, th: Thresholds) -> float:
    """The share of the starting loss removed: from the robust start (``rel_improvement``),
    or from the untrained model's loss when the first steps blew up (falling back from an
    explosion is not progress)."""
    if blew_up_early(s, th):
        return (s.first - s.final) / s.first
    return s.rel_improvement


def _sign_changes(values: FloatArray) -> float:
    """Share of consecutive changes that reverse direction: ~0 for a steady trend, ~2/3 for
    noise around a level."""
    d = np.sign(np.diff(values))
    d = d[d != 0]
    if d.size < 2:
        return 0.0
    return float(np.mean(d[1:] != d[:-1]))


def _frozen_tail(finite: FloatArray, th: Thresholds) -> float:
    """The fraction of the curve, from the end, over which the value stays within
    ``th.frozen_rel_tol`` of its last value (relative): a minibatch loss that still learns
    moves far more than that."""
    last = finite[-1]
    tol = th.frozen_rel_tol * max(abs(float(last)), 1e-12)
    changed = np.flatnonzero(np.abs(finite - last) > tol)
    tail = finite.size - (int(changed[-1]) + 1 if changed.size else 0)
    return tail / finite.size


def _step_at(series: Series, fraction: float) -> int:
    """The step at a fraction of the way through the curve's finite points."""
    steps = series.steps[np.isfinite(series.values)]
    i = min(steps.size - 1, max(0, int(fraction * steps.size)))
    return int(steps[i])


def epoch_phase_r2(
    values: FloatArray, period: int, th: Thresholds, min_epochs: int
) -> tuple[float, float] | None:
    """How much of the detrended loss is explained by the position inside the epoch.

    Unshuffled data leaves a saw-tooth: the same batches come in the same order every epoch,
    so the residual depends on the batch index. Returns (R², the R² expected by chance) or None
    when there are too few epochs to tell.
    """
    finite = values[np.isfinite(values)]
    if (
        period < th.saw_tooth_min_period
        or period > th.saw_tooth_max_period
        or finite.size < min_epochs * period
    ):
        return None
    finite = finite[-th.saw_tooth_epochs_read * period :]  # the last epochs tell; bounds the work
    n = finite.size
    trend = local_median(finite, period)
    resid = finite - trend
    phase = np.arange(n) % period
    total = float(np.sum((resid - resid.mean()) ** 2))
    if total <= 0:
        return None
    sums = np.bincount(phase, weights=resid, minlength=period)
    counts = np.bincount(phase, minlength=period)
    means = sums / np.maximum(counts, 1)
    within = float(np.sum((resid - means[phase]) ** 2))
    return 1.0 - within / total, (period - 1) / (n - 1)


def dominant_period(values: FloatArray, th: Thresholds) -> int | None:
    """The lag of the strongest autocorrelation peak of the detrended curve (a repeating
    pattern's period), or None when no lag stands out (peak below
    ``th.period_min_autocorrelation``)."""
    max_period = th.period_search_max
    finite = values[np.isfinite(values)][-th.saw_tooth_epochs_read * max_period :]
    n = finite.size
    if n < th.period_search_min_points:
        return None
    detrend = max(th.period_detrend_min_window, n // th.period_detrend_divisor) | 1  # odd
    resid = finite - local_median(finite, detrend)
    resid = resid - resid.mean()
    denom = float(np.dot(resid, resid))
    if denom <= 0:
        return None
    size = 1 << (2 * n - 1).bit_length()
    spectrum = np.fft.rfft(resid, size)
    acf = np.fft.irfft(spectrum * np.conj(spectrum), size)[: n // 2] / denom
    hi = min(acf.size - 1, max_period)
    shortest = th.saw_tooth_min_period
    if hi < shortest + 1:  # no lag with a neighbour on each side to be a peak
        return None
    lags = np.arange(shortest, hi)
    peaks = lags[(acf[lags] > acf[lags - 1]) & (acf[lags] >= acf[lags + 1])]
    if peaks.size == 0:
        return None
    best = int(peaks[np.argmax(acf[peaks])])
    return best if acf[best] >= th.period_min_autocorrelation else None


def steps_per_epoch_from(series: Series, th: Thresholds) -> int | None:
    """Points per epoch when the curve logs every step with a fractional epoch column."""
    if series.epochs is None:
        return None
    e = series.epochs[np.isfinite(series.epochs)]
    if e.size < th.epoch_column_min_points:
        return None
    whole = np.floor(e - 1e-9)  # epoch 3.0 closes epoch 2 (a float epsilon, not a judgement)
    _, counts = np.unique(whole, return_counts=True)
    if counts.size < th.epoch_column_min_epochs:
        return None
    return int(np.median(counts))


def finite_median(values: list[float | None] | None, start: float = 0.0) -> float | None:
    """Median of the finite values from fraction ``start`` on; None when there are none."""
    if not values:
        return None
    a = np.array([np.nan if v is None else v for v in values], dtype=np.float64)
    a = a[int(start * a.size) :]
    a = a[np.isfinite(a)]
    return float(np.median(a)) if a.size else None


def count_nonfinite(values: list[float | None] | None) -> int:
    if not values:
        return 0
    return sum(1 for v in values if v is not None and not math.isfinite(v))


def growth_decades(values: list[float | None] | None, th: Thresholds) -> float | None:
    """log10 of (late level / early level) of a positive series; None if undefined."""
    if not values or len(values) < th.growth_min_points:
        return None
    a = np.array([np.nan if v is None else v for v in values], dtype=np.float64)
    a = a[np.isfinite(a) & (a > 0)]
    if a.size < th.growth_min_points:
        return None
    k = max(1, a.size // th.growth_window_divisor)
    return float(math.log10(np.median(a[-k:]) / np.median(a[:k])))
