"""Which of the article's three problems a run has, checked in the article's order.

The val problem is only considered once the train problem is absent, and the test problem
only once both are (seed: fix the train loss first; val/test reasoning assumes it is fine).
"""

from __future__ import annotations

from typing import Final

from lossexpert.kb.units import ProblemId, ProblemRule

TRAIN: Final[ProblemId] = "train_loss_not_decreasing"
VAL: Final[ProblemId] = "val_loss_not_decreasing"
TEST: Final[ProblemId] = "test_loss_not_decreasing"

PROBLEM_RULES: tuple[ProblemRule, ...] = (
    ProblemRule(
        "PRB-TRAIN-NONFINITE",
        TRAIN,
        "train.nonfinite",
        "The train loss became NaN or Inf.",
        priority=1000,
    ),
    ProblemRule(
        "PRB-TRAIN-DIVERGING",
        TRAIN,
        "train.diverging",
        "The train loss climbed far above its minimum.",
        priority=1000,
    ),
    ProblemRule(
        "PRB-TRAIN-NO-PROGRESS",
        TRAIN,
        "train.no_progress",
        "The train loss barely fell over the whole run.",
        priority=1000,
    ),
    ProblemRule(
        "PRB-TRAIN-AT-CHANCE",
        TRAIN,
        "train.at_chance",
        "The train loss sits at the chance level ln C.",
        priority=1000,
    ),
    ProblemRule(
        "PRB-TRAIN-HIGH-FINAL",
        TRAIN,
        "train.high_final",
        "The train loss ended far above what a fitted model reaches.",
        priority=1000,
    ),
    ProblemRule(
        "PRB-TRAIN-FROZEN-LOSS",
        TRAIN,
        "train.frozen",
        "The train loss no longer changes at all: learning has stopped.",
        priority=1000,
    ),
    ProblemRule(
        "PRB-TRAIN-FROZEN-LAYERS",
        TRAIN,
        "layers.zero_update",
        "Layers that receive gradients never change: training is not doing what it should.",
        priority=1000,
    ),
    ProblemRule(
        "PRB-TRAIN-BELOW-FLOOR",
        TRAIN,
        "train.below_floor",
        "The train loss went below the lowest value its loss can take: it measures nothing.",
        priority=1000,
    ),
    ProblemRule(
        "PRB-TRAIN-DEGENERATE",
        TRAIN,
        "train.exact_zero",
        "The train loss is exactly 0.0 on most batches: the objective is degenerate.",
        priority=1000,
    ),
    ProblemRule(
        "PRB-TRAIN-WRONG-SCALE",
        TRAIN,
        "train.start_below_chance",
        "The train loss starts far below the chance level of the task's loss: it is not "
        "the loss the task needs.",
        priority=1000,
    ),
    ProblemRule(
        "PRB-TRAIN-LOSS-MISMATCH",
        TRAIN,
        "config.loss_task_mismatch",
        "The loss does not fit the task (a regression loss on a classification target).",
        priority=1000,
    ),
    ProblemRule(
        "PRB-TRAIN-RISING-AGAIN",
        TRAIN,
        "train.rise_after_fall",
        "The train loss fell, then climbed back well above its minimum.",
        priority=1000,
    ),
    ProblemRule(
        "PRB-TRAIN-UNCONVERGED",
        TRAIN,
        "train.falling_fast",
        "The train loss was still falling steeply when training stopped.",
        priority=1000,
    ),
    ProblemRule(
        "PRB-TRAIN-UNFINISHED",
        TRAIN,
        "train.unfinished",
        "The train loss was still falling, far from a fit, when training stopped.",
        priority=1000,
    ),
    ProblemRule(
        "PRB-VAL-RISING",
        VAL,
        "val.rising",
        "The val loss ended well above its minimum.",
        priority=900,
        after=(TRAIN,),
    ),
    ProblemRule(
        "PRB-VAL-GAP",
        VAL,
        "val.gap",
        "The val loss ended far above the train loss.",
        priority=900,
        after=(TRAIN,),
    ),
    ProblemRule(
        "PRB-TEST-ABOVE-VAL",
        TEST,
        "test.above_val",
        "The test loss is a multiple of the val loss.",
        priority=800,
        after=(TRAIN, VAL),
    ),
    ProblemRule(
        "PRB-TEST-ABOVE-TRAIN",
        TEST,
        "test.above_train",
        "Without a val split: the test loss is a multiple of the train loss.",
        priority=800,
        after=(TRAIN, VAL),
    ),
)
