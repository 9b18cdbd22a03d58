"""Cause `test_noise`: 测试集loss不下降 §2 噪声问题."""

from lossexpert.kb.units import CauseUnit, RuleUnit

CAUSE = CauseUnit(
    id="test_noise",
    problem="test_loss_not_decreasing",
    reference="测试集loss不下降 §2 噪声问题",
    rank=23,
    rules=(
        RuleUnit(
            id="TN-TEST-LAGS-VAL",
            when=("test.lags_val",),
            cf=0.3,
            priority=550,
            description=(
                "What the model learned lowers the val loss far more than the test loss; noisier "
                "test data is one of the two usual reasons."
            ),
        ),
        RuleUnit(
            id="TN-TEST-ABOVE-VAL",
            when=("test.above_val",),
            cf=0.3,
            priority=550,
            description=(
                "Val is fine but test is not; noisier deployment data is one of the two usual "
                "reasons."
            ),
        ),
        RuleUnit(
            id="TN-NOISIER",
            when=("data.test_noisier",),
            cf=0.6,
            priority=700,
            description=(
                "Test features spread much wider than the training ones at the same means: added "
                "noise."
            ),
        ),
        RuleUnit(
            id="TN-CONTRA-SHIFT",
            when=("data.test_shift",),
            unless=("data.test_noisier",),
            cf=-0.3,
            priority=400,
            description="The test inputs are shifted, not just noisier: points at a new scenario.",
        ),
    ),
)
