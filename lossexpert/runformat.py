"""The run format: one training run as plain data (``run.json``), version ``lossexpert.run/1``.

Everything is optional except at least one loss curve. Curves are stored column-wise
(``step``, ``epoch``, ``loss`` arrays of equal length) because a run can hold millions of
points and a list of numbers parses an order of magnitude faster than a list of objects.
NaN and Inf are allowed in curves and per-layer statistics (they are evidence); they are
refused in the config, where they can only be a mistake.
"""

from __future__ import annotations

import math
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    Strict,
    ValidationInfo,
    field_validator,
    model_validator,
)

from lossexpert.errors import clean_text

FORMAT_ID = "lossexpert.run/1"

#: The largest integer a float64 holds exactly. Every count and step ends up in float64
#: features (numpy), so a larger one cannot be computed with; it can only be a corrupt file.
MAX_INT = 2**53
#: Curve and layer values beyond this magnitude are clamped to it (with a warning): a loss or
#: a gradient norm of 1e100 already says "diverged" as loudly as 1e300 does, and a value
#: of at most 1e100 can be squared and multiplied by another without overflowing float64
#: (max 1.8e308). Tiny non-zero values are raised to 1e-100 for the same reason (their
#: reciprocals and logs stay finite); a loss of 1e-100 is zero for every purpose.
MAX_MAGNITUDE = 1e100
MIN_MAGNITUDE = 1e-100


def _refuse_bool(value: Any) -> Any:
    if isinstance(value, bool):
        raise ValueError(f"{str(value).lower()} is a boolean, not a number")
    return value


def _refuse_bools_in(values: Any) -> Any:
    """Booleans are not numbers anywhere in the format (``true`` is not a loss of 1)."""
    if isinstance(values, list) and bool in set(map(type, values)):
        i = next(i for i, v in enumerate(values) if isinstance(v, bool))
        raise ValueError(f"item {i} is a boolean ({str(values[i]).lower()}), not a number")
    return values


def _clamp_real(value: float, info: ValidationInfo) -> float:
    """A config or data number beyond [1e-100, 1e100] in magnitude (see MAX_MAGNITUDE) is
    clamped into it, with a warning: a std of 1e308 squared is already infinite."""
    if math.isfinite(value):
        clamped = _clamp_value(value)
        if clamped != value:
            _warn(info, f"{info.field_name}: {value!r} read as {clamped!r} (float64 range)")
            return clamped
    return value


# Numbers: a boolean is refused (pydantic's lax mode would read true as 1); a float field
# takes ints (strict float), an int field takes integral floats (lax int) up to MAX_INT.
Number = Annotated[float, Strict()]  # curve points: no per-point Python call (millions)
Real = Annotated[float, Strict(), AfterValidator(_clamp_real)]
Int = Annotated[int, BeforeValidator(_refuse_bool), Field(ge=-MAX_INT, le=MAX_INT)]
Count = Annotated[int, BeforeValidator(_refuse_bool), Field(ge=0, le=MAX_INT)]
PositiveCount = Annotated[int, BeforeValidator(_refuse_bool), Field(ge=1, le=MAX_INT)]
NonNegative = Annotated[float, Strict(), Field(ge=0), AfterValidator(_clamp_real)]
Step = Annotated[int, Field(ge=0, le=MAX_INT)]
Steps = Annotated[list[Step], BeforeValidator(_refuse_bools_in)]
# Every string that can reach a report: no control characters (but tab/newline), no lone
# surrogates (they cannot be encoded, so every renderer would fail).
Text = Annotated[str, AfterValidator(clean_text)]

Split = Literal["train", "val", "test"]
SPLITS: tuple[Split, ...] = ("train", "val", "test")
Task = Literal["classification", "regression", "language_model", "other"]

# A number in a curve: null marks a missing point, NaN/Inf are kept (evidence of divergence).
CurveValue = Number | None


