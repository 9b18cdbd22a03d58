"""Features -> symptoms: compare the summaries of a run with the thresholds.

A symptom is a named, bounded fact with a strength in (0, 1] and the numbers that justify it.
This is the only place that reads a ``Run``; the rule engine sees symptoms and nothing else.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

import numpy as np

from lossexpert.engine import features as F
from lossexpert.engine.facts import (
    ADAPTIVE_OPTIMIZERS,
    CROSS_ENTROPY,
    DYING,
    LOGIT_LOSSES,
    NON_SATURATING,
    REGRESSION_LOSSES,
    SATURATING,
    Event,
    Findings,
    Scalar,
    Source,
    Symptom,
    chance_level,
    grade,
    is_classification,
    level_vs_chance,
    loss_floor,
    num_classes,
    target_variance,
)
from lossexpert.engine.facts import norm_name as _norm
from lossexpert.engine.signatures import (
    chance_from_first_loss,
    config_signatures,
    init_loss_high,
    layer_signatures,
    normal_state,
    train_signatures,
    val_frozen,
    val_signatures,
)
from lossexpert.kb.thresholds import Thresholds
from lossexpert.runformat import Config, DataStats, LayerStats, Run, Split

__all__ = [
    "Event",
    "Findings",
    "Scalar",
    "Source",
    "Symptom",
    "chance_level",
    "extract",
    "grade",
    "num_classes",
]


def extract(run: Run, th: Thresholds) -> Findings:
    out = Findings()
    chance = chance_level(run)
    series = {split: F.to_series(curve) for split, curve in run.curves.items()}
    summaries: dict[str, F.CurveSummary | None] = {
        split: F.summarize(s, th) for split, s in series.items()
    }
    if chance is None:
        chance = chance_from_first_loss(run, summaries.get("train"), th, out)
    if chance is not None:
        out.context["chance"] = round(chance, 4)
        out.events.append(Event("chance_level", None, None, round(chance, 4)))
    train = run.curves.get("train")
    tr = summaries.get("train")
    ref = chance if chance is not None else (tr.start if tr is not None else None)
    if ref is not None and ref > 0:
        out.context["reference"] = round(ref, 4)
    for split in ("train", "val", "test"):
        if split not in run.curves:
            out.missing.append(f"curves.{split}")
    if train is not None:
        _train_symptoms(run, series["train"], tr, chance, th, out)
    # What guessing scores on held-out data: ln C, or for a squared-error regression the
    # variance of the targets (predicting their mean).
    guess = chance if chance is not None else target_variance(run)
    _val_test_symptoms(summaries, series, ref, guess, th, out)
    if train is not None:
        val_frozen(run, series.get("val"), th, out)
    _config_symptoms(run, th, out)
    config_signatures(run, th, out)
    if run.layers:
        _layer_symptoms(run.layers, th, out)
        _init_gain_compounded(run, th, out)
        layer_signatures(run.layers, th, out)
        _drop_small_batch_dead_units(run, th, out)
    else:
        out.missing.append("layers")
    if run.data:
        _data_symptoms(run, th, out)
    else:
        out.missing.append("data")
    normal_state(run, th, out)
    _events(summaries, out)
    if not run.config.model_fields_set:
        out.missing.append("config")
    return out


def _events(summaries: Mapping[str, F.CurveSummary | None], out: Findings) -> None:
    tr, va = summaries.get("train"), summaries.get("val")
    if tr is not None and tr.nonfinite_step is not None:
        out.events.append(Event("nonfinite", "train", tr.nonfinite_step, None))
    if tr is not None and (out.has("train.plateau") or out.has("train.at_chance")):
        out.events.append(Event("plateau_onset", "train", tr.plateau_step, tr.final))
    if va is not None and (out.has("val.rising") or out.has("val.gap")):
        out.events.append(Event("val_minimum", "val", va.min_step, va.minimum))


def _train_symptoms(
    run: Run,
    series: F.Series,
    s: F.CurveSummary | None,
    chance: float | None,
    th: Thresholds,
    out: Findings,
) -> None:
    nf = F.first_nonfinite(series)
    if nf is not None:
        out.add(
            "train.nonfinite",
            "curves",
            th.train_nonfinite_strength,
            step=nf[0],
            value=nf[1],
            finite_points=int(np.isfinite(series.values).sum()),
        )
    if s is None or s.n < 2:  # fewer than two finite points: nothing to judge
        out.missing.append("curves.train.short")
        return
    out.context["train_final"] = s.final
    out.context["train_start"] = s.start
    sparse = s.n < th.min_points
    if sparse:
        # What people post: a handful of points. Diagnose what they support, say so, and
        # weigh every curve fact at ``sparse_strength``.
        out.missing.append("curves.train.sparse")
        out.context["train_points"] = s.n
    first_new = len(out.symptoms)
    if nf is None:
        # Past a NaN the finite tail says nothing about progress; the non-finite fact says it all.
        _progress_symptoms(run, series, s, chance, th, out)
    _shape_symptoms(run, series, s, chance, th, out)
    train_signatures(run, series, s, chance, th, out)
    if sparse:
        out.symptoms[first_new:] = [
            replace(x, strength=round(x.strength * th.sparse_strength, 3))
            if x.source == "curves"
            else x
            for x in out.symptoms[first_new:]
        ]


def _progress_symptoms(
    run: Run,
    series: F.Series,
    s: F.CurveSummary,
    chance: float | None,
    th: Thresholds,
    out: Findings,
) -> None:
    # Frozen at ~0 is a perfect fit, not a stall.
    fitted = abs(s.final) <= th.frozen_fitted_vs_start * abs(s.start)
    repeated = round(s.frozen_fraction * s.n)
    long_enough = s.n >= th.frozen_min_points
    frozen = s.frozen_fraction >= th.frozen_fraction and long_enough
    # A short curve: a few trailing points with one exact value, over much of the curve.
    frozen |= (
        not long_enough
        and repeated >= th.frozen_short_min_repeats
        and s.frozen_fraction >= th.frozen_short_fraction
    )
    if frozen and not fitted:
        out.add(
            "train.frozen",
            "curves",
            th.train_frozen_strength,
            value=s.final,
            frozen_pct=100 * s.frozen_fraction,
        )
    ref = chance if chance is not None else s.start
    rising = s.late_log_slope > th.plateau_log_slope or s.final > s.start
    if (
        s.minimum > 0
        and s.final / s.minimum >= th.diverge_ratio
        and rising
        and s.final - s.minimum >= th.diverge_min_rise_vs_ref * abs(ref)
    ):
        out.add(
            "train.diverging",
            "curves",
            grade(s.final / s.minimum, th.diverge_ratio, th.train_diverging_full_at),
            minimum=s.minimum,
            final=s.final,
            ratio=s.final / s.minimum,
        )
    # A short curve that fell at (nearly) every point is learning, however little in total;
    # a late window of a run (a posted excerpt) cannot show progress since the start.
    steadily_falling = (
        s.n < th.min_points
        and s.n >= th.steady_fall_min_points
        and s.falling_fraction >= th.steady_fall_fraction
    )
    # Counted from the untrained model's loss when the first steps blew up (the robust start
    # is then the explosion's level, and falling back from it is no progress).
    improvement = F.progress(s, th)
    if improvement < th.no_progress_rel and not steadily_falling and not s.is_window:
        out.add(
            "train.no_progress",
            "curves",
            grade(-improvement, -th.no_progress_rel, -th.train_no_progress_full_at),
            start=s.first if F.blew_up_early(s, th) else s.start,
            final=s.final,
            improvement_pct=100 * improvement,
        )
    # A short curve falling at (nearly) every point has not levelled off, whatever its slope.
    plateaued = abs(s.late_log_slope) < th.plateau_log_slope and not steadily_falling
    # A few points still falling steeply are early training, not a final level.
    still_moving = s.n < th.min_points and -s.late_log_slope > th.still_falling_log_drop
    if chance is not None:
        if abs(s.final - chance) <= th.at_chance_tol * chance and plateaued:
            out.add(
                "train.at_chance",
                "curves",
                th.train_at_chance_strength,
                final=s.final,
                chance=chance,
            )
        floor = loss_floor(run)  # label smoothing lifts it above 0
        ratio = (s.final - floor) / max(chance - floor, 1e-12)
        if ratio > th.high_final_vs_chance and not still_moving:
            out.add(
                "train.high_final",
                "curves",
                grade(ratio, th.high_final_vs_chance, th.train_high_final_vs_chance_full_at),
                final=s.final,
                chance=chance,
                ratio=ratio,
            )
        # The count the config gives, else the one the first loss gave (ln C at init), else
        # none: binary.
        inferred = out.context.get("classes_from_first_loss")
        c = num_classes(run) or (inferred if isinstance(inferred, int) else 2)
        # Cross-entropy of C logits squashed into [0, 1]: ln(1 + (C - 1)/e) at best.
        floor = math.log(1.0 + (c - 1) / math.e)
        # Squashed outputs bound every sample's loss, so no batch mean can go below the floor:
        # batches that do were not squashed, however the average runs.
        below = np.count_nonzero(series.finite() < th.bounded_floor_below * floor)
        refuted = below >= th.bounded_floor_raw_points
        many = c >= th.softmax_floor_min_classes and not refuted
        if many and abs(s.final - floor) <= th.softmax_floor_tol * floor and plateaued:
            out.add(
                "train.softmax_floor",
                "curves",
                th.train_softmax_floor_strength,
                final=s.final,
                floor=floor,
                classes=c,
            )
        elif (
            many
            and s.minimum >= th.bounded_floor_below * floor
            and s.final <= th.bounded_floor_above * floor
        ):
            # Approaching that floor from above and never crossing it: outputs squashed into
            # [0, 1] (softmax, sigmoid) before a loss that expects logits.
            out.add(
                "train.near_bounded_floor",
                "curves",
                th.train_near_bounded_floor_strength,
                final=s.final,
                floor=floor,
                classes=c,
            )
    elif (variance := target_variance(run)) is not None and not s.is_window:
        # A squared-error regression's chance level is the variance of its targets (the loss
        # of predicting their mean): the share of it left on the training data is 1 - R².
        ratio = s.final / variance
        if ratio > th.high_final_vs_variance and not still_moving:
            out.add(
                "train.high_final",
                "curves",
                grade(ratio, th.high_final_vs_variance, th.train_high_final_vs_variance_full_at),
                final=s.final,
                chance=variance,
                ratio=ratio,
                kind="variance",
            )
    elif (
        (begin := F.begin_level(s, th)) > 0
        and s.final / begin > th.high_final_vs_start
        and plateaued
        and not s.is_window
    ):
        out.add(
            "train.high_final",
            "curves",
            grade(s.final / begin, th.high_final_vs_start, th.train_high_final_vs_start_full_at),
            final=s.final,
            start=begin,
            ratio=s.final / begin,
        )
    level = _level_vs_chance(run, s, chance)
    sparse = s.n < th.min_points  # a few posted points falling is early training, no verdict
    falling = -s.late_log_slope > th.unfinished_log_drop
    if falling and level > th.unfinished_level and not sparse:
        # Still falling at a level far from a fit: the run stopped before it converged.
        out.add(
            "train.unfinished",
            "curves",
            grade(-s.late_log_slope, th.unfinished_log_drop, th.train_unfinished_full_at),
            drop_pct=100 * (1 - math.exp(s.late_log_slope)),
            final=s.final,
            level_pct=100 * level,
        )
    if -s.late_log_slope > th.still_falling_log_drop:
        out.add(
            "train.still_falling",
            "curves",
            grade(-s.late_log_slope, th.still_falling_log_drop, th.train_still_falling_full_at),
            drop_pct=100 * (1 - math.exp(s.late_log_slope)),
            final=s.final,
        )
    if plateaued and improvement >= th.no_progress_rel:
        out.add(
            "train.plateau",
            "curves",
            th.train_plateau_strength,
            final=s.final,
            onset=s.plateau_onset,
            late_change_pct=100 * (math.exp(s.late_log_slope) - 1),
        )


def _shape_symptoms(
    run: Run,
    series: F.Series,
    s: F.CurveSummary,
    chance: float | None,
    th: Thresholds,
    out: Findings,
) -> None:
    if chance is not None:
        init_loss_high(s, chance, th, out)
    if s.noise > th.noisy_late:
        out.add(
            "train.oscillating",
            "curves",
            grade(s.noise, th.noisy_late, th.train_oscillating_full_at),
            noise=s.noise,
            spikes=s.spikes,
        )
    # Unshuffled data repeats the same batch order every epoch, so the loss repeats a pattern
    # of the epoch's length. When the length was not recorded, the strongest autocorrelation
    # peak proposes one; many periods were tried then, so the bar is higher.
    known = run.config.steps_per_epoch or F.steps_per_epoch_from(series, th)
    searchable = series.n >= th.saw_tooth_search_min_points
    period = known or (F.dominant_period(series.values, th) if searchable else None)
    bar, min_epochs = (
        (th.saw_tooth_r2, th.saw_tooth_min_epochs_known)
        if known
        else (th.saw_tooth_r2_searched, th.saw_tooth_min_epochs_searched)
    )
    if period:
        r2 = F.epoch_phase_r2(series.values, period, th, min_epochs=min_epochs)
        if r2 is not None and r2[0] - r2[1] > bar:
            out.add(
                "train.saw_tooth",
                "curves",
                grade(r2[0] - r2[1], bar, bar + th.train_saw_tooth_full_above_bar),
                r2=r2[0],
                chance_r2=r2[1],
                period=period,
            )


def _train_rise(series: Mapping[Split, F.Series], va: F.CurveSummary) -> float:
    """How much the train loss rose from the val minimum's step to the end (0 if it fell).

    Over-fitting is a generalisation gap that widens: val rises while train keeps falling or
    holds. What train rose by over the same steps is the training itself getting worse (a step
    that became too large, a noisy phase), which the train curve's own symptoms judge; only the
    rest of val's rise is the gap widening."""
    train, val = series.get("train"), series.get("val")
    if train is None or val is None:
        return 0.0
    ok = np.isfinite(train.values)
    steps, values = train.steps[ok], train.values[ok]
    vsteps = val.steps[np.isfinite(val.values)]
    if vsteps.size < 2 or steps.size == 0:
        return 0.0
    gap = float(np.median(np.diff(vsteps)))  # the steps between two evaluations
    near = values[np.abs(steps - va.min_step) <= gap]
    late_from = vsteps[-max(1, min(vsteps.size, round(vsteps.size / 5)))]
    late = values[steps >= late_from - gap / 2]
    if near.size == 0 or late.size == 0:
        return 0.0
    return max(0.0, float(np.median(late)) - float(np.median(near)))


