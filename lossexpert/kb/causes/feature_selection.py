"""Cause `feature_selection`: 训练集loss不下降 §12 特征选取有问题 (reconstructed)."""

from lossexpert.kb.units import CauseUnit, RuleUnit

CAUSE = CauseUnit(
    id="feature_selection",
    problem="train_loss_not_decreasing",
    reference="训练集loss不下降 §12 特征选取有问题 (reconstructed)",
    rank=20,
    rules=(
        RuleUnit(
            id="FEAT-FLAT-GAP",
            when=("train.high_final", "train.plateau", "val.gap"),
            unless=("train.at_chance",),
            cf=0.2,
            priority=300,
            description=(
                "The loss plateaus high and what is learned does not generalise: the features may "
                "not carry the signal."
            ),
        ),
    ),
)
