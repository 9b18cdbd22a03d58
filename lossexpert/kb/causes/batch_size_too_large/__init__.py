"""Cause `batch_size_too_large`: 训练集loss不下降 §8 batch size过大."""

from lossexpert.kb.units import CauseUnit, RuleUnit

CAUSE = CauseUnit(
    id="batch_size_too_large",
    problem="train_loss_not_decreasing",
    reference="训练集loss不下降 §8 batch size过大",
    rank=14,
    rules=(
        RuleUnit(
            id="BS-HUGE",
            when=("config.batch_huge", "train.high_final"),
            cf=0.35,
            priority=450,
            description=(
                "A batch that covers a large part of the data set averages gradients so much that "
                "early progress is slow."
            ),
        ),
        RuleUnit(
            id="BS-HUGE-FEW-UPDATES",
            when=("config.batch_huge", "train.still_falling"),
            cf=0.55,
            priority=550,
            description=(
                "Each epoch is only a handful of updates: the loss is still falling because "
                "the huge batch leaves few steps, not because of too few epochs."
            ),
        ),
        RuleUnit(
            id="PROBE-BIGBATCH-FIX",
            when=("probe.fix.smaller_batch",),
            cf=0.6,
            priority=650,
            description=(
                "Tried on a copy (same weights, same batches): the remedy made the loss fall much "
                "further than the unchanged run."
            ),
        ),
        RuleUnit(
            id="PROBE-BIGBATCH-FIX-TYPICAL-LR",
            when=("probe.fix.smaller_batch", "config.batch_huge", "config.lr_typical"),
            cf=0.5,
            priority=650,
            description=(
                "Tried on a copy: smaller batches at the same learning rate took the loss much "
                "further in the same epochs, and of the two settings the batch is the one out "
                "of the ordinary: most of the data set per step, the rate in the usual range."
            ),
        ),
        RuleUnit(
            id="PROBE-BIGBATCH-NOFIX",
            when=("probe.nofix.smaller_batch",),
            cf=-0.5,
            priority=650,
            description=(
                "Tried on a copy: the remedy did not make the loss fall faster (contrary evidence)."
            ),
        ),
        RuleUnit(
            id="BS-ONE-STEP-PER-EPOCH",
            when=("train.one_step_per_epoch",),
            cf=0.45,
            priority=550,
            description=(
                "One update per epoch and no minibatch noise: full-batch training makes few, "
                "deterministic steps and settles in sharp minima (Keskar et al. 2017)."
            ),
        ),
        RuleUnit(
            id="BS-HUGE-UNFINISHED",
            when=("config.batch_huge", "train.unfinished"),
            cf=0.55,
            priority=560,
            description=(
                "Batches of most of the data set, and a loss still falling when training "
                "stopped: too few updates per epoch for the budget."
            ),
        ),
        RuleUnit(
            id="BS-ONE-STEP-UNFINISHED",
            when=("train.one_step_per_epoch", "train.unfinished"),
            cf=0.4,
            priority=555,
            description=(
                "One update per epoch and a loss still falling when training stopped: "
                "full-batch training makes too few steps."
            ),
        ),
    ),
)