# A recurrent cell's nonlinearities live inside it, not in activation modules: an LSTM's and a
# GRU's gates are sigmoids and their candidate state a tanh (Hochreiter & Schmidhuber 1997;
# Cho et al. 2014; torch.nn.LSTM / GRU). A plain nn.RNN's may be tanh or ReLU: not inferred.
_GATED_CELLS = ("lstm", "gru")


def _gate_activations(layer_types: list[str]) -> set[str]:
    types = {_norm(t) for t in layer_types}
    gated = any(t.startswith(_GATED_CELLS) for t in types)
    return {"sigmoid", "tanh"} if gated else set()


def _val_test_symptoms(
    summaries: Mapping[str, F.CurveSummary | None],
    series: Mapping[Split, F.Series],
    ref: float | None,
    guess: float | None,
    th: Thresholds,
    out: Findings,
) -> None:
    tr, va, te = summaries.get("train"), summaries.get("val"), summaries.get("test")
    scale = ref if ref is not None and ref > 0 else None
    if va is not None and va.n < th.val_trend_min_points:
        # Too short for a rise; a final value still compares with train and test.
        out.missing.append("curves.val.short")
    if va is not None:
        out.context["val_final"] = va.final
        # The end level over the last fifth, and a rise beyond the curve's own noise: one
        # noisy evaluation is not over-fitting.
        late = va.n >= th.val_late_level_min_points
        rise = va.late_level - va.minimum if late else va.final - va.minimum
        # The gap's growth: what train rose by over the same steps is not over-fitting.
        widening = rise - _train_rise(series, va)
        if widening < rise:
            out.context["val_rise_shared_with_train"] = round(rise - widening, 4)
        stopped = _stopped_at_minimum(va, summaries, th)
        if stopped:
            out.missing.append("curves.val.stopped_at_minimum")
            out.context["val_min_step"] = va.min_step
        if (
            va.n >= th.val_trend_min_points
            and not stopped
            and va.minimum > 0
            and widening > th.val_rise_vs_noise * va.noise_abs
            and widening / va.minimum > th.val_rise_rel
            and va.min_position < th.val_min_before
            and va.points_after_min >= th.val_rise_min_points_after_min
            and (scale is None or widening > th.val_rise_abs_vs_ref * scale)
        ):
            out.add(
                "val.rising",
                "curves",
                grade(rise / va.minimum, th.val_rise_rel, th.val_rising_full_at),
                minimum=va.minimum,
                final=va.final,
                rise_pct=100 * rise / va.minimum,
                # Over the run's steps (the longest curve's last step), not the val points.
                min_at_pct=100
                * va.min_step
                / max(1, *(s.last_step for s in summaries.values() if s is not None)),
            )
        if tr is not None and scale is not None and not stopped:
            gap = (va.final - tr.final) / scale
            if gap > th.gap_vs_ref and va.final > th.gap_ratio * max(tr.final, 0.0):
                out.add(
                    "val.gap",
                    "curves",
                    grade(gap, th.gap_vs_ref, th.val_gap_full_at),
                    val=va.final,
                    train=tr.final,
                    gap=va.final - tr.final,
                    reference=scale,
                )
        if va.n >= th.val_trend_min_points and -va.late_log_slope > th.still_falling_log_drop:
            out.add(
                "val.still_falling",
                "curves",
                th.val_still_falling_strength,
                drop_pct=100 * (1 - math.exp(va.late_log_slope)),
            )
        val_signatures(tr, va, scale, guess, th, out)
    if te is not None:
        out.context["test_final"] = te.final
    if te is not None and va is not None and va.final > 0:
        ratio = te.final / va.final
        excess = te.final - va.final
        if ratio >= th.test_vs_val_ratio and (scale is None or excess > th.test_vs_val_abs * scale):
            out.add(
                "test.above_val",
                "curves",
                grade(ratio, th.test_vs_val_ratio, th.test_above_val_full_at),
                test=te.final,
                val=va.final,
                ratio=ratio,
            )
        else:
            _test_lags_val(va, te, th, out)
    elif te is not None and tr is not None and va is None and tr.final > 0 and scale is not None:
        excess = te.final - tr.final
        if te.final / tr.final >= th.test_vs_val_ratio and excess > th.gap_vs_ref * scale:
            out.add(
                "test.above_train",
                "curves",
                th.test_above_train_strength,
                test=te.final,
                train=tr.final,
            )


