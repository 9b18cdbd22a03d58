"""Cause `noisy_data`: 训练集loss不下降 §10 数据集有问题 (reconstructed)."""

from lossexpert.kb.units import PIPELINE_HOLDS_LOSS_UP, CauseUnit, RuleUnit

CAUSE = CauseUnit(
    id="noisy_data",
    problem="train_loss_not_decreasing",
    reference="训练集loss不下降 §10 数据集有问题 (reconstructed)",
    rank=17,
    rules=(
        RuleUnit(
            id="NOISE-HIGH-WOBBLY-PLATEAU",
            when=("train.high_final", "train.plateau", "train.oscillating"),
            unless=("config.lr_high", "config.batch_tiny", "data.unnormalized"),
            cf=0.3,
            priority=350,
            description=(
                "The loss plateaus high and keeps wavering: there is nothing consistent left to "
                "learn (noisy or wrong labels)."
            ),
        ),
        RuleUnit(
            id="PROBE-NOISY-NONFINITE",
            when=("probe.data_nonfinite",),
            cf=0.7,
            priority=650,
            description="The loader yields NaN or Inf in inputs or targets.",
        ),
        RuleUnit(
            id="PROBE-NOISY-IGNORES-INPUTS",
            when=("probe.ignores_inputs",),
            cf=0.3,
            priority=650,
            description=(
                "A model trained on these batches predicts held-out data no better from the real "
                "inputs than from shuffled ones: the labels carry little signal."
            ),
        ),
        RuleUnit(
            id="NOISE-AT-CHANCE-OPTIMISER-FINE",
            when=("train.at_chance", "layers.updates_normal", "layers.grads_normal"),
            # A heavy penalty or dropout can hold a working optimiser at chance by itself:
            # the data is blamed only once that alternative is out.
            unless=(
                "config.dropout_high",
                "config.weight_decay_high",
                "config.l1_high",
                "layers.barely_moved",  # the optimiser has not had the steps to work
            ),
            cf=0.35,
            priority=600,
            description=(
                "The loss sits at chance while the optimisation is healthy: labels that are "
                "random with respect to the inputs look the same."
            ),
        ),
        RuleUnit(
            id="PROBE-NOISY-WEAK-SIGNAL",
            when=("probe.weak_input_signal",),
            cf=0.4,
            priority=650,
            description=(
                "A trained copy predicts held-out data only a little better from the real inputs "
                "than from shuffled ones: the labels are mostly noise."
            ),
        ),
        RuleUnit(
            id="NOISE-VAL-WORSE-THAN-CHANCE",
            when=("val.worse_than_chance",),
            also_under=("val_loss_not_decreasing",),
            cf=0.35,
            priority=590,
            description=(
                "The val loss ends worse than guessing while the train loss falls: labels with "
                "little relation to the inputs are memorised, not learned."
            ),
        ),
        RuleUnit(
            id="NOISE-VAL-NEVER-LEARNED",
            when=("val.never_learned",),
            # Labels random with respect to the inputs (noise, or labels misaligned with
            # their inputs) and inputs without the signal look the same: equal weights, the
            # prior (label noise, the commoner) breaks the tie.
            also_under=("val_loss_not_decreasing",),
            cf=0.4,
            priority=585,
            description=(
                "The train loss falls well below chance while the val loss never gets below "
                "it: labels with little relation to the inputs are memorised, not learned."
            ),
        ),
        RuleUnit(
            id="NOISE-CANNOT-FIT-WITH-CAPACITY",
            when=("train.high_final", "config.can_memorize"),
            unless=(*PIPELINE_HOLDS_LOSS_UP, "train.at_chance", "train.still_falling"),
            cf=0.45,
            priority=560,
            description=(
                "A model big enough to memorise its training set levels off far above a fit "
                "while the optimisation is not at fault: part of the labels contradict each "
                "other (label noise sets a floor on the loss)."
            ),
        ),
        RuleUnit(
            id="PROBE-NOISY-BY-EXCLUSION",
            when=("train.high_final", "probe.overfit_ok", "probe.replay_matches"),
            unless=("train.still_falling",),
            cf=0.35,
            priority=640,
            description=(
                "The model and its optimizer fit one batch (no bug in the model, the loss or "
                "the optimizer), and a textbook loop over the same batches ends where the "
                "recording did (not the loop): what holds the loss up is then most likely the "
                "data (or a model too small for the whole set; the capacity rules weigh that). "
                "Labels that contradict each other set a floor on the loss."
            ),
        ),
    ),
)
