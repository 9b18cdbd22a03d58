"""Every number the diagnosis compares against, in one typed, documented, overridable place.

Override with ``diagnose(run, thresholds=Thresholds(lr_high_sgd=1.0))`` or a dict of fields.
Each default names where it comes from (FIELD-NOTES.md summarises the sources); the ones
marked "tuned" were set on the example runs and the benchmark's tuning half.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class Thresholds(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

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
        3.0, description="first loss at least this multiple of ln C: bad init or input scale"
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
    test_vs_val_abs: float = Field(
        0.25, description="... and above val by at least this fraction of the reference level"
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
    weight_shrink: float = Field(
        0.3, description="total weight norm ended below this fraction of its start: decay wins"
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
    params_per_sample: float = Field(
        20.0, description="parameters per training sample above this: room to memorise"
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
    # ---- reporting
    min_confidence: float = Field(
        0.15, description="findings below this confidence are not reported"
    )


DEFAULT_THRESHOLDS = Thresholds()
