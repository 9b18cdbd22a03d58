"""Cause `learning_rate_too_high`: 训练集loss不下降 §5 选择合适的优化器和学习速率; §7."""

from lossexpert.kb.units import CauseUnit, RuleUnit

CAUSE = CauseUnit(
    id="learning_rate_too_high",
    problem="train_loss_not_decreasing",
    reference="训练集loss不下降 §5 选择合适的优化器和学习速率; §7",
    rank=6,
    rules=(
        RuleUnit(
            id="LRH-NONFINITE",
            when=("train.nonfinite",),
            cf=0.5,
            priority=750,
            description=(
                "A loss that overflows to Inf/NaN is most often a step size too large for the "
                "curvature."
            ),
        ),
        RuleUnit(
            id="LRH-DIVERGING",
            when=("train.diverging",),
            cf=0.5,
            priority=700,
            description="The loss rose far above its minimum: steps overshoot the valley.",
        ),
        RuleUnit(
            id="LRH-UPDATES",
            when=("layers.update_high",),
            cf=0.6,
            priority=720,
            description=(
                "Each step changes the weights by a large fraction of their size (healthy is "
                "about 1e-3)."
            ),
        ),
        RuleUnit(
            id="LRH-CONFIG",
            when=("config.lr_high",),
            cf=0.4,
            priority=600,
            description="The learning rate is far above the usual range for this optimizer.",
        ),
        RuleUnit(
            id="LRH-OSCILLATING",
            when=("train.oscillating",),
            unless=("data.unnormalized", "config.batch_tiny"),
            cf=0.3,
            priority=450,
            description="The loss keeps jumping around its level late in training.",
        ),
        RuleUnit(
            id="LRH-CONTRA-CONFIG-LOW",
            when=("config.lr_low",),
            cf=-0.6,
            priority=400,
            description="The learning rate is already low: contrary evidence.",
        ),
        RuleUnit(
            id="LRH-CONTRA-UPDATES-LOW",
            when=("layers.update_low",),
            # Dead or gradient-less layers do not move whatever the step size: their tiny
            # updates say nothing about it.
            unless=("layers.update_burst", "layers.update_high_early", "layers.no_gradient"),
            cf=-0.6,
            priority=400,
            description="The weights barely move: contrary evidence.",
        ),
        RuleUnit(
            id="LRH-CONTRA-HUGE-AT-START",
            when=("layers.grad_huge",),
            cf=-0.4,
            priority=400,
            description=(
                "The gradients were already huge before the first update: the step size "
                "did not cause them."
            ),
        ),
        RuleUnit(
            id="LRH-CONTRA-TYPICAL-LR",
            when=("train.nonfinite", "config.lr_typical"),
            cf=-0.3,
            priority=400,
            description="The loss overflowed at a learning rate in the usual range.",
        ),
        RuleUnit(
            id="PROBE-LRH-SWEEP",
            when=("probe.lr_above_best",),
            cf=0.6,
            priority=650,
            description=(
                "In the LR range test the loss was already rising at the configured learning rate."
            ),
        ),
        RuleUnit(
            id="PROBE-LRH-OVERFIT",
            when=("probe.overfit_user_fails",),
            unless=("probe.lr_below_best", "probe.params_not_in_optimizer"),
            cf=0.3,
            priority=650,
            description=(
                "One batch is fitted by Adam 1e-3 but not by the user's settings: a tuning problem."
            ),
        ),
        RuleUnit(
            id="PROBE-LRH-FIX",
            when=("probe.fix.lr_down",),
            cf=0.6,
            priority=650,
            description=(
                "Tried on a copy (same weights, same batches): the remedy made the loss fall much "
                "further than the unchanged run."
            ),
        ),
        RuleUnit(
            id="PROBE-LRH-NOFIX",
            when=("probe.nofix.lr_down",),
            cf=-0.5,
            priority=650,
            description=(
                "Tried on a copy: the remedy did not make the loss fall faster (contrary evidence)."
            ),
        ),
        RuleUnit(
            id="PROBE-LRH-CONTRA-SWEEP",
            when=("probe.lr_below_best",),
            cf=-0.6,
            priority=650,
            description=(
                "The LR range test puts the best learning rate far above the configured one "
                "(contrary evidence)."
            ),
        ),
        RuleUnit(
            id="PROBE-LRH-CONTRA-REPLAY",
            when=("probe.replay_better",),
            cf=-0.6,
            priority=650,
            description=(
                "The user's model, optimizer and batches, trained by a textbook loop at the same "
                "learning rate, end far below the recorded run: the rate trains; the loop is "
                "what blew the steps up (contrary evidence)."
            ),
        ),
        RuleUnit(
            id="PROBE-LRH-CONTRA-CLIP-FIX",
            when=("probe.fix.clip", "config.lr_typical"),
            cf=-0.6,
            priority=650,
            description=(
                "Tried on a copy: clipping the gradient norm at the same learning rate, one in "
                "the usual range, made the loss fall: the gradients blow up, the rate is not "
                "too high in itself (contrary evidence)."
            ),
        ),
        RuleUnit(
            id="PROBE-LRH-CONTRA-BATCH-FIX",
            when=("probe.fix.larger_batch", "config.lr_typical"),
            cf=-0.6,
            priority=650,
            description=(
                "Tried on a copy: larger batches at the same learning rate, one in the usual "
                "range, made the loss fall. SGD's noise grows as lr / batch: the steps were too "
                "noisy because the batch is tiny, not because the rate is high (contrary "
                "evidence)."
            ),
        ),
        RuleUnit(
            id="LRH-FLAT-JUMPY",
            when=("train.flat_jumpy",),
            unless=("config.batch_tiny", "data.unnormalized"),
            cf=0.4,
            priority=500,
            description=(
                "No progress, and the loss bounces up and down around its level: steps that "
                "overshoot the valley (a too-small step gives a smooth, slow decline instead)."
            ),
        ),
        RuleUnit(
            id="LRH-ABOVE-INIT",
            when=("train.above_init",),
            unless=("layers.grad_linear_growth",),
            cf=0.35,
            priority=560,
            description=(
                "Training left the loss well above the untrained model's: the updates "
                "themselves do damage, the step overshoots (it jumped out of the basin and "
                "crawls back, or never settles)."
            ),
        ),
        RuleUnit(
            id="LRH-RISE-AFTER-FALL",
            when=("train.rise_after_fall",),
            unless=("layers.grad_linear_growth",),
            cf=0.4,
            priority=560,
            description=(
                "The loss fell, then climbed back: the steps became too large for the "
                "narrower valley near the minimum."
            ),
        ),
        RuleUnit(
            id="LRH-SPIKE-STALL",
            when=("train.spike_then_stall",),
            cf=0.45,
            priority=600,
            description=(
                "The loss jumped several-fold and never got back below where it was: one step "
                "overshot and did lasting damage."
            ),
        ),
        RuleUnit(
            id="LRH-CONTRA-UPDATES-NORMAL",
            when=("layers.updates_normal",),
            cf=-0.35,
            priority=400,
            description="Every layer's update/weight ratio is in the healthy range.",
        ),
        RuleUnit(
            id="LRH-UPDATE-BURST",
            when=("layers.update_burst",),
            # Gradients already huge before any step, or single-sample batches: the burst is
            # the gradient's doing, not the step size's.
            unless=("layers.grad_huge", "config.batch_tiny"),
            cf=0.65,
            priority=730,
            description=(
                "One step changed a layer's weights by half their norm or more: a step size "
                "far too large for that layer (healthy is about 1e-3 per step)."
            ),
        ),
        RuleUnit(
            id="LRH-CONTRA-TYPICAL-RATE",
            when=("config.lr_typical",),
            unless=("train.nonfinite",),
            cf=-0.2,
            priority=400,
            description="The learning rate is in the usual range for its optimizer.",
        ),
        RuleUnit(
            id="LRH-CONTRA-BARELY-MOVED",
            when=("layers.barely_moved",),
            cf=-0.4,
            priority=400,
            description=(
                "Over the whole run the weights moved only a small fraction of their norm: the "
                "steps were small, so the bumps in the loss are batch noise, not overshooting "
                "(contrary evidence)."
            ),
        ),
        RuleUnit(
            id="LRH-UPDATES-EARLY",
            when=("layers.update_high_early",),
            unless=("layers.grad_huge", "config.batch_tiny"),
            cf=0.45,
            priority=715,
            description=(
                "The first updates changed most layers by a large fraction of their weights "
                "(healthy is about 1e-3 per step), before the later steps went quiet."
            ),
        ),
    ),
)
