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
        RuleUnit(
            id="PROBE-NORM-SCALE",
            when=("probe.unnormalized",),
            cf=0.5,
            priority=650,
            description="The loader's inputs have feature scales far apart or far from zero.",
        ),
        RuleUnit(
            id="PROBE-NORM-FIX",
            when=("probe.fix.standardize",),
            cf=0.6,
            priority=650,
            description=(
                "Tried on a copy (same weights, same batches): the remedy made the loss fall much "
                "further than the unchanged run."
            ),
        ),
        RuleUnit(
            id="PROBE-NORM-NOFIX",
            when=("probe.nofix.standardize",),
            cf=-0.5,
            priority=650,
            description=(
                "Tried on a copy: the remedy did not make the loss fall faster (contrary evidence)."
            ),
        ),
        RuleUnit(
            id="NORM-JUMP-FROZEN",
            when=("train.diverging", "train.frozen"),
            cf=0.35,
            priority=500,
            description=(
                "The loss jumped and then repeats one value exactly: every output saturated. "
                "Inputs of a raw scale (or zeroed by an integer division) do this."
            ),
        ),
        RuleUnit(
            id="NORM-CONTRA-NORMALIZED",
            when=("data.normalized",),
            cf=-0.6,
            priority=400,
            description="Input statistics were recorded and the inputs are on a sane scale.",
        ),
    ),
)
