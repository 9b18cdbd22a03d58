"""Cause `class_imbalance`: 训练集loss不下降 §10 数据集有问题 (类别不平衡)."""

from lossexpert.kb.units import CauseUnit, RuleUnit

CAUSE = CauseUnit(
    id="class_imbalance",
    problem="train_loss_not_decreasing",
    reference="训练集loss不下降 §10 数据集有问题 (类别不平衡)",
    rank=18,
    rules=(
        RuleUnit(
            id="IMB-COUNTS",
            when=("data.imbalanced",),
            cf=0.5,
            priority=600,
            description=(
                "The rarest class is a small fraction of the most common one: the model can score "
                "well by ignoring it."
            ),
        ),
        RuleUnit(
            id="IMB-PLATEAU",
            when=("data.imbalanced", "train.plateau"),
            cf=0.2,
            priority=450,
            description=(
                "The loss plateaued, as it does once the model predicts the majority prior."
            ),
        ),
        RuleUnit(
            id="IMB-VAL-GAP",
            when=("data.imbalanced", "val.gap"),
            problem="val_loss_not_decreasing",
            cf=0.5,
            priority=640,
            description=(
                "The val loss ends far above the train loss of a training set whose classes are "
                "far from balanced: the rare classes, a few examples each, are memorised or "
                "ignored, and a held-out set where they are commoner pays for it (a prior shift "
                "between the splits)."
            ),
        ),
        RuleUnit(
            id="PROBE-IMBALANCE",
            when=("probe.imbalanced",),
            cf=0.5,
            priority=650,
            description="The loader's classes are far from balanced.",
        ),
        RuleUnit(
            id="IMB-CONTRA-BALANCED",
            when=("data.balanced",),
            cf=-0.7,
            priority=400,
            description="The label counts were recorded and the classes are balanced.",
        ),
    ),
)
