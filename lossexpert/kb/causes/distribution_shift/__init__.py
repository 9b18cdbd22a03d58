"""Cause `distribution_shift`: 测试集loss不下降 §1 应用场景不一致."""

from lossexpert.kb.units import CauseUnit, RuleUnit

CAUSE = CauseUnit(
    id="distribution_shift",
    problem="test_loss_not_decreasing",
    reference="测试集loss不下降 §1 应用场景不一致",
    rank=22,
    rules=(
        RuleUnit(
            id="SHIFT-TEST-LAGS-VAL",
            when=("test.lags_val",),
            cf=0.45,
            priority=600,
            description=(
                "What the model learned lowers the val loss far more than the test loss: the test"
                " data differs from the data the model was tuned on."
            ),
        ),
        RuleUnit(
            id="SHIFT-TEST-ABOVE-VAL",
            when=("test.above_val",),
            cf=0.45,
            priority=600,
            description=(
                "Val is fine but test is not: the test data differs from the data the model was "
                "tuned on."
            ),
        ),
        RuleUnit(
            id="SHIFT-TEST-ABOVE-TRAIN",
            when=("test.above_train",),
            cf=0.4,
            priority=550,
            description="The test loss is far above the train loss.",
        ),
        RuleUnit(
            id="SHIFT-FEATURES",
            when=("data.test_shift",),
            cf=0.5,
            priority=700,
            description="Test feature means sit far from the training ones.",
        ),
        RuleUnit(
            id="SHIFT-CONTRA-NOISE",
            when=("data.test_noisier",),
            unless=("data.test_shift",),
            cf=-0.3,
            priority=400,
            description=(
                "The test inputs are noisier but not shifted: points at noise rather than a new "
                "scenario."
            ),
        ),
        RuleUnit(
            id="SHIFT-VAL-EXTREME",
            when=("val.extreme_gap",),
            # Outputs already huge before training (a first loss far above chance) make any
            # memorised model confidently wrong on val: no val pipeline needed to explain it.
            unless=("train.init_loss_high",),
            problem="val_loss_not_decreasing",
            cf=0.55,
            priority=650,
            description=(
                "The val loss is many times the train loss and worse than guessing: the val "
                "inputs are not prepared like the training inputs (a different rescaling or "
                "generator), rather than a model that over-fits."
            ),
        ),
    ),
)
