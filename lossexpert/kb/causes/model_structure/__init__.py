"""Cause `model_structure`: 训练集loss不下降 §1 模型结构和特征工程存在问题."""

from lossexpert.kb.units import CauseUnit, RuleUnit

CAUSE = CauseUnit(
    id="model_structure",
    problem="train_loss_not_decreasing",
    reference="训练集loss不下降 §1 模型结构和特征工程存在问题",
    rank=1,
    rules=(
        RuleUnit(
            id="MS-BOTTLENECK",
            when=("config.bottleneck",),
            cf=0.6,
            priority=620,
            description=(
                "A hidden layer narrower than the number of classes (for a regression, a single "
                "unit) cannot carry the information the output needs."
            ),
        ),
        RuleUnit(
            id="MS-HIGH-PLATEAU",
            when=("train.high_final",),
            unless=(
                "train.at_chance",
                "train.no_progress",
                "train.softmax_floor",
                "train.still_falling",
                "train.nonfinite",
                "train.diverging",
            ),
            cf=0.25,
            priority=300,
            description=(
                "The loss settled high with no sign of a broken pipeline: the usual reading is a "
                "model that cannot fit the data."
            ),
        ),
        RuleUnit(
            id="PROBE-STRUCT-OVERFIT-FAILS",
            when=("probe.overfit_fails",),
            unless=("probe.symmetric_weights", "probe.zero_grads"),
            cf=0.3,
            priority=650,
            description=(
                "Neither the user's optimizer nor Adam 1e-3 could fit one small batch: a structural"
                " or gradient problem, not a tuning one."
            ),
        ),
        RuleUnit(
            id="PROBE-STRUCT-NO-GRAD",
            when=("probe.params_no_grad",),
            cf=0.3,
            priority=650,
            description="Some layers take no part in the loss: the model is not wired as intended.",
        ),
        RuleUnit(
            id="PROBE-STRUCT-CONTRA-OVERFIT-OK",
            when=("probe.overfit_ok",),
            cf=-0.3,
            priority=650,
            description=(
                "One batch was fitted with the user's own optimizer settings: the model, loss and "
                "gradients can learn (contrary evidence)."
            ),
        ),
        RuleUnit(
            id="MS-CONTRA-CAN-MEMORIZE",
            when=("config.can_memorize",),
            unless=("config.bottleneck",),
            cf=-0.4,
            priority=400,
            description=(
                "The model has at least two parameters per training sample: too little "
                "capacity is not why it cannot fit the training set."
            ),
        ),
    ),
)
