"""Real-world signatures: shapes of posted and logged curves that a senior engineer reads at
a glance, with the numbers that justify each reading.

Each detector adds at most one symptom; the rules in ``kb/causes/`` say what it points to.
Where a number comes from is said next to it (or in ``kb/thresholds.py``).
"""

from __future__ import annotations

import itertools
import math

import numpy as np

from lossexpert.engine import features as F
from lossexpert.engine.facts import (
    CROSS_ENTROPY,
    REGRESSION_LOSSES,
    Findings,
    grade,
    is_classification,
    level_vs_chance,
    norm_name,
    target_variance,
)
from lossexpert.kb.thresholds import Thresholds
from lossexpert.runformat import LayerStats, Run

# Losses that cannot go below zero: a negative value means invalid targets (BCE on labels
# outside [0, 1], NLL on outputs that are not log-probabilities), not a good fit.
NON_NEGATIVE_LOSSES = (
    *CROSS_ENTROPY,
    "bce",
    "bce_with_logits",
    "binary_crossentropy",
    "bceloss",
    "bcewithlogitsloss",
    *REGRESSION_LOSSES,
)

# Class counts common enough that a plateau at exactly ln C names them: toy sets (2-10),
# CIFAR-100, Tiny-ImageNet, COCO, VOC, ImageNet, and the vocabularies of BERT, T5, LLaMA and
# GPT-2 (a language model that outputs the uniform distribution sits at ln |V|).
COMMON_CLASS_COUNTS = (
    2,
    3,
    4,
    5,
    6,
    7,
    8,
    9,
    10,
    20,
    21,
    80,
    91,
    100,
    200,
    1000,
    21843,
    30522,
    32000,
    32128,
    50257,
)


# The median absolute deviation of a normal variable is 0.6745 of its standard deviation.
_MAD_OF_NORMAL = 0.6745


def train_signatures(
    run: Run,
    series: F.Series,
    s: F.CurveSummary,
    chance: float | None,
    th: Thresholds,
    out: Findings,
) -> None:
    finite = series.finite()
    _below_floor(run, s, th, out)
    _exact_zero(run, s, th, out)
    if chance is not None:
        _start_below_chance(s, chance, th, out)
    else:
        uniform_at = _uniform_output(run, s, th, out)
        if uniform_at is not None and s.first_step <= 1 and not s.is_window:
            # The class count the flat end gave judges the first loss too: huge logits from
            # the start (raw inputs, a large init) that collapsed to the prior.
            init_loss_high(s, uniform_at, th, out)
        _mean_prediction(run, s, th, out)
    _input_blind(run, series, s, th, out)
    _rise_after_fall(run, s, th, out)
    _above_init(s, th, out)
    _steady_climb(finite, th, out)
    _spike_then_stall(finite, s.first_step <= 1 and not s.is_window, th, out)
    _flat_and_jumpy(s, th, out)
    _noiseless(run, series, s, th, out)
    _falling_fast(run, s, chance, th, out)
    _memorization(run, s, th, out)
    _stopped_short(run, series, s, th, out)


def _below_floor(run: Run, s: F.CurveSummary, th: Thresholds, out: Findings) -> None:
    lowest = min(s.minimum, s.final, s.first)
    if lowest >= 0:
        return
    loss = norm_name(run.config.loss)
    bounded = loss in NON_NEGATIVE_LOSSES or (not loss and is_classification(run))
    if bounded:
        out.add(
            "train.below_floor",
            "curves",
            th.train_below_floor_strength,
            minimum=lowest,
            loss=loss or "cross_entropy",
        )
    else:
        # Some objectives are negative by design (log-likelihoods, adversarial terms): only
        # weak evidence until the loss is known.
        out.add("train.negative", "curves", th.train_negative_strength, minimum=lowest)


def _exact_zero(run: Run, s: F.CurveSummary, th: Thresholds, out: Findings) -> None:
    # float32 cross-entropy is exactly 0.0 only when every sample's margin exceeds ~16.6 nats
    # (ln 2^24): a real model on a real task does not get there batch after batch. A batch of
    # one or two examples does, once they are learned: each is its own batch's loss.
    batch = run.config.batch_size
    if batch is not None and batch <= th.exact_zero_min_batch:
        return
    if (
        s.exact_zero_fraction >= th.exact_zero_fraction
        and s.n * s.exact_zero_fraction >= th.exact_zero_min_points
    ):
        out.add(
            "train.exact_zero",
            "curves",
            grade(s.exact_zero_fraction, th.exact_zero_fraction, th.train_exact_zero_full_at),
            zero_pct=100 * s.exact_zero_fraction,
            points=s.n,
        )


