"""The vocabulary of the engine: symptoms, the findings of a feature pass, and the few
definitions (class count, chance level) that every detector shares."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

from lossexpert.kb.symptoms import Source as Source  # re-exported: the engine's vocabulary
from lossexpert.kb.symptoms import check_emission
from lossexpert.runformat import Run

Scalar = int | float | str | bool

ADAPTIVE_OPTIMIZERS = (
    "adam",
    "adamw",
    "rmsprop",
    "adagrad",
    "adadelta",
    "adamax",
    "nadam",
    "radam",
    "lamb",
    "lion",
    "adafactor",
)
SATURATING = ("sigmoid", "tanh", "hardtanh", "hardsigmoid", "softsign")
# Activations whose derivative does not shrink towards zero for large inputs (piecewise linear
# or nearly so): a shallow stack of them passes gradients back undiminished.
NON_SATURATING = ("relu", "relu6", "leaky_relu", "prelu", "rrelu", "elu", "selu", "celu", "gelu",
                  "silu", "swish", "mish", "softplus")
# Units that output exactly zero for every negative input, so a unit can stop for good.
DYING = ("relu", "relu6")
CROSS_ENTROPY = (
    "cross_entropy",
    "crossentropy",
    "crossentropyloss",
    "ce",
    "nll",
    "nllloss",
    "categorical_crossentropy",
    "sparse_categorical_crossentropy",
)
# Losses that apply the sigmoid/softmax themselves and so expect unbounded logits: the
# cross-entropy spellings that take class indices and the binary one with logits.
LOGIT_LOSSES = (*CROSS_ENTROPY[:3], "bce_with_logits", "bcewithlogits", "bcewithlogitsloss")
SQUARED_ERROR_LOSSES = ("mse", "mseloss", "mean_squared_error")
REGRESSION_LOSSES = (
    *SQUARED_ERROR_LOSSES,
    "l1",
    "l1loss",
    "mae",
    "huber",
    "smooth_l1",
    "smoothl1loss",
    "huberloss",
)


@dataclass(frozen=True)
class Symptom:
    name: str
    source: Source
    strength: float
    values: Mapping[str, Scalar] = field(default_factory=dict)


@dataclass(frozen=True)
class Event:
    """A point worth marking on a plot: where the loss went NaN, a plateau began, ..."""

    kind: Literal["nonfinite", "plateau_onset", "val_minimum", "chance_level"]
    split: str | None
    step: int | None
    value: float | None


@dataclass
class Findings:
    """What the feature pass produced: symptoms, plus what it could not look at."""

    symptoms: list[Symptom] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    context: dict[str, Scalar] = field(default_factory=dict)
    events: list[Event] = field(default_factory=list)

    def has(self, name: str) -> bool:
        return any(s.name == name for s in self.symptoms)

    def add(self, name: str, source: Source, strength: float, **values: Scalar | None) -> None:
        """Add a fact; its name, source and evidence keys must be those registered in
        ``lossexpert.kb.symptoms`` (asserted: ``python -O`` skips the check)."""
        clean = {k: _plain(v) for k, v in values.items() if v is not None}
        assert (why := check_emission(name, source, clean)) is None, why
        if any(s.name == name for s in self.symptoms):
            return  # one fact per symptom: the first (strongest-rule) reading wins
        self.symptoms.append(Symptom(name, source, round(min(1.0, max(0.0, strength)), 3), clean))


def _plain(v: Scalar) -> Scalar:
    """Plain, finite, rounded Python scalars only: experta cannot match NaN."""
    if isinstance(v, bool | str):
        return v
    if isinstance(v, int):
        return int(v)
    x = float(v)
    if math.isnan(x):
        return "nan"
    if math.isinf(x):
        return "inf" if x > 0 else "-inf"
    return float(f"{x:.4g}")


def grade(x: float, at: float, full: float) -> float:
    """0 below ``at``; 0.6 at the threshold rising to 1.0 at ``full`` (either direction).

    The scale itself (0.6 at the threshold: a fact just past its bar is evidence, not proof)
    is shared with the doctor's probes; where each fact reaches 1.0 is in ``Thresholds``."""
    if full >= at:
        if x < at:
            return 0.0
        frac = 1.0 if full == at else (x - at) / (full - at)
    else:
        if x > at:
            return 0.0
        frac = 1.0 if full == at else (at - x) / (at - full)
    return 0.6 + 0.4 * min(1.0, max(0.0, frac))


def norm_name(name: str | None) -> str:
    return (name or "").strip().lower().replace("-", "_").replace(" ", "_")


def num_classes(run: Run) -> int | None:
    """The class count: stated, else counted from the labels, else the model's output width
    (a classifier has one logit per class; a width of 1 is a binary or regression head)."""
    if run.config.num_classes is not None:
        return run.config.num_classes
    train = run.data.get("train")
    if train is not None and train.label_counts:
        return len(train.label_counts)
    model = run.config.model
    width = model.output_width if model is not None else None
    if width is not None and width >= 2 and is_classification(run):
        return width
    return None


def is_classification(run: Run) -> bool:
    """Stated as classification, or one-hot targets (a classification target whatever loss
    is applied to it), or a cross-entropy loss."""
    cfg = run.config
    train = run.data.get("train")
    return (
        cfg.task == "classification"
        or (train is not None and bool(train.target_one_hot))
        or norm_name(cfg.loss) in CROSS_ENTROPY
    )


def chance_level(run: Run) -> float | None:
    """ln C for C-class cross-entropy: the loss of predicting the uniform prior. None for a
    loss that is not cross-entropy (MSE on one-hot targets starts near 1/C, not ln C)."""
    c = num_classes(run)
    task = run.config.task
    loss = norm_name(run.config.loss)
    if c is None or c < 2 or (loss and loss in REGRESSION_LOSSES):
        return None
    # ln C is the chance level of cross-entropy over C classes: a detector's or a language
    # model's loss with a class count is another quantity.
    if task not in (None, "classification") and loss not in CROSS_ENTROPY:
        return None
    return math.log(c)


def target_variance(run: Run) -> float | None:
    """The chance level of a squared-error regression: the variance of its train targets (the
    loss of always predicting their mean), when recorded. A regression whose loss is not
    named is taken as squared error, the usual one; an L1 or Huber loss has another level."""
    train = run.data.get("train")
    loss = norm_name(run.config.loss)
    squared = loss in SQUARED_ERROR_LOSSES or (not loss and run.config.task == "regression")
    if not squared or train is None:
        return None
    # Several outputs: the best constant predicts each its own mean (label_std pools them).
    if train.label_output_var is not None and train.label_output_var > 0:
        return float(train.label_output_var)
    if train.label_std is None or train.label_std <= 0:
        return None
    return float(train.label_std**2)


def loss_floor(run: Run) -> float:
    """The lowest value the loss can take on this run: 0, or with label smoothing e over C
    classes the entropy of the smoothed target (1-e+e/C on the true class, e/C elsewhere)."""
    eps = run.config.label_smoothing
    c = num_classes(run)
    if not eps or c is None or c < 2:
        return 0.0
    hit, miss = 1 - eps + eps / c, eps / c
    return -(hit * math.log(hit)) - (c - 1) * miss * math.log(miss)


def level_vs_chance(run: Run, final: float, chance: float) -> float:
    """Where a final loss sits between the loss's floor (0) and the chance level (1)."""
    floor = loss_floor(run)
    return (final - floor) / max(chance - floor, 1e-12)
