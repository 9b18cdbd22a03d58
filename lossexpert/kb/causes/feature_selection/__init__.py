"""Cause `feature_selection`: 训练集loss不下降 §12 特征选取有问题 (reconstructed)."""

from lossexpert.kb.units import PIPELINE_HOLDS_LOSS_UP, CauseUnit, RuleUnit

CAUSE = CauseUnit(
    id="feature_selection",
    problem="train_loss_not_decreasing",
    reference="训练集loss不下降 §12 特征选取有问题 (reconstructed)",
    rank=20,
    rules=(
        RuleUnit(
            id="FEAT-FLAT-GAP",
            when=("train.high_final", "train.plateau", "val.gap"),
            unless=("train.at_chance",),
            cf=0.2,
            priority=300,
            description=(
                "The loss plateaus high and what is learned does not generalise: the features may "
                "not carry the signal."
            ),
        ),
        RuleUnit(
            id="PROBE-FEAT-IGNORES-INPUTS",
            when=("probe.ignores_inputs",),
            cf=0.5,
            priority=650,
            description=(
                "A model trained on these batches predicts held-out data no better from the real "
                "inputs than from shuffled ones: the features do not inform the target."
            ),
        ),
        RuleUnit(
            id="PROBE-FEAT-INPUTS-INFORM",
            when=("probe.inputs_informative",),
            # The experiment that decides "nothing in the inputs" refutes it at p = 0.0013
            # (ProbeLimits.signal_z); the features may still be weak, so the cause is lowered,
            # not withdrawn.
            cf=-0.5,
            priority=650,
            description=(
                "A copy trained with a known-good recipe decides held-out examples clearly "
                "better from the real inputs than from shuffled ones: the inputs carry the "
                "signal, so features without it are not what holds the loss up."
            ),
        ),
        RuleUnit(
            id="PROBE-FEAT-CONSTANT",
            when=("probe.inputs_constant",),
            cf=0.7,
            priority=650,
            description="Every input feature is constant: the model has nothing to learn from.",
        ),
        RuleUnit(
            id="FEAT-LEAK",
            when=("train.exact_zero",),
            cf=0.45,
            priority=600,
            description=(
                "A loss of exactly 0.0 on most batches: some input already contains the label "
                "(a leaked feature), so the task is trivial."
            ),
        ),
        RuleUnit(
            id="FEAT-AT-CHANCE-OPTIMISER-FINE",
            when=("train.at_chance", "layers.updates_normal", "layers.grads_normal"),
            # A heavy penalty or dropout can hold a working optimiser at chance by itself:
            # the data is blamed only once that alternative is out.
            unless=(
                "config.dropout_high",
                "config.weight_decay_high",
                "config.l1_high",
                "layers.barely_moved",  # the optimiser has not had the steps to work
            ),
            cf=0.6,
            priority=620,
            description=(
                "The loss sits at chance while gradients reach every layer and every layer "
                "moves at a healthy rate: the optimisation works, so there is nothing in the "
                "inputs to learn from (uninformative features, or inputs and labels misaligned)."
            ),
        ),
        RuleUnit(
            id="FEAT-CANNOT-FIT-WITH-CAPACITY",
            when=("train.high_final", "config.can_memorize"),
            unless=(*PIPELINE_HOLDS_LOSS_UP, "train.at_chance", "train.still_falling"),
            cf=0.45,
            priority=560,
            description=(
                "A model big enough to memorise its training set levels off far above a fit: "
                "what it sees does not determine the target. Contradicting labels do that, and "
                "so do inputs that carry little of what the target depends on; the curves "
                "cannot tell which (a probe of the inputs can)."
            ),
        ),
        RuleUnit(
            id="FEAT-VAL-WORSE-THAN-CHANCE",
            when=("val.worse_than_chance",),
            also_under=("val_loss_not_decreasing",),
            cf=0.5,
            priority=600,
            description=(
                "The train loss falls while the val loss ends worse than guessing: the model "
                "memorises the training set because the inputs carry nothing it can generalise."
            ),
        ),
        RuleUnit(
            id="FEAT-VAL-NEVER-LEARNED",
            when=("val.never_learned",),
            # Labels random with respect to the inputs (noise, or labels misaligned with
            # their inputs) and inputs without the signal look the same: equal weights, the
            # prior (label noise, the commoner) breaks the tie.
            also_under=("val_loss_not_decreasing",),
            cf=0.4,
            priority=595,
            description=(
                "The train loss falls well below chance while the val loss never gets below "
                "it: the model memorises the training set because the inputs carry nothing it "
                "can generalise."
            ),
        ),
        RuleUnit(
            id="PROBE-FEAT-BY-EXCLUSION",
            when=("train.high_final", "probe.overfit_ok", "probe.replay_matches"),
            unless=("train.still_falling",),
            cf=0.35,
            priority=640,
            description=(
                "The model and its optimizer fit one batch (no bug in the model, the loss or "
                "the optimizer), and a textbook loop over the same batches ends where the "
                "recording did (not the loop): what holds the loss up is then most likely the "
                "data (or a model too small for the whole set; the capacity rules weigh that). "
                "Inputs that do not carry the signal set the same floor as noisy labels (from "
                "the data alone the two cannot be told apart: the target is noise given these "
                "inputs)."
            ),
        ),
    ),
)