def _start_below_chance(s: F.CurveSummary, chance: float, th: Thresholds, out: Findings) -> None:
    # Cross-entropy at init is ~ln C whatever the model; a first value far below it on a
    # curve that starts at the beginning is not cross-entropy (MSE on one-hot targets starts
    # near 1/C) or the targets are not what the task says.
    early = s.first_step <= max(
        th.start_below_chance_first_step, th.start_below_chance_first_step_fraction * s.last_step
    )
    if early and 0 <= s.first < th.start_below_chance * chance:
        out.add(
            "train.start_below_chance",
            "curves",
            grade(s.first / chance, th.start_below_chance, th.train_start_below_chance_full_at),
            first=s.first,
            chance=chance,
            ratio=s.first / chance,
        )


def chance_from_first_loss(
    run: Run, s: F.CurveSummary | None, th: Thresholds, out: Findings
) -> float | None:
    """With nothing said about the task: a curve logged from the first update whose first
    value is ln C for a small common class count (within a few %) is a cross-entropy at init
    ("check the loss at init is ln C", Karpathy's recipe): take ln C as its chance level."""
    cfg = run.config
    if cfg.task is not None or cfg.loss is not None:
        return None
    if s is None or s.n < th.classes_from_first_loss_min_points:
        return None
    if s.first_step > 1 or s.first <= 0:  # logged from the first update: step 0 or 1
        return None
    for c in COMMON_CLASS_COUNTS:
        if c > th.classes_from_first_loss_max:  # wider counts are not told apart at init
            break
        level = math.log(c)
        if abs(s.first - level) <= th.classes_from_first_loss_tol * level:
            out.context["classes_from_first_loss"] = c
            out.missing.append("config.num_classes.inferred")
            return level
    return None


def init_loss_high(s: F.CurveSummary, chance: float, th: Thresholds, out: Findings) -> None:
    """A first loss many times the chance level: the untrained outputs are far from uniform
    (huge logits from raw inputs or a large init)."""
    if s.first >= th.init_loss_vs_chance * chance:
        out.add(
            "train.init_loss_high",
            "curves",
            grade(s.first / chance, th.init_loss_vs_chance, th.train_init_loss_high_full_at),
            first=s.first,
            chance=chance,
            ratio=s.first / chance,
        )


def _uniform_output(run: Run, s: F.CurveSummary, th: Thresholds, out: Findings) -> float | None:
    """Without a class count: a flat loss at exactly ln C for a common C is a model that
    outputs the uniform distribution (6.908 = ln 1000 for ImageNet). Returns ln C."""
    if norm_name(run.config.loss) in REGRESSION_LOSSES or run.config.task == "regression":
        return None
    if abs(s.late_log_slope) >= th.plateau_log_slope or s.final <= 0:
        return None
    for c in COMMON_CLASS_COUNTS:
        level = math.log(c)
        if abs(s.final - level) <= th.log_classes_tol * level:
            out.add(
                "train.at_chance",
                "curves",
                th.train_at_chance_guessed_strength,
                final=s.final,
                chance=level,
                classes=c,
            )
            return level
    return None


def _input_blind(
    run: Run, series: F.Series, s: F.CurveSummary, th: Thresholds, out: Findings
) -> None:
    """A per-step cross-entropy at chance that barely moves from batch to batch: the model
    gives every input the same output. Its per-example loss -ln p[y] then varies only with the
    label, while a network that reads its input, even untrained, varies with each example.
    What is left is what can blank the signal: dead units, weights decayed to zero, a
    constant init, inputs with nothing in them; not a rate too low to move a random init."""
    at = next((x for x in out.symptoms if x.name == "train.at_chance"), None)
    if at is None or at.values.get("kind") == "variance" or out.has("train.frozen"):
        return
    chance = float(at.values.get("chance", 0.0))
    if round(math.exp(chance)) < th.input_blind_min_classes:
        return
    if s.n < max(th.noise_min_points, th.min_points) or s.noise_abs <= 0:
        return
    # Per-step minibatch losses only: consecutive steps, several to an epoch. An epoch mean
    # (or a logger's average over many steps) is quiet whatever the model does, and one
    # full batch per step has no sampling noise at all.
    spacing = float(np.median(np.diff(series.steps))) if series.n >= 2 else 0.0
    spe = run.config.steps_per_epoch or F.steps_per_epoch_from(series, th)
    if spacing != 1 or spe is None or spe < 2:
        return
    batch = run.config.batch_size
    known = batch is not None
    size = batch if batch is not None else th.input_blind_assumed_batch
    spread = s.noise_abs / _MAD_OF_NORMAL * math.sqrt(size)
    if spread < th.input_blind_max_spread:
        out.add(
            "train.input_blind",
            "curves",
            th.train_input_blind_strength if known else th.train_input_blind_assumed_strength,
            spread=spread,
            noise=s.noise_abs,
            batch=size,
            batch_assumed=not known,
            final=s.final,
        )


