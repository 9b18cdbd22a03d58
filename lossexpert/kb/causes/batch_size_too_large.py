"""Cause `batch_size_too_large`: 训练集loss不下降 §8 batch size过大."""

from lossexpert.kb.units import CauseUnit, RuleUnit

CAUSE = CauseUnit(
    id="batch_size_too_large",
    problem="train_loss_not_decreasing",
    reference="训练集loss不下降 §8 batch size过大",
    rank=14,
    rules=(
        RuleUnit(
            id="BS-HUGE",
            when=("config.batch_huge", "train.high_final"),
            cf=0.35,
            priority=450,
            description=(
                "A batch that covers a large part of the data set averages gradients so much that "
                "early progress is slow."
            ),
        ),
        RuleUnit(
            id="BS-HUGE-FEW-UPDATES",
            when=("config.batch_huge", "train.still_falling"),
            cf=0.55,
            priority=550,
            description=(
                "Each epoch is only a handful of updates: the loss is still falling because "
                "the huge batch leaves few steps, not because of too few epochs."
            ),
        ),
    ),
)