def _test_lags_val(va: F.CurveSummary, te: F.CurveSummary, th: Thresholds, out: Findings) -> None:
    """What the model learned lowers the val loss and much less the test loss: the test data
    is not drawn as the val data is. A test loss a multiple of val (test.above_val) says it
    at the end; this says it by the gains, which a loss near zero cannot blur."""
    if min(va.n, te.n) < th.val_trend_min_points or va.first <= 0:
        return
    val_gain = va.first - va.final
    if val_gain < th.test_lag_min_val_gain * va.first or te.final <= va.final:
        return
    test_gain = te.first - te.final
    if test_gain >= th.test_lag_fraction * val_gain:
        return
    out.add(
        "test.lags_val",
        "curves",
        grade(test_gain / val_gain, th.test_lag_fraction, 0.0),
        val_gain_pct=100 * val_gain / va.first,
        test_gain_pct=100 * test_gain / te.first if te.first > 0 else 0.0,
        test=te.final,
        val=va.final,
    )


def _level_vs_chance(run: Run, s: F.CurveSummary, chance: float | None) -> float:
    """Where the final loss sits between the loss's floor (0) and the chance level (1);
    without a chance level, against where the curve started."""
    if chance is not None:
        return level_vs_chance(run, s.final, chance)
    if s.start > 0 and not s.is_window:
        return s.final / s.start
    return 0.0


