"""Cause `overfitting`: 验证集loss不下降: 过拟合."""

from lossexpert.kb.units import CauseUnit, RuleUnit

CAUSE = CauseUnit(
    id="overfitting",
    problem="val_loss_not_decreasing",
    reference="验证集loss不下降: 过拟合",
    rank=21,
    rules=(
        RuleUnit(
            id="OF-VAL-RISING",
            when=("val.rising",),
            cf=0.6,
            priority=750,
            description="The val loss reached its minimum and then climbed while training went on.",
        ),
        RuleUnit(
            id="OF-GAP",
            when=("val.gap",),
            cf=0.5,
            priority=700,
            description="The val loss ended far above the train loss.",
        ),
        RuleUnit(
            id="OF-CAPACITY",
            when=("config.many_params_per_sample",),
            cf=0.25,
            priority=450,
            description="Many parameters per training sample leave room to memorise.",
        ),
        RuleUnit(
            id="OF-UNREGULARISED",
            when=("config.no_regularization",),
            cf=0.15,
            priority=400,
            description="No weight decay or dropout was used.",
        ),
        RuleUnit(
            id="OF-CONTRA-NEVER-LEARNED",
            when=("val.never_learned",),
            cf=-0.5,
            priority=600,
            description=(
                "The val loss never got below guessing: over-fitting first learns what "
                "generalises, then memorises (the val loss falls, then rises); here nothing "
                "learned ever transferred, so the data, not the fit, is in question (contrary "
                "evidence)."
            ),
        ),
        RuleUnit(
            id="PROBE-OF-VAL-GAP",
            when=("probe.val_gap",),
            cf=0.5,
            priority=650,
            description=(
                "A copy trained the user's way for as many steps ends with its val loss far "
                "above its train loss: the gap is reproduced by experiment."
            ),
        ),
        RuleUnit(
            id="PROBE-OF-CONTRA-NO-GAP",
            when=("probe.no_val_gap",),
            cf=-0.6,
            priority=650,
            description=(
                "A copy trained the user's way for as many steps ends with its val loss close "
                "to its train loss: what the recording showed was not over-fitting (contrary "
                "evidence)."
            ),
        ),
    ),
)