class _Strict(BaseModel):
    """Base of the config models: unknown keys are kept aside (and warned about), never fatal."""

    model_config = ConfigDict(extra="allow", allow_inf_nan=False, populate_by_name=True)


class _Series(BaseModel):
    model_config = ConfigDict(extra="allow", allow_inf_nan=True)


class RunIdentity(_Strict):
    name: Text | None = None
    id: Text | None = None
    framework: Text | None = None
    started_at: Text | None = None
    tags: dict[Text, Text | Int | Real | bool | None] = Field(default_factory=dict)


class ModelSummary(_Strict):
    depth: Count | None = None
    layer_types: list[Text] = Field(default_factory=list)
    activations: list[Text] = Field(default_factory=list)
    parameters: Count | None = None
    normalization: list[Text] = Field(default_factory=list)
    # A layer of 0 units passes nothing on: it can only be a typo.
    hidden_sizes: list[PositiveCount] = Field(default_factory=list)
    output_activation: Text | None = None
    # Width of the model's output (logits per sample): the class count when none is given.
    output_width: PositiveCount | None = None


class OptimizerConfig(_Strict):
    name: Text | None = None
    lr: NonNegative | None = None
    momentum: Real | None = None
    betas: list[Real] | None = None
    eps: Real | None = None
    weight_decay: NonNegative | None = None
    nesterov: bool | None = None


class Schedule(_Strict):
    """Learning rate per step, as recorded (warm-up, decay... become visible)."""

    step: Steps
    value: list[NonNegative]

    @model_validator(mode="after")
    def _same_length(self) -> Schedule:
        if len(self.step) != len(self.value):
            raise ValueError(f"step has {len(self.step)} entries but value has {len(self.value)}")
        _check_order(self.step, "step", allow_equal=True)
        return self


class Config(_Strict):
    task: Task | None = None
    num_classes: PositiveCount | None = None
    model: ModelSummary | None = None
    loss: Text | None = None
    # Cross-entropy label smoothing (0-1): the loss cannot fall below the entropy of the
    # smoothed targets.
    label_smoothing: Annotated[float, Strict(), Field(ge=0, le=1)] | None = None
    output_activation: Text | None = None
    optimizer: OptimizerConfig | None = None
    learning_rate: NonNegative | None = None
    lr_schedule: Schedule | None = None
    batch_size: PositiveCount | None = None
    epochs: Count | None = None
    max_steps: Count | None = None
    steps_per_epoch: PositiveCount | None = None
    weight_decay: NonNegative | None = None
    l1: NonNegative | None = None
    dropout: Annotated[float, Strict(), Field(ge=0, le=1)] | None = None
    init: Text | None = None
    shuffle: bool | None = None
    # The loop resets the gradients between optimizer steps (zero_grad, .grad = None, an
    # in-place zero): false when they carry over from step to step (a missing zero_grad).
    zero_grad: bool | None = None
    input_normalization: bool | Text | None = None
    split_sizes: dict[Text, Count] = Field(default_factory=dict)
    device: Text | None = None
    precision: Text | None = None

    @model_validator(mode="after")
    def _zero_rate(self, info: ValidationInfo) -> Config:
        # A rate of 0 is a real mistake (a scheduler that starts at 0 and never rises): it is
        # kept as the smallest magnitude the features compute with, so it reads as "far too
        # low" instead of dividing by zero.
        for owner, name, path in (
            (self, "learning_rate", "config.learning_rate"),
            (self.optimizer, "lr", "config.optimizer.lr"),
        ):
            if owner is not None and getattr(owner, name) == 0:
                setattr(owner, name, MIN_MAGNITUDE)
                _warn(info, f"{path} is 0: no weight can change; read as 1e-100 (far too low)")
        return self

    def effective_lr(self) -> float | None:
        if self.learning_rate is not None:
            return self.learning_rate
        if self.optimizer is not None:
            return self.optimizer.lr
        return None

    def peak_lr(self) -> float | None:
        """The rate the recipe is judged by: the highest of the configured one and the
        recorded schedule. A warm-up starts low and a decay ends low by design (a config read
        when the optimizer was built holds the warm-up's first rate: 1/25 of OneCycle's
        max_lr); the rate a recipe is tuned by is the one the warm-up climbs to and the decay
        starts from (Goyal et al. 2017, Smith 2018)."""
        lr = self.effective_lr()
        if self.lr_schedule is None:
            return lr
        recorded = [v for v in self.lr_schedule.value if v > 0]
        if not recorded:
            return lr
        return max(recorded) if lr is None else max(lr, *recorded)

    def effective_weight_decay(self) -> float | None:
        if self.weight_decay is not None:
            return self.weight_decay
        if self.optimizer is not None:
            return self.optimizer.weight_decay
        return None


