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
        RuleUnit(
            id="PROBE-SMALLBATCH-FIX",
            when=("probe.fix.larger_batch",),
            cf=0.6,
            priority=650,
            description=(
                "Tried on a copy (same weights, same batches): the remedy made the loss fall much "
                "further than the unchanged run."
            ),
        ),
        RuleUnit(
            id="PROBE-SMALLBATCH-FIX-TYPICAL-LR",
            when=("probe.fix.larger_batch", "config.batch_tiny", "config.lr_typical"),
            cf=0.5,
            priority=650,
            description=(
                "Tried on a copy: larger batches at the same learning rate made the loss fall, "
                "and of the two settings that set SGD's noise (lr / batch) the batch is the one "
                "out of the ordinary: far below 16-32, the rate in the usual range."
            ),
        ),
        RuleUnit(
            id="PROBE-SMALLBATCH-NOFIX",
            when=("probe.nofix.larger_batch",),
            cf=-0.5,
            priority=650,
            description=(
                "Tried on a copy: the remedy did not make the loss fall faster (contrary evidence)."
            ),
        ),
        RuleUnit(
            id="BS-TINY-JUMPY",
            when=("config.batch_tiny", "train.flat_jumpy"),
            cf=0.45,
            priority=520,
            description="Tiny batches and a loss that bounces around its level: gradient noise.",
        ),
        RuleUnit(
            id="BS-BURSTS-AT-TYPICAL-LR",
            when=("layers.update_burst", "config.lr_typical"),
            unless=("layers.grad_huge", "data.unnormalized"),
            cf=0.45,
            priority=530,
            description=(
                "Steps far too large at a learning rate in the usual range: the gradient of "
                "a few samples is noisy, and the noise of SGD scales as lr / batch size "
                "(Smith & Le 2018); a tiny batch makes a usual rate too large."
            ),
        ),
        RuleUnit(
            id="BS-JUMPY-AT-TYPICAL-LR",
            when=("train.flat_jumpy", "config.lr_typical"),
            unless=("data.unnormalized",),
            cf=0.3,
            priority=520,
            description=(
                "A loss that bounces around at a learning rate in the usual range: gradient "
                "noise from small batches (noise scale lr / batch size)."
            ),
        ),
        RuleUnit(
            id="BS-OSCILLATING-BATCH-UNKNOWN",
            when=("train.oscillating",),
            unless=("config.batch_usual", "config.batch_tiny", "data.unnormalized"),
            cf=0.25,
            priority=440,
            description=(
                "The loss keeps jumping around its level and the batch size is not known: "
                "SGD's noise grows as the learning rate over the batch size (Smith & Le 2018), "
                "so the curve alone cannot say which of the two is off; the rate, more often "
                "the one set wrong, weighs a little more."
            ),
        ),
    ),
)
