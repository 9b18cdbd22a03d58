"""Cause `learning_rate_too_low`: 训练集loss不下降 §5 选择合适的优化器和学习速率."""

from lossexpert.kb.units import STALL_EXPLAINED_BY_LAYERS, CauseUnit, RuleUnit

CAUSE = CauseUnit(
    id="learning_rate_too_low",
    problem="train_loss_not_decreasing",
    reference="训练集loss不下降 §5 选择合适的优化器和学习速率",
    rank=7,
    rules=(
        RuleUnit(
            id="LRL-UPDATES",
            when=("layers.update_low",),
            # A gradient of exactly zero gives a zero step at any rate: the tiny updates then
            # say nothing about the rate.
            unless=("layers.no_gradient",),
            cf=0.6,
            priority=720,
            description=(
                "Every layer's update is a tiny fraction of its weights: steps are too small to "
                "make progress."
            ),
        ),
        RuleUnit(
            id="LRL-SMALL-STEPS",
            when=("layers.small_steps", "train.no_progress"),
            unless=("layers.no_gradient",),
            cf=0.5,
            priority=665,
            description=(
                "The loss has not moved and neither have the weights, over enough steps to have "
                "moved them at a healthy step size: each step is too small."
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
                *STALL_EXPLAINED_BY_LAYERS,
                "layers.update_high",
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
        RuleUnit(
            id="LRL-CONTRA-INPUT-BLIND",
            when=("train.input_blind",),
            cf=-0.4,
            priority=400,
            description=(
                "Every input gets the same output, which a random init does not give: too small "
                "a step would leave the network near its init, still answering each input "
                "differently (contrary evidence)."
            ),
        ),
        RuleUnit(
            id="PROBE-LRL-SWEEP",
            when=("probe.lr_below_best",),
            cf=0.6,
            priority=650,
            description=(
                "The LR range test puts the best learning rate far above the configured one."
            ),
        ),
        RuleUnit(
            id="PROBE-LRL-OVERFIT",
            when=("probe.overfit_user_fails",),
            unless=("probe.lr_above_best", "probe.params_not_in_optimizer"),
            cf=0.3,
            priority=650,
            description=(
                "One batch is fitted by Adam 1e-3 but not by the user's settings: a tuning problem."
            ),
        ),
        RuleUnit(
            id="PROBE-LRL-FIX",
            when=("probe.fix.lr_up",),
            cf=0.6,
            priority=650,
            description=(
                "Tried on a copy (same weights, same batches): the remedy made the loss fall much "
                "further than the unchanged run."
            ),
        ),
        RuleUnit(
            id="PROBE-LRL-NOFIX",
            when=("probe.nofix.lr_up",),
            cf=-0.5,
            priority=650,
            description=(
                "Tried on a copy: the remedy did not make the loss fall faster (contrary evidence)."
            ),
        ),
        RuleUnit(
            id="PROBE-LRL-CONTRA-SWEEP",
            when=("probe.lr_above_best",),
            cf=-0.6,
            priority=650,
            description=(
                "In the LR range test the loss was already rising at the configured learning rate "
                "(contrary evidence)."
            ),
        ),
        RuleUnit(
            id="PROBE-LRL-CONTRA-BATCH-FIX",
            when=("probe.fix.smaller_batch", "config.lr_typical"),
            cf=-0.6,
            priority=650,
            description=(
                "Tried on a copy: smaller batches at the same learning rate, one in the usual "
                "range, took the loss much further in the same epochs. Too few updates per "
                "epoch, not too small a rate (contrary evidence)."
            ),
        ),
        RuleUnit(
            id="LRL-CONTRA-JUMPY",
            when=("train.flat_jumpy",),
            cf=-0.4,
            priority=400,
            description="The loss bounces around: a too-small step gives a smooth curve.",
        ),
        RuleUnit(
            id="LRL-CONTRA-RISE",
            when=("train.rise_after_fall",),
            cf=-0.5,
            priority=400,
            description="The loss climbed back after falling: small steps do not do that.",
        ),
        RuleUnit(
            id="LRL-CONTRA-SPIKE",
            when=("train.spike_then_stall",),
            cf=-0.5,
            priority=400,
            description="The loss jumped several-fold: small steps do not do that.",
        ),
        RuleUnit(
            id="LRL-CONTRA-DIVERGING",
            when=("train.diverging",),
            cf=-0.6,
            priority=400,
            description="The loss climbed far above its minimum: small steps do not do that.",
        ),
        RuleUnit(
            id="LRL-CONTRA-NONFINITE",
            when=("train.nonfinite",),
            cf=-0.6,
            priority=400,
            description="The loss overflowed: small steps do not do that.",
        ),
        RuleUnit(
            id="LRL-CONTRA-UPDATES-NORMAL",
            when=("layers.updates_normal",),
            cf=-0.35,
            priority=400,
            description="Every layer's update/weight ratio is in the healthy range.",
        ),
    ),
)