def _stopped_at_minimum(
    va: F.CurveSummary, summaries: Mapping[str, F.CurveSummary | None], th: Thresholds
) -> bool:
    """Training ended a few evaluations after the val minimum, on a curve long enough that
    those few are a small part of it: early stopping did its job (keep the best checkpoint),
    not over-fitting left to run."""
    # Patience is a few evaluations; a long enough curve keeps them a minority of it.
    if va.n < th.early_stop_min_val_points or va.points_after_min > th.early_stop_patience_points:
        return False
    # A val curve that ends at its minimum was not stopped by a patience: it was still
    # improving, and nothing says a better checkpoint was kept.
    if va.points_after_min == 0:
        return False
    # Nor was one still falling over its last third: an uptick after the minimum is noise.
    if -va.late_log_slope > th.still_falling_log_drop:
        return False
    last = max(s.last_step for s in summaries.values() if s is not None)
    return va.last_step >= th.early_stop_end_fraction * last


def _test_inputs_differ(th: Thresholds, out: Findings) -> None:
    """Test inputs measured to differ from the training ones, and a test loss well above val:
    a smaller excess than the curves alone need (test.above_val), since the inputs say why."""
    measured = out.has("data.test_shift") or out.has("data.test_noisier")
    if out.has("test.above_val") or not measured:
        return
    val, test, ref = (out.context.get(k) for k in ("val_final", "test_final", "reference"))
    if not (isinstance(val, float) and isinstance(test, float)) or val <= 0:
        return
    if test < th.test_vs_val_measured_ratio * val:
        return
    if isinstance(ref, float) and test - val <= th.test_vs_val_measured_abs * ref:
        return
    out.add(
        "test.inputs_differ",
        "data",
        th.test_inputs_differ_strength,
        test=test,
        val=val,
        ratio=test / val,
    )


