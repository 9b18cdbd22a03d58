"""The symptom registry: every fact the diagnosis can be given about a run, in one place.

A symptom is a named, bounded fact (``<where>.<what>``: ``train.saw_tooth``,
``layers.dead_relu``, ``config.no_shuffle``, ``probe.ordered_batches``) with a strength in
(0, 1] and the numbers that justify it (its evidence ``values``). The engine derives the
curve, config, layer and data facts (``engine/symptoms.py``, ``engine/signatures.py``), the
doctor's experiments the probe facts (``doctor/_probes.py``); the rules use them by name
(``kb/causes``, ``kb/problems.py``, ``kb/chains.py``) and the words describe them, one macro
per symptom in ``templates/<lang>/symptoms.j2``, reading the ``values``.

For each symptom this registry says:

- ``source``: where it is read from (``curves``, ``config``, ``layers``, ``data``, ``probe``;
  ``also_from`` when another part of the run can establish it too). Evidence that exists only
  because of the user's answers (``consult``) is reported with ``source: "user"``;
- ``values``: the keys its evidence always carries, ``optional`` the ones only some readings
  carry (what the templates may read);
- ``thresholds``: the ``Thresholds`` fields that decide whether it is reported and how
  strongly. Every curve fact also reads the curve's summary (``CURVE_SUMMARY_THRESHOLDS``),
  the doctor's probes their own ``ProbeLimits`` besides; ``CONTEXT_THRESHOLDS`` decide the
  run's context (a chance level inferred from the first loss) and notes, not one symptom.

``tests/test_symptom_registry.py`` derives all of it again from the code and the runs:
every symptom emitted is registered with its keys, every field a detector compares with is
listed, every name a rule uses is known, every symptom has words in every language.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:  # only for the signatures: the registry imports nothing of the kb
    from lossexpert.kb.units import CausalLink, CauseUnit, ProblemRule

Source = Literal["curves", "config", "layers", "data", "probe", "user"]


@dataclass(frozen=True)
class SymptomSpec:
    """One symptom: its name, where it comes from, its evidence keys, its thresholds."""

    name: str
    source: Source
    values: tuple[str, ...] = ()
    optional: tuple[str, ...] = ()
    thresholds: tuple[str, ...] = ()
    also_from: tuple[Source, ...] = ()

    @property
    def sources(self) -> tuple[Source, ...]:
        return (self.source, *self.also_from)

    @property
    def keys(self) -> frozenset[str]:
        """Every key its evidence ``values`` may hold."""
        return frozenset((*self.values, *self.optional))


def _spec(
    name: str,
    source: Source,
    values: tuple[str, ...] = (),
    *,
    optional: tuple[str, ...] = (),
    thresholds: tuple[str, ...] = (),
    also_from: tuple[Source, ...] = (),
) -> SymptomSpec:
    return SymptomSpec(name, source, values, optional, tuple(sorted(set(thresholds))), also_from)


# How every curve was summarised (engine/features.py): each curve fact reads these.
CURVE_SUMMARY_THRESHOLDS: tuple[str, ...] = (
    "final_level_from",
    "frozen_rel_tol",
    "late_level_divisor",
    "late_level_min_points",
    "late_slope_from",
    "local_level_min_window",
    "local_level_window_divisor",
    "minimum_smoothing_min_bins",
    "minimum_smoothing_window",
    "noise_min_points",
    "plateau_band_of_drop",
    "plateau_band_of_level",
    "spike_min_height_vs_start",
    "spike_ratio",
    "start_level_fraction",
    "start_level_max_points",
    "summary_bins",
    "window_start_fraction",
)
# Not a symptom's: the chance level inferred from a first loss at ln C (which every
# chance-based curve fact then reads), and the memorisation note of a run without val.
CONTEXT_THRESHOLDS: tuple[str, ...] = (
    "classes_from_first_loss_max",
    "classes_from_first_loss_min_points",
    "classes_from_first_loss_tol",
    "memorized_vs_start",
    "small_train_set",
)
# A train curve of under ``min_points`` points weighs each of its facts ``sparse_strength``.
_SPARSE = ("min_points", "sparse_strength")

# The doctor's generic remedies (doctor/_probes.py REMEDIES): trying one on a copy gives
# ``probe.fix.<remedy>`` (confirmed) or ``probe.nofix.<remedy>``.
REMEDY_KEYS: tuple[str, ...] = (
    "lr_down",
    "lr_up",
    "optimizer",
    "smaller_batch",
    "larger_batch",
    "shuffle",
    "no_regularization",
    "standardize",
    "clip",
)
_TRIED = ("change", "steps", "fix_drop_pct", "base_drop_pct", "base_end", "fix_end")

_ENGINE: tuple[SymptomSpec, ...] = (
    _spec(
        "train.nonfinite",
        "curves",
        ("step", "value", "finite_points"),
        thresholds=("train_nonfinite_strength",),
    ),
    _spec(
        "train.diverging",
        "curves",
        ("minimum", "final", "ratio"),
        thresholds=(
            "diverge_min_rise_vs_ref",
            "diverge_ratio",
            "plateau_log_slope",
            "train_diverging_full_at",
            *_SPARSE,
        ),
    ),
    _spec(
        "train.no_progress",
        "curves",
        ("start", "final", "improvement_pct"),
        thresholds=(
            "min_points",
            "no_progress_rel",
            "spike_ratio",
            "steady_fall_fraction",
            "steady_fall_min_points",
            "train_no_progress_full_at",
            *_SPARSE,
        ),
    ),
    _spec(
        "train.at_chance",
        "curves",
        ("final", "chance"),
        optional=("kind", "classes"),
        thresholds=(
            "at_chance_tol",
            "log_classes_tol",
            "min_points",
            "plateau_log_slope",
            "steady_fall_fraction",
            "steady_fall_min_points",
            "train_at_chance_guessed_strength",
            "train_at_chance_strength",
            *_SPARSE,
        ),
    ),
    _spec(
        "train.input_blind",
        "curves",
        ("spread", "noise", "batch", "batch_assumed", "final"),
        thresholds=(
            "input_blind_assumed_batch",
            "input_blind_max_spread",
            "input_blind_min_classes",
            "min_points",
            "noise_min_points",
            "epoch_column_min_points",
            "epoch_column_min_epochs",
            "train_input_blind_assumed_strength",
            "train_input_blind_strength",
            *_SPARSE,
        ),
    ),
    _spec(
        "train.high_final",
        "curves",
        ("final", "ratio"),
        optional=("chance", "start", "kind"),
        thresholds=(
            "spike_ratio",
            "high_final_vs_chance",
            "high_final_vs_start",
            "high_final_vs_variance",
            "train_high_final_vs_variance_full_at",
            "min_points",
            "plateau_log_slope",
            "steady_fall_fraction",
            "steady_fall_min_points",
            "still_falling_log_drop",
            "train_high_final_vs_chance_full_at",
            "train_high_final_vs_start_full_at",
            *_SPARSE,
        ),
    ),
    _spec(
        "train.init_loss_high",
        "curves",
        ("first", "chance", "ratio"),
        thresholds=("init_loss_vs_chance", "train_init_loss_high_full_at", *_SPARSE),
    ),
    _spec(
        "train.softmax_floor",
        "curves",
        ("final", "floor", "classes"),
        thresholds=(
            "bounded_floor_below",
            "bounded_floor_raw_points",
            "min_points",
            "plateau_log_slope",
            "softmax_floor_min_classes",
            "softmax_floor_tol",
            "steady_fall_fraction",
            "steady_fall_min_points",
            "train_softmax_floor_strength",
            *_SPARSE,
        ),
    ),
    _spec(
        "train.still_falling",
        "curves",
        ("drop_pct", "final"),
        thresholds=("still_falling_log_drop", "train_still_falling_full_at", *_SPARSE),
    ),
    _spec(
        "train.frozen",
        "curves",
        ("value", "frozen_pct"),
        thresholds=(
            "frozen_fitted_vs_start",
            "frozen_fraction",
            "frozen_min_points",
            "frozen_short_fraction",
            "frozen_short_min_repeats",
            "train_frozen_strength",
            *_SPARSE,
        ),
    ),
    _spec(
        "train.plateau",
        "curves",
        ("final", "onset", "late_change_pct"),
        thresholds=(
            "spike_ratio",
            "min_points",
            "no_progress_rel",
            "plateau_log_slope",
            "steady_fall_fraction",
            "steady_fall_min_points",
            "train_plateau_strength",
            *_SPARSE,
        ),
    ),
    _spec(
        "train.oscillating",
        "curves",
        ("noise", "spikes"),
        thresholds=("noisy_late", "train_oscillating_full_at", *_SPARSE),
    ),
    _spec(
        "train.saw_tooth",
        "curves",
        ("r2", "chance_r2", "period"),
        thresholds=(
            "epoch_column_min_epochs",
            "epoch_column_min_points",
            "period_detrend_divisor",
            "period_detrend_min_window",
            "period_min_autocorrelation",
            "period_search_max",
            "period_search_min_points",
            "saw_tooth_epochs_read",
            "saw_tooth_max_period",
            "saw_tooth_min_epochs_known",
            "saw_tooth_min_epochs_searched",
            "saw_tooth_min_period",
            "saw_tooth_r2",
            "saw_tooth_r2_searched",
            "saw_tooth_search_min_points",
            "train_saw_tooth_full_above_bar",
            *_SPARSE,
        ),
    ),
    _spec(
        "train.below_floor",
        "curves",
        ("minimum", "loss"),
        thresholds=("train_below_floor_strength", *_SPARSE),
    ),
    _spec(
        "train.negative", "curves", ("minimum",), thresholds=("train_negative_strength", *_SPARSE)
    ),
    _spec(
        "train.exact_zero",
        "curves",
        ("zero_pct", "points"),
        thresholds=(
            "exact_zero_min_batch",
            "exact_zero_fraction",
            "exact_zero_min_points",
            "train_exact_zero_full_at",
            *_SPARSE,
        ),
    ),
    _spec(
        "train.start_below_chance",
        "curves",
        ("first", "chance", "ratio"),
        thresholds=(
            "start_below_chance",
            "start_below_chance_first_step",
            "start_below_chance_first_step_fraction",
            "train_start_below_chance_full_at",
            *_SPARSE,
        ),
    ),
    _spec(
        "train.above_init",
        "curves",
        ("first", "final", "ratio"),
        thresholds=("above_init_ratio", "train_above_init_full_at", "min_points"),
    ),
    _spec(
        "train.rise_after_fall",
        "curves",
        ("minimum", "final", "rise_pct", "given_back_pct", "min_step"),
        thresholds=(
            "spike_ratio",
            "diverge_ratio",
            "lr_restart_factor",
            "no_progress_rel",
            "rise_after_fall",
            "rise_after_fall_min_points_after",
            "rise_given_back",
            *_SPARSE,
        ),
    ),
    _spec(
        "train.spike_then_stall",
        "curves",
        ("step_index", "before", "peak", "after"),
        thresholds=(
            "local_level_min_window",
            "local_level_window_divisor",
            "spike_level_before_points",
            "spike_min_points",
            "spike_ratio",
            "spike_skip_divisor",
            "spike_skip_min_points",
            "spike_stall_min_points_after",
            "stall_after_spike",
            "train_spike_then_stall_strength",
            *_SPARSE,
        ),
    ),
    _spec(
        "train.flat_jumpy",
        "curves",
        ("reversals_pct", "points"),
        thresholds=(
            "flat_jumpy_max_points",
            "flat_jumpy_min_points",
            "jumpy_sign_changes",
            "train_flat_jumpy_full_at",
            *_SPARSE,
        ),
    ),
    _spec(
        "train.one_step_per_epoch",
        "curves",
        ("points",),
        thresholds=(
            "epoch_column_min_epochs",
            "epoch_column_min_points",
            "one_step_per_epoch_max_noise",
            "one_step_per_epoch_min_epoch_step",
            "one_step_per_epoch_min_points",
            "train_one_step_per_epoch_strength",
            *_SPARSE,
        ),
    ),
    _spec(
        "train.falling_fast",
        "curves",
        ("drop_pct", "final"),
        thresholds=(
            "falling_fast_log_drop",
            "falling_fast_min_level",
            "falling_fast_min_share",
            "train_falling_fast_full_multiple",
            *_SPARSE,
        ),
    ),
    _spec(
        "train.unfinished",
        "curves",
        ("drop_pct", "final", "level_pct"),
        thresholds=(
            "min_points",
            "train_unfinished_full_at",
            "unfinished_level",
            "unfinished_log_drop",
            *_SPARSE,
        ),
    ),
    _spec(
        "train.steady_climb",
        "curves",
        ("rising_pct", "bins"),
        thresholds=(
            "steady_climb_bins",
            "steady_climb_min_bins",
            "steady_climb_min_points",
            "steady_climb_min_window",
            "steady_climb_rising_share",
            "steady_climb_window_divisor",
            "train_steady_climb_strength",
            *_SPARSE,
        ),
    ),
    _spec(
        "train.stopped_short",
        "curves",
        ("epochs_done", "epochs_planned", "steps"),
        thresholds=("stopped_short_fraction", "train_stopped_short_strength", *_SPARSE),
    ),
    _spec(
        "train.near_bounded_floor",
        "curves",
        ("final", "floor", "classes"),
        thresholds=(
            "bounded_floor_above",
            "bounded_floor_below",
            "bounded_floor_raw_points",
            "min_points",
            "plateau_log_slope",
            "softmax_floor_min_classes",
            "softmax_floor_tol",
            "steady_fall_fraction",
            "steady_fall_min_points",
            "train_near_bounded_floor_strength",
            *_SPARSE,
        ),
    ),
    _spec(
        "val.rising",
        "curves",
        ("minimum", "final", "rise_pct", "min_at_pct"),
        thresholds=(
            "early_stop_end_fraction",
            "early_stop_min_val_points",
            "early_stop_patience_points",
            "steady_fall_fraction",
            "still_falling_log_drop",  # a val curve still falling was not early-stopped
            "val_late_level_min_points",
            "val_min_before",
            "val_rise_abs_vs_ref",
            "val_rise_min_points_after_min",
            "val_rise_rel",
            "val_rise_vs_noise",
            "val_rising_full_at",
            "val_rising_short_strength",
            "val_short_max_points",
            "val_trend_min_points",
        ),
    ),
    _spec(
        "val.gap",
        "curves",
        ("val", "train", "gap", "reference"),
        thresholds=(
            "early_stop_end_fraction",
            "early_stop_min_val_points",
            "early_stop_patience_points",
            "gap_ratio",
            "gap_vs_ref",
            "still_falling_log_drop",  # a val curve still falling was not early-stopped
            "val_gap_full_at",
        ),
    ),
    _spec(
        "val.still_falling",
        "curves",
        ("drop_pct",),
        thresholds=("still_falling_log_drop", "val_still_falling_strength", "val_trend_min_points"),
    ),
    _spec(
        "val.below_train",
        "curves",
        ("val", "train", "ratio"),
        thresholds=("val_below_train", "val_below_train_strength"),
    ),
    _spec(
        "val.extreme_gap",
        "curves",
        ("val", "train", "ratio"),
        thresholds=("val_extreme_gap_full_decades", "val_extreme_ratio", "val_extreme_vs_ref"),
    ),
    _spec(
        "val.worse_than_chance",
        "curves",
        ("val", "chance", "train"),
        thresholds=(
            "val_trend_min_points",
            "val_worse_than_chance",
            "val_worse_than_chance_strength",
        ),
    ),
    _spec(
        "val.frozen",
        "curves",
        ("value", "evaluations"),
        thresholds=(
            "val_frozen_min_points",
            "val_frozen_rel_tol",
            "val_frozen_strength",
            "log_classes_tol",
        ),
    ),
    _spec(
        "val.never_learned",
        "curves",
        ("val_min", "chance", "train"),
        thresholds=(
            "val_trend_min_points",
            "val_never_below_chance",
            "val_never_learned_train_at",
            "init_loss_vs_chance",
            "val_never_learned_strength",
        ),
    ),
    _spec(
        "test.above_val",
        "curves",
        ("test", "val", "ratio"),
        thresholds=("test_above_val_full_at", "test_vs_val_abs", "test_vs_val_ratio"),
    ),
    _spec(
        "test.inputs_differ",
        "data",
        ("test", "val", "ratio"),
        thresholds=(  # and, through the data facts it needs, theirs
            "test_vs_val_measured_ratio",
            "test_vs_val_measured_abs",
            "test_inputs_differ_strength",
        ),
    ),
    _spec(
        "test.lags_val",
        "curves",
        ("val_gain_pct", "test_gain_pct", "test", "val"),
        thresholds=(
            "test_lag_min_val_gain",
            "test_lag_fraction",
            "val_trend_min_points",
        ),
    ),
    _spec(
        "test.above_train",
        "curves",
        ("test", "train"),
        thresholds=("gap_vs_ref", "test_above_train_strength", "test_vs_val_ratio"),
    ),
    _spec(
        "config.lr_high",
        "config",
        ("lr", "optimizer", "limit"),
        thresholds=("config_lr_high_full_decades", "lr_high_adaptive", "lr_high_sgd"),
    ),
    _spec(
        "config.lr_low",
        "config",
        ("lr", "optimizer", "limit"),
        thresholds=(
            "config_lr_low_full_decades",
            "lr_high_adaptive",
            "lr_high_sgd",
            "lr_low_adaptive",
            "lr_low_sgd",
        ),
    ),
    _spec(
        "config.lr_typical",
        "config",
        ("lr", "optimizer"),
        thresholds=(
            "config_lr_typical_strength",
            "lr_high_adaptive",
            "lr_high_sgd",
            "lr_low_adaptive",
            "lr_low_sgd",
        ),
    ),
    _spec("config.plain_sgd", "config", ("optimizer",), thresholds=("config_plain_sgd_strength",)),
    _spec(
        "config.weight_decay_high",
        "config",
        ("weight_decay",),
        thresholds=("config_weight_decay_high_full_at", "weight_decay_high"),
    ),
    _spec(
        "config.l1_high",
        "config",
        ("l1",),
        thresholds=("config_l1_high_strength", "l1_high_below_weight_decay", "weight_decay_high"),
    ),
    _spec(
        "config.dropout_high",
        "config",
        ("dropout",),
        thresholds=("config_dropout_high_full_at", "dropout_high"),
    ),
    _spec(
        "config.no_regularization",
        "config",
        ("weight_decay", "dropout"),
        thresholds=(
            "config_no_regularization_strength",
            "regularization_dropout_min",
            "regularization_weight_decay_min",
        ),
    ),
    _spec(
        "config.init_constant", "config", ("init",), thresholds=("config_init_constant_strength",)
    ),
    _spec(
        "config.softmax_before_ce",
        "config",
        ("output_activation", "loss"),
        thresholds=(
            "config_softmax_before_ce_strength",
            "config_softmax_before_ce_unnamed_loss_strength",
        ),
    ),
    _spec(
        "config.squashing_output",
        "config",
        ("output_activation", "loss"),
        thresholds=(
            "config_squashing_output_strength",
            "config_squashing_output_unnamed_loss_strength",
        ),
    ),
    _spec(
        "config.shallow_non_saturating",
        "config",
        ("depth", "activations"),
        thresholds=("shallow_depth", "config_shallow_non_saturating_strength"),
    ),
    _spec(
        "config.normalization_layers",
        "config",
        ("normalization",),
        thresholds=("config_normalization_layers_strength",),
    ),
    _spec(
        "config.no_relu",
        "config",
        ("activations",),
        thresholds=("config_no_relu_strength",),
    ),
    _spec(
        "config.unsquashed_output",
        "config",
        ("layer_types",),
        thresholds=("config_unsquashed_output_strength",),
    ),
    _spec(
        "config.relu_output",
        "config",
        ("output_activation",),
        thresholds=("config_relu_output_strength",),
    ),
    _spec(
        "config.loss_task_mismatch",
        "config",
        ("loss", "task"),
        thresholds=("config_loss_task_mismatch_strength",),
        also_from=("data",),
    ),
    _spec(
        "config.deep_saturating",
        "config",
        ("activation", "depth"),
        thresholds=("config_deep_saturating_strength", "deep_saturating_depth"),
    ),
    _spec(
        "config.bottleneck",
        "config",
        ("narrowest",),
        optional=("classes", "needed"),
        thresholds=("config_bottleneck_full_at", "regression_min_width"),
    ),
    _spec(
        "config.many_params_per_sample",
        "config",
        ("parameters", "samples", "per_sample"),
        thresholds=("config_many_params_full_multiple", "params_per_sample"),
    ),
    _spec("config.no_shuffle", "config", (), thresholds=("config_no_shuffle_strength",)),
    _spec(
        "config.grads_accumulate", "config", (), thresholds=("config_grads_accumulate_strength",)
    ),
    _spec("config.grads_reset", "config", (), thresholds=("config_grads_reset_strength",)),
    _spec(
        "config.no_input_normalization",
        "config",
        ("input_normalization",),
        thresholds=("config_no_input_normalization_strength",),
    ),
    _spec(
        "config.batch_tiny",
        "config",
        ("batch_size",),
        thresholds=("batch_tiny", "config_batch_tiny_strength"),
    ),
    _spec(
        "config.batch_usual",
        "config",
        ("batch_size",),
        thresholds=("batch_tiny", "config_batch_usual_strength"),
    ),
    _spec(
        "config.batch_huge",
        "config",
        ("batch_size", "train_samples"),
        thresholds=("batch_huge_fraction", "batch_huge_min", "config_batch_huge_full_at"),
    ),
    _spec(
        "config.few_epochs",
        "config",
        ("epochs",),
        thresholds=("config_few_epochs_strength", "few_epochs"),
    ),
    _spec(
        "config.transformer_no_warmup",
        "config",
        ("optimizer",),
        thresholds=("config_transformer_no_warmup_strength",),
    ),
    _spec(
        "config.can_memorize",
        "config",
        ("parameters", "samples"),
        thresholds=("can_memorize_params_per_sample", "config_can_memorize_strength"),
    ),
    _spec(
        "layers.grad_nonfinite",
        "layers",
        ("layer", "count", "layers"),
        thresholds=("layers_grad_nonfinite_strength",),
    ),
    _spec(
        "layers.vanishing",
        "layers",
        ("ratio", "first_layer", "first_norm", "last_layer", "last_norm"),
        thresholds=("layer_stats_from", "layers_vanishing_full_decades", "vanishing_ratio"),
    ),
    _spec(
        "layers.exploding",
        "layers",
        ("ratio", "first_layer", "first_norm", "last_layer", "last_norm"),
        thresholds=(
            "exploding_ratio",
            "layer_stats_from",
            "layers_exploding_full_decades",
            "vanishing_ratio",
        ),
    ),
    _spec(
        "layers.grad_huge",
        "layers",
        ("layer", "grad_norm", "limit"),
        thresholds=("grad_norm_huge", "layers_grad_huge_full_decades"),
    ),
    _spec(
        "layers.grad_growth",
        "layers",
        ("decades",),
        thresholds=(
            "exploding_growth_decades",
            "growth_min_points",
            "growth_window_divisor",
            "layers_grad_growth_full_decades",
        ),
    ),
    _spec(
        "layers.no_gradient",
        "layers",
        ("layers",),
        thresholds=("layer_stats_from", "layers_no_gradient_strength"),
    ),
    _spec(
        "layers.dead_relu",
        "layers",
        ("layer", "dead_pct", "layers"),
        thresholds=(
            "dead_fraction",
            "dead_min_batch",
            "layer_stats_from",
            "layers_dead_relu_full_at",
        ),
    ),
    _spec(
        "layers.saturated",
        "layers",
        ("layer", "saturated_pct"),
        thresholds=("layer_stats_from", "layers_saturated_full_at", "saturated_fraction"),
    ),
    _spec(
        "layers.zero_update",
        "layers",
        ("layers", "of", "first_layer"),
        thresholds=("layers_zero_update_full_share", "update_negligible_grad_vs_weight"),
    ),
    _spec(
        "layers.update_high",
        "layers",
        ("ratio", "limit"),
        thresholds=(
            "layers_update_high_full_decades",
            "update_negligible_grad_vs_weight",
            "update_ratio_high",
        ),
    ),
    _spec(
        "layers.update_low",
        "layers",
        ("ratio", "limit"),
        thresholds=(
            "layers_update_low_full_decades",
            "update_negligible_grad_vs_weight",
            "update_ratio_high",
            "update_ratio_low",
        ),
    ),
    _spec(
        "layers.init_zero",
        "layers",
        ("layers", "of", "first_layer"),
        thresholds=("layers_init_zero_full_share",),
    ),
    _spec(
        "layers.init_scale",
        "layers",
        ("layer", "scale", "low", "high"),
        optional=("compounded", "layers"),
        thresholds=(
            "init_scale_high",
            "init_scale_low",
            "init_gain_compounded_high",
            "layers_init_scale_strength",
        ),
    ),
    _spec(
        "layers.barely_moved",
        "layers",
        ("steps", "ratio", "moved"),
        thresholds=(
            "update_negligible_grad_vs_weight",  # which layers' ratios count (as update_low)
            "update_ratio_low",
            "barely_moved_total",
            "layers_barely_moved_strength",
        ),
    ),
    _spec(
        "layers.small_steps",
        "layers",
        ("steps", "ratio", "healthy"),
        thresholds=(
            "update_negligible_grad_vs_weight",
            "update_ratio_low",
            "barely_moved_total",
            "update_ratio_healthy",
            "layers_small_steps_strength",
        ),
    ),
    _spec(
        "layers.recurrent_gain_high",
        "layers",
        ("layer", "gain", "limit"),
        thresholds=("recurrent_gain_high", "layers_recurrent_gain_high_strength"),
    ),
    _spec(
        "layers.weight_shrink",
        "layers",
        ("start", "end", "ratio"),
        thresholds=(
            "layers_weight_shrink_full_at",
            "weight_norm_end_from",
            "weight_norm_min_points",
            "weight_norm_start_points",
            "weight_shrink",
        ),
    ),
    _spec(
        "layers.dead_from_start",
        "layers",
        ("layer", "dead_pct"),
        thresholds=("dead_fraction", "dead_min_batch", "layers_dead_from_start_strength"),
    ),
    _spec(
        "layers.grad_linear_growth",
        "layers",
        ("layer", "decades", "exponent"),
        thresholds=(
            "accumulation_decades",
            "accumulation_exponent_high",
            "accumulation_exponent_low",
            "accumulation_min_r2",
            "grad_growth_fit_min_points",
            "layers_grad_linear_growth_full_decades",
        ),
    ),
    _spec(
        "layers.dead_normal",
        "layers",
        ("max_dead_pct",),
        thresholds=(
            "dead_fraction",
            "dead_min_batch",
            "dead_normal_share",
            "layer_stats_from",
            "layers_dead_normal_strength",
        ),
    ),
    _spec(
        "layers.updates_normal",
        "layers",
        ("lowest", "highest"),
        thresholds=("layers_updates_normal_strength", "update_ratio_high", "update_ratio_low"),
    ),
    _spec(
        "layers.grads_normal",
        "layers",
        ("ratio", "layers"),
        thresholds=(
            "exploding_ratio",
            "grads_normal_margin",
            "grads_normal_max_growth_decades",
            "growth_min_points",
            "growth_window_divisor",
            "layer_stats_from",
            "layers_grads_normal_strength",
            "vanishing_ratio",
        ),
    ),
    _spec(
        "layers.update_burst",
        "layers",
        ("ratio", "layer", "step"),
        thresholds=("layers_update_burst_full_decades", "update_burst"),
    ),
    _spec(
        "layers.update_high_early",
        "layers",
        ("ratio", "limit"),
        thresholds=(
            "layers_update_high_early_full_decades",
            "update_early_points",
            "update_ratio_high",
        ),
    ),
    _spec(
        "data.unnormalized",
        "data",
        ("scale_spread", "abs_max", "max_abs_mean"),
        optional=("largest_std",),
        thresholds=(
            "input_small_abs_max",
            "input_std_small",
            "data_unnormalized_strength",
            "data_unnormalized_strength_per_reason",
            "feature_scale_spread",
            "feature_spread_high_quantile",
            "feature_spread_low_quantile",
            "input_abs_max",
            "input_abs_mean",
        ),
    ),
    _spec(
        "data.imbalanced",
        "data",
        ("ratio", "smallest", "largest"),
        thresholds=("class_ratio", "data_imbalanced_full_at"),
    ),
    _spec(
        "data.ordered_batches",
        "data",
        ("fraction",),
        thresholds=("data_ordered_batches_full_at", "ordered_batches", "ordered_batches_min_batch"),
    ),
    _spec(
        "data.test_shift",
        "data",
        ("shift", "std_ratio"),
        thresholds=("data_test_shift_full_at", "test_mean_shift", "test_shift_cap_std"),
    ),
    _spec(
        "data.test_noisier",
        "data",
        ("std_ratio", "shift"),
        thresholds=("data_test_noisier_full_at", "test_shift_cap_std", "test_std_ratio"),
    ),
    _spec("data.normalized", "data", (), thresholds=("data_normalized_strength",)),
    _spec(
        "data.shuffled",
        "data",
        ("fraction",),
        thresholds=("data_shuffled_strength", "shuffled_max_ordered"),
    ),
    _spec(
        "data.balanced",
        "data",
        ("ratio",),
        thresholds=("balanced_min_ratio", "data_balanced_strength"),
    ),
)

_PROBES: tuple[SymptomSpec, ...] = (
    _spec("probe.data_nonfinite", "probe", ("inputs", "targets")),
    _spec("probe.targets_out_of_range", "probe", ("max_label", "min_label", "width")),
    _spec("probe.mse_on_onehot", "probe", ("classes",)),
    _spec(
        "probe.ordered_batches", "probe", ("fraction", "batches"), thresholds=("ordered_batches",)
    ),
    _spec(
        "probe.imbalanced", "probe", ("ratio", "smallest", "largest"), thresholds=("class_ratio",)
    ),
    _spec(
        "probe.unnormalized",
        "probe",
        ("scale_spread", "abs_max", "max_abs_mean"),
        optional=("largest_std",),
        thresholds=(
            "feature_scale_spread",
            "feature_spread_high_quantile",
            "feature_spread_low_quantile",
            "input_abs_max",
            "input_abs_mean",
            "input_small_abs_max",
            "input_std_small",
        ),
    ),
    _spec("probe.inputs_constant", "probe", ("features",)),
    _spec("probe.params_not_in_optimizer", "probe", ("count", "of", "first")),
    _spec(
        "probe.saturated", "probe", ("layer", "saturated_pct"), thresholds=("saturated_fraction",)
    ),
    _spec("probe.params_no_grad", "probe", ("count", "of", "first")),
    _spec("probe.zero_grads", "probe", ("layers", "of", "first")),
    _spec(
        "probe.grads_vanish", "probe", ("ratio", "first", "last"), thresholds=("vanishing_ratio",)
    ),
    _spec("probe.symmetric_weights", "probe", ("layers", "first")),
    _spec("probe.grads_accumulate", "probe", ("ratio",)),
    _spec("probe.init_loss_nonfinite", "probe", ("loss",)),
    _spec(
        "probe.init_loss_high",
        "probe",
        ("loss", "chance", "ratio"),
        thresholds=("init_loss_vs_chance",),
    ),
    _spec("probe.init_loss_below_floor", "probe", ("loss", "chance")),
    _spec("probe.outputs_softmax", "probe", ("classes",)),
    _spec("probe.outputs_clipped", "probe", ("zero_pct",)),
    _spec("probe.outputs_bounded", "probe", ("low", "high")),
    _spec(
        "probe.overfit_regularisation_blocks",
        "probe",
        ("user_pct", "unregularised_pct", "weight_decay", "dropout", "steps", "samples"),
    ),
    _spec("probe.overfit_fails", "probe", ("user_pct", "reference_pct", "steps", "samples")),
    _spec("probe.overfit_user_fails", "probe", ("user_pct", "reference_pct", "steps", "samples")),
    _spec("probe.overfit_ok", "probe", ("user_pct", "reference_pct", "steps", "samples")),
    _spec("probe.lr_no_effect", "probe", ("lr",)),
    _spec(
        "probe.lr_above_best", "probe", ("lr", "suggested", "lr_at_min"), optional=("diverge_lr",)
    ),
    _spec("probe.lr_below_best", "probe", ("lr", "suggested")),
    _spec("probe.weak_input_signal", "probe", ("real", "permuted", "ratio")),
    _spec(
        "probe.inputs_informative",
        "probe",
        ("metric", "agreement", "agreement_permuted", "signal_z"),
    ),
    _spec("probe.ignores_inputs", "probe", ("real", "permuted", "zeroed")),
    _spec(
        "probe.val_gap",
        "probe",
        ("train", "val", "chance", "steps"),
        thresholds=("gap_ratio", "gap_vs_ref", "val_gap_full_at"),
    ),
    _spec(
        "probe.replay_better",
        "probe",
        ("replay", "recorded", "steps"),
        thresholds=("late_level_divisor", "late_level_min_points"),
    ),
    _spec(
        "probe.replay_matches",
        "probe",
        ("replay", "recorded", "steps"),
        thresholds=("late_level_divisor", "late_level_min_points"),
    ),
    _spec(
        "probe.no_val_gap",
        "probe",
        ("train", "val", "chance", "steps"),
        thresholds=("gap_ratio", "gap_vs_ref", "late_level_min_points"),
    ),
    *(
        _spec(f"probe.{verdict}.{remedy}", "probe", _TRIED)
        for remedy in REMEDY_KEYS
        for verdict in ("fix", "nofix")
    ),
)

SYMPTOMS: Mapping[str, SymptomSpec] = MappingProxyType({s.name: s for s in (*_ENGINE, *_PROBES)})
"""Every symptom, by name."""

ENGINE_SYMPTOMS: frozenset[str] = frozenset(s.name for s in _ENGINE)
"""The ones the engine derives from a run (the rest come from the doctor's probes)."""


def is_symptom(name: str) -> bool:
    return name in SYMPTOMS


def symptom(name: str) -> SymptomSpec:
    """The registered symptom; ``KeyError`` naming it when there is none."""
    try:
        return SYMPTOMS[name]
    except KeyError:
        raise KeyError(f"unknown symptom {name!r} (lossexpert.kb.symptoms)") from None


def thresholds_of(name: str) -> tuple[str, ...]:
    """Every ``Thresholds`` field that can change this symptom: its own, and for a curve fact
    those of the curve's summary."""
    spec = symptom(name)
    shared = CURVE_SUMMARY_THRESHOLDS if spec.source == "curves" else ()
    return tuple(sorted({*spec.thresholds, *shared}))


def check_symptom_names(names: Iterable[str]) -> list[str]:
    """The names that are not registered symptoms, sorted, each once."""
    return sorted({n for n in names if n not in SYMPTOMS})


def unknown_rule_symptoms(
    causes: Iterable[CauseUnit],
    problem_rules: Iterable[ProblemRule] = (),
    links: Iterable[CausalLink] = (),
) -> list[str]:
    """One line per symptom name a rule, problem rule or causal link uses that is not
    registered: what a knowledge-base loader reports before anything runs."""
    out: list[str] = []
    for cause in causes:
        for rule in cause.rules:
            for name in check_symptom_names((*rule.when, *rule.unless)):
                out.append(f"cause {cause.id}: rule {rule.id}: unknown symptom {name!r}")
    for p in problem_rules:
        for name in check_symptom_names((p.when,)):
            out.append(f"problem rule {p.id}: unknown symptom {name!r}")
    for link in links:
        for name in check_symptom_names((*link.via, *link.blocked_by)):
            out.append(f"causal link {link.root} -> {link.consequence}: unknown symptom {name!r}")
    return out


def check_emission(name: str, source: str, keys: Iterable[str]) -> str | None:
    """Why this emission does not match the registry (unknown name, source, or evidence
    keys), or None. The engine asserts it for every fact it adds."""
    spec = SYMPTOMS.get(name)
    if spec is None:
        return f"unknown symptom {name!r}: register it in lossexpert/kb/symptoms.py"
    if source not in spec.sources:
        return f"{name}: source {source!r}, registered {spec.sources}"
    got = frozenset(keys)
    extra, absent = got - spec.keys, set(spec.values) - got
    if extra or absent:
        return (
            f"{name}: values {sorted(got)}; unregistered {sorted(extra)}, absent {sorted(absent)}"
        )
    return None
