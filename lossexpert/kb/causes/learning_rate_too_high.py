"""Cause `learning_rate_too_high`: 训练集loss不下降 §5 选择合适的优化器和学习速率; §7."""

from lossexpert.kb.units import CauseUnit, RuleUnit

CAUSE = CauseUnit(
    id="learning_rate_too_high",
    problem="train_loss_not_decreasing",
    reference="训练集loss不下降 §5 选择合适的优化器和学习速率; §7",
    rank=6,
    rules=(
        RuleUnit(
            id="LRH-NONFINITE",
            when=("train.nonfinite",),
            cf=0.5,
            priority=750,
            description=(
                "A loss that overflows to Inf/NaN is most often a step size too large for the "
                "curvature."
            ),
        ),
        RuleUnit(
            id="LRH-DIVERGING",
            when=("train.diverging",),
            cf=0.5,
            priority=700,
            description="The loss rose far above its minimum: steps overshoot the valley.",
        ),
        RuleUnit(
            id="LRH-UPDATES",
            when=("layers.update_high",),
            cf=0.6,
            priority=720,
            description=(
                "Each step changes the weights by a large fraction of their size (healthy is "
                "about 1e-3)."
            ),
        ),
        RuleUnit(
            id="LRH-CONFIG",
            when=("config.lr_high",),
            cf=0.4,
            priority=600,
            description="The learning rate is far above the usual range for this optimizer.",
        ),
        RuleUnit(
            id="LRH-OSCILLATING",
            when=("train.oscillating",),
            unless=("data.unnormalized", "config.batch_tiny"),
            cf=0.3,
            priority=450,
            description="The loss keeps jumping around its level late in training.",
        ),
        RuleUnit(
            id="LRH-CONTRA-CONFIG-LOW",
            when=("config.lr_low",),
            cf=-0.6,
            priority=400,
            description="The learning rate is already low: contrary evidence.",
        ),
        RuleUnit(
            id="LRH-CONTRA-UPDATES-LOW",
            when=("layers.update_low",),
            cf=-0.6,
            priority=400,
            description="The weights barely move: contrary evidence.",
        ),
        RuleUnit(
            id="LRH-CONTRA-HUGE-AT-START",
            when=("layers.grad_huge",),
            cf=-0.4,
            priority=400,
            description=(
                "The gradients were already huge before the first update: the step size "
                "did not cause them."
            ),
        ),
        RuleUnit(
            id="LRH-CONTRA-TYPICAL-LR",
            when=("train.nonfinite", "config.lr_typical"),
            cf=-0.3,
            priority=400,
            description="The loss overflowed at a learning rate in the usual range.",
        ),
    ),
)
