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
        RuleUnit(
            id="PROBE-INSUF-CONTRA-OVERFIT-FAILS",
            when=("probe.overfit_fails",),
            cf=-0.3,
            priority=650,
            description=(
                "Not even one batch can be fitted: more training will not help (contrary evidence)."
            ),
        ),
        RuleUnit(
            id="INS-FALLING-FAST",
            when=("train.falling_fast",),
            cf=0.7,
            priority=680,
            description=(
                "The loss was still falling steeply (to under a quarter over the last third) "
                "when training stopped: it needs more steps."
            ),
        ),
        RuleUnit(
            id="INS-CONTRA-VAL-RISING",
            when=("train.still_falling", "val.rising"),
            cf=-0.4,
            priority=400,
            description=(
                "The val loss already rises: more steps would fit the training set further, "
                "not learn more."
            ),
        ),
        RuleUnit(
            id="INS-UNFINISHED",
            when=("train.unfinished",),
            cf=0.55,
            priority=660,
            description=(
                "The loss was still falling steadily, far from a fit, when training stopped: "
                "more epochs (or a larger learning rate) would take it further."
            ),
        ),
        RuleUnit(
            id="PROBE-INSUF-CONTRA-IGNORES",
            when=("probe.ignores_inputs",),
            cf=-0.4,
            priority=650,
            description=(
                "A trained copy predicts no better from the real inputs than from shuffled ones: "
                "more training will not help (contrary evidence)."
            ),
        ),
        RuleUnit(
            id="INS-STOPPED-SHORT",
            when=("train.stopped_short",),
            cf=0.65,
            priority=690,
            description=(
                "Training ended within its first pass over the data or at under half of its "
                "plan: it did not run long enough for the loss to fall."
            ),
        ),
        RuleUnit(
            id="INS-BARELY-MOVED",
            when=("layers.barely_moved", "train.no_progress"),
            # Enough steps to have moved at a healthy size: their size, not their count, fell short.
            unless=("layers.small_steps",),
            cf=0.5,
            priority=660,
            description=(
                "The loss has not moved, and neither have the weights: steps of a usual size, "
                "too few of them to take the model far from its init. Nothing is wrong yet that "
                "a longer run would not show."
            ),
        ),
        RuleUnit(
            id="INS-CONTRA-DIVERGED",
            when=("train.diverging",),
            cf=-0.6,
            priority=400,
            description=(
                "The loss ends at least twice its running minimum: whatever it fell by at the "
                "end is a recovery from a divergence, not a run cut short while it improved "
                "(contrary evidence)."
            ),
        ),
        RuleUnit(
            id="INS-CONTRA-ABOVE-INIT",
            when=("train.above_init",),
            cf=-0.6,
            priority=400,
            description=(
                "The loss ends far above the untrained model's: training made it worse, which "
                "more of the same training will not undo (contrary evidence)."
            ),
        ),
        RuleUnit(
            id="INS-CONTRA-AT-FLOOR",
            when=("train.near_bounded_floor",),
            cf=-0.4,
            priority=400,
            description="The loss is closing in on a floor it cannot cross: more steps won't help.",
        ),
        RuleUnit(
            id="INS-CONTRA-VAL-WORSE-THAN-CHANCE",
            when=("val.worse_than_chance",),
            cf=-0.6,
            priority=400,
            description=(
                "The val loss is already worse than guessing: more steps would memorise the "
                "training set further, not learn anything that holds."
            ),
        ),
    ),
)
