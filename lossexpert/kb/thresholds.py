"""Every number the diagnosis compares against, in one typed, documented, overridable place.

Override with ``diagnose(run, thresholds=Thresholds(lr_high_sgd=1.0))`` or a dict of fields.
Each default names where it comes from (FIELD-NOTES.md summarises the sources); the ones
marked "tuned" were set on the example runs and the benchmark's tuning half.

Besides the thresholds proper, the detectors' other numbers live here too: how a curve is
summarised (windows, minimum point counts), the strength of each fact that is not graded, and
where a graded fact reaches full strength. What stays in the code is arithmetic (0, 1, 2,
halves), indices, numerical epsilons, unit conversions (ln 10, e, percent) and the grading
scale itself (``engine.facts.grade``). ``lossexpert.kb.symptoms`` says which fields each
symptom reads.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class Thresholds(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    # ---- how a curve is summarised (engine/features.py): every curve fact reads these
    summary_bins: int = Field(
        200,
        description="a long curve is reduced to at most this many bin medians before any "
        "statistic is taken: keeps every later statistic O(bins) (a resolution, not a verdict)",
    )
    start_level_fraction: float = Field(
        0.02,
        description="the start level is the median of the first this fraction of the points "
        "(at least one)...",
    )
    start_level_max_points: int = Field(
        5,
        description="... and of at most this many: the loss at init, before the first updates "
        "move it",
    )
    final_level_from: float = Field(
        0.9,
        description="the final level is the median of the points from this fraction of the "
        "curve on (the last 10 %): one lucky or unlucky last batch is not the end level",
    )
    minimum_smoothing_window: int = Field(
        3,
        description="the minimum is read on the bin medians smoothed by a rolling median of "
        "this many bins: one lucky low point is not a minimum",
    )
    minimum_smoothing_min_bins: int = Field(
        20,
        description="... on curves of at least this many bins (a shorter one keeps its points: "
        "a few posted values are all there is)",
    )
    late_slope_from: float = Field(
        2 / 3,
        description="the late slope (Theil-Sen change of ln(loss)) is read on the bins from "
        "this fraction of the curve on: the last third (at least the last two points)",
    )
    local_level_min_window: int = Field(
        5,
        description="the local level of a curve (a rolling median, for noise and spikes) spans "
        "at least this many points...",
    )
    local_level_window_divisor: int = Field(
        50,
        description="... or the curve's point count divided by this (2 % of the curve)",
    )
    noise_min_points: int = Field(
        8,
        description="a curve of fewer points cannot separate a trend from the noise around it: "
        "its noise is taken as 0",
    )
    spike_min_height_vs_start: float = Field(
        0.25,
        description="a spike (spike_ratio x the local level) must also stand this fraction of "
        "the start level above it: a level near 0 makes any wobble a multiple",
    )
    plateau_band_of_drop: float = Field(
        0.1,
        description="the plateau begins where the level stays within this fraction of the "
        "total drop of the final level...",
    )
    plateau_band_of_level: float = Field(
        0.02,
        description="... or within this fraction of the final level itself, whichever is wider "
        "(a curve that never fell has no drop to measure by)",
    )
    late_level_divisor: int = Field(
        5,
        description="the end level used against a minimum (late_level) is the median of the "
        "last point count / this points (the last fifth)...",
    )
    late_level_min_points: int = Field(3, description="... and of at least this many points")
    window_start_fraction: float = Field(
        0.25,
        description="a curve whose first step is past this fraction of its last step is a "
        "window of a longer run (a posted excerpt, a resumed log): progress since the start "
        "of training cannot be judged on it",
    )
    frozen_rel_tol: float = Field(
        1e-4,
        description="trailing points within this fraction of the last value count as the same "
        "value (frozen): a minibatch loss that still learns moves far more than 0.01 %",
    )
    growth_window_divisor: int = Field(
        10,
        description="gradient-norm growth compares the medians of the first and the last "
        "point count / this positive samples (a tenth, at least one)...",
    )
    growth_min_points: int = Field(
        4, description="... of a series with at least this many positive samples"
    )
    epoch_column_min_points: int = Field(
        4,
        description="the steps per epoch are read from a fractional epoch column of at least "
        "this many points...",
    )
    epoch_column_min_epochs: int = Field(3, description="... that spans at least this many epochs")
    saw_tooth_min_period: int = Field(
        3,
        description="an epoch of fewer steps has no within-epoch pattern to read; also the "
        "shortest lag the period search tries",
    )
    saw_tooth_max_period: int = Field(
        5000, description="epochs longer than this many steps are not read for a saw-tooth"
    )
    saw_tooth_epochs_read: int = Field(
        20,
        description="the saw-tooth and the period search read the last this many epochs "
        "(periods): they tell, and it bounds the work",
    )
    saw_tooth_min_epochs_known: int = Field(
        3,
        description="a saw-tooth needs at least this many whole epochs of the known length",
    )
    saw_tooth_min_epochs_searched: int = Field(
        2,
        description="... and this many of a period found by the search (whose stricter bar, "
        "saw_tooth_r2_searched, makes up for it)",
    )
    saw_tooth_search_min_points: int = Field(
        30,
        description="the epoch length is searched for (autocorrelation) only on a train curve "
        "of at least this many points",
    )
    period_search_max: int = Field(
        2000, description="the longest period (in points) the autocorrelation search tries"
    )
    period_search_min_points: int = Field(
        12, description="the period search needs at least this many finite points"
    )
    period_detrend_min_window: int = Field(
        5,
        description="before the period search the curve is detrended by a rolling median of "
        "at least this many points...",
    )
    period_detrend_divisor: int = Field(
        10, description="... or the point count divided by this (a tenth of the curve)"
    )
    period_min_autocorrelation: float = Field(
        0.3,
        description="the strongest autocorrelation peak must reach this to be a period: below "
        "it no lag stands out of the noise",
    )
    # ---- train loss
    no_progress_rel: float = Field(
        0.12,
        description="train loss fell by less than this fraction of its start: no progress "
        "(TheDeepChecker asks for >= 5 % per window; tuned for a whole run)",
    )
    at_chance_tol: float = Field(
        0.04,
        description="final train loss within this fraction of ln C: the model outputs the "
        "class prior (TheDeepChecker's initial-loss check, applied to the end)",
    )
    high_final_vs_chance: float = Field(
        0.5,
        description="final train loss above this fraction of the way from the loss's floor to "
        "ln C: less than half of the chance-level loss removed, far from fitted. Not lower: "
        "label smoothing 0.1 alone puts a perfect fit at 0.22-0.29 ln C (C = 2..10), and "
        "label noise adds to it (0.3 fired on fitted models with either)",
    )
    unfinished_level: float = Field(
        0.3,
        description="a train loss still falling (still_falling_log_drop) at above this "
        "fraction of the chance level (or of its start): stopped before it converged",
    )
    unfinished_log_drop: float = Field(
        0.223,
        description="... falling by more than this in ln(loss) (a fifth) across the last third: "
        "a run near the end of its budget that converges loses less than that per third; "
        "healthy runs of the suite fell 11-18 %, set with the suite in view",
    )
    high_final_vs_variance: float = Field(
        0.75,
        description="a squared-error regression whose final train loss is above this "
        "fraction of its targets' variance explains less than a quarter of it on its own "
        "training data (R² < 0.25). Not lower: a real, noisy set fitted well leaves half "
        "(scikit-learn's diabetes: a linear model reaches R² 0.52, Efron et al. 2004, LARS)",
    )
    high_final_vs_start: float = Field(
        0.5, description="without a chance level: final above this fraction of the start (tuned)"
    )
    diverge_ratio: float = Field(
        2.0,
        description="final level at least this multiple of the running minimum: diverging "
        "(FIELD-NOTES: loss >= 2x its running minimum)",
    )
    still_falling_log_drop: float = Field(
        0.12, description="ln(loss) still falling by more than this across the last third (tuned)"
    )
    saw_tooth_r2: float = Field(
        0.12, description="epoch-phase R² above chance by this much: unshuffled saw-tooth (tuned)"
    )
    init_loss_vs_chance: float = Field(
        2.0,
        description="first loss at least this multiple of ln C: bad init or input scale. "
        "Cross-entropy over random logits of std s is about ln C + s^2/2, so twice ln C means "
        "untrained logits of std sqrt(2 ln C) (2.1 for 10 classes): confident random guesses, "
        "where a well-initialised net starts near ln C (Karpathy, 'verify loss @ init'; the "
        "suite's 54 healthy classifiers start at 0.97-1.12 x ln C)",
    )
    softmax_floor_tol: float = Field(
        0.06,
        description="final loss within this fraction of ln(1+(C-1)/e): softmax fed to "
        "cross-entropy (FIELD-NOTES: the floor is ~1.46 for 10 classes)",
    )
    bounded_floor_above: float = Field(
        1.15,
        description="final train loss within this multiple of ln(1+(C-1)/e), and never below "
        "it: converging on the floor of [0, 1]-bounded logits (the curve nears it "
        "asymptotically, so the end of a run sits a few percent above it)",
    )
    plateau_log_slope: float = Field(
        0.06, description="|change of ln(loss)| over the last third below this: a plateau"
    )
    noisy_late: float = Field(
        0.05,
        description="median |residual| in the second half above this fraction of the start "
        "level: oscillating (tuned)",
    )
    frozen_fraction: float = Field(
        0.25,
        description="the last this fraction of the train loss repeats one exact value: "
        "the outputs no longer depend on the weights (nothing flows back)",
    )
    min_points: int = Field(
        5, description="a train curve with fewer points is too short to judge its progress"
    )
    sparse_strength: float = Field(
        0.8,
        description="curve facts read from fewer than min_points points count this much: "
        "what people post is evidence, but thin",
    )
    exact_zero_min_batch: int = Field(
        2,
        description="train.exact_zero is not read at batch sizes up to this: one or two "
        "learned examples past 16.6 nats of margin make a batch's loss exactly 0.0",
    )
    exact_zero_fraction: float = Field(
        0.2,
        description="this share of train points exactly 0.0: a degenerate objective (label "
        "leak, trivial target); float32 cross-entropy is 0.0 only past ~16.6 nats of margin",
    )
    start_below_chance: float = Field(
        0.25,
        description="first classification loss below this fraction of ln C: not cross-entropy "
        "(MSE on one-hot targets starts near 1/C, 0.1 for 10 classes = 0.04 ln C)",
    )
    input_blind_max_spread: float = Field(
        0.02,
        description="a per-step cross-entropy at chance whose batch-to-batch noise, scaled to "
        "one example (median |residual| / 0.6745 x sqrt(batch)), is below this many nats "
        "comes from an output that is the same for every input: such an output varies only "
        "with the label (0 at the uniform output, 0.015 at the prior on digits), while a "
        "network at PyTorch's default init with 3 or more classes spreads by 0.033 nats at "
        "least (an LSTM on 4 classes; MLPs, GRU, RNN, 1-D conv and transformer more, medians "
        "0.08-0.33): benchmarks/calibration/output_spread.py, not the suite",
    )
    input_blind_min_classes: int = Field(
        3,
        description="... read with this many classes or more: one logit difference spreads "
        "little, and an untrained binary LSTM head varies by as little as 0.021 nats "
        "(benchmarks/calibration/output_spread.py)",
    )
    input_blind_assumed_batch: int = Field(
        32,
        description="the batch size assumed when the config does not give it: the most "
        "common default (Keras, Bengio 2012's recommendation); a true batch of several "
        "hundred could make an untrained LSTM pass for a blind output",
    )
    log_classes_tol: float = Field(
        0.003,
        description="a flat loss within this fraction of ln C for a common class count C "
        "(ln 1000 = 6.908) is read as uniform output; tight because ln C is dense for large C",
    )
    rise_after_fall: float = Field(
        1.3,
        description="final level this multiple of the minimum after falling: climbing back "
        "(30 % above the best is beyond minibatch noise once smoothed; diverging is 2x)",
    )
    above_init_ratio: float = Field(
        1.5,
        description="final level this multiple of the first point (the untrained model's loss): "
        "the first point is one batch's loss, whose spread for squared error on 32 Gaussian "
        "targets is sqrt(2/32) = 25 % (far less for cross-entropy at init); 1.5x is two such "
        "spreads above it",
    )
    train_above_init_full_at: float = Field(
        3.0, description="final / first at which train.above_init is at full strength"
    )
    rise_given_back: float = Field(
        0.25,
        description="... and the climb gave back at least this share of the progress made "
        "(start minus minimum): noise around a low level gives back a few percent",
    )
    spike_ratio: float = Field(
        3.0, description="a point this multiple of the local median level is a spike"
    )
    stall_after_spike: float = Field(
        0.9,
        description="after a spike the loss never gets below this fraction of the level "
        "before it: the spike did lasting damage (a recovering spike is healthy)",
    )
    jumpy_sign_changes: float = Field(
        0.5,
        description="share of consecutive changes that reverse direction on a curve that "
        "makes no progress: bouncing around a level (a smooth slow curve reverses ~0)",
    )
    falling_fast_log_drop: float = Field(
        1.386,
        description="ln(loss) fell by more than this (to under a quarter, ln 4) across the "
        "last third: far from converged when training stopped",
    )
    small_train_set: int = Field(
        10_000,
        description="a train set this small (or of unknown size) can be memorised by a "
        "modern network (Zhang et al. 2017: random labels on CIFAR-10's 50k are fitted)",
    )
    memorized_vs_start: float = Field(
        0.01, description="final train loss under this fraction of the start: near zero"
    )
    saw_tooth_r2_searched: float = Field(
        0.25,
        description="epoch-phase R² above chance by this much when the period had to be "
        "searched for (a stricter bar than saw_tooth_r2: many periods were tried)",
    )
    update_burst: float = Field(
        0.5,
        description="one step changed a layer's weights by this fraction of their norm: "
        "500x the ~1e-3 per step of healthy training (Karpathy, CS231n)",
    )
    accumulation_decades: float = Field(
        1.0,
        description="a gradient norm that grows by this many decades as a power of the step "
        "count: gradients summed over steps (no zero_grad)",
    )
    frozen_fitted_vs_start: float = Field(
        1e-3,
        description="a frozen train loss under this fraction of its start is a perfect fit "
        "(frozen at ~0), not a stall",
    )
    frozen_min_points: int = Field(
        20,
        description="frozen_fraction is applied to curves of at least this many points...",
    )
    frozen_short_min_repeats: int = Field(
        3,
        description="... a shorter curve is frozen when at least this many trailing points "
        "repeat one exact value...",
    )
    frozen_short_fraction: float = Field(
        0.5, description="... over at least this fraction of the curve"
    )
    diverge_min_rise_vs_ref: float = Field(
        0.25,
        description="a divergence must also climb by this fraction of the reference level "
        "(chance level, else the start): doubling a near-zero loss is not a divergence",
    )
    steady_fall_min_points: int = Field(
        3,
        description="a short curve (under min_points) of at least this many points that "
        "falls at nearly every point (steady_fall_fraction) is learning, however little...",
    )
    steady_fall_fraction: float = Field(
        0.75,
        description="... falling at at least this share of its point-to-point changes (also "
        "the train curve of a short val curve that rises while train keeps falling)",
    )
    softmax_floor_min_classes: int = Field(
        3,
        description="the softmax floor ln(1+(C-1)/e) is read for at least this many classes "
        "(for 2 it is too close to a fitted level to tell apart)",
    )
    bounded_floor_below: float = Field(
        0.99,
        description="converging on the bounded floor: the minimum never went below this "
        "fraction of the floor",
    )
    bounded_floor_raw_points: int = Field(
        3,
        description="converging on the bounded floor: fewer than this many logged batch losses "
        "below it (squashed outputs bound every sample's loss, so one batch below the floor "
        "already refutes it; three, so that one mis-logged value does not decide)",
    )
    classes_from_first_loss_min_points: int = Field(
        5,
        description="the class count is inferred from the first loss only on a curve of at "
        "least this many points...",
    )
    classes_from_first_loss_tol: float = Field(
        0.03,
        description="... whose first value is within this fraction of ln C...",
    )
    classes_from_first_loss_max: int = Field(
        10,
        description="... for a common class count C up to this: wider counts are not told "
        "apart at init",
    )
    exact_zero_min_points: int = Field(
        3, description="exactly-zero points must also number at least this many"
    )
    start_below_chance_first_step: int = Field(
        10,
        description="a curve starts at init when its first step is at most this...",
    )
    start_below_chance_first_step_fraction: float = Field(
        0.02,
        description="... or at most this fraction of its last step: only then is its first "
        "value the loss at init",
    )
    rise_after_fall_min_points_after: int = Field(
        3, description="a climb back needs at least this many points after the minimum"
    )
    lr_restart_factor: float = Field(
        1.5,
        description="a recorded learning rate that rises by this factor after the minimum is a "
        "warm restart or a cyclic schedule: the climb back is on purpose",
    )
    steady_climb_min_points: int = Field(
        20, description="a steady climb is read on train curves of at least this many points"
    )
    steady_climb_min_window: int = Field(
        3,
        description="... smoothed by a rolling median of at least this many points...",
    )
    steady_climb_window_divisor: int = Field(
        50, description="... or of the point count divided by this (2 % of the curve)..."
    )
    steady_climb_bins: int = Field(
        60, description="... and reduced to at most this many bin medians"
    )
    steady_climb_min_bins: int = Field(
        6, description="at least this many bins must follow the minimum"
    )
    steady_climb_rising_share: float = Field(
        0.8,
        description="after the minimum at least this share of successive bins rises: a "
        "steady climb (gradients that grow with every step), not jumps",
    )
    spike_min_points: int = Field(
        10, description="spikes are looked for on train curves of at least this many points"
    )
    spike_skip_min_points: int = Field(
        2,
        description="the first points fall fast and are not spikes: at least this many are "
        "skipped...",
    )
    spike_skip_divisor: int = Field(
        10, description="... or the point count divided by this (the first tenth)"
    )
    spike_level_before_points: int = Field(
        5, description="the level before a spike is the median of this many points before it"
    )
    spike_stall_min_points_after: int = Field(
        3, description="a stall after a spike needs at least this many points after it"
    )
    flat_jumpy_min_points: int = Field(
        4,
        description="flat-and-jumpy is read on curves of this many points or more...",
    )
    flat_jumpy_max_points: int = Field(
        30,
        description="... and at most this many (epoch-level logs, posted values): a per-step "
        "minibatch loss reverses at every other step whatever the step size",
    )
    one_step_per_epoch_min_points: int = Field(
        10,
        description="one update per epoch is read on curves (and epoch columns) of at least "
        "this many points...",
    )
    one_step_per_epoch_min_epoch_step: float = Field(
        0.999,
        description="... whose epoch counter advances by at least this much per point (one "
        "whole epoch, up to float rounding)...",
    )
    one_step_per_epoch_max_noise: float = Field(
        0.002,
        description="... with less noise than this (noisy_late's measure): full-batch "
        "training has none of the minibatch noise",
    )
    falling_fast_min_level: float = Field(
        0.1,
        description="train.falling_fast: only above this fraction of the way from the loss's "
        "floor to its chance level; below it the training data is fitted (a squared error "
        "under a tenth of the targets' variance is R² > 0.9) and a steep fall in log terms is "
        "the memorisation tail, not a run stopped before it converged",
    )
    falling_fast_min_share: float = Field(
        0.25,
        description="the last third must also have brought at least this share of the "
        "progress made: a loss converging to ~0 keeps falling in log terms while its absolute "
        "changes are tiny",
    )
    stopped_short_fraction: float = Field(
        0.5,
        description="training that ended under this fraction of its planned epochs or steps "
        "stopped short (or within its first epoch)",
    )
    # ---- val / test
    val_below_train: float = Field(
        0.8,
        description="val loss under this fraction of the train loss: regularisation active "
        "only in training (dropout, augmentation), or val data leaking from train",
    )
    val_worse_than_chance: float = Field(
        1.05,
        description="val loss (last fifth) above this multiple of ln C while train is below "
        "it: worse than guessing, what was learned does not transfer",
    )
    val_never_below_chance: float = Field(
        0.03,
        description="val loss never more than this fraction below the chance level: nothing "
        "learned transfers (3 % of ln C is about two standard errors of a mean cross-entropy "
        "over a few hundred val examples at chance)",
    )
    val_never_learned_train_at: float = Field(
        0.9,
        description="...while the train loss ends at or below this multiple of chance: the "
        "model did learn on its training set, by more than three times the val's noise bound "
        "above (10 % below chance)",
    )
    val_frozen_min_points: int = Field(
        4,
        description="val.frozen: a val loss evaluated at least this many times, every time to "
        "the same value (fewer can be the last evaluations of a schedule that reached 0)",
    )
    val_frozen_rel_tol: float = Field(
        1e-6,
        description="...within this fraction of the first evaluation: a fixed model on fixed "
        "data sums to the same float32 loss (to ~1e-7 with a GPU's unordered sums), and any "
        "optimizer step moves it by more",
    )
    val_extreme_ratio: float = Field(
        10.0,
        description="val loss this multiple of the train loss: beyond over-fitting's drift "
        "(different val preprocessing, or confident mistakes)",
    )
    val_extreme_vs_ref: float = Field(
        1.5,
        description="... and above this multiple of the chance level (worse than guessing)",
    )
    val_rise_rel: float = Field(
        0.08,
        description="val loss ended this fraction above its minimum: past the minimum "
        "(SMD Overtraining uses a patience; tuned)",
    )
    val_rise_abs_vs_ref: float = Field(
        0.02, description="... and by at least this fraction of the reference level"
    )
    gap_ratio: float = Field(
        1.5, description="... and val at least this multiple of train: a gap, not noise"
    )
    gap_vs_ref: float = Field(
        0.25,
        description="val - train above this fraction of the reference level: a "
        "generalisation gap (SMD's (val-train)/train > 0.1 fires on every fitted model)",
    )
    test_vs_val_ratio: float = Field(
        2.5, description="test loss at least this multiple of val loss (tuned)"
    )
    test_vs_val_measured_ratio: float = Field(
        1.5,
        description="test loss at least this multiple of val when the test inputs are measured "
        "to differ from the training ones (data.test_shift / data.test_noisier): the inputs say "
        "why, where test_vs_val_ratio guards a curves-only reading against a test set merely "
        "harder or smaller than val",
    )
    test_vs_val_measured_abs: float = Field(
        0.1,
        description="... and above val by at least this fraction of the reference level (a "
        "tenth of guessing: a loss near zero cannot make a ratio out of noise)",
    )
    test_lag_min_val_gain: float = Field(
        0.2,
        description="test.lags_val: the val loss fell by at least this fraction of its first "
        "evaluation (a gain well beyond an evaluation's noise)...",
    )
    test_lag_fraction: float = Field(
        0.5,
        description="... and the test loss gained under this fraction of what val gained: on "
        "splits drawn alike the two gain the same up to sampling noise (0.76 to 1.9 of it on "
        "the suite's 66 healthy runs with both)",
    )
    test_vs_val_abs: float = Field(
        0.25, description="... and above val by at least this fraction of the reference level"
    )
    val_trend_min_points: int = Field(
        3,
        description="a val curve of fewer points is too short for a rise or a trend; its final "
        "value still compares with train and test",
    )
    val_late_level_min_points: int = Field(
        6,
        description="from this many val points the end level is the median of the last fifth "
        "(late_level), below it the final level",
    )
    val_rise_vs_noise: float = Field(
        3.0,
        description="a val rise must exceed this multiple of the curve's own noise (median "
        "|residual|): one noisy evaluation is not over-fitting",
    )
    val_min_before: float = Field(
        0.85,
        description="the val minimum must come before this fraction of the curve for a rise "
        "after it",
    )
    val_rise_min_points_after_min: int = Field(
        2,
        description="a val rise needs this many points after the minimum: one late uptick "
        "is noise, not a rise",
    )
    val_short_max_points: int = Field(
        10,
        description="a val curve of fewer points (a few epochs) that rises at its last points "
        "while train falls steadily is read as over-fitting, as early as it can be seen",
    )
    early_stop_min_val_points: int = Field(
        8,
        description="early stopping (training ended a few evaluations after the val minimum) "
        "is read on val curves of at least this many points...",
    )
    early_stop_patience_points: int = Field(
        3,
        description="... with at most this many points after the minimum (a patience of a few "
        "evaluations)...",
    )
    early_stop_end_fraction: float = Field(
        0.9,
        description="... and a val curve that runs to at least this fraction of the run's last "
        "step",
    )
    # ---- gradients and updates
    vanishing_ratio: float = Field(
        1e-3, description="first/last layer gradient norm below this: vanishing (AUTOTRAINER)"
    )
    exploding_ratio: float = Field(
        70.0, description="first/last layer gradient norm above this: exploding (AUTOTRAINER)"
    )
    grad_norm_huge: float = Field(
        100.0,
        description="a layer's gradient norm above this at the first sample, before "
        "training could move anything: the network's outputs blow up the gradients "
        "(TheDeepChecker flags mean |g| > 1e6; tuned for layer norms)",
    )
    exploding_growth_decades: float = Field(
        2.0, description="total gradient norm grew by this many decades over the run"
    )
    dead_fraction: float = Field(
        0.5, description="ReLU layer with more than this fraction of dead units (SMD DeadRelu)"
    )
    dead_min_batch: int = Field(
        8,
        description="dead fractions measured on batches smaller than this are not read: a "
        "healthy ReLU is zero for a whole batch of B with probability ~0.5^B (0.4 % at 8)",
    )
    saturated_fraction: float = Field(
        0.5, description="sigmoid/tanh layer with more than this fraction saturated (DeepDiagnosis)"
    )
    update_ratio_high: float = Field(
        0.05,
        description="median update/weight ratio above this: steps too large "
        "(Karpathy's ~1e-3 healthy; DeepDiagnosis flags 1e-3 x 100 = 0.1)",
    )
    update_ratio_low: float = Field(
        1e-4,
        description="largest layer's median update/weight ratio below this: steps too "
        "small (1e-3 / 10; DeepDiagnosis flags 1e-3 / 100)",
    )
    init_scale_low: float = Field(
        0.05,
        description="init std x sqrt(fan_in) below this: weights start too small "
        "(He gives 1.41, LeCun/PyTorch default 0.58)",
    )
    init_scale_high: float = Field(
        10.0, description="init std x sqrt(fan_in) above this: weights start too large"
    )
    init_gain_compounded_high: float = Field(
        100.0,
        description="product over the feed-forward layers (no normalisation between them) of "
        "each one's init gain over the variance-keeping one (sqrt 2 before a ReLU, He et al. "
        "2015; 1 otherwise) above this: the untrained output starts two decades too large. "
        "PyTorch's default init gives below 1, He's about 1",
    )
    update_ratio_healthy: float = Field(
        1e-3,
        description="the update/weight ratio per step of healthy training (Karpathy, CS231n): "
        "a run of steps x this >= barely_moved_total had the steps to move, so weights that "
        "barely moved took steps too small (layers.small_steps), not too few",
    )
    barely_moved_total: float = Field(
        0.1,
        description="steps x the largest layer's median update/weight ratio below this: the "
        "weights moved at most a tenth of their norm over the whole run, still near their "
        "init (100 steps at the healthy 1e-3 ratio of Karpathy's rule of thumb)",
    )
    recurrent_gain_high: float = Field(
        2.0,
        description="a recurrent hidden-to-hidden matrix's init std x sqrt(hidden) (its "
        "spectral radius) above this: twice the edge of chaos at gain 1; PyTorch's default "
        "gives 0.58, orthogonal and identity inits 1",
    )
    weight_shrink: float = Field(
        0.3, description="total weight norm ended below this fraction of its start: decay wins"
    )
    layer_stats_from: float = Field(
        0.5,
        description="per-layer gradient norms, dead and saturated fractions are read as the "
        "median from this fraction of the run on (the second half: after the first steps)",
    )
    update_negligible_grad_vs_weight: float = Field(
        1e-6,
        description="a gradient below this fraction of the weights is lost to float32 "
        "rounding (eps 1.2e-7) whatever the step size: its zero update is vanishing gradients, "
        "not a wiring bug",
    )
    weight_norm_start_points: int = Field(
        3, description="the starting weight norm is the median of this many first samples"
    )
    weight_norm_end_from: float = Field(
        0.9,
        description="the final weight norm is the median from this fraction of the run on",
    )
    weight_norm_min_points: int = Field(
        4, description="weight shrinkage is read on layers with at least this many samples"
    )
    update_early_points: int = Field(
        3, description="the first updates are the median of this many first samples"
    )
    grad_growth_fit_min_points: int = Field(
        6,
        description="power-law gradient growth is fitted on layers with at least this many "
        "positive gradient-norm samples",
    )
    accumulation_exponent_low: float = Field(
        0.4,
        description="gradients summed over steps grow like step^k with k at least this...",
    )
    accumulation_exponent_high: float = Field(
        1.6, description="... and at most this (~0.5-1.5 for sums of gradients)"
    )
    accumulation_min_r2: float = Field(
        0.9,
        description="... the power law fitting with at least this R² (and better than an "
        "exponential, which is a step size too large)",
    )
    dead_normal_share: float = Field(
        0.5,
        description="dead fractions were recorded and are normal when every layer's is below "
        "this share of dead_fraction",
    )
    grads_normal_margin: float = Field(
        10.0,
        description="first/last gradient ratio normal when it is this factor inside "
        "(vanishing_ratio, exploding_ratio)...",
    )
    grads_normal_max_growth_decades: float = Field(
        1.0, description="... and no layer's gradient norm grew by this many decades"
    )
    # ---- config
    lr_high_sgd: float = Field(0.5, description="SGD learning rate above this is suspicious")
    lr_high_adaptive: float = Field(
        0.01, description="Adam-family learning rate above this is suspicious (default 1e-3)"
    )
    lr_low_sgd: float = Field(1e-3, description="SGD learning rate below this is suspicious")
    lr_low_adaptive: float = Field(1e-5, description="Adam-family rate below this is suspicious")
    weight_decay_high: float = Field(
        0.05, description="coupled L2 / weight decay above this (typical 1e-4 .. 1e-2)"
    )
    dropout_high: float = Field(0.5, description="dropout above this (UMLAUT flags > 0.5)")
    batch_tiny: int = Field(4, description="batch size at or below this (seed: 8 .. 32 typical)")
    batch_huge_fraction: float = Field(
        0.25, description="batch size above this fraction of the training set"
    )
    few_epochs: int = Field(3, description="this many epochs or fewer")
    deep_saturating_depth: int = Field(
        5, description="sigmoid/tanh hidden layers in a feed-forward net this deep"
    )
    shallow_depth: int = Field(
        4,
        description="a feed-forward net of at most this many weighted layers with non-saturating "
        "activations: too shallow for gradients to vanish by depth (Glorot & Bengio 2010 see it "
        "grow with depth in sigmoid/tanh nets; He et al. 2015 train plain ReLU nets of 20+ "
        "layers with a suitable init)",
    )
    config_shallow_non_saturating_strength: float = Field(
        0.8, description="config.shallow_non_saturating: the config states depth and activations"
    )
    config_normalization_layers_strength: float = Field(
        0.8,
        description="config.normalization_layers: the config lists the normalisation layers of a "
        "feed-forward or convolutional net",
    )
    config_no_relu_strength: float = Field(
        0.8,
        description="config.no_relu: the activations are known and none can output a hard zero",
    )
    params_per_sample: float = Field(
        20.0, description="parameters per training sample above this: room to memorise"
    )
    l1_high_below_weight_decay: float = Field(
        10.0,
        description="an L1 penalty above weight_decay_high divided by this is high: L1's pull "
        "does not shrink with the weight",
    )
    regularization_weight_decay_min: float = Field(
        1e-3,
        description="weight decay above this counts as regularisation (below: none to speak of)...",
    )
    regularization_dropout_min: float = Field(
        0.1, description="... and dropout above this (any L1 penalty counts)"
    )
    batch_huge_min: int = Field(
        128,
        description="a batch is huge only from this size on, whatever the training set: "
        "smaller batches still sample the data",
    )
    can_memorize_params_per_sample: float = Field(
        2.0,
        description="at least this many parameters per training sample can fit any labelling "
        "(Zhang et al. 2017: 2n + d weights suffice for n samples)",
    )
    # ---- data
    feature_scale_spread: float = Field(
        100.0,
        description="95th/5th percentile of feature std above this: un-normalised "
        "(seed item 11: km vs cm)",
    )
    input_abs_max: float = Field(
        100.0, description="inputs beyond +-this: un-normalised (DeepDiagnosis expects [-1, 1])"
    )
    input_std_small: float = Field(
        0.1,
        description="every feature's std below this: inputs an order of magnitude below the "
        "unit variance that standard inits assume (LeCun et al., Efficient BackProp, 1998, "
        "§4.3: scale inputs so their covariances are about 1; Glorot & Bengio 2010, He et al. "
        "2015 derive their scales for unit-variance inputs); the first layer's signal and its "
        "weights' gradients shrink with it (scikit-learn's diabetes as shipped: 0.048)",
    )
    input_small_abs_max: float = Field(
        0.5,
        description="... with no value beyond +-this: a sparse 0/1 indicator has a small std "
        "and values of 1, and is not badly scaled",
    )
    input_abs_mean: float = Field(
        10.0,
        description="a feature mean beyond +-this: un-centred (SMD flags |mean| > 0.2 "
        "for images; tabular data needs more room)",
    )
    class_ratio: float = Field(
        0.1, description="smallest/largest class count below this: imbalanced (SMD, 1:10)"
    )
    ordered_batches: float = Field(
        0.3, description="fraction of single-class batches above this: data ordered by label"
    )
    test_mean_shift: float = Field(
        0.5, description="mean |test - train| feature mean, in pooled std, above this: shift"
    )
    test_std_ratio: float = Field(
        1.3, description="median test/train feature std above this: noisier test inputs"
    )
    feature_spread_high_quantile: float = Field(
        0.95,
        description="the feature-scale spread is this quantile of the per-feature std...",
    )
    feature_spread_low_quantile: float = Field(
        0.05, description="... over this quantile (constant features left out)"
    )
    ordered_batches_min_batch: int = Field(
        4,
        description="single-class batches are not read on batches smaller than this: a batch "
        "of 1-3 holds one class by chance",
    )
    test_shift_cap_std: float = Field(
        5.0,
        description="one feature's test/train mean shift counts at most this many pooled std: "
        "one broken feature does not make the mean",
    )
    shuffled_max_ordered: float = Field(
        0.05,
        description="single-class batches at or below this fraction: the data is shuffled "
        "(recorded and normal)",
    )
    balanced_min_ratio: float = Field(
        0.5,
        description="smallest/largest class count at or above this: the classes are balanced "
        "(recorded and normal)",
    )
    # ---- how much a fact weighs: the strength of each fact that is not graded (0..1; a rule
    # adds its cf times the weakest strength among its facts). Set by hand with the rules.
    train_nonfinite_strength: float = Field(
        1.0,
        description="train.nonfinite: the train loss became NaN/Inf: a fact, not a reading",
    )
    train_frozen_strength: float = Field(
        1.0,
        description="train.frozen: the train loss repeats one exact value: a fact",
    )
    train_input_blind_strength: float = Field(
        0.6,
        description="train.input_blind with the batch size known: the noise says the output "
        "ignores the input, one reading of a noise estimate",
    )
    train_input_blind_assumed_strength: float = Field(
        0.4,
        description="train.input_blind with the batch size assumed "
        "(input_blind_assumed_batch): weaker, the true batch may be larger",
    )
    train_at_chance_strength: float = Field(
        1.0,
        description="train.at_chance: the train loss sits at the chance level (ln C given or "
        "inferred, or the targets' variance)",
    )
    train_at_chance_guessed_strength: float = Field(
        0.8,
        description="train.at_chance: ... at ln C of a common class count when no count is known "
        "(the count is a guess)",
    )
    train_softmax_floor_strength: float = Field(
        0.8,
        description="train.softmax_floor: the train loss stopped at the softmax floor "
        "ln(1+(C-1)/e)",
    )
    train_near_bounded_floor_strength: float = Field(
        0.7,
        description="train.near_bounded_floor: the train loss closes in on that floor from above",
    )
    train_plateau_strength: float = Field(
        0.8,
        description="train.plateau: the train loss levelled off",
    )
    train_below_floor_strength: float = Field(
        1.0,
        description="train.below_floor: a bounded loss went below its floor: impossible, so "
        "certain",
    )
    train_negative_strength: float = Field(
        0.6,
        description="train.negative: a loss of unknown kind went negative: some objectives are "
        "negative by design",
    )
    train_steady_climb_strength: float = Field(
        0.8,
        description="train.steady_climb: the loss climbs steadily after its minimum",
    )
    train_spike_then_stall_strength: float = Field(
        0.8,
        description="train.spike_then_stall: a spike the loss never recovered from",
    )
    train_one_step_per_epoch_strength: float = Field(
        0.8,
        description="train.one_step_per_epoch: one update per epoch (full-batch training)",
    )
    train_stopped_short_strength: float = Field(
        0.9,
        description="train.stopped_short: training stopped within its first epoch or under half "
        "its plan",
    )
    val_rising_short_strength: float = Field(
        0.6,
        description="val.rising: a short val curve rising at its last points while train falls: "
        "seen early, so weaker",
    )
    val_still_falling_strength: float = Field(
        0.8,
        description="val.still_falling: the val loss was still falling at the end",
    )
    val_worse_than_chance_strength: float = Field(
        0.8,
        description="val.worse_than_chance: the val loss ends above the chance level while train "
        "is below it",
    )
    test_inputs_differ_strength: float = Field(
        0.8,
        description="test.inputs_differ: a measured input difference and a test loss above val",
    )
    layers_barely_moved_strength: float = Field(
        0.8,
        description="layers.barely_moved: measured update ratios times the steps recorded",
    )
    layers_small_steps_strength: float = Field(
        0.8,
        description="layers.small_steps: the same measurement as layers.barely_moved, with the "
        "steps recorded enough at a healthy ratio",
    )
    layers_recurrent_gain_high_strength: float = Field(
        0.8,
        description="layers.recurrent_gain_high: a measured init, as strong as a layer's init "
        "scale out of range",
    )
    val_frozen_strength: float = Field(
        0.9,
        description="val.frozen: the val loss never changed across its evaluations: a fact, "
        "short of 1 only because a posted curve may round a slow change away",
    )
    val_never_learned_strength: float = Field(
        0.7,
        description="val.never_learned: the train loss fell well below chance while the val "
        "loss never got below it (a little weaker than ending above chance)",
    )
    val_below_train_strength: float = Field(
        0.7,
        description="val.below_train: the val loss is below the train loss",
    )
    test_above_train_strength: float = Field(
        0.6,
        description="test.above_train: test far above train with no val split: weaker than "
        "against val",
    )
    config_lr_typical_strength: float = Field(
        0.6,
        description="config.lr_typical: the learning rate is in the usual range (contrary "
        "evidence)",
    )
    config_plain_sgd_strength: float = Field(
        0.6,
        description="config.plain_sgd: plain SGD without momentum",
    )
    config_l1_high_strength: float = Field(
        0.7,
        description="config.l1_high: an L1 penalty above weight_decay_high / "
        "l1_high_below_weight_decay",
    )
    config_no_regularization_strength: float = Field(
        0.6,
        description="config.no_regularization: no regularisation (contrary evidence)",
    )
    config_init_constant_strength: float = Field(
        0.9,
        description="config.init_constant: a constant (zero, ones) initialisation in the config",
    )
    config_softmax_before_ce_strength: float = Field(
        1.0,
        description="config.softmax_before_ce: softmax output before a cross-entropy that applies "
        "it again: a fact of the config",
    )
    config_squashing_output_strength: float = Field(
        0.9,
        description="config.squashing_output: a sigmoid/tanh on the output layer before a "
        "cross-entropy that applies log-softmax to logits (as strong as the softmax case: the "
        "config states it)",
    )
    config_softmax_before_ce_unnamed_loss_strength: float = Field(
        0.6,
        description="config.softmax_before_ce with no loss named (a functional loss) on a "
        "classifier whose last module is a softmax: cross-entropy, the usual loss, applies "
        "log-softmax again; NLL on the log of those probabilities would be right",
    )
    config_squashing_output_unnamed_loss_strength: float = Field(
        0.6,
        description="config.squashing_output with no loss named (a functional loss) on a "
        "classification task of 3+ classes: a sigmoid output is right only for multi-label "
        "targets with BCE, which the config does not say",
    )
    config_unsquashed_output_strength: float = Field(
        0.6,
        description="config.unsquashed_output: the model's modules are listed and none squashes "
        "(no softmax, sigmoid or tanh module); below 1 because forward() can still call "
        "softmax as a function",
    )
    config_relu_output_strength: float = Field(
        0.9,
        description="config.relu_output: the output layer applies ReLU to the logits",
    )
    config_loss_task_mismatch_strength: float = Field(
        0.9,
        description="config.loss_task_mismatch: a regression loss on a classification task or the "
        "reverse (also: one-hot targets under a regression loss)",
    )
    config_deep_saturating_strength: float = Field(
        0.8,
        description="config.deep_saturating: a deep stack of sigmoid/tanh without ReLU",
    )
    config_grads_accumulate_strength: float = Field(
        0.9,
        description="config.grads_accumulate: the gradients carry over from step to step (watch "
        "saw the same .grad tensors, their values kept and growing as a sum does); below 1 "
        "because a stated or measured fact about the loop can still be wrong",
    )
    config_grads_reset_strength: float = Field(
        0.8,
        description="config.grads_reset: the loop resets the gradients between steps (new .grad "
        "tensors, or values that do not carry over)",
    )
    config_no_shuffle_strength: float = Field(
        0.8,
        description="config.no_shuffle: the config says the data is not shuffled",
    )
    config_no_input_normalization_strength: float = Field(
        0.8,
        description="config.no_input_normalization: the config says the inputs are not normalised",
    )
    config_batch_tiny_strength: float = Field(
        0.8,
        description="config.batch_tiny: a batch size of batch_tiny or less",
    )
    config_batch_usual_strength: float = Field(
        0.8,
        description="config.batch_usual: a batch size is given and above batch_tiny",
    )
    config_few_epochs_strength: float = Field(
        0.8,
        description="config.few_epochs: the config plans few_epochs epochs or fewer",
    )
    config_can_memorize_strength: float = Field(
        0.7,
        description="config.can_memorize: enough parameters to memorise the training set "
        "(contrary evidence for too little capacity)",
    )
    config_transformer_no_warmup_strength: float = Field(
        0.8,
        description="config.transformer_no_warmup: a transformer under Adam without warm-up",
    )
    layers_grad_nonfinite_strength: float = Field(
        1.0,
        description="layers.grad_nonfinite: NaN/Inf gradients: a fact",
    )
    layers_no_gradient_strength: float = Field(
        1.0,
        description="layers.no_gradient: every recorded layer got exactly zero gradient: a fact",
    )
    layers_init_scale_strength: float = Field(
        0.8,
        description="layers.init_scale: a layer's init scale is outside "
        "init_scale_low..init_scale_high",
    )
    layers_dead_from_start_strength: float = Field(
        0.9,
        description="layers.dead_from_start: units already dead at the first sample",
    )
    layers_dead_normal_strength: float = Field(
        0.8,
        description="layers.dead_normal: dead fractions recorded and normal (contrary evidence)",
    )
    layers_updates_normal_strength: float = Field(
        0.7,
        description="layers.updates_normal: update ratios recorded and healthy (contrary evidence)",
    )
    layers_grads_normal_strength: float = Field(
        0.8,
        description="layers.grads_normal: gradient norms recorded and even across layers "
        "(contrary evidence)",
    )
    data_unnormalized_strength: float = Field(
        0.6,
        description="data.unnormalized: un-normalised inputs on one of the three readings "
        "(spread, |max|, |mean|)...",
    )
    data_unnormalized_strength_per_reason: float = Field(
        0.2,
        description="data.unnormalized: ... plus this for each further reading that agrees",
    )
    data_normalized_strength: float = Field(
        0.7,
        description="data.normalized: input statistics recorded and normalised (contrary evidence)",
    )
    data_shuffled_strength: float = Field(
        0.8,
        description="data.shuffled: batches recorded and mixed (contrary evidence)",
    )
    data_balanced_strength: float = Field(
        0.8,
        description="data.balanced: class counts recorded and balanced (contrary evidence)",
    )
    # ---- where a graded fact is at full strength: grade() gives 0.6 at the fact's threshold,
    # rising linearly to 1.0 at these values (engine/facts.py). Set by hand with the rules.
    train_diverging_full_at: float = Field(
        10.0,
        description="final/minimum ratio at which train.diverging is at full strength",
    )
    train_no_progress_full_at: float = Field(
        0.0,
        description="relative improvement at which train.no_progress is at full strength: none at "
        "all",
    )
    train_high_final_vs_chance_full_at: float = Field(
        0.8,
        description="final level (0 = floor, 1 = ln C) at which train.high_final is at full "
        "strength",
    )
    train_high_final_vs_variance_full_at: float = Field(
        1.0,
        description="train.high_final against the targets' variance reaches full strength at "
        "the variance itself: nothing of it explained",
    )
    train_high_final_vs_start_full_at: float = Field(
        1.0,
        description="final/start ratio at which train.high_final (no chance level) is at full "
        "strength",
    )
    train_unfinished_full_at: float = Field(
        0.7,
        description="fall of ln(loss) over the last third at which train.unfinished is at full "
        "strength",
    )
    train_still_falling_full_at: float = Field(
        0.5,
        description="fall of ln(loss) over the last third at which train.still_falling is at full "
        "strength",
    )
    train_init_loss_high_full_at: float = Field(
        30.0,
        description="first loss / ln C at which train.init_loss_high is at full strength",
    )
    train_oscillating_full_at: float = Field(
        0.3,
        description="late noise (fraction of the start level) at which train.oscillating is at "
        "full strength",
    )
    train_saw_tooth_full_above_bar: float = Field(
        0.35,
        description="epoch-phase R² above chance by the bar plus this: train.saw_tooth at full "
        "strength",
    )
    train_exact_zero_full_at: float = Field(
        0.8,
        description="share of exactly-zero points at which train.exact_zero is at full strength",
    )
    train_start_below_chance_full_at: float = Field(
        0.0,
        description="first loss / ln C at which train.start_below_chance is at full strength (a "
        "first loss of 0)",
    )
    train_flat_jumpy_full_at: float = Field(
        1.0,
        description="share of reversals at which train.flat_jumpy is at full strength (every "
        "change reverses)",
    )
    train_falling_fast_full_multiple: float = Field(
        2.0,
        description="train.falling_fast is at full strength at this multiple of "
        "falling_fast_log_drop",
    )
    val_rising_full_at: float = Field(
        0.5,
        description="val rise / val minimum at which val.rising is at full strength",
    )
    val_gap_full_at: float = Field(
        0.6,
        description="(val - train) / reference at which val.gap is at full strength",
    )
    val_extreme_gap_full_decades: float = Field(
        2.0,
        description="decades of val/train at which val.extreme_gap is at full strength (100x)",
    )
    test_above_val_full_at: float = Field(
        10.0,
        description="test/val ratio at which test.above_val is at full strength",
    )
    config_lr_high_full_decades: float = Field(
        1.0,
        description="decades above the ceiling at which config.lr_high is at full strength",
    )
    config_lr_low_full_decades: float = Field(
        1.0,
        description="decades below the floor at which config.lr_low is at full strength",
    )
    config_weight_decay_high_full_at: float = Field(
        1.0,
        description="weight decay at which config.weight_decay_high is at full strength",
    )
    config_dropout_high_full_at: float = Field(
        0.9,
        description="dropout at which config.dropout_high is at full strength",
    )
    regression_min_width: int = Field(
        2,
        description="config.bottleneck without classes: the narrowest hidden layer of a network "
        "with no classes to count needs at least this many units (Park et al., 'Minimum width "
        "for universal approximation', ICLR 2021: d_in + 1 for ReLU networks, and d_in >= 1); "
        "one unit passes a single number",
    )
    config_bottleneck_full_at: float = Field(
        5.0,
        description="classes per unit of the narrowest layer at which config.bottleneck is at "
        "full strength",
    )
    config_many_params_full_multiple: float = Field(
        50.0,
        description="config.many_params_per_sample is at full strength at this multiple of "
        "params_per_sample",
    )
    config_batch_huge_full_at: float = Field(
        1.0,
        description="batch / training set at which config.batch_huge is at full strength (the "
        "whole set)",
    )
    layers_vanishing_full_decades: float = Field(
        8.0,
        description="decades of last/first gradient norm at which layers.vanishing is at full "
        "strength",
    )
    layers_exploding_full_decades: float = Field(
        4.0,
        description="decades of first/last gradient norm at which layers.exploding is at full "
        "strength",
    )
    layers_grad_huge_full_decades: float = Field(
        2.0,
        description="decades above grad_norm_huge at which layers.grad_huge is at full strength",
    )
    layers_grad_growth_full_decades: float = Field(
        6.0,
        description="decades of growth at which layers.grad_growth is at full strength",
    )
    layers_grad_linear_growth_full_decades: float = Field(
        3.0,
        description="decades of power-law growth at which layers.grad_linear_growth is at full "
        "strength",
    )
    layers_dead_relu_full_at: float = Field(
        1.0,
        description="dead fraction at which layers.dead_relu is at full strength (all dead)",
    )
    layers_saturated_full_at: float = Field(
        1.0,
        description="saturated fraction at which layers.saturated is at full strength",
    )
    layers_zero_update_full_share: float = Field(
        0.5,
        description="share of layers never updated at which layers.zero_update is at full strength",
    )
    layers_update_high_full_decades: float = Field(
        1.5,
        description="decades above update_ratio_high at which layers.update_high is at full "
        "strength",
    )
    layers_update_high_early_full_decades: float = Field(
        1.0,
        description="decades above update_ratio_high at which layers.update_high_early is at full "
        "strength",
    )
    layers_update_low_full_decades: float = Field(
        2.0,
        description="decades below update_ratio_low at which layers.update_low is at full strength",
    )
    layers_update_burst_full_decades: float = Field(
        1.0,
        description="decades above update_burst at which layers.update_burst is at full strength",
    )
    layers_init_zero_full_share: float = Field(
        0.5,
        description="share of layers with constant init at which layers.init_zero is at full "
        "strength",
    )
    layers_weight_shrink_full_at: float = Field(
        20.0,
        description="start/end weight norm at which layers.weight_shrink is at full strength",
    )
    data_imbalanced_full_at: float = Field(
        0.001,
        description="smallest/largest class count at which data.imbalanced is at full strength "
        "(1:1000)",
    )
    data_ordered_batches_full_at: float = Field(
        0.9,
        description="share of single-class batches at which data.ordered_batches is at full "
        "strength",
    )
    data_test_noisier_full_at: float = Field(
        3.0,
        description="test/train feature std at which data.test_noisier is at full strength",
    )
    data_test_shift_full_at: float = Field(
        2.0,
        description="mean shift (pooled std) at which data.test_shift is at full strength",
    )
    # ---- reporting
    min_confidence: float = Field(
        0.15, description="findings below this confidence are not reported"
    )


DEFAULT_THRESHOLDS = Thresholds()
