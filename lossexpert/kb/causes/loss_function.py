"""Cause `loss_function`: 训练集loss不下降 §4 选择合适的损失函数."""

from lossexpert.kb.units import CauseUnit, RuleUnit

CAUSE = CauseUnit(
    id="loss_function",
    problem="train_loss_not_decreasing",
    reference="训练集loss不下降 §4 选择合适的损失函数",
    rank=5,
    rules=(
        RuleUnit(
            id="LOSS-SOFTMAX-CE",
            when=("config.softmax_before_ce",),
            cf=0.8,
            priority=800,
            description=(
                "Cross-entropy already applies log-softmax; a softmax before it squashes the "
                "logits twice."
            ),
        ),
        RuleUnit(
            id="LOSS-SOFTMAX-FLOOR",
            when=("train.softmax_floor",),
            cf=0.55,
            priority=700,
            description=(
                "The loss stopped at ln(1+(C-1)/e), exactly where softmax-then-cross-entropy "
                "bottoms out."
            ),
        ),
        RuleUnit(
            id="LOSS-TASK-MISMATCH",
            when=("config.loss_task_mismatch",),
            cf=0.7,
            priority=750,
            description=(
                "The loss does not fit the task (seed: cross-entropy for classification, MSE for "
                "regression)."
            ),
        ),
    ),
)