def _config_symptoms(run: Run, th: Thresholds, out: Findings) -> None:
    cfg: Config = run.config
    opt = _norm(cfg.optimizer.name if cfg.optimizer else None)
    adaptive = any(opt.startswith(a) for a in ADAPTIVE_OPTIMIZERS)
    lr = cfg.peak_lr()
    if lr is None:
        out.missing.append("config.learning_rate")
    elif opt:
        hi = th.lr_high_adaptive if adaptive else th.lr_high_sgd
        lo = th.lr_low_adaptive if adaptive else th.lr_low_sgd
        if lr > hi:
            out.add(
                "config.lr_high",
                "config",
                grade(math.log10(lr / hi), 0.0, th.config_lr_high_full_decades),
                lr=lr,
                optimizer=opt,
                limit=hi,
            )
        elif lr < lo:
            out.add(
                "config.lr_low",
                "config",
                grade(math.log10(lo / lr), 0.0, th.config_lr_low_full_decades),
                lr=lr,
                optimizer=opt,
                limit=lo,
            )
        else:
            out.add(
                "config.lr_typical", "config", th.config_lr_typical_strength, lr=lr, optimizer=opt
            )
    if opt in ("sgd",) and not (cfg.optimizer and cfg.optimizer.momentum):
        out.add("config.plain_sgd", "config", th.config_plain_sgd_strength, optimizer=opt)
    wd = cfg.effective_weight_decay()
    if wd is not None and wd > th.weight_decay_high:
        out.add(
            "config.weight_decay_high",
            "config",
            grade(wd, th.weight_decay_high, th.config_weight_decay_high_full_at),
            weight_decay=wd,
        )
    if cfg.l1 is not None and cfg.l1 > th.weight_decay_high / th.l1_high_below_weight_decay:
        out.add("config.l1_high", "config", th.config_l1_high_strength, l1=cfg.l1)
    if cfg.dropout is not None and cfg.dropout > th.dropout_high:
        out.add(
            "config.dropout_high",
            "config",
            grade(cfg.dropout, th.dropout_high, th.config_dropout_high_full_at),
            dropout=cfg.dropout,
        )
    regularized = bool(
        (wd or 0) > th.regularization_weight_decay_min
        or (cfg.dropout or 0) > th.regularization_dropout_min
        or (cfg.l1 or 0) > 0
    )
    if (wd is not None or cfg.dropout is not None) and not regularized:
        out.add(
            "config.no_regularization",
            "config",
            th.config_no_regularization_strength,
            weight_decay=wd or 0.0,
            dropout=cfg.dropout or 0.0,
        )
    init = _norm(cfg.init)
    if init and (init.startswith("zero") or init.startswith("constant") or init == "ones"):
        out.add(
            "config.init_constant", "config", th.config_init_constant_strength, init=cfg.init or ""
        )
    loss = _norm(cfg.loss)
    out_act = _norm(cfg.output_activation or (cfg.model.output_activation if cfg.model else None))
    # CROSS_ENTROPY[:3]: the spellings of the loss that applies log-softmax itself.
    if out_act in ("softmax", "log_softmax") and loss in CROSS_ENTROPY[:3]:
        out.add(
            "config.softmax_before_ce",
            "config",
            th.config_softmax_before_ce_strength,
            output_activation=out_act,
            loss=loss,
        )
    elif out_act == "softmax" and not loss and cfg.task == "classification":
        # A functional loss the collector cannot name, on a classifier: the usual one
        # (F.cross_entropy) applies log-softmax itself; only NLL on log-probabilities would be
        # right after a softmax module, and then the model would end in log_softmax.
        out.add(
            "config.softmax_before_ce",
            "config",
            th.config_softmax_before_ce_unnamed_loss_strength,
            output_activation=out_act,
            loss="?",
        )
    if out_act in SATURATING:
        # A sigmoid/tanh on the output layer before a loss that expects logits (cross-entropy,
        # BCE with logits: the double sigmoid), or before an unnamed loss on a multi-class
        # task: the "wrong type of activation function" of the output layer in Humbatova et
        # al.'s taxonomy (ICSE 2020).
        c = num_classes(run)
        if loss in LOGIT_LOSSES:
            out.add(
                "config.squashing_output",
                "config",
                th.config_squashing_output_strength,
                output_activation=out_act,
                loss=loss,
            )
        elif not loss and cfg.task == "classification" and c is not None and c >= 3:
            out.add(
                "config.squashing_output",
                "config",
                th.config_squashing_output_unnamed_loss_strength,
                output_activation=out_act,
                loss="?",
            )
    squashing_modules = {"softmax", "softmin", *SATURATING}
    layer_types = [_norm(t) for t in cfg.model.layer_types] if cfg.model else []
    if (
        layer_types
        and out_act not in squashing_modules
        and not any(t in squashing_modules for t in layer_types)
    ):
        # The modules are known and none bounds the outputs: the usual way to feed
        # probabilities to a loss that expects logits (an nn.Softmax or nn.Sigmoid last in the
        # model) is ruled out; a softmax called in forward() is not.
        out.add(
            "config.unsquashed_output",
            "config",
            th.config_unsquashed_output_strength,
            layer_types=", ".join(sorted(cfg.model.layer_types)) if cfg.model else "",
        )
    if out_act == "relu":
        out.add(
            "config.relu_output",
            "config",
            th.config_relu_output_strength,
            output_activation=out_act,
        )
    mismatch = th.config_loss_task_mismatch_strength
    if cfg.task == "classification" and loss in REGRESSION_LOSSES:
        out.add("config.loss_task_mismatch", "config", mismatch, loss=loss, task=cfg.task)
    if cfg.task == "regression" and loss in CROSS_ENTROPY:
        out.add("config.loss_task_mismatch", "config", mismatch, loss=loss, task=cfg.task)
    model = cfg.model
    if model is not None:
        acts = {_norm(a) for a in model.activations} | _gate_activations(model.layer_types)
        sat = sorted(acts & set(SATURATING))
        depth = model.depth or len(model.hidden_sizes) + 1  # hidden layers + the output layer
        if sat and depth > th.deep_saturating_depth and not (acts & {"relu", "leaky_relu", "gelu"}):
            out.add(
                "config.deep_saturating",
                "config",
                th.config_deep_saturating_strength,
                activation=sat[0],
                depth=depth,
            )
        types = {_norm(t) for t in model.layer_types}
        recurrent_or_attention = any(
            k in t for t in types for k in ("lstm", "gru", "rnn", "attention", "transformer")
        )
        if (
            acts
            and acts <= set(NON_SATURATING)
            and depth <= th.shallow_depth
            and not recurrent_or_attention
        ):
            out.add(
                "config.shallow_non_saturating",
                "config",
                th.config_shallow_non_saturating_strength,
                depth=depth,
                activations=", ".join(sorted(acts)),
            )
        # Normalisation between the layers of a feed-forward or convolutional net resets each
        # layer's scale, so the backward signal does not shrink geometrically with depth (He et
        # al. 2016: vanishing gradients are "largely addressed by normalized initialization and
        # intermediate normalization layers"). Recurrent nets vanish over time steps and
        # post-LN transformers have their own per-layer gradient imbalance (Xiong et al. 2020):
        # not claimed for them.
        if model.normalization and not recurrent_or_attention:
            out.add(
                "config.normalization_layers",
                "config",
                th.config_normalization_layers_strength,
                normalization=", ".join(sorted(model.normalization)),
            )
        if acts and not (acts & set(DYING)):
            out.add(
                "config.no_relu",
                "config",
                th.config_no_relu_strength,
                activations=", ".join(sorted(acts)),
            )
        c = num_classes(run)
        if model.hidden_sizes and c and min(model.hidden_sizes) < c:
            out.add(
                "config.bottleneck",
                "config",
                # 1.0: as many units as classes, the narrowest that can separate them
                grade(c / min(model.hidden_sizes), 1.0, th.config_bottleneck_full_at),
                narrowest=min(model.hidden_sizes),
                classes=c,
            )
        elif (
            model.hidden_sizes
            and c is None
            and not is_classification(run)
            and min(model.hidden_sizes) < th.regression_min_width
        ):
            # No classes to count: a network needs at least d_in + 1 >= 2 units in every
            # layer to approximate a function of its inputs; a single unit passes one number.
            out.add(
                "config.bottleneck",
                "config",
                grade(
                    th.regression_min_width / min(model.hidden_sizes),
                    1.0,
                    th.config_bottleneck_full_at,
                ),
                narrowest=min(model.hidden_sizes),
                needed=th.regression_min_width,
            )
        n_train = cfg.split_sizes.get("train") or _n_samples(run.data.get("train"))
        if model.parameters and n_train:
            per = model.parameters / n_train
            if per > th.params_per_sample:
                out.add(
                    "config.many_params_per_sample",
                    "config",
                    grade(
                        per,
                        th.params_per_sample,
                        th.config_many_params_full_multiple * th.params_per_sample,
                    ),
                    parameters=model.parameters,
                    samples=n_train,
                    per_sample=per,
                )
    if cfg.shuffle is False:
        out.add("config.no_shuffle", "config", th.config_no_shuffle_strength)
    # Measured by watch (or stated): whether the loop resets the gradients between steps.
    if cfg.zero_grad is False:
        out.add("config.grads_accumulate", "config", th.config_grads_accumulate_strength)
    elif cfg.zero_grad is True:
        out.add("config.grads_reset", "config", th.config_grads_reset_strength)
    norm = cfg.input_normalization
    if norm is False or (isinstance(norm, str) and _norm(norm) in ("none", "no", "false", "raw")):
        out.add(
            "config.no_input_normalization",
            "config",
            th.config_no_input_normalization_strength,
            input_normalization=str(norm),
        )
    bs = cfg.batch_size
    n_train = cfg.split_sizes.get("train") or _n_samples(run.data.get("train"))
    if bs is not None:
        if bs <= th.batch_tiny:
            out.add("config.batch_tiny", "config", th.config_batch_tiny_strength, batch_size=bs)
        else:
            out.add("config.batch_usual", "config", th.config_batch_usual_strength, batch_size=bs)
        if n_train and bs > th.batch_huge_fraction * n_train and bs >= th.batch_huge_min:
            out.add(
                "config.batch_huge",
                "config",
                grade(bs / n_train, th.batch_huge_fraction, th.config_batch_huge_full_at),
                batch_size=bs,
                train_samples=n_train,
            )
    if cfg.epochs is not None and cfg.epochs <= th.few_epochs:
        out.add("config.few_epochs", "config", th.config_few_epochs_strength, epochs=cfg.epochs)


