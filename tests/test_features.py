"""Feature extractors on synthetic curves with known answers."""

from __future__ import annotations

import math

import numpy as np
import pytest

from lossexpert.engine import features as F
from lossexpert.kb.thresholds import DEFAULT_THRESHOLDS as TH
from lossexpert.runformat import Curve


def series(values: list[float], epochs: list[float] | None = None) -> F.Series:
    return F.to_series(Curve(loss=values, epoch=epochs))


def test_theil_sen_recovers_a_line_despite_outliers() -> None:
    y = np.linspace(0, 1, 50) * 3.0 + 1.0
    y[[5, 20, 33]] = 100.0
    assert F.theil_sen_slope(y) == pytest.approx(3.0, rel=1e-6)


def test_first_nonfinite_reports_step_and_value() -> None:
    s = F.to_series(Curve(loss=[1.0, 0.9, float("inf"), float("nan")], step=[0, 10, 20, 30]))
    assert F.first_nonfinite(s) == (20, math.inf)
    assert F.first_nonfinite(series([1.0, 0.5])) is None


def test_missing_points_are_dropped_and_unsorted_steps_sorted() -> None:
    # The run format refuses decreasing steps; a Curve built without validation (as an
    # importer's internals may) is still sorted before any statistic is taken.
    s = F.to_series(Curve.model_construct(loss=[3.0, None, 1.0], step=[20, 10, 0]))
    assert s.steps.tolist() == [0.0, 20.0]
    assert s.values.tolist() == [1.0, 3.0]


def test_summary_of_exponential_decay() -> None:
    values = [0.1 + 2.2 * math.exp(-8 * i / 500) for i in range(500)]
    s = F.summarize(series(values), TH)
    assert s is not None
    assert s.start == pytest.approx(2.3, rel=0.05)
    assert s.final == pytest.approx(0.1, rel=0.05)
    assert s.rel_improvement == pytest.approx(1 - 0.1 / 2.3, abs=0.02)
    assert abs(s.late_log_slope) < 0.1  # flat at the end
    assert s.plateau_onset < 0.6
    assert s.nonfinite_step is None


def test_summary_of_a_curve_still_falling() -> None:
    values = [2.3 - 1.5 * i / 300 for i in range(300)]  # linear fall to 0.8
    s = F.summarize(series(values), TH)
    assert s is not None
    assert -s.late_log_slope > 0.3  # ln(1.3/0.8) ~ 0.49 over the last third
    assert s.plateau_onset > 0.8  # only the last ~15 % is within 10 % of the final level


def test_summary_needs_one_finite_point() -> None:
    # One value per split is what people post: it still compares with the other splits.
    assert F.summarize(series([float("nan"), float("inf")]), TH) is None
    one = F.summarize(series([float("nan"), 1.0]), TH)
    assert one is not None and one.first == one.final == 1.0


def test_binned_medians_bound_the_work() -> None:
    values = np.arange(100_000, dtype=float)
    bins = F.binned_medians(values, max_bins=200)
    assert bins.size == 200
    assert bins[0] == pytest.approx(249.5)
    assert np.all(np.diff(bins) > 0)


def test_epoch_phase_r2_sees_a_saw_tooth_and_not_noise() -> None:
    rng = np.random.default_rng(0)
    period, epochs = 20, 10
    saw = np.tile(np.linspace(1.0, 2.0, period), epochs) + rng.normal(0, 0.05, period * epochs)
    noise = 1.5 + rng.normal(0, 0.3, period * epochs)
    r2_saw, chance = F.epoch_phase_r2(saw, period, TH, min_epochs=3)  # type: ignore[misc]
    r2_noise, _ = F.epoch_phase_r2(noise, period, TH, min_epochs=3)  # type: ignore[misc]
    assert r2_saw > 0.8
    assert r2_noise < chance + 0.1
    assert F.epoch_phase_r2(saw[:40], period, TH, min_epochs=3) is None  # fewer than 3 epochs


def test_steps_per_epoch_from_fractional_epochs() -> None:
    epochs = [e + (i + 1) / 25 for e in range(4) for i in range(25)]
    assert F.steps_per_epoch_from(series([1.0] * len(epochs), epochs), TH) == 25


def test_rolling_median_removes_single_spikes() -> None:
    values = np.ones(50)
    values[25] = 100.0
    assert F.rolling_median(values, 5)[25] == 1.0


def test_growth_decades_and_nonfinite_counts() -> None:
    assert F.growth_decades([1.0] * 10 + [1000.0] * 10, TH) == pytest.approx(3.0)
    assert F.growth_decades([1.0, 2.0], TH) is None
    assert F.count_nonfinite([1.0, float("nan"), None, float("inf")]) == 2
    assert F.finite_median([None, float("nan"), 3.0, 1.0]) == 2.0
    assert F.finite_median([]) is None


def test_frozen_tail_is_measured_relative_to_the_level() -> None:
    stuck = [2.0 - 0.01 * i for i in range(100)] + [0.25 + 1e-6 * (i % 3) for i in range(300)]
    s = F.summarize(series(stuck), TH)
    assert s is not None and s.frozen_fraction == pytest.approx(0.75, abs=0.01)
    rng = np.random.default_rng(0)
    learning = [0.25 + 0.01 * rng.standard_normal() for _ in range(400)]
    s2 = F.summarize(series(learning), TH)
    assert s2 is not None and s2.frozen_fraction < 0.01