class Curve(_Series):
    """One split's loss over training. ``step`` counts optimizer updates.

    Steps are >= 0 and never decrease. A step may repeat: several losses logged at one
    optimizer update (the micro-batches of gradient accumulation, several forwards per step);
    but a curve of two or more points must span at least two different steps.
    """

    loss: list[CurveValue]
    step: Steps | None = None
    epoch: list[CurveValue] | None = None
    time: list[CurveValue] | None = None  # wall time, seconds since the epoch, if known
    metrics: dict[Text, list[CurveValue]] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _aligned(self, info: ValidationInfo) -> Curve:
        n = len(self.loss)
        if n == 0:
            raise ValueError("empty curve: loss has no points")
        for name, column in (("step", self.step), ("epoch", self.epoch), ("time", self.time)):
            if column is not None and len(column) != n:
                raise ValueError(f"{name} has {len(column)} entries but loss has {n}")
        for name, column in self.metrics.items():
            if len(column) != n:
                raise ValueError(f"metrics.{name} has {len(column)} entries but loss has {n}")
        if self.step is not None:
            _check_order(self.step, "step", allow_equal=True)
            if n >= 2 and self.step[0] == self.step[-1]:
                raise ValueError(
                    f"step: all {n} points are at step {self.step[0]}; a curve needs at least "
                    "two different steps (leave step out to number the points 0, 1, 2...)"
                )
        _clamp_series(self.loss, "loss", info)
        for name, column in self.metrics.items():
            _clamp_series(column, f"metrics.{name}", info)
        return self

    def steps(self) -> list[int]:
        return self.step if self.step is not None else list(range(len(self.loss)))


class LayerStats(_Series):
    """Statistics of one layer, sampled at ``step``; every series aligns with ``step``."""

    name: Text
    type: Text | None = None
    activation: Text | None = None
    fan_in: Count | None = None
    init_weight_std: Real | None = None
    init_weight_mean: Real | None = None
    step: Steps
    grad_norm: list[CurveValue] | None = None
    grad_abs_mean: list[CurveValue] | None = None
    grad_zero_fraction: list[CurveValue] | None = None
    weight_norm: list[CurveValue] | None = None
    update_ratio: list[CurveValue] | None = None
    dead_fraction: list[CurveValue] | None = None
    saturated_fraction: list[CurveValue] | None = None

    @model_validator(mode="after")
    def _aligned(self, info: ValidationInfo) -> LayerStats:
        n = len(self.step)
        _check_order(self.step, "step", allow_equal=False)
        for name in SERIES_FIELDS:
            column = getattr(self, name)
            if column is not None and len(column) != n:
                raise ValueError(f"{name} has {len(column)} entries but step has {n}")
            if column is not None:
                _clamp_series(column, name, info)
        for name in ("init_weight_std", "init_weight_mean"):
            value = getattr(self, name)
            if value is not None and math.isfinite(value):
                setattr(self, name, _clamp_value(value))
        if self.name.isdigit() and self.type:
            # An nn.Sequential index ("0", "2") says nothing alone: show the module type too.
            self.name = f"{self.name} ({self.type})"
        return self


