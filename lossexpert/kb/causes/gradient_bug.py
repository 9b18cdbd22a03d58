"""Cause `gradient_bug`: 训练集loss不下降 §7 模型训练遇到瓶颈 (梯度更新代码存在bug)."""

from lossexpert.kb.units import CauseUnit, RuleUnit

CAUSE = CauseUnit(
    id="gradient_bug",
    problem="train_loss_not_decreasing",
    reference="训练集loss不下降 §7 模型训练遇到瓶颈 (梯度更新代码存在bug)",
    rank=13,
    rules=(
        RuleUnit(
            id="BUG-ZERO-UPDATE",
            when=("layers.zero_update",),
            cf=0.9,
            priority=900,
            description=(
                "Layers receive non-zero gradients yet their weights never change: they are not "
                "in the optimizer, or the update is discarded."
            ),
        ),
        RuleUnit(
            id="BUG-NO-GRADIENT",
            when=("layers.no_gradient",),
            unless=("layers.init_zero", "layers.dead_relu"),
            cf=0.5,
            priority=700,
            description=(
                "No layer receives any gradient, and neither a zero init nor dead units explain "
                "it: the graph is cut (detach, no_grad, a loss not built from the output)."
            ),
        ),
        RuleUnit(
            id="BUG-FROZEN-LOSS",
            when=("train.frozen",),
            unless=("layers.dead_relu", "layers.saturated"),
            cf=0.25,
            priority=400,
            description=(
                "A loss frozen at one exact value with no dead or saturated units to explain "
                "it: check that gradients reach the weights at all."
            ),
        ),
        RuleUnit(
            id="BUG-NO-PROGRESS",
            when=("train.no_progress",),
            unless=(
                "layers.zero_update",
                "layers.no_gradient",
                "layers.init_zero",
                "layers.dead_relu",
                "layers.vanishing",
                "layers.update_low",
            ),
            cf=0.2,
            priority=300,
            description=(
                "The loss does not move from its start and no per-layer statistic says why: "
                "gradients may not reach the weights at all "
                "(one of the usual suspects; record layers to tell)."
            ),
        ),
    ),
)
