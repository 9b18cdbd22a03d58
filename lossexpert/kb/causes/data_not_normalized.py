"""Cause `data_not_normalized`: 训练集loss不下降 §11 未进行归一化 (reconstructed)."""

from lossexpert.kb.units import CauseUnit, RuleUnit

CAUSE = CauseUnit(
    id="data_not_normalized",
    problem="train_loss_not_decreasing",
    reference="训练集loss不下降 §11 未进行归一化 (reconstructed)",
    rank=19,
    rules=(
        RuleUnit(
            id="NORM-DATA",
            when=("data.unnormalized",),
            cf=0.7,
            priority=750,
            description=(
                "Input features live on wildly different scales; one learning rate cannot suit "
                "them all."
            ),
        ),
        RuleUnit(
            id="NORM-CONFIG",
            when=("config.no_input_normalization",),
            cf=0.3,
            priority=500,
            description="The config says inputs are not normalised.",
        ),
        RuleUnit(
            id="NORM-LOSS-AT-START",
            when=("train.init_loss_high",),
            cf=0.3,
            priority=450,
            description="A first loss far above ln C: large raw inputs produce huge logits.",
        ),
    ),
)
