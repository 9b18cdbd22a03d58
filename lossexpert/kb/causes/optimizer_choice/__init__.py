"""Cause `optimizer_choice`: 训练集loss不下降 §5 选择合适的优化器."""

from lossexpert.kb.units import CauseUnit, RuleUnit

CAUSE = CauseUnit(
    id="optimizer_choice",
    problem="train_loss_not_decreasing",
    reference="训练集loss不下降 §5 选择合适的优化器",
    rank=8,
    rules=(
        RuleUnit(
            id="OPT-PLAIN-SGD",
            when=("config.plain_sgd", "train.high_final"),
            unless=("train.nonfinite",),
            cf=0.15,
            priority=300,
            description=(
                "Plain SGD without momentum is slow on badly conditioned problems; the seed "
                "suggests Adam as the default."
            ),
        ),
        RuleUnit(
            id="PROBE-OPT-OVERFIT",
            when=("probe.overfit_user_fails",),
            unless=("probe.lr_above_best", "probe.lr_below_best", "probe.params_not_in_optimizer"),
            cf=0.3,
            priority=650,
            description=(
                "One batch is fitted by Adam 1e-3 but not by the user's optimizer, whose learning "
                "rate the sweep does not fault."
            ),
        ),
        RuleUnit(
            id="PROBE-OPT-FIX",
            when=("probe.fix.optimizer",),
            cf=0.6,
            priority=650,
            description=(
                "Tried on a copy (same weights, same batches): the remedy made the loss fall much "
                "further than the unchanged run."
            ),
        ),
        RuleUnit(
            id="OPT-CONTRA-OWN-OPTIMIZER-FIXED-LR-DOWN",
            when=("probe.fix.optimizer", "probe.fix.lr_down"),
            cf=-0.5,
            priority=640,
            description=(
                "The user's own optimizer also trains with a lower learning rate: Adam 1e-3 "
                "changed the step size as well, and the smaller change explains the failure "
                "without the optimizer."
            ),
        ),
        RuleUnit(
            id="OPT-CONTRA-OWN-OPTIMIZER-FIXED-LR-UP",
            when=("probe.fix.optimizer", "probe.fix.lr_up"),
            cf=-0.5,
            priority=640,
            description=(
                "The user's own optimizer also trains with a higher learning rate: Adam 1e-3 "
                "changed the step size as well, and the smaller change explains the failure "
                "without the optimizer."
            ),
        ),
        RuleUnit(
            id="OPT-CONTRA-OWN-OPTIMIZER-FIXED-SMALLER-BATCH",
            when=("probe.fix.optimizer", "probe.fix.smaller_batch"),
            cf=-0.5,
            priority=640,
            description=(
                "The user's own optimizer also trains with smaller batches: Adam 1e-3 "
                "changed the step size as well, and the smaller change explains the failure "
                "without the optimizer."
            ),
        ),
        RuleUnit(
            id="OPT-CONTRA-OWN-OPTIMIZER-FIXED-LARGER-BATCH",
            when=("probe.fix.optimizer", "probe.fix.larger_batch"),
            cf=-0.5,
            priority=640,
            description=(
                "The user's own optimizer also trains with larger batches: Adam 1e-3 "
                "changed the step size as well, and the smaller change explains the failure "
                "without the optimizer."
            ),
        ),
        RuleUnit(
            id="OPT-CONTRA-RATE-HIGH",
            when=("probe.fix.optimizer", "config.lr_high"),
            cf=-0.5,
            priority=640,
            description=(
                "Adam 1e-3 also replaced a learning rate above its optimizer's usual range: "
                "that rate explains the failure by itself, and the fix cannot tell them apart."
            ),
        ),
        RuleUnit(
            id="OPT-CONTRA-RATE-LOW",
            when=("probe.fix.optimizer", "config.lr_low"),
            cf=-0.5,
            priority=640,
            description=(
                "Adam 1e-3 also replaced a learning rate below its optimizer's usual range: "
                "that rate explains the failure by itself, and the fix cannot tell them apart."
            ),
        ),
        RuleUnit(
            id="PROBE-OPT-NOFIX",
            when=("probe.nofix.optimizer",),
            cf=-0.5,
            priority=650,
            description=(
                "Tried on a copy: the remedy did not make the loss fall faster (contrary evidence)."
            ),
        ),
        RuleUnit(
            id="OPT-TRANSFORMER-NO-WARMUP",
            when=("config.transformer_no_warmup", "train.frozen"),
            cf=0.5,
            priority=600,
            description=(
                "A transformer trained with Adam and no warm-up, whose loss froze: Adam's "
                "first updates are too large for it (Popel & Bojar 2018; Liu et al. 2020); "
                "warm-up, RAdam or SGD get it going."
            ),
        ),
        RuleUnit(
            id="OPT-TRANSFORMER-NO-WARMUP-FLAT",
            when=("config.transformer_no_warmup", "train.no_progress"),
            cf=0.4,
            priority=590,
            description=(
                "A transformer trained with Adam and no warm-up that makes no progress "
                "(Popel & Bojar 2018; Liu et al. 2020)."
            ),
        ),
    ),
)
