"""Cause `activation_function`: 训练集loss不下降 §4 选择合适的激活函数."""

from lossexpert.kb.units import CauseUnit, RuleUnit

CAUSE = CauseUnit(
    id="activation_function",
    problem="train_loss_not_decreasing",
    reference="训练集loss不下降 §4 选择合适的激活函数",
    rank=4,
    rules=(
        RuleUnit(
            id="ACT-RELU-OUTPUT",
            when=("config.relu_output",),
            cf=0.7,
            priority=700,
            description=(
                "A ReLU on the output clips every negative logit to zero, which puts a floor "
                "under the loss."
            ),
        ),
        RuleUnit(
            id="ACT-SQUASHING-OUTPUT",
            when=("config.squashing_output",),
            cf=0.75,
            priority=750,
            description=(
                "A sigmoid/tanh on the output layer feeds a loss that expects unbounded logits: "
                "the wrong activation for the output (Humbatova et al. 2020), and a floor "
                "under the loss."
            ),
        ),
        RuleUnit(
            id="ACT-SATURATED",
            when=("layers.saturated",),
            cf=0.5,
            priority=600,
            description=(
                "Most sigmoid/tanh units sit in their flat tails, where the gradient is almost "
                "zero."
            ),
        ),
        RuleUnit(
            id="ACT-DEEP-SATURATING",
            when=("config.deep_saturating",),
            cf=0.3,
            priority=450,
            description=(
                "A deep feed-forward stack of sigmoid/tanh layers; the seed recommends ReLU for "
                "dense and conv layers."
            ),
        ),
        RuleUnit(
            id="ACT-SATURATING-VANISHING",
            when=("config.deep_saturating", "layers.vanishing"),
            cf=0.2,
            priority=450,
            description=(
                "The gradient vanishes in a stack of saturating activations: the activation "
                "choice is the lever."
            ),
        ),
        RuleUnit(
            id="PROBE-ACT-OVERFIT-FAILS",
            when=("probe.overfit_fails",),
            unless=("probe.symmetric_weights", "probe.zero_grads"),
            cf=0.25,
            priority=650,
            description=(
                "Neither the user's optimizer nor Adam 1e-3 could fit one small batch: a structural"
                " or gradient problem, not a tuning one."
            ),
        ),
        RuleUnit(
            id="PROBE-ACT-CONTRA-OVERFIT-OK",
            when=("probe.overfit_ok",),
            cf=-0.3,
            priority=650,
            description=(
                "One batch was fitted with the user's own optimizer settings: the model, loss and "
                "gradients can learn (contrary evidence)."
            ),
        ),
        RuleUnit(
            id="PROBE-ACT-SATURATED",
            when=("probe.saturated",),
            cf=0.5,
            priority=650,
            description=(
                "Most sigmoid/tanh outputs sit in their flat tails at the current weights: the "
                "activation kills the gradient."
            ),
        ),
        RuleUnit(
            id="PROBE-ACT-BOUNDED-OUTPUT",
            when=("probe.outputs_bounded",),
            cf=0.6,
            priority=650,
            description=(
                "The outputs fed to the classification loss are squashed into [0, 1]: a sigmoid on "
                "the logits caps the loss's progress."
            ),
        ),
        RuleUnit(
            id="PROBE-ACT-CLIPPED-OUTPUT",
            when=("probe.outputs_clipped",),
            cf=0.6,
            priority=650,
            description="Many outputs fed to the loss are exactly 0: a ReLU on the logits.",
        ),
        RuleUnit(
            id="ACT-NEAR-BOUNDED-FLOOR",
            when=("train.near_bounded_floor",),
            cf=0.45,
            priority=690,
            description=(
                "The loss closes in on ln(1+(C-1)/e) and never crosses it: an output "
                "activation (sigmoid, clipped ReLU) squashes the logits into [0, 1]."
            ),
        ),
        RuleUnit(
            id="ACT-SOFTMAX-FLOOR",
            when=("train.softmax_floor",),
            unless=("config.unsquashed_output",),
            # The floor is that of any logits bounded to [0, 1]: a softmax under the loss (the
            # commoner slip: the loss unit weighs it higher) or a sigmoid / clipped output.
            cf=0.35,
            priority=690,
            description=(
                "The loss stopped at ln(1+(C-1)/e), the floor of logits bounded to [0, 1]: an "
                "output activation (sigmoid, clipped ReLU) bounds them as a softmax does."
            ),
        ),
        RuleUnit(
            id="ACT-CONTRA-UNSQUASHED-FLOOR",
            when=("train.near_bounded_floor", "config.unsquashed_output"),
            cf=-0.3,
            priority=690,
            description=(
                "The loss seems held above a bounded floor, but no module of the model squashes "
                "its outputs: a squashing output activation is ruled out in its usual form "
                "(contrary evidence)."
            ),
        ),
    ),
)
