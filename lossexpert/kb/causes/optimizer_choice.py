"""Cause `optimizer_choice`: 训练集loss不下降 §5 选择合适的优化器."""

from lossexpert.kb.units import CauseUnit, RuleUnit

CAUSE = CauseUnit(
    id="optimizer_choice",
    problem="train_loss_not_decreasing",
    reference="训练集loss不下降 §5 选择合适的优化器",
    rank=8,
    rules=(
        RuleUnit(
            id="OPT-PLAIN-SGD",
            when=("config.plain_sgd", "train.high_final"),
            unless=("train.nonfinite",),
            cf=0.15,
            priority=300,
            description=(
                "Plain SGD without momentum is slow on badly conditioned problems; the seed "
                "suggests Adam as the default."
            ),
        ),
    ),
)
