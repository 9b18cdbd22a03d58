"""Cause `insufficient_training`: 训练集loss不下降 §6 训练时间不足."""

from lossexpert.kb.units import CauseUnit, RuleUnit

CAUSE = CauseUnit(
    id="insufficient_training",
    problem="train_loss_not_decreasing",
    reference="训练集loss不下降 §6 训练时间不足",
    rank=9,
    rules=(
        RuleUnit(
            id="INS-STILL-FALLING",
            when=("train.still_falling", "train.high_final"),
            cf=0.6,
            priority=650,
            description="The loss was still falling fast when training stopped.",
        ),
        RuleUnit(
            id="INS-VAL-FALLING",
            when=("train.still_falling", "val.still_falling"),
            cf=0.3,
            priority=500,
            description="The val loss was still falling too: more training would still pay off.",
        ),
        RuleUnit(
            id="INS-FEW-EPOCHS",
            when=("config.few_epochs", "train.high_final"),
            cf=0.3,
            priority=450,
            description="Only a handful of epochs were run.",
        ),
        RuleUnit(
            id="INS-CONTRA-HUGE-BATCH",
            when=("config.batch_huge",),
            cf=-0.3,
            priority=400,
            description="The batch covers much of the data set: the batch size, not the run "
            "length, limits the number of updates.",
        ),
    ),
)
