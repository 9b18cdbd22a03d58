"""Cause `exploding_gradients`: 训练集loss不下降 §7 模型训练遇到瓶颈 (梯度爆炸)."""

from lossexpert.kb.units import CauseUnit, RuleUnit

CAUSE = CauseUnit(
    id="exploding_gradients",
    problem="train_loss_not_decreasing",
    reference="训练集loss不下降 §7 模型训练遇到瓶颈 (梯度爆炸)",
    rank=11,
    rules=(
        RuleUnit(
            id="EXP-RATIO",
            when=("layers.exploding",),
            cf=0.6,
            priority=750,
            description=(
                "The first layer's gradient is far above the last layer's: it grows layer by "
                "layer (1.1^n)."
            ),
        ),
        RuleUnit(
            id="EXP-GROWTH",
            when=("layers.grad_growth",),
            cf=0.6,
            priority=750,
            description="The gradient norm grew by orders of magnitude during training.",
        ),
        RuleUnit(
            id="EXP-NONFINITE-GRAD",
            when=("layers.grad_nonfinite",),
            cf=0.4,
            priority=650,
            description="Gradients became Inf/NaN.",
        ),
        RuleUnit(
            id="EXP-NONFINITE-LOSS",
            when=("train.nonfinite",),
            unless=("config.lr_high", "layers.update_high"),
            cf=0.3,
            priority=400,
            description="The loss overflowed, and nothing points at the learning rate.",
        ),
        RuleUnit(
            id="EXP-HUGE-AT-START",
            when=("layers.grad_huge",),
            cf=0.6,
            priority=760,
            description=(
                "Gradients were huge at the first sample, before any step could have moved "
                "the weights: the layers' outputs blow them up, whatever the learning rate."
            ),
        ),
        RuleUnit(
            id="EXP-HUGE-OUTPUTS",
            when=("train.nonfinite", "train.init_loss_high"),
            cf=0.35,
            priority=600,
            description=(
                "The loss started orders of magnitude above chance and then overflowed: "
                "layers with huge outputs make gradients explode (seed, item 7)."
            ),
        ),
        RuleUnit(
            id="PROBE-EXPLODE-FIX",
            when=("probe.fix.clip",),
            cf=0.6,
            priority=650,
            description=(
                "Tried on a copy (same weights, same batches): the remedy made the loss fall much "
                "further than the unchanged run."
            ),
        ),
        RuleUnit(
            id="PROBE-EXPLODE-CONTRA-REPLAY",
            when=("probe.replay_better",),
            cf=-0.6,
            priority=650,
            description=(
                "The user's model, optimizer and batches, trained by a textbook loop, end far "
                "below the recorded run: the gradients of this model do not explode by "
                "themselves; the loop made them grow (contrary evidence)."
            ),
        ),
        RuleUnit(
            id="PROBE-EXPLODE-FIX-TYPICAL-LR",
            when=("probe.fix.clip", "config.lr_typical"),
            cf=0.5,
            priority=650,
            description=(
                "Tried on a copy: clipping the gradient norm at the same learning rate made the "
                "loss fall, and the rate is in the usual range: the steps blow up because the "
                "gradients do, not because the rate is high."
            ),
        ),
        RuleUnit(
            id="PROBE-EXPLODE-NOFIX",
            when=("probe.nofix.clip",),
            cf=-0.5,
            priority=650,
            description=(
                "Tried on a copy: the remedy did not make the loss fall faster (contrary evidence)."
            ),
        ),
        RuleUnit(
            id="EXP-CONTRA-GRADS-NORMAL",
            when=("layers.grads_normal",),
            cf=-0.7,
            priority=400,
            description="Gradient norms were recorded, similar across layers and not growing.",
        ),
    ),
)