def _mean_prediction(run: Run, s: F.CurveSummary, th: Thresholds, out: Findings) -> None:
    """The chance level of a squared-error regression is the variance of its targets (the
    loss of always predicting their mean): a flat MSE at that level has learned nothing."""
    variance = target_variance(run)
    if variance is None:
        return
    plateaued = abs(s.late_log_slope) < th.plateau_log_slope
    if plateaued and s.final >= (1 - th.at_chance_tol) * variance:
        out.add(
            "train.at_chance",
            "curves",
            th.train_at_chance_strength,
            final=s.final,
            chance=variance,
            kind="variance",
        )


def _rise_after_fall(run: Run, s: F.CurveSummary, th: Thresholds, out: Findings) -> None:
    """Fell, then climbed back well above its minimum (short of a divergence): gradients that
    accumulate (a missing zero_grad) climb steadily; a step size too large jumps."""
    if out.has("train.diverging") or s.minimum <= 0:
        return
    if s.points_after_min < th.rise_after_fall_min_points_after:
        return
    if _lr_raised_after(run, s.min_step, th):
        return  # a warm restart raises the loss on purpose
    begin = F.begin_level(s, th)  # the progress made is counted from the untrained model's loss
    fell = s.minimum <= (1 - th.no_progress_rel) * begin
    rise = s.final / s.minimum
    # Minibatch noise around a low level is not a climb: the climb must give back a real
    # share of the progress made.
    given_back = (s.final - s.minimum) / max(begin - s.minimum, 1e-12)
    if fell and rise >= th.rise_after_fall and given_back >= th.rise_given_back:
        out.add(
            "train.rise_after_fall",
            "curves",
            grade(rise, th.rise_after_fall, th.diverge_ratio),
            minimum=s.minimum,
            final=s.final,
            rise_pct=100 * (rise - 1),
            given_back_pct=100 * given_back,
            min_step=s.min_step,
        )


def _above_init(s: F.CurveSummary, th: Thresholds, out: Findings) -> None:
    """Ended well above the loss of the untrained model (the first point, logged at step 0 or
    1): training made the model worse than its initialisation. A healthy run ends below it, a
    spike that recovers too, a loss stuck at its start ends near it; far above it, the updates
    themselves did the damage. The robust start level cannot see this when the loss exploded
    in its first points (it is then the explosion's level), so the first point is used."""
    if s.is_window or s.first_step > 1 or s.first <= 0 or s.n < th.min_points:
        return
    if out.has("train.diverging") or out.has("train.rise_after_fall") or out.has("train.nonfinite"):
        return  # said already: with the minimum it left, or the step where it overflowed
    ratio = s.final / s.first
    if ratio >= th.above_init_ratio:
        out.add(
            "train.above_init",
            "curves",
            grade(ratio, th.above_init_ratio, th.train_above_init_full_at),
            first=s.first,
            final=s.final,
            ratio=ratio,
        )


