"""Cause `learning_rate_too_low`: 训练集loss不下降 §5 选择合适的优化器和学习速率."""

from lossexpert.kb.units import CauseUnit, RuleUnit

CAUSE = CauseUnit(
    id="learning_rate_too_low",
    problem="train_loss_not_decreasing",
    reference="训练集loss不下降 §5 选择合适的优化器和学习速率",
    rank=7,
    rules=(
        RuleUnit(
            id="LRL-UPDATES",
            when=("layers.update_low",),
            cf=0.6,
            priority=720,
            description=(
                "Every layer's update is a tiny fraction of its weights: steps are too small to "
                "make progress."
            ),
        ),
        RuleUnit(
            id="LRL-CONFIG",
            when=("config.lr_low",),
            cf=0.45,
            priority=600,
            description="The learning rate is far below the usual range for this optimizer.",
        ),
        RuleUnit(
            id="LRL-SLOW-STEADY",
            when=("train.high_final", "train.plateau"),
            unless=(
                "train.at_chance",
                "train.softmax_floor",
                "config.lr_high",
                "layers.update_high",
            ),
            cf=0.2,
            priority=350,
            description="The loss creeps down slowly and smoothly from a high level.",
        ),
        RuleUnit(
            id="LRL-CONTRA-CONFIG-HIGH",
            when=("config.lr_high",),
            cf=-0.6,
            priority=400,
            description="The learning rate is already high: contrary evidence.",
        ),
        RuleUnit(
            id="LRL-CONTRA-UPDATES-HIGH",
            when=("layers.update_high",),
            cf=-0.6,
            priority=400,
            description="The weights move a lot per step: contrary evidence.",
        ),
        RuleUnit(
            id="LRL-NO-PROGRESS",
            when=("train.no_progress",),
            unless=(
                "layers.update_low",
                "layers.update_high",
                "layers.zero_update",
                "layers.init_zero",
                "layers.dead_relu",
                "layers.vanishing",
                "config.lr_low",
                "config.lr_high",
                "config.lr_typical",
            ),
            cf=0.2,
            priority=300,
            description=(
                "The loss does not move from its start and no per-layer statistic says why: "
                "steps may be too small to move the loss "
                "(one of the usual suspects; record layers to tell)."
            ),
        ),
    ),
)