def _n_samples(stats: DataStats | None) -> int | None:
    return stats.n_samples if stats is not None else None


def _layer_symptoms(layers: list[LayerStats], th: Thresholds, out: Findings) -> None:
    late = th.layer_stats_from
    grads = [(L, F.finite_median(L.grad_norm, late)) for L in layers if L.grad_norm]
    if not grads:
        out.missing.append("layers.grad_norm")
    nonfinite = [(L.name, F.count_nonfinite(L.grad_norm)) for L in layers]
    bad = [(n, c) for n, c in nonfinite if c > 0]
    if bad:
        out.add(
            "layers.grad_nonfinite",
            "layers",
            th.layers_grad_nonfinite_strength,
            layer=bad[0][0],
            count=bad[0][1],
            layers=len(bad),
        )
    finite_grads = [(L, g) for L, g in grads if g is not None]
    if len(finite_grads) >= 2:
        (first, g0), (last, g1) = finite_grads[0], finite_grads[-1]
        if g1 > 0 and g0 >= 0:
            ratio = g0 / g1
            if ratio < th.vanishing_ratio:
                out.add(
                    "layers.vanishing",
                    "layers",
                    grade(
                        -math.log10(max(ratio, 1e-30)),
                        -math.log10(th.vanishing_ratio),
                        th.layers_vanishing_full_decades,
                    ),
                    ratio=ratio,
                    first_layer=first.name,
                    first_norm=g0,
                    last_layer=last.name,
                    last_norm=g1,
                )
            elif ratio > th.exploding_ratio:
                out.add(
                    "layers.exploding",
                    "layers",
                    grade(
                        math.log10(ratio),
                        math.log10(th.exploding_ratio),
                        th.layers_exploding_full_decades,
                    ),
                    ratio=ratio,
                    first_layer=first.name,
                    first_norm=g0,
                    last_layer=last.name,
                    last_norm=g1,
                )
        if all(g == 0 for _, g in finite_grads):
            out.add(
                "layers.no_gradient",
                "layers",
                th.layers_no_gradient_strength,
                layers=len(finite_grads),
            )
    firsts = [
        (L.name, next((g for g in L.grad_norm or [] if g is not None and math.isfinite(g)), None))
        for L in layers
    ]
    huge = [(n, g) for n, g in firsts if g is not None and g > th.grad_norm_huge]
    if huge:
        name, g = max(huge, key=lambda x: x[1])
        out.add(
            "layers.grad_huge",
            "layers",
            grade(math.log10(g / th.grad_norm_huge), 0.0, th.layers_grad_huge_full_decades),
            layer=name,
            grad_norm=g,
            limit=th.grad_norm_huge,
        )
    growth = [F.growth_decades(L.grad_norm, th) for L in layers if L.grad_norm]
    growth_known = [g for g in growth if g is not None]
    if growth_known and max(growth_known) > th.exploding_growth_decades:
        out.add(
            "layers.grad_growth",
            "layers",
            grade(
                max(growth_known), th.exploding_growth_decades, th.layers_grad_growth_full_decades
            ),
            decades=max(growth_known),
        )
    dead = [(L.name, F.finite_median(L.dead_fraction, late)) for L in layers if L.dead_fraction]
    dead_known = [(n, d) for n, d in dead if d is not None]
    if dead_known:
        name, frac = max(dead_known, key=lambda x: x[1])
        if frac > th.dead_fraction:
            out.add(
                "layers.dead_relu",
                "layers",
                grade(frac, th.dead_fraction, th.layers_dead_relu_full_at),
                layer=name,
                dead_pct=100 * frac,
                layers=sum(1 for _, d in dead_known if d > th.dead_fraction),
            )
    sat = [
        (L.name, F.finite_median(L.saturated_fraction, late))
        for L in layers
        if L.saturated_fraction
    ]
    sat_known = [(n, s) for n, s in sat if s is not None]
    if sat_known:
        name, frac = max(sat_known, key=lambda x: x[1])
        if frac > th.saturated_fraction:
            out.add(
                "layers.saturated",
                "layers",
                grade(frac, th.saturated_fraction, th.layers_saturated_full_at),
                layer=name,
                saturated_pct=100 * frac,
            )
    _update_symptoms(layers, th, out)
    _init_symptoms(layers, th, out)
    _recurrent_gain(layers, th, out)


def _drop_small_batch_dead_units(run: Run, th: Thresholds, out: Findings) -> None:
    """A unit counts as dead when it is zero on every sample of the batch; a healthy ReLU is
    zero on about half its inputs, so with B samples it looks dead 0.5^B of the time: half of
    them at batch 1. Below ``dead_min_batch`` the statistic measures the batch, not the units."""
    bs = run.config.batch_size
    if bs is None or bs >= th.dead_min_batch:
        return
    dead = {"layers.dead_relu", "layers.dead_from_start", "layers.dead_normal"}
    if any(s.name in dead for s in out.symptoms):
        out.symptoms[:] = [s for s in out.symptoms if s.name not in dead]
        out.missing.append("layers.dead_fraction.small_batch")