def _steady_climb(finite: F.FloatArray, th: Thresholds, out: Findings) -> None:
    """After its minimum the loss climbs steadily, bin after bin, rather than jumping: the
    mark of an update that grows with every step (gradients summed over steps grow it
    linearly), where a too-large step size overshoots in jumps and blows up."""
    if not (out.has("train.rise_after_fall") or out.has("train.diverging")):
        return
    if finite.size < th.steady_climb_min_points:
        return
    window = max(th.steady_climb_min_window, finite.size // th.steady_climb_window_divisor)
    smooth = F.binned_medians(F.local_median(finite, window), th.steady_climb_bins)
    i = int(np.argmin(smooth))
    after = smooth[i:]
    if after.size < th.steady_climb_min_bins:
        return
    rising = float(np.mean(np.diff(after) > 0))
    if rising >= th.steady_climb_rising_share:
        out.add(
            "train.steady_climb",
            "curves",
            th.train_steady_climb_strength,
            rising_pct=100 * rising,
            bins=after.size,
        )


def _lr_raised_after(run: Run, step: int, th: Thresholds) -> bool:
    """The recorded learning rate went up (a warm restart, a cyclic schedule) after ``step``."""
    sched = run.config.lr_schedule
    if sched is None:
        return False
    pairs = [(t, v) for t, v in zip(sched.step, sched.value, strict=False) if t >= step]
    return any(b > th.lr_restart_factor * a for (_, a), (_, b) in itertools.pairwise(pairs))


def _spike_then_stall(
    finite: F.FloatArray, from_start: bool, th: Thresholds, out: Findings
) -> None:
    """A jump of several times the running level after which the loss never gets back below
    where it was: the jump did lasting damage (units killed, weights thrown far away). A spike
    that recovers is healthy noise."""
    n = finite.size
    if n < th.spike_min_points:
        return
    level = F.local_median(
        finite, max(th.local_level_min_window, n // th.local_level_window_divisor)
    )
    ratio = finite / np.maximum(np.abs(level), 1e-12)
    # The first points fall fast and are not spikes against their local level; against the
    # loss at init (a curve logged from the first update) they only fall, so one far above
    # it there is a blow-up in the first steps, measured against that first value.
    start = max(th.spike_skip_min_points, n // th.spike_skip_divisor)
    early = (
        np.flatnonzero(finite[1:start] >= th.spike_ratio * finite[0]) + 1
        if from_start and finite[0] > 0
        else np.array([], dtype=np.int64)
    )
    candidates = np.concatenate([early, np.flatnonzero(ratio[start:] >= th.spike_ratio) + start])
    for i in candidates:
        before = (
            float(finite[0])
            if i < start
            else float(np.median(finite[max(0, i - th.spike_level_before_points) : i]))
        )
        after = finite[i + 1 :]
        # The level it gets back to, not its luckiest minibatch: the local median after it.
        back_to = float(np.min(level[i + 1 :])) if after.size else math.inf
        if (
            after.size >= th.spike_stall_min_points_after
            and before > 0
            and back_to >= th.stall_after_spike * before
        ):
            out.add(
                "train.spike_then_stall",
                "curves",
                th.train_spike_then_stall_strength,
                step_index=int(i),
                before=before,
                peak=float(finite[i]),
                after=float(np.median(after)),
            )
            return


def _flat_and_jumpy(s: F.CurveSummary, th: Thresholds, out: Findings) -> None:
    """No progress, and the points reverse direction more often than not: a too-low step
    size gives a smooth, slow, monotone curve; one that is too large (or batches too small)
    bounces around a level."""
    # Only on a few points (epoch-level logs, posted values): a per-step minibatch loss
    # reverses direction at every other step whatever the step size (sampling noise).
    if not out.has("train.no_progress"):
        return
    if not th.flat_jumpy_min_points <= s.n <= th.flat_jumpy_max_points:
        return
    if s.sign_changes >= th.jumpy_sign_changes:
        out.add(
            "train.flat_jumpy",
            "curves",
            grade(s.sign_changes, th.jumpy_sign_changes, th.train_flat_jumpy_full_at),
            reversals_pct=100 * s.sign_changes,
            points=s.n,
        )


def _noiseless(
    run: Run, series: F.Series, s: F.CurveSummary, th: Thresholds, out: Findings
) -> None:
    """One update per epoch (full-batch training): the epoch counter advances by one at every
    step, and the curve has none of the minibatch noise."""
    spe = run.config.steps_per_epoch or F.steps_per_epoch_from(series, th)
    least = th.one_step_per_epoch_min_points
    if series.epochs is None or s.n < least:
        return
    e = series.epochs[np.isfinite(series.epochs)]
    # Points an epoch apart whose step counter advances by several steps each are epoch
    # summaries (the mean of an epoch's batches, as Keras and Lightning log them), smooth by
    # averaging: many updates per epoch, not one.
    if series.steps.size >= 2 and float(np.median(np.diff(series.steps))) > 1:
        return
    one_per_epoch = spe == 1 or (
        e.size >= least and float(np.median(np.diff(e))) >= th.one_step_per_epoch_min_epoch_step
    )
    if one_per_epoch and s.noise < th.one_step_per_epoch_max_noise:
        out.add(
            "train.one_step_per_epoch", "curves", th.train_one_step_per_epoch_strength, points=s.n
        )


def _falling_fast(
    run: Run, s: F.CurveSummary, chance: float | None, th: Thresholds, out: Findings
) -> None:
    """The loss fell to under a quarter over the last third of the run: it had not begun to
    converge when training stopped (a run stopped early while healthy flattens first)."""
    # Guessing: ln C for cross-entropy, the targets' variance for a squared error. Already
    # within a tenth of guessing from a perfect fit, the training data is fitted: a steep fall
    # there in log terms is the memorisation tail, not an unconverged run.
    guess = chance if chance is not None else target_variance(run)
    if guess is not None and level_vs_chance(run, s.final, guess) < th.falling_fast_min_level:
        return
    # ... and the last third still brought a real share of the progress: a loss converging
    # to ~0 keeps falling in log terms while its absolute changes have become tiny.
    late_drop = s.final * (math.exp(-s.late_log_slope) - 1)
    share = late_drop / max(s.start - s.final, 1e-12)
    fast = -s.late_log_slope >= th.falling_fast_log_drop
    if fast and s.final > 0 and share >= th.falling_fast_min_share:
        out.add(
            "train.falling_fast",
            "curves",
            grade(
                -s.late_log_slope,
                th.falling_fast_log_drop,
                th.train_falling_fast_full_multiple * th.falling_fast_log_drop,
            ),
            drop_pct=100 * (1 - math.exp(s.late_log_slope)),
            final=s.final,
        )


def _stopped_short(
    run: Run, series: F.Series, s: F.CurveSummary, th: Thresholds, out: Findings
) -> None:
    """Training ended within its first pass over the data, or at under half of the epochs or
    steps it was configured for: whatever else is wrong, it did not run long enough to tell."""
    cfg = run.config
    done: float | None = None
    if series.epochs is not None:
        e = series.epochs[np.isfinite(series.epochs)]
        done = float(e[-1]) if e.size else None
    if done is None and cfg.steps_per_epoch:
        done = s.last_step / cfg.steps_per_epoch
    planned = float(cfg.epochs) if cfg.epochs else None
    part = th.stopped_short_fraction
    # done < 1.0: training ended within its first pass over the data.
    short = done is not None and (done < 1.0 or (planned is not None and done < part * planned))
    if not short and cfg.max_steps:
        short = s.last_step < part * cfg.max_steps
        done = None
    if short:
        out.add(
            "train.stopped_short",
            "curves",
            th.train_stopped_short_strength,
            epochs_done=round(done, 3) if done is not None else "?",
            epochs_planned=planned if planned is not None else "?",
            steps=s.last_step,
        )


def _memorization(run: Run, s: F.CurveSummary, th: Thresholds, out: Findings) -> None:
    """A train loss near zero with nothing held out: on a small set that is memorisation
    until a val split says otherwise. Not a problem by itself: a note and a question."""
    if "val" in run.curves or s.start <= 0:
        return
    n_train = run.config.split_sizes.get("train")
    stats = run.data.get("train")
    if n_train is None and stats is not None:
        n_train = stats.n_samples
    small = n_train is None or n_train <= th.small_train_set
    if small and 0 <= s.final <= th.memorized_vs_start * s.start:
        out.missing.append("curves.val.memorization")
        out.context["memorized_final"] = s.final


def val_signatures(
    tr: F.CurveSummary | None,
    va: F.CurveSummary | None,
    scale: float | None,
    chance: float | None,
    th: Thresholds,
    out: Findings,
) -> None:
    if tr is None or va is None:
        return
    _val_diverging_from_train(tr, va, th, out)
    if (
        chance is not None
        and va.n >= th.val_trend_min_points
        and va.late_level > th.val_worse_than_chance * chance
        and tr.final < chance
    ):
        # What the model learned on the training set makes it worse than guessing on
        # held-out data: nothing it learned transfers (inputs without information about
        # the labels, or labels without relation to the inputs).
        out.add(
            "val.worse_than_chance",
            "curves",
            th.val_worse_than_chance_strength,
            val=va.late_level,
            chance=chance,
            train=tr.final,
        )
    if (
        chance is not None
        and chance > 0
        and va.n >= th.val_trend_min_points
        and va.minimum >= (1.0 - th.val_never_below_chance) * chance
        and tr.final <= th.val_never_learned_train_at * chance
        # From about guessing: a val loss that starts many times above it (huge logits from a
        # large init) can fall a long way, learning, and still not reach it.
        and va.first < th.init_loss_vs_chance * chance
    ):
        # The train loss fell well below chance and the val loss never did: nothing of what
        # was learned, at any point of the run, transfers (whether or not the val loss has
        # climbed past chance since; over-fitting would have brought it below first).
        out.add(
            "val.never_learned",
            "curves",
            th.val_never_learned_strength,
            val_min=va.minimum,
            chance=chance,
            train=tr.final,
        )
    if va.final > 0 and tr.final > 0:
        ratio = va.final / tr.final
        if ratio <= th.val_below_train:
            out.add(
                "val.below_train",
                "curves",
                th.val_below_train_strength,
                val=va.final,
                train=tr.final,
                ratio=ratio,
            )
        # A val loss many times the train loss *and* far above any fitted level: not the
        # gentle drift of over-fitting but inputs the model was not trained on (a different
        # preprocessing of the val data), or confident mistakes on a few samples.
        far = scale is None or va.final > th.val_extreme_vs_ref * scale
        if ratio >= th.val_extreme_ratio and far:
            out.add(
                "val.extreme_gap",
                "curves",
                grade(
                    math.log10(ratio),
                    math.log10(th.val_extreme_ratio),
                    th.val_extreme_gap_full_decades,
                ),
                val=va.final,
                train=tr.final,
                ratio=ratio,
            )


def val_frozen(run: Run, val: F.Series | None, th: Thresholds, out: Findings) -> None:
    """The val loss at every evaluation is one exact value: the weights did not change between
    evaluations (a fixed model on fixed data gives the same sum), so no update reached them.
    A constant at exactly ln C is left to the uniform-output signatures: a model whose outputs
    are all equal (a ReLU on the logits, all dead) also stops every update."""
    if val is None:
        return
    values = val.values[np.isfinite(val.values)]
    if len(values) < th.val_frozen_min_points or len(values) < len(val.values):
        return
    first = float(values[0])
    if first == 0.0 or np.max(np.abs(values - first)) > th.val_frozen_rel_tol * abs(first):
        return
    classifier = not (
        norm_name(run.config.loss) in REGRESSION_LOSSES or run.config.task == "regression"
    )
    if classifier and any(
        abs(first - math.log(c)) <= th.log_classes_tol * math.log(c) for c in COMMON_CLASS_COUNTS
    ):
        return
    out.add("val.frozen", "curves", th.val_frozen_strength, value=first, evaluations=len(values))


def _val_diverging_from_train(
    tr: F.CurveSummary, va: F.CurveSummary, th: Thresholds, out: Findings
) -> None:
    """A short pair of curves (a few epochs): the val loss rose at each of its last points
    while the train loss kept falling — over-fitting, seen as early as it can be."""
    if not (th.val_trend_min_points <= va.n < th.val_short_max_points) or out.has("val.rising"):
        return
    rising_tail = va.points_after_min >= th.val_rise_min_points_after_min and va.final > va.minimum
    if rising_tail and tr.falling_fraction >= th.steady_fall_fraction and tr.final < tr.start:
        out.add(
            "val.rising",
            "curves",
            th.val_rising_short_strength,
            minimum=va.minimum,
            final=va.final,
            rise_pct=100 * (va.final - va.minimum) / max(va.minimum, 1e-12),
            min_at_pct=100 * va.min_position,
        )


def layer_signatures(layers: list[LayerStats], th: Thresholds, out: Findings) -> None:
    _dead_from_start(layers, th, out)
    _grad_linear_growth(layers, th, out)
    _update_burst(layers, th, out)
    _update_high_early(layers, th, out)


def _update_high_early(layers: list[LayerStats], th: Thresholds, out: Findings) -> None:
    """The first sampled updates were large (above update_ratio_high) in most layers, even if
    later ones are small: what a too-large step does before it kills or saturates the units
    (after which nothing moves and the median looks low)."""
    first = th.update_early_points
    early = [
        F.finite_median(L.update_ratio[:first])
        for L in layers
        if L.update_ratio and len(L.update_ratio) >= first
    ]
    known = [u for u in early if u is not None]
    if (
        known
        and float(np.median(known)) > th.update_ratio_high
        and not out.has("layers.update_high")
    ):
        out.add(
            "layers.update_high_early",
            "layers",
            grade(
                math.log10(float(np.median(known)) / th.update_ratio_high),
                0.0,
                th.layers_update_high_early_full_decades,
            ),
            ratio=float(np.median(known)),
            limit=th.update_ratio_high,
        )


def _update_burst(layers: list[LayerStats], th: Thresholds, out: Findings) -> None:
    """One sampled step changed a layer's weights by a large fraction of their norm (healthy
    is ~1e-3 per step). The median hides it when the burst killed the layer and every later
    update is ~0, which is exactly when it matters."""
    worst: tuple[float, str, int] | None = None
    for layer in layers:
        for step, r in zip(layer.step, layer.update_ratio or [], strict=False):
            if r is not None and math.isfinite(r) and (worst is None or r > worst[0]):
                worst = (r, layer.name, step)
    if worst is not None and worst[0] >= th.update_burst:
        out.add(
            "layers.update_burst",
            "layers",
            grade(math.log10(worst[0] / th.update_burst), 0.0, th.layers_update_burst_full_decades),
            ratio=worst[0],
            layer=worst[1],
            step=worst[2],
        )


def _dead_from_start(layers: list[LayerStats], th: Thresholds, out: Findings) -> None:
    """Units already dead at the first sample, before training could kill them: their
    origin is the init or the inputs, not the step size."""
    for layer in layers:
        first = next(
            (d for d in layer.dead_fraction or [] if d is not None and math.isfinite(d)), None
        )
        if first is not None and first > th.dead_fraction:
            out.add(
                "layers.dead_from_start",
                "layers",
                th.layers_dead_from_start_strength,
                layer=layer.name,
                dead_pct=100 * first,
            )
            return


def _grad_linear_growth(layers: list[LayerStats], th: Thresholds, out: Findings) -> None:
    """Gradients summed over steps (no zero_grad) grow like a power of the step count
    (log g linear in log t, slope ~0.5-1.5); a step size too large grows them exponentially
    (log g linear in t). Which of the two lines fits better tells them apart."""
    best: tuple[float, str, float] | None = None
    for layer in layers:
        if not layer.grad_norm or len(layer.grad_norm) < th.grad_growth_fit_min_points:
            continue
        steps = np.asarray(layer.step[: len(layer.grad_norm)], dtype=np.float64)
        g = np.array([np.nan if v is None else v for v in layer.grad_norm], dtype=np.float64)
        keep = np.isfinite(g) & (g > 0) & (steps > 0)
        if keep.sum() < th.grad_growth_fit_min_points:
            continue
        t, lg = steps[keep], np.log(g[keep])
        decades = (lg[-1] - lg[0]) / math.log(10)  # ln -> log10
        if decades < th.accumulation_decades:
            continue
        slope, r2_power = _fit(np.log(t), lg)
        _, r2_exp = _fit(t, lg)
        power_law = (
            th.accumulation_exponent_low <= slope <= th.accumulation_exponent_high
            and r2_power >= th.accumulation_min_r2
            and r2_power > r2_exp
        )
        if power_law and (best is None or decades > best[0]):
            best = (decades, layer.name, slope)
    if best is not None:
        out.add(
            "layers.grad_linear_growth",
            "layers",
            grade(best[0], th.accumulation_decades, th.layers_grad_linear_growth_full_decades),
            layer=best[1],
            decades=best[0],
            exponent=best[2],
        )


def _fit(x: F.FloatArray, y: F.FloatArray) -> tuple[float, float]:
    """Least-squares slope and R² of y on x."""
    xc, yc = x - x.mean(), y - y.mean()
    sxx = float(np.dot(xc, xc))
    syy = float(np.dot(yc, yc))
    if sxx <= 0 or syy <= 0:
        return 0.0, 0.0
    slope = float(np.dot(xc, yc)) / sxx
    return slope, slope * slope * sxx / syy


def normal_state(run: Run, th: Thresholds, out: Findings) -> None:
    """What was measured and found normal. A cause predicts abnormal values in these
    statistics; when they were recorded and are normal, the cause is contradicted
    (differential diagnosis: the absence of an expected sign is evidence too)."""
    layers = run.layers
    late = th.layer_stats_from
    dead = [F.finite_median(L.dead_fraction, late) for L in layers if L.dead_fraction]
    dead_known = [d for d in dead if d is not None]
    if dead_known and max(dead_known) < th.dead_fraction * th.dead_normal_share:
        out.add(
            "layers.dead_normal",
            "layers",
            th.layers_dead_normal_strength,
            max_dead_pct=100 * max(dead_known),
        )
    updates = [F.finite_median(L.update_ratio) for L in layers if L.update_ratio]
    upd = [u for u in updates if u is not None and u > 0]
    if upd and max(upd) < th.update_ratio_high and min(upd) > th.update_ratio_low:
        out.add(
            "layers.updates_normal",
            "layers",
            th.layers_updates_normal_strength,
            lowest=min(upd),
            highest=max(upd),
        )
    grads = [F.finite_median(L.grad_norm, late) for L in layers if L.grad_norm]
    g = [x for x in grads if x is not None and x > 0]
    growth = [F.growth_decades(L.grad_norm, th) for L in layers if L.grad_norm]
    grew = max((x for x in growth if x is not None), default=0.0)
    if len(g) >= 2 and not out.has("layers.grad_nonfinite"):
        ratio = g[0] / g[-1]
        margin = th.grads_normal_margin
        within = margin * th.vanishing_ratio < ratio < th.exploding_ratio / margin
        if within and grew < th.grads_normal_max_growth_decades:
            out.add(
                "layers.grads_normal",
                "layers",
                th.layers_grads_normal_strength,
                ratio=ratio,
                layers=len(g),
            )
    train = run.data.get("train")
    if train is None:
        return
    if (train.feature_std or train.input_std is not None) and not out.has("data.unnormalized"):
        out.add("data.normalized", "data", th.data_normalized_strength)
    ordered = train.ordered_batch_fraction
    if ordered is not None and ordered <= th.shuffled_max_ordered:
        out.add("data.shuffled", "data", th.data_shuffled_strength, fraction=ordered)
    if train.label_counts and len(train.label_counts) >= 2:
        counts = list(train.label_counts.values())
        ratio = min(counts) / max(max(counts), 1)
        if ratio >= th.balanced_min_ratio:
            out.add("data.balanced", "data", th.data_balanced_strength, ratio=ratio)


def config_signatures(run: Run, th: Thresholds, out: Findings) -> None:
    _one_hot_regression(run, th, out)
    _transformer_no_warmup(run, th, out)
    _can_memorize(run, th, out)


def _can_memorize(run: Run, th: Thresholds, out: Findings) -> None:
    """At least two parameters per training sample: a network of this size can fit any
    labelling of its training set (Zhang et al. 2017: 2n + d weights suffice for n samples),
    so failing to fit it is not a lack of capacity."""
    cfg = run.config
    stats = run.data.get("train")
    n_train = cfg.split_sizes.get("train") or (stats.n_samples if stats is not None else None)
    params = cfg.model.parameters if cfg.model is not None else None
    if params and n_train and params >= th.can_memorize_params_per_sample * n_train:
        out.add(
            "config.can_memorize",
            "config",
            th.config_can_memorize_strength,
            parameters=params,
            samples=n_train,
        )


def _one_hot_regression(run: Run, th: Thresholds, out: Findings) -> None:
    """Targets that are rows of one 1 and zeros are class labels, whatever loss is applied
    to them: MSE on one-hot targets is a classifier trained with a regression loss (its
    gradient vanishes as the softmax saturates; cross-entropy's does not)."""
    train = run.data.get("train")
    loss = norm_name(run.config.loss)
    if train is None or not train.target_one_hot:
        return
    if loss in REGRESSION_LOSSES or (not loss and run.config.task == "regression"):
        out.add(
            "config.loss_task_mismatch",
            "data",
            th.config_loss_task_mismatch_strength,
            loss=loss or "mse",
            task="classification",
        )


def _transformer_no_warmup(run: Run, th: Thresholds, out: Findings) -> None:
    """A transformer trained with an adaptive optimizer and no learning-rate warm-up: Adam's
    early updates have a high-variance second-moment estimate, and post-LN transformers get
    stuck or diverge without warm-up (Popel & Bojar 2018; Liu et al. 2020, RAdam)."""
    cfg = run.config
    opt = norm_name(cfg.optimizer.name if cfg.optimizer else None)
    model = cfg.model
    kinds = " ".join(model.layer_types).lower() if model is not None else ""
    transformer = cfg.task == "language_model" or any(
        k in kinds for k in ("transformer", "attention", "encoderlayer", "decoderlayer")
    )
    warmup = False
    if cfg.lr_schedule is not None and len(cfg.lr_schedule.value) >= 2:
        v = cfg.lr_schedule.value
        warmup = v[0] < max(v)
    if transformer and opt.startswith(("adam", "nadam")) and not warmup:
        out.add(
            "config.transformer_no_warmup",
            "config",
            th.config_transformer_no_warmup_strength,
            optimizer=opt,
        )
