"""Cause `weight_initialization`: 训练集loss不下降 §2 权重初始化方案有问题."""

from lossexpert.kb.units import STALL_EXPLAINED_BY_LAYERS, CauseUnit, RuleUnit

CAUSE = CauseUnit(
    id="weight_initialization",
    problem="train_loss_not_decreasing",
    reference="训练集loss不下降 §2 权重初始化方案有问题",
    rank=2,
    rules=(
        RuleUnit(
            id="INIT-ZERO",
            when=("layers.init_zero",),
            cf=0.9,
            priority=800,
            description=(
                "Weights that start at exactly zero give every unit the same gradient: symmetry "
                "is never broken."
            ),
        ),
        RuleUnit(
            id="INIT-SCALE",
            when=("layers.init_scale",),
            cf=0.6,
            priority=700,
            description=(
                "Weights that start far too small or too large shrink or blow up the signal layer "
                "after layer."
            ),
        ),
        RuleUnit(
            id="INIT-RECURRENT-GAIN",
            when=("layers.recurrent_gain_high",),
            cf=0.6,
            priority=700,
            description=(
                "A recurrent matrix that starts with a gain far above 1 multiplies the state by "
                "more than 1 at every time step: the network starts chaotic, its tanh saturated "
                "and its gradients through time exploding (Pascanu et al. 2013); an orthogonal "
                "init (gain 1) or the default (0.58) does not."
            ),
        ),
        RuleUnit(
            id="INIT-CONFIG",
            when=("config.init_constant",),
            cf=0.45,
            priority=600,
            description="The config names a constant (zero) initialisation.",
        ),
        RuleUnit(
            id="INIT-LOSS-AT-START",
            when=("train.init_loss_high",),
            unless=("data.unnormalized",),
            cf=0.35,
            priority=450,
            description=(
                "A first loss far above ln C means the untrained outputs are far from uniform: an "
                "init or output-scale problem."
            ),
        ),
        RuleUnit(
            id="INIT-LARGE-MEMORISES",
            when=("train.init_loss_high", "val.worse_than_chance"),
            unless=("data.unnormalized", "config.no_input_normalization"),
            problem="val_loss_not_decreasing",
            cf=0.6,
            priority=660,
            description=(
                "The untrained outputs were far from uniform (a first loss far above chance) and "
                "the model then fitted its training set while ending worse than guessing on val: "
                "weights started at a large scale memorise without generalising (the lazy "
                "regime, Chizat et al. 2019; large initial weight norm, Liu et al. 2022)."
            ),
        ),
        RuleUnit(
            id="INIT-NO-GRADIENT",
            when=("layers.no_gradient", "train.at_chance"),
            cf=0.3,
            priority=400,
            description=(
                "No layer receives any gradient and the loss sits at chance: the network starts "
                "in a flat, symmetric state."
            ),
        ),
        RuleUnit(
            id="INIT-NO-PROGRESS",
            when=("train.no_progress",),
            unless=(*STALL_EXPLAINED_BY_LAYERS, "layers.init_scale", "config.lr_low"),
            cf=0.2,
            priority=300,
            description=(
                "The loss does not move from its start and no per-layer statistic says why: "
                "the network may start in a flat or symmetric state "
                "(one of the usual suspects; record layers to tell)."
            ),
        ),
        RuleUnit(
            id="INIT-INPUT-BLIND",
            when=("train.input_blind",),
            # A first loss far above chance came from an output that read its input: the
            # blindness came later, not from a constant init. A deep saturating stack blinds
            # the output by itself (each sigmoid layer passes at most 1/4 of a change on).
            unless=("layers.init_scale", "train.init_loss_high", "config.deep_saturating"),
            cf=0.5,
            priority=450,
            description=(
                "Every input gets the same output: weights started at zero (or one constant) "
                "make every unit compute the same thing, and no gradient breaks the tie."
            ),
        ),
        RuleUnit(
            id="PROBE-INIT-SYMMETRIC",
            when=("probe.symmetric_weights",),
            cf=0.8,
            priority=650,
            description="Every unit of a layer has the same weights: the symmetry is never broken.",
        ),
        RuleUnit(
            id="PROBE-INIT-LOSS-HIGH",
            when=("probe.init_loss_high",),
            cf=0.5,
            priority=650,
            description=(
                "The loss at the starting weights is far above chance: the initial outputs are far "
                "too large."
            ),
        ),
        RuleUnit(
            id="PROBE-INIT-CONTRA-OVERFIT-OK",
            when=("probe.overfit_ok",),
            cf=-0.3,
            priority=650,
            description=(
                "One batch was fitted with the user's own optimizer settings: the model, loss and "
                "gradients can learn (contrary evidence)."
            ),
        ),
        RuleUnit(
            id="INIT-DEAD-FROM-START",
            when=("layers.dead_from_start",),
            cf=0.4,
            priority=600,
            description=(
                "Units were already dead at the first sample, before training moved the "
                "weights: the initial weights (or biases) leave them negative on every input."
            ),
        ),
    ),
)
