"""Cause `batch_size_too_small`: 训练集loss不下降 §8 batch size过小."""

from lossexpert.kb.units import CauseUnit, RuleUnit

CAUSE = CauseUnit(
    id="batch_size_too_small",
    problem="train_loss_not_decreasing",
    reference="训练集loss不下降 §8 batch size过小",
    rank=15,
    rules=(
        RuleUnit(
            id="BS-TINY-OSCILLATING",
            when=("config.batch_tiny", "train.oscillating"),
            cf=0.55,
            priority=550,
            description=(
                "Tiny batches give noisy gradients: the late phase wobbles instead of converging."
            ),
        ),
        RuleUnit(
            id="BS-TINY",
            when=("config.batch_tiny",),
            cf=0.25,
            priority=350,
            description="The batch size is far below the usual 16-32.",
        ),
        RuleUnit(
            id="BS-TINY-DEAD-UNITS",
            when=("config.batch_tiny", "layers.dead_relu"),
            cf=0.35,
            priority=500,
            description=(
                "Single-sample steps are noisy enough to push ReLU units into the dead zone: "
                "the dead units are the batch size's doing."
            ),
        ),
    ),
)
