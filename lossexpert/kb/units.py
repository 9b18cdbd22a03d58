"""The shape of knowledge: problems, causes, and the rules that link symptoms to them.

A ``RuleUnit`` says: when these symptoms are present (and those absent) while this problem
holds, add this certainty factor to this cause. The engine compiles every unit into one
experta rule whose salience is the unit's priority. Each cause lives in its own module under
``kb/causes/`` with its rules; its words live in ``kb/templates/<lang>/causes/<id>.j2``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

ProblemId = Literal[
    "train_loss_not_decreasing", "val_loss_not_decreasing", "test_loss_not_decreasing"
]
PROBLEM_ORDER: tuple[ProblemId, ...] = (
    "train_loss_not_decreasing",
    "val_loss_not_decreasing",
    "test_loss_not_decreasing",
)

CAUSE_IDS: tuple[str, ...] = (
    "model_structure",
    "weight_initialization",
    "over_regularization",
    "activation_function",
    "loss_function",
    "learning_rate_too_high",
    "learning_rate_too_low",
    "optimizer_choice",
    "insufficient_training",
    "vanishing_gradients",
    "exploding_gradients",
    "dead_relu",
    "gradient_bug",
    "batch_size_too_large",
    "batch_size_too_small",
    "data_not_shuffled",
    "noisy_data",
    "class_imbalance",
    "data_not_normalized",
    "feature_selection",
    "overfitting",
    "distribution_shift",
    "test_noise",
)


@dataclass(frozen=True)
class RuleUnit:
    """One rule: symptoms (+ problem) -> a certainty factor for a cause.

    ``cf`` > 0 supports the cause; ``cf`` < 0 is contrary evidence that lowers it. The factor
    actually added is ``cf`` times the weakest strength among the ``when`` symptoms.
    """

    id: str
    when: tuple[str, ...]
    cf: float
    description: str
    unless: tuple[str, ...] = ()
    priority: int = 500
    # The problem under which the rule may fire, when not the cause's own: a test-set cause
    # such as a preprocessing mismatch can already show in the val split.
    problem: ProblemId | None = None
    # Extra hand-written cases, as sets of symptom names, beyond the derived ones.
    also_fires_on: tuple[frozenset[str], ...] = ()
    never_fires_on: tuple[frozenset[str], ...] = ()


@dataclass(frozen=True)
class CauseUnit:
    id: str
    problem: ProblemId
    reference: str  # the seed article section it comes from
    rules: tuple[RuleUnit, ...]
    rank: int  # the article's order; breaks ties between equal confidences


@dataclass(frozen=True)
class ProblemRule:
    """A symptom that establishes a problem; the article's order is enforced by ``after``."""

    id: str
    problem: ProblemId
    when: str
    description: str
    priority: int = 1000
    after: tuple[ProblemId, ...] = field(default=())


@dataclass(frozen=True)
class CausalLink:
    """A root cause that produces another cause's symptoms: when both are found and one of
    ``via`` is present (the root acted first, or is there in the config), the consequence is
    explained away: reported under the root ("which led to ..."), and its evidence counts
    ``transfer`` times towards the root. ``blocked_by`` symptoms show the consequence had
    another origin (e.g. units already dead before the first update)."""

    root: str
    consequence: str
    via: tuple[str, ...]
    description: str
    transfer: float = 0.5
    blocked_by: tuple[str, ...] = ()