def _update_symptoms(layers: list[LayerStats], th: Thresholds, out: Findings) -> None:
    medians: list[tuple[str, float]] = []
    stuck: list[str] = []
    for L in layers:
        if not L.update_ratio:
            continue
        upd = F.finite_median(L.update_ratio)
        grad = F.finite_median(L.grad_norm) if L.grad_norm else None
        if upd is None:
            continue
        weight = F.finite_median(L.weight_norm) if L.weight_norm else None
        # A gradient this small against the weights is lost to float32 rounding whatever the
        # step size: that zero update is vanishing gradients, not a wiring bug.
        negligible = (
            grad is not None
            and weight is not None
            and grad < th.update_negligible_grad_vs_weight * weight
        )
        if upd == 0.0 and grad is not None and grad > 0 and not negligible:
            stuck.append(L.name)
        elif upd > 0:
            medians.append((L.name, upd))
    if not medians and not stuck:
        if any(L.update_ratio for L in layers):
            return
        out.missing.append("layers.update_ratio")
        return
    if stuck:
        out.add(
            "layers.zero_update",
            "layers",
            grade(len(stuck) / len(layers), 0.0, th.layers_zero_update_full_share),
            layers=len(stuck),
            of=len(layers),
            first_layer=stuck[0],
        )
    if medians:
        typical = float(np.median([u for _, u in medians]))
        largest = max(u for _, u in medians)
        if typical > th.update_ratio_high:
            out.add(
                "layers.update_high",
                "layers",
                grade(
                    math.log10(typical / th.update_ratio_high),
                    0.0,
                    th.layers_update_high_full_decades,
                ),
                ratio=typical,
                limit=th.update_ratio_high,
            )
        elif largest < th.update_ratio_low:
            out.add(
                "layers.update_low",
                "layers",
                grade(
                    math.log10(th.update_ratio_low / largest),
                    0.0,
                    th.layers_update_low_full_decades,
                ),
                ratio=largest,
                limit=th.update_ratio_low,
            )
        if largest >= th.update_ratio_low:
            # Steps of a usual size, but so few that they cannot add up to a move: the sum of
            # the relative updates bounds how far the weights went from their init.
            steps = max((L.step[-1] for L in layers if L.step), default=0)
            moved = steps * largest
            if steps > 0 and moved < th.barely_moved_total:
                out.add(
                    "layers.barely_moved",
                    "layers",
                    th.layers_barely_moved_strength,
                    steps=steps,
                    ratio=largest,
                    moved=moved,
                )
                # As many steps at the healthy ratio would have moved the weights: the
                # steps were too small, not too few.
                if largest < th.update_ratio_healthy and (
                    steps * th.update_ratio_healthy >= th.barely_moved_total
                ):
                    out.add(
                        "layers.small_steps",
                        "layers",
                        th.layers_small_steps_strength,
                        steps=steps,
                        ratio=largest,
                        healthy=th.update_ratio_healthy,
                    )


def _init_scale(L: LayerStats) -> float | None:
    """std x sqrt(fan_in) at init (for a recurrent matrix, whose fan-in is the hidden size:
    its gain). A layer of fan-in 1 may hold a single weight, whose std is 0 by arithmetic."""
    std, fan_in = L.init_weight_std, L.fan_in
    if std is None or fan_in is None or fan_in < 2 or not math.isfinite(std):
        return None
    return std * math.sqrt(fan_in)


# Layers whose init gain is not a feed-forward signal gain: a recurrent matrix's acts over time
# steps (checked apart), an embedding's is a lookup, a normalisation layer's a learned scale.
_NOT_FEED_FORWARD = ("rnn", "lstm", "gru", "embedding", "norm")


def _init_gain_compounded(run: Run, th: Thresholds, out: Findings) -> None:
    """Each layer's init gain std x sqrt(fan_in) against the one that keeps the signal's
    variance (sqrt 2 before a ReLU, He et al. 2015; 1 for a linear layer, LeCun / Glorot):
    through a stretch of ReLU or linear layers with no normalisation between them the excesses
    multiply. Four layers at 3x He each start the output 80x too large though no single layer
    crosses init_scale_high. A tanh or sigmoid bounds its output: its excess shows as
    saturation (measured apart), and the product starts again after it."""
    if any(s.name in ("layers.init_scale", "layers.init_zero") for s in out.symptoms):
        return
    if run.config.model is not None and run.config.model.normalization:
        return
    best: tuple[float, int, str, float] | None = None  # log gain, layers, worst layer, scale
    log_gain, counted, worst = 0.0, 0, ("", 0.0, -math.inf)
    for L in run.layers:
        if any(k in (L.type or "").lower() for k in _NOT_FEED_FORWARD):
            continue
        if L.activation in SATURATING:
            log_gain, counted, worst = 0.0, 0, ("", 0.0, -math.inf)
            continue
        scale = _init_scale(L)
        if not scale:
            continue
        keep = math.sqrt(2.0) if L.activation in ("relu", "leaky_relu") else 1.0
        excess = math.log10(scale / keep)
        log_gain += excess
        counted += 1
        if excess > worst[2]:
            worst = (L.name, scale, excess)
        if counted >= 2 and (best is None or log_gain > best[0]):
            best = (log_gain, counted, worst[0], worst[1])
    if best is not None and best[0] > math.log10(th.init_gain_compounded_high):
        out.add(
            "layers.init_scale",
            "layers",
            th.layers_init_scale_strength,
            layer=best[2],
            scale=best[3],
            low=th.init_scale_low,
            high=th.init_scale_high,
            compounded=10 ** best[0],
            layers=best[1],
        )


def _init_symptoms(layers: list[LayerStats], th: Thresholds, out: Findings) -> None:
    scales = [(L.name, scale) for L in layers if (scale := _init_scale(L)) is not None]
    if not scales:
        out.missing.append("layers.init")
    else:
        zero = [n for n, s in scales if s == 0.0]
        if zero:
            out.add(
                "layers.init_zero",
                "layers",
                grade(len(zero) / len(scales), 0.0, th.layers_init_zero_full_share),
                layers=len(zero),
                of=len(scales),
                first_layer=zero[0],
            )
        else:
            off = [(n, s) for n, s in scales if s < th.init_scale_low or s > th.init_scale_high]
            if off:
                name, s = off[0]
                out.add(
                    "layers.init_scale",
                    "layers",
                    th.layers_init_scale_strength,
                    layer=name,
                    scale=s,
                    low=th.init_scale_low,
                    high=th.init_scale_high,
                )
    norms = [
        (
            F.finite_median(L.weight_norm[: th.weight_norm_start_points]),
            F.finite_median(L.weight_norm, th.weight_norm_end_from),
        )
        for L in layers
        if L.weight_norm and len(L.weight_norm) >= th.weight_norm_min_points
    ]
    known = [(a, b) for a, b in norms if a is not None and b is not None and a > 0]
    if known:
        start = math.sqrt(sum(a * a for a, _ in known))
        end = math.sqrt(sum(b * b for _, b in known))
        if end / start < th.weight_shrink:
            out.add(
                "layers.weight_shrink",
                "layers",
                # Weights decayed to exactly zero (a huge penalty) shrank infinitely far.
                grade(
                    start / end if end > 0 else math.inf,
                    1 / th.weight_shrink,
                    th.layers_weight_shrink_full_at,
                ),
                start=start,
                end=end,
                ratio=end / start,
            )


