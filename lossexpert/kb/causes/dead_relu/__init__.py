"""Cause `dead_relu`: 训练集loss不下降 §7 模型训练遇到瓶颈 (神经元失活)."""

from lossexpert.kb.units import STALL_EXPLAINED_BY_LAYERS, CauseUnit, RuleUnit

CAUSE = CauseUnit(
    id="dead_relu",
    problem="train_loss_not_decreasing",
    reference="训练集loss不下降 §7 模型训练遇到瓶颈 (神经元失活)",
    rank=12,
    rules=(
        RuleUnit(
            id="DEAD-LAYERS",
            when=("layers.dead_relu",),
            cf=0.7,
            priority=750,
            description=(
                "Most ReLU units output zero for every input; their gradient is zero, so they "
                "never recover."
            ),
        ),
        RuleUnit(
            id="DEAD-CONTRA-ZERO-INIT",
            when=("layers.dead_relu", "layers.init_zero"),
            cf=-0.6,
            priority=400,
            description=(
                "The units output zero because every weight is zero, not because they died."
            ),
        ),
        RuleUnit(
            id="DEAD-CONTRA-TINY-BATCH",
            when=("layers.dead_relu", "config.batch_tiny", "train.oscillating"),
            cf=-0.3,
            priority=400,
            description="Tiny, noisy batches explain the dead units: they are a consequence.",
        ),
        RuleUnit(
            id="DEAD-FROZEN-LOSS",
            when=("train.frozen",),
            cf=0.35,
            priority=450,
            description=(
                "A loss that repeats one exact value means the output no longer depends on "
                "the weights: typically every unit of a layer has died."
            ),
        ),
        RuleUnit(
            id="DEAD-CONTRA-NO-RELU",
            when=("config.no_relu",),
            unless=("layers.dead_relu",),
            cf=-0.5,
            priority=300,
            description=(
                "None of the model's activations outputs a hard zero, so no unit can die the "
                "way a ReLU does (contrary evidence)."
            ),
        ),
        RuleUnit(
            id="DEAD-NO-PROGRESS",
            when=("train.no_progress",),
            unless=STALL_EXPLAINED_BY_LAYERS,
            cf=0.2,
            priority=300,
            description=(
                "The loss does not move from its start and no per-layer statistic says why: "
                "the units of a layer may all have died "
                "(one of the usual suspects; record layers to tell)."
            ),
        ),
        RuleUnit(
            id="DEAD-INPUT-BLIND",
            when=("train.input_blind",),
            unless=("config.no_relu", "layers.dead_normal"),
            cf=0.5,
            priority=450,
            description=(
                "Every input gets the same output: when all the units of a layer output zero, "
                "nothing of the input reaches the head, and only its bias (the class prior) "
                "is learned."
            ),
        ),
        RuleUnit(
            id="PROBE-DEAD-ZERO-GRADS",
            when=("probe.zero_grads",),
            unless=("probe.symmetric_weights",),
            cf=0.5,
            priority=650,
            description="Whole weight matrices get exactly zero gradient: their units never fire.",
        ),
        RuleUnit(
            id="PROBE-DEAD-OVERFIT-FAILS",
            when=("probe.overfit_fails",),
            unless=("probe.symmetric_weights",),
            cf=0.2,
            priority=650,
            description=(
                "Neither the user's optimizer nor Adam 1e-3 could fit one small batch: a structural"
                " or gradient problem, not a tuning one."
            ),
        ),
        RuleUnit(
            id="PROBE-DEAD-CONTRA-OVERFIT-OK",
            when=("probe.overfit_ok",),
            cf=-0.3,
            priority=650,
            description=(
                "One batch was fitted with the user's own optimizer settings: the model, loss and "
                "gradients can learn (contrary evidence)."
            ),
        ),
        RuleUnit(
            id="PROBE-DEAD-CONTRA-REPLAY",
            when=("probe.replay_better",),
            cf=-0.5,
            priority=650,
            description=(
                "The user's model, optimizer and batches, trained by a textbook loop, end far "
                "below the recorded run: the same init and learning rate keep the units alive; "
                "the units died of the loop's oversized steps (contrary evidence)."
            ),
        ),
        RuleUnit(
            id="DEAD-CONTRA-NORMAL",
            when=("layers.dead_normal",),
            cf=-0.7,
            priority=400,
            description="Dead fractions were recorded and every layer is mostly alive.",
        ),
    ),
)
