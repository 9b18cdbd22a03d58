"""The run format: one training run as plain data (``run.json``), version ``lossexpert.run/1``.

Everything is optional except at least one loss curve. Curves are stored column-wise
(``step``, ``epoch``, ``loss`` arrays of equal length) because a run can hold millions of
points and a list of numbers parses an order of magnitude faster than a list of objects.
NaN and Inf are allowed in curves and per-layer statistics (they are evidence); they are
refused in the config, where they can only be a mistake.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

FORMAT_ID = "lossexpert.run/1"

Split = Literal["train", "val", "test"]
SPLITS: tuple[Split, ...] = ("train", "val", "test")
Task = Literal["classification", "regression", "language_model", "other"]

# A number in a curve: null marks a missing point, NaN/Inf are kept (evidence of divergence).
CurveValue = float | None


class _Strict(BaseModel):
    """Base of the config models: unknown keys are kept aside (and warned about), never fatal."""

    model_config = ConfigDict(extra="allow", allow_inf_nan=False, populate_by_name=True)


class _Series(BaseModel):
    model_config = ConfigDict(extra="allow", allow_inf_nan=True)


class RunIdentity(_Strict):
    name: str | None = None
    id: str | None = None
    framework: str | None = None
    started_at: str | None = None
    tags: dict[str, str | int | float | bool | None] = Field(default_factory=dict)


class ModelSummary(_Strict):
    depth: Annotated[int, Field(ge=0)] | None = None
    layer_types: list[str] = Field(default_factory=list)
    activations: list[str] = Field(default_factory=list)
    parameters: Annotated[int, Field(ge=0)] | None = None
    normalization: list[str] = Field(default_factory=list)
    hidden_sizes: list[int] = Field(default_factory=list)
    output_activation: str | None = None
    # Width of the model's output (logits per sample): the class count when none is given.
    output_width: Annotated[int, Field(ge=1)] | None = None


class OptimizerConfig(_Strict):
    name: str | None = None
    lr: Annotated[float, Field(ge=0)] | None = None
    momentum: float | None = None
    betas: list[float] | None = None
    eps: float | None = None
    weight_decay: Annotated[float, Field(ge=0)] | None = None
    nesterov: bool | None = None


class Schedule(_Strict):
    """Learning rate per step, as recorded (warm-up, decay... become visible)."""

    step: list[int]
    value: list[Annotated[float, Field(ge=0)]]

    @model_validator(mode="after")
    def _same_length(self) -> Schedule:
        if len(self.step) != len(self.value):
            raise ValueError(f"step has {len(self.step)} entries but value has {len(self.value)}")
        return self


class Config(_Strict):
    task: Task | None = None
    num_classes: Annotated[int, Field(ge=1)] | None = None
    model: ModelSummary | None = None
    loss: str | None = None
    output_activation: str | None = None
    optimizer: OptimizerConfig | None = None
    learning_rate: Annotated[float, Field(ge=0)] | None = None
    lr_schedule: Schedule | None = None
    batch_size: Annotated[int, Field(ge=1)] | None = None
    epochs: Annotated[int, Field(ge=0)] | None = None
    max_steps: Annotated[int, Field(ge=0)] | None = None
    steps_per_epoch: Annotated[int, Field(ge=1)] | None = None
    weight_decay: Annotated[float, Field(ge=0)] | None = None
    l1: Annotated[float, Field(ge=0)] | None = None
    dropout: Annotated[float, Field(ge=0, le=1)] | None = None
    init: str | None = None
    shuffle: bool | None = None
    input_normalization: bool | str | None = None
    split_sizes: dict[str, Annotated[int, Field(ge=0)]] = Field(default_factory=dict)
    device: str | None = None
    precision: str | None = None

    def effective_lr(self) -> float | None:
        if self.learning_rate is not None:
            return self.learning_rate
        if self.optimizer is not None:
            return self.optimizer.lr
        return None

    def effective_weight_decay(self) -> float | None:
        if self.weight_decay is not None:
            return self.weight_decay
        if self.optimizer is not None:
            return self.optimizer.weight_decay
        return None


class Curve(_Series):
    """One split's loss over training. ``step`` counts optimizer updates."""

    loss: list[CurveValue]
    step: list[int] | None = None
    epoch: list[float | None] | None = None
    time: list[float | None] | None = None  # wall time, seconds since the epoch, if known
    metrics: dict[str, list[CurveValue]] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _aligned(self) -> Curve:
        n = len(self.loss)
        if n == 0:
            raise ValueError("empty curve: loss has no points")
        for name, column in (("step", self.step), ("epoch", self.epoch), ("time", self.time)):
            if column is not None and len(column) != n:
                raise ValueError(f"{name} has {len(column)} entries but loss has {n}")
        for name, column in self.metrics.items():
            if len(column) != n:
                raise ValueError(f"metrics.{name} has {len(column)} entries but loss has {n}")
        return self

    def steps(self) -> list[int]:
        return self.step if self.step is not None else list(range(len(self.loss)))


class LayerStats(_Series):
    """Statistics of one layer, sampled at ``step``; every series aligns with ``step``."""

    name: str
    type: str | None = None
    activation: str | None = None
    fan_in: Annotated[int, Field(ge=0)] | None = None
    init_weight_std: float | None = None
    init_weight_mean: float | None = None
    step: list[int]
    grad_norm: list[CurveValue] | None = None
    grad_abs_mean: list[CurveValue] | None = None
    grad_zero_fraction: list[CurveValue] | None = None
    weight_norm: list[CurveValue] | None = None
    update_ratio: list[CurveValue] | None = None
    dead_fraction: list[CurveValue] | None = None
    saturated_fraction: list[CurveValue] | None = None

    @model_validator(mode="after")
    def _aligned(self) -> LayerStats:
        n = len(self.step)
        for name in SERIES_FIELDS:
            column = getattr(self, name)
            if column is not None and len(column) != n:
                raise ValueError(f"{name} has {len(column)} entries but step has {n}")
        return self


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

    n_samples: Annotated[int, Field(ge=0)] | None = None
    input_mean: float | None = None
    input_std: Annotated[float, Field(ge=0)] | None = None
    input_min: float | None = None
    input_max: float | None = None
    feature_mean: list[float] | None = None
    feature_std: list[Annotated[float, Field(ge=0)]] | None = None
    label_counts: dict[str, Annotated[int, Field(ge=0)]] | None = None
    label_mean: float | None = None
    label_std: Annotated[float, Field(ge=0)] | None = None
    # Fraction of consecutive training batches whose labels are all one class: ~0 when shuffled.
    ordered_batch_fraction: Annotated[float, Field(ge=0, le=1)] | None = None
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
        if not any(len(c.loss) >= 2 for c in curves.values()):
            raise ValueError("every curve has a single point; at least one needs two or more")
        return curves

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


def json_schema() -> dict[str, Any]:
    schema = Run.model_json_schema()
    schema["$id"] = FORMAT_ID
    schema["title"] = "lossexpert run"
    return schema