def _check_order(steps: list[int], name: str, *, allow_equal: bool) -> None:
    """Steps count optimizer updates: they never go back. A decrease is a concatenation of
    two runs or a corrupt file; which part to believe is the user's call, not ours."""
    if len(steps) < 2:
        return
    import numpy as np

    diff = np.diff(np.asarray(steps, dtype=np.int64))
    bad = np.flatnonzero(diff < 0) if allow_equal else np.flatnonzero(diff <= 0)
    if bad.size:
        i = int(bad[0]) + 1
        rule = "must not decrease" if allow_equal else "must increase"
        raise ValueError(f"{name}.{i}: step {steps[i]} after step {steps[i - 1]}: steps {rule}")


def _clamp_value(value: float) -> float:
    magnitude = abs(value)
    if magnitude > MAX_MAGNITUDE:
        return math.copysign(MAX_MAGNITUDE, value)
    if 0.0 < magnitude < MIN_MAGNITUDE:
        return math.copysign(MIN_MAGNITUDE, value)
    return value


def _clamp_series(values: list[float | None], name: str, info: ValidationInfo | None) -> None:
    """In place: a magnitude above 1e100 is read as Infinity (diverged: the evidence it is),
    a non-zero one below 1e-100 as 1e-100 (see MAX_MAGNITUDE)."""
    if not values:
        return
    import numpy as np

    arr = np.array(values, dtype=np.float64)  # None -> NaN, only used to find the outliers
    with np.errstate(invalid="ignore"):
        magnitude = np.abs(arr)
        out = np.flatnonzero(
            np.isfinite(arr)
            & ((magnitude > MAX_MAGNITUDE) | ((magnitude > 0) & (magnitude < MIN_MAGNITUDE)))
        )
    if out.size == 0:
        return
    for i in out.tolist():
        v = values[i]
        if v is not None:
            values[i] = math.copysign(math.inf, v) if abs(v) > MAX_MAGNITUDE else _clamp_value(v)
    _warn(
        info,
        f"{name}: {out.size} value(s) of magnitude above 1e100 read as Infinity (diverged) "
        "or below 1e-100 raised to 1e-100 (beyond that range float64 arithmetic overflows)",
    )


def _warn(info: ValidationInfo | None, message: str) -> None:
    context = info.context if info is not None else None
    if isinstance(context, dict) and isinstance(context.get("warnings"), list):
        context["warnings"].append(message)


SERIES_FIELDS = (
    "grad_norm",
    "grad_abs_mean",
    "grad_zero_fraction",
    "weight_norm",
    "update_ratio",
    "dead_fraction",
    "saturated_fraction",
)


class DataStats(_Strict):
    """What the inputs and labels of one split look like."""

    n_samples: Count | None = None
    input_mean: Real | None = None
    input_std: NonNegative | None = None
    input_min: Real | None = None
    input_max: Real | None = None
    feature_mean: list[Real] | None = None
    feature_std: list[NonNegative] | None = None
    label_counts: dict[Text, Count] | None = None
    label_mean: Real | None = None
    label_std: NonNegative | None = None
    # Multi-output float targets: the mean over outputs of each output's variance, the squared
    # error of predicting every output's own mean (label_std pools all outputs into one).
    label_output_var: NonNegative | None = None
    # Fraction of consecutive training batches whose labels are all one class: ~0 when shuffled.
    ordered_batch_fraction: Annotated[float, Strict(), Field(ge=0, le=1)] | None = None
    # Targets are float rows with one 1 and zeros (one-hot): a classification target,
    # whatever loss is applied to it.
    target_one_hot: bool | None = None

    @model_validator(mode="after")
    def _features_aligned(self) -> DataStats:
        mean, std = self.feature_mean, self.feature_std
        if mean is not None and std is not None and len(mean) != len(std):
            raise ValueError(f"feature_mean has {len(mean)} entries but feature_std has {len(std)}")
        return self