# PyTorch's recurrent modules, whose hidden-to-hidden matrices are named weight_hh_l{k}.
_RECURRENT_TYPES = frozenset({"rnn", "lstm", "gru"})


def _recurrent_gain(layers: list[LayerStats], th: Thresholds, out: Findings) -> None:
    """A hidden-to-hidden matrix whose gain at init (std x sqrt(hidden): the spectral radius
    of a random matrix, by the circular law) is far above 1. The same matrix multiplies the
    state at every time step: above gain 1 a random tanh network is chaotic (Sompolinsky et
    al. 1988) and its gradients through time can explode (Pascanu et al. 2013, ρ > 1)."""
    gains = [
        (L.name, gain)
        for L in layers
        if _norm(L.type) in _RECURRENT_TYPES
        and ".weight_hh_l" in L.name
        and (gain := _init_scale(L)) is not None
    ]
    high = [(n, g) for n, g in gains if g > th.recurrent_gain_high]
    if high:
        name, gain = max(high, key=lambda ng: ng[1])
        out.add(
            "layers.recurrent_gain_high",
            "layers",
            th.layers_recurrent_gain_high_strength,
            layer=name,
            gain=gain,
            limit=th.recurrent_gain_high,
        )


@dataclass(frozen=True)
class InputScale:
    """How a set of inputs is scaled, and which of the reasons to call it not normalised
    hold: the recorded data (``data.unnormalized``) and the doctor's look at the loader's
    batches (``probe.unnormalized``) read the same ones."""

    spread: float  # high / low quantile of the per-feature std (constant features left out)
    abs_max: float
    mean_max: float
    largest_std: float | None
    reasons: dict[str, bool]


def input_scale(
    feature_std: Sequence[float],
    abs_max: float,
    mean_max: float,
    range_known: bool,
    th: Thresholds,
) -> InputScale:
    sd = np.asarray(feature_std, dtype=np.float64)
    nz = sd[sd > 1e-8]  # constant features (std ~0) have no scale
    spread = 1.0
    if nz.size:
        hi = np.quantile(nz, th.feature_spread_high_quantile)
        lo = np.quantile(nz, th.feature_spread_low_quantile)
        spread = float(hi / max(lo, 1e-12))
    largest = float(sd.max()) if sd.size else None
    reasons = {
        "spread": spread > th.feature_scale_spread,
        "abs_max": abs_max > th.input_abs_max,
        "mean": mean_max > th.input_abs_mean,
        # Every feature an order of magnitude below unit scale, and no value large (a sparse
        # indicator keeps values of 1): the init assumes unit-variance inputs. The range must
        # be known: without it a sparse indicator cannot be told apart.
        "small": range_known
        and largest is not None
        and 0 < largest < th.input_std_small
        and abs_max < th.input_small_abs_max,
    }
    return InputScale(spread, abs_max, mean_max, largest, reasons)


def _data_symptoms(run: Run, th: Thresholds, out: Findings) -> None:
    train = run.data.get("train")
    if train is None:
        out.missing.append("data.train")
        return
    mean_max = (
        float(np.max(np.abs(train.feature_mean)))
        if train.feature_mean
        else abs(train.input_mean or 0.0)
    )
    scale = input_scale(
        train.feature_std or ([train.input_std] if train.input_std is not None else []),
        max(abs(train.input_min or 0.0), abs(train.input_max or 0.0)),
        mean_max,
        train.input_min is not None and train.input_max is not None,
        th,
    )
    reasons = scale.reasons
    if any(reasons.values()):
        agreeing = sum(reasons.values()) - 1
        strength = (
            th.data_unnormalized_strength + th.data_unnormalized_strength_per_reason * agreeing
        )
        out.add(
            "data.unnormalized",
            "data",
            strength,
            scale_spread=scale.spread,
            abs_max=scale.abs_max,
            max_abs_mean=mean_max,
            largest_std=scale.largest_std if reasons["small"] else None,
        )
    if train.label_counts and len(train.label_counts) >= 2:
        counts = [c for c in train.label_counts.values()]
        ratio = min(counts) / max(max(counts), 1)
        if ratio < th.class_ratio:
            out.add(
                "data.imbalanced",
                "data",
                grade(-ratio, -th.class_ratio, -th.data_imbalanced_full_at),
                ratio=ratio,
                smallest=min(counts),
                largest=max(counts),
            )
    bs = run.config.batch_size
    tiny_batches = bs is not None and bs < th.ordered_batches_min_batch
    if (
        train.ordered_batch_fraction is not None
        and not tiny_batches
        and train.ordered_batch_fraction > th.ordered_batches
    ):
        out.add(
            "data.ordered_batches",
            "data",
            grade(
                train.ordered_batch_fraction, th.ordered_batches, th.data_ordered_batches_full_at
            ),
            fraction=train.ordered_batch_fraction,
        )
    test = run.data.get("test")
    if (
        test is not None
        and train.feature_mean
        and test.feature_mean
        and train.feature_std
        and test.feature_std
        and len(train.feature_mean) == len(test.feature_mean)
    ):
        mu_a, mu_b = np.asarray(train.feature_mean), np.asarray(test.feature_mean)
        sd_a, sd_b = np.asarray(train.feature_std), np.asarray(test.feature_std)
        pooled = np.sqrt((sd_a**2 + sd_b**2) / 2)
        # Features constant in both splits (std ~0, absolute and against the widest) say nothing.
        keep = (pooled > 1e-6 * max(float(pooled.max()), 1e-12)) & (sd_a > 1e-6)
        if keep.any():
            per_feature = np.abs(mu_b - mu_a)[keep] / pooled[keep]
            shift = float(np.mean(np.minimum(per_feature, th.test_shift_cap_std)))
            std_ratio = float(np.median(sd_b[keep] / sd_a[keep]))
            out.context["test_shift"] = round(shift, 4)
            out.context["test_std_ratio"] = round(std_ratio, 4)
            if std_ratio > th.test_std_ratio:
                out.add(
                    "data.test_noisier",
                    "data",
                    grade(std_ratio, th.test_std_ratio, th.data_test_noisier_full_at),
                    std_ratio=std_ratio,
                    shift=shift,
                )
            if shift > th.test_mean_shift:
                out.add(
                    "data.test_shift",
                    "data",
                    grade(shift, th.test_mean_shift, th.data_test_shift_full_at),
                    shift=shift,
                    std_ratio=std_ratio,
                )
            _test_inputs_differ(th, out)
