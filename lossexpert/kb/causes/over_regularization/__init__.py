"""Cause `over_regularization`: 训练集loss不下降 §3 正则化过度."""

from lossexpert.kb.units import CauseUnit, RuleUnit

CAUSE = CauseUnit(
    id="over_regularization",
    problem="train_loss_not_decreasing",
    reference="训练集loss不下降 §3 正则化过度",
    rank=3,
    rules=(
        RuleUnit(
            id="REG-WEIGHT-DECAY",
            when=("config.weight_decay_high",),
            cf=0.45,
            priority=600,
            description="Strong weight decay pulls every weight towards zero from the first step.",
        ),
        RuleUnit(
            id="REG-DROPOUT",
            when=("config.dropout_high",),
            cf=0.35,
            priority=550,
            description="Heavy dropout removes most of the signal the model is trying to fit.",
        ),
        RuleUnit(
            id="REG-L1",
            when=("config.l1_high",),
            cf=0.4,
            priority=550,
            description="A strong L1 penalty zeroes weights the model needs.",
        ),
        RuleUnit(
            id="REG-WEIGHT-SHRINK",
            when=("layers.weight_shrink",),
            cf=0.5,
            priority=650,
            description=(
                "The weight norm collapsed during training: the penalty is winning against the "
                "data."
            ),
        ),
        RuleUnit(
            id="REG-DECAY-PLATEAU",
            when=("config.weight_decay_high", "train.plateau"),
            cf=0.3,
            priority=500,
            description=(
                "The loss plateaued high under strong decay: the curve confirms the config."
            ),
        ),
        RuleUnit(
            id="REG-INPUT-BLIND",
            when=("train.input_blind",),
            unless=("config.no_regularization",),
            cf=0.5,
            priority=450,
            description=(
                "Every input gets the same output: a penalty that outweighs the data drives the "
                "weights to zero, its optimum, and what is left of the network is its biases."
            ),
        ),
        RuleUnit(
            id="PROBE-REG-FIX",
            when=("probe.fix.no_regularization",),
            cf=0.6,
            priority=650,
            description=(
                "Tried on a copy (same weights, same batches): the remedy made the loss fall much "
                "further than the unchanged run."
            ),
        ),
        RuleUnit(
            id="PROBE-REG-NOFIX",
            when=("probe.nofix.no_regularization",),
            cf=-0.5,
            priority=650,
            description=(
                "Tried on a copy: the remedy did not make the loss fall faster (contrary evidence)."
            ),
        ),
        RuleUnit(
            id="REG-VAL-BELOW-TRAIN",
            when=("val.below_train",),
            cf=0.3,
            priority=450,
            description=(
                "The val loss is below the train loss while the train loss is stuck: the "
                "regularisation active only in training (dropout, noise) is holding it back."
            ),
        ),
        RuleUnit(
            id="PROBE-REG-OVERFIT",
            when=("probe.overfit_regularisation_blocks",),
            cf=0.7,
            priority=650,
            description=(
                "One batch is fitted with the user's settings once weight decay and dropout are "
                "off, and not with them."
            ),
        ),
    ),
)