class Run(BaseModel):
    """One recorded training run: the contract between collectors and everything after them."""

    model_config = ConfigDict(extra="allow", populate_by_name=True)

    format: Literal["lossexpert.run/1"] = "lossexpert.run/1"
    run: RunIdentity = Field(default_factory=RunIdentity)
    config: Config = Field(default_factory=Config)
    curves: dict[Split, Curve]
    layers: list[LayerStats] = Field(default_factory=list)
    data: dict[Split, DataStats] = Field(default_factory=dict)

    @field_validator("curves")
    @classmethod
    def _at_least_one_curve(cls, curves: dict[Split, Curve]) -> dict[Split, Curve]:
        if not curves:
            raise ValueError("no loss curve: give at least one of train, val, test")
        recorded = [len(c.loss) - c.loss.count(None) for c in curves.values()]
        # One final value per split is what people post ("train 0.34, val 0.46"): there is
        # something to compare as soon as two splits have a value each.
        if sum(1 for n in recorded if n >= 1) >= 2:
            return curves
        if not any(len(c.loss) >= 2 for c in curves.values()):
            raise ValueError(
                "a single curve with a single point; give two or more points, or one value "
                "for each of two splits"
            )
        if not any(n >= 2 for n in recorded):
            raise ValueError(
                "no curve has two recorded points (null marks a missing point); "
                "at least one needs two or more"
            )
        return curves

    @model_validator(mode="after")
    def _clean_extras(self) -> Run:
        _clean_extra_strings(self)
        return self

    def unknown_fields(self) -> list[str]:
        """Dotted paths of the fields this format does not know (ignored by the diagnosis)."""
        found: list[str] = []
        _collect_extras(self, "", found)
        return found


def _collect_extras(model: BaseModel, prefix: str, found: list[str]) -> None:
    for key in model.model_extra or {}:
        found.append(f"{prefix}{key}")
    for name in type(model).model_fields:
        value = getattr(model, name)
        if isinstance(value, BaseModel):
            _collect_extras(value, f"{prefix}{name}.", found)
        elif isinstance(value, dict):
            for key, item in value.items():
                if isinstance(item, BaseModel):
                    _collect_extras(item, f"{prefix}{name}.{key}.", found)
        elif isinstance(value, list) and value and isinstance(value[0], BaseModel):
            # Only lists of models (layers) can hold extras; curves are millions of floats.
            for i, item in enumerate(value):
                if isinstance(item, BaseModel):
                    _collect_extras(item, f"{prefix}{name}.{i}.", found)


def _clean_extra_strings(model: BaseModel) -> None:
    """Unknown fields are kept (the config table shows them): their strings are cleaned too."""
    extra = model.model_extra
    if extra:
        for key in list(extra):
            value = _clean_any(extra.pop(key))
            extra[clean_text(str(key))] = value
    for name in type(model).model_fields:
        value = getattr(model, name)
        if isinstance(value, BaseModel):
            _clean_extra_strings(value)
        elif isinstance(value, dict):
            for item in value.values():
                if isinstance(item, BaseModel):
                    _clean_extra_strings(item)
        elif isinstance(value, list) and value and isinstance(value[0], BaseModel):
            for item in value:
                if isinstance(item, BaseModel):
                    _clean_extra_strings(item)


def _clean_any(value: Any) -> Any:
    if isinstance(value, str):
        return clean_text(value)
    if isinstance(value, dict):
        return {clean_text(str(k)): _clean_any(v) for k, v in value.items()}
    if isinstance(value, list):
        if value and all(type(v) is float or type(v) is int for v in value[:64]):
            return value  # a column of numbers: nothing to clean
        return [_clean_any(v) for v in value]
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) > MAX_INT:
        return str(value) if value.bit_length() < 4000 else "<huge integer>"
    return value


def json_schema() -> dict[str, Any]:
    schema = Run.model_json_schema()
    schema["$id"] = FORMAT_ID
    schema["title"] = "lossexpert run"
    return schema
