"""Cause `vanishing_gradients`: 训练集loss不下降 §7 模型训练遇到瓶颈 (梯度消失)."""

from lossexpert.kb.units import STALL_EXPLAINED_BY_LAYERS, CauseUnit, RuleUnit

CAUSE = CauseUnit(
    id="vanishing_gradients",
    problem="train_loss_not_decreasing",
    reference="训练集loss不下降 §7 模型训练遇到瓶颈 (梯度消失)",
    rank=10,
    rules=(
        RuleUnit(
            id="VAN-RATIO",
            when=("layers.vanishing",),
            cf=0.75,
            priority=800,
            description=(
                "The first layer's gradient is orders of magnitude below the last layer's: the "
                "signal dies on the way back."
            ),
        ),
        RuleUnit(
            id="VAN-DEEP-SATURATING",
            when=("config.deep_saturating", "train.no_progress"),
            cf=0.3,
            priority=450,
            description=(
                "A deep stack of saturating activations that does not learn at all: the classic "
                "vanishing-gradient setup."
            ),
        ),
        RuleUnit(
            id="VAN-CONTRA-SHALLOW",
            when=("config.shallow_non_saturating",),
            unless=("layers.vanishing",),
            cf=-0.15,
            priority=300,
            description=(
                "A few layers of non-saturating activations do not shrink the gradient on its "
                "way back: vanishing by depth is unlikely here (contrary evidence)."
            ),
        ),
        RuleUnit(
            id="VAN-CONTRA-NORMALIZED",
            when=("config.normalization_layers",),
            unless=("layers.vanishing", "config.deep_saturating"),
            cf=-0.15,
            priority=300,
            description=(
                "Normalisation layers between the layers reset each layer's scale, so the "
                "gradient does not shrink geometrically with depth (He et al. 2016: the problem "
                "is 'largely addressed by ... intermediate normalization layers'): vanishing by "
                "depth is unlikely here (contrary evidence)."
            ),
        ),
        RuleUnit(
            id="VAN-NO-PROGRESS",
            when=("train.no_progress",),
            unless=(*STALL_EXPLAINED_BY_LAYERS, "layers.grad_nonfinite"),
            cf=0.2,
            priority=300,
            description=(
                "The loss does not move from its start and no per-layer statistic says why: "
                "the gradient may die on its way to the first layers "
                "(one of the usual suspects; record layers to tell)."
            ),
        ),
        RuleUnit(
            id="PROBE-VANISH-OVERFIT-FAILS",
            when=("probe.overfit_fails",),
            unless=("probe.symmetric_weights", "probe.zero_grads"),
            cf=0.2,
            priority=650,
            description=(
                "Neither the user's optimizer nor Adam 1e-3 could fit one small batch: a structural"
                " or gradient problem, not a tuning one."
            ),
        ),
        RuleUnit(
            id="PROBE-VANISH-CONTRA-OVERFIT-OK",
            when=("probe.overfit_ok",),
            cf=-0.3,
            priority=650,
            description=(
                "One batch was fitted with the user's own optimizer settings: the model, loss and "
                "gradients can learn (contrary evidence)."
            ),
        ),
        RuleUnit(
            id="VAN-CONTRA-GRADS-NORMAL",
            when=("layers.grads_normal",),
            cf=-0.7,
            priority=400,
            description="Gradient norms were recorded and are of similar size in every layer.",
        ),
        RuleUnit(
            id="PROBE-VANISH-RATIO",
            when=("probe.grads_vanish",),
            unless=("probe.saturated",),
            cf=0.5,
            priority=650,
            description=(
                "Measured on a copy: the first layer's gradient is a tiny fraction of the last "
                "one's."
            ),
        ),
        RuleUnit(
            id="PROBE-VANISH-CONTRA-ZERO-GRADS",
            when=("probe.zero_grads",),
            cf=-0.4,
            priority=650,
            description=(
                "Measured on a copy: whole layers get a gradient of exactly zero. A vanishing "
                "gradient shrinks by a factor per layer but stays non-zero; an exact zero is a "
                "path cut (dead units, a constant output, a detached branch), not depth "
                "(contrary evidence)."
            ),
        ),
    ),
)
