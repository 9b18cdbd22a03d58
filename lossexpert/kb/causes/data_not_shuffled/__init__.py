"""Cause `data_not_shuffled`: 训练集loss不下降 §9 数据集未打乱."""

from lossexpert.kb.units import CauseUnit, RuleUnit

CAUSE = CauseUnit(
    id="data_not_shuffled",
    problem="train_loss_not_decreasing",
    reference="训练集loss不下降 §9 数据集未打乱",
    rank=16,
    rules=(
        RuleUnit(
            id="SHUF-SAW-TOOTH",
            when=("train.saw_tooth",),
            cf=0.6,
            priority=700,
            description=(
                "The loss repeats the same pattern every epoch: the batches come in the same "
                "order each time."
            ),
        ),
        RuleUnit(
            id="SHUF-ORDERED-BATCHES",
            when=("data.ordered_batches",),
            cf=0.6,
            priority=700,
            description="Consecutive batches hold a single class: the data is ordered by label.",
        ),
        RuleUnit(
            id="SHUF-CONFIG",
            when=("config.no_shuffle",),
            cf=0.3,
            priority=500,
            description="The config says the data is not shuffled.",
        ),
        RuleUnit(
            id="SHUF-SAW-CONFIRMED",
            when=("train.saw_tooth", "config.no_shuffle"),
            cf=0.3,
            priority=500,
            description="The saw-tooth confirms the unshuffled config.",
        ),
        RuleUnit(
            id="PROBE-SHUF-ORDERED",
            when=("probe.ordered_batches",),
            cf=0.6,
            priority=650,
            description=(
                "The loader's first batches each hold a single class: the data is not shuffled."
            ),
        ),
        RuleUnit(
            id="PROBE-SHUF-FIX",
            when=("probe.fix.shuffle",),
            cf=0.6,
            priority=650,
            description=(
                "Tried on a copy (same weights, same batches): the remedy made the loss fall much "
                "further than the unchanged run."
            ),
        ),
        RuleUnit(
            id="PROBE-SHUF-NOFIX",
            when=("probe.nofix.shuffle",),
            cf=-0.5,
            priority=650,
            description=(
                "Tried on a copy: the remedy did not make the loss fall faster (contrary evidence)."
            ),
        ),
        RuleUnit(
            id="SHUF-CONTRA-SHUFFLED",
            when=("data.shuffled",),
            cf=-0.7,
            priority=400,
            description="The first training batches mix their classes: the data is shuffled.",
        ),
    ),
)
