"""Cause `gradient_bug`: 训练集loss不下降 §7 模型训练遇到瓶颈 (梯度更新代码存在bug)."""

from lossexpert.kb.units import STALL_EXPLAINED_BY_LAYERS, CauseUnit, RuleUnit

CAUSE = CauseUnit(
    id="gradient_bug",
    problem="train_loss_not_decreasing",
    reference="训练集loss不下降 §7 模型训练遇到瓶颈 (梯度更新代码存在bug)",
    rank=13,
    rules=(
        RuleUnit(
            id="BUG-ZERO-UPDATE",
            when=("layers.zero_update",),
            cf=0.9,
            priority=900,
            description=(
                "Layers receive non-zero gradients yet their weights never change: they are not "
                "in the optimizer, or the update is discarded."
            ),
        ),
        RuleUnit(
            id="BUG-NO-GRADIENT",
            when=("layers.no_gradient",),
            unless=("layers.init_zero", "layers.dead_relu", "config.batch_tiny"),
            cf=0.5,
            priority=700,
            description=(
                "No layer receives any gradient, and neither a zero init, dead units nor "
                "batches of one or two samples (which can zero every unit on one input) explain "
                "it: the graph is cut (detach, no_grad, a loss not built from the output)."
            ),
        ),
        RuleUnit(
            id="BUG-FROZEN-LOSS",
            when=("train.frozen",),
            unless=("layers.dead_relu", "layers.saturated"),
            cf=0.25,
            priority=400,
            description=(
                "A loss frozen at one exact value with no dead or saturated units to explain "
                "it: check that gradients reach the weights at all."
            ),
        ),
        RuleUnit(
            id="BUG-VAL-FROZEN",
            when=("val.frozen",),
            unless=("layers.dead_relu", "layers.saturated"),
            # Evaluating fixed weights on fixed data gives the same number every time; any
            # step moves it. A measured one-output-for-all (dead or saturated units) is the
            # other way to a constant loss, and speaks for itself.
            cf=0.55,
            priority=650,
            description=(
                "The val loss is the same to the last digit at every evaluation while training "
                "goes on: the weights never changed between evaluations, so no update reaches "
                "them (an optimizer built on a copy of the model or on other parameters, step() "
                "never called, a learning rate of 0)."
            ),
        ),
        RuleUnit(
            id="BUG-NO-PROGRESS",
            when=("train.no_progress",),
            unless=(*STALL_EXPLAINED_BY_LAYERS, "layers.no_gradient"),
            cf=0.2,
            priority=300,
            description=(
                "The loss does not move from its start and no per-layer statistic says why: "
                "gradients may not reach the weights at all "
                "(one of the usual suspects; record layers to tell)."
            ),
        ),
        RuleUnit(
            id="BUG-CONTRA-INPUT-BLIND",
            when=("train.input_blind",),
            unless=("config.grads_accumulate",),
            cf=-0.4,
            priority=400,
            description=(
                "Every input gets the same output, which a random init does not give: "
                "gradients that never reach the weights would leave the network at its init, "
                "still answering each input differently (contrary evidence)."
            ),
        ),
        RuleUnit(
            id="PROBE-BUG-NOT-IN-OPT",
            when=("probe.params_not_in_optimizer",),
            cf=0.85,
            priority=650,
            description="Trainable parameters are missing from the optimizer: they never change.",
        ),
        RuleUnit(
            id="PROBE-BUG-NO-GRAD",
            when=("probe.params_no_grad",),
            cf=0.6,
            priority=650,
            description=(
                "Trainable parameters got no gradient from the loss: the graph is cut somewhere."
            ),
        ),
        RuleUnit(
            id="PROBE-BUG-ACCUMULATE",
            when=("probe.grads_accumulate",),
            cf=0.7,
            priority=650,
            description=(
                "The stored gradients are many fresh gradients summed: zero_grad is not called."
            ),
        ),
        RuleUnit(
            id="PROBE-BUG-OVERFIT-FAILS",
            when=("probe.overfit_fails",),
            unless=("probe.symmetric_weights",),
            cf=0.25,
            priority=650,
            description=(
                "Neither the user's optimizer nor Adam 1e-3 could fit one small batch: a structural"
                " or gradient problem, not a tuning one."
            ),
        ),
        RuleUnit(
            id="PROBE-BUG-CONTRA-OVERFIT-OK",
            when=("probe.overfit_ok",),
            # The probe trains with its own loop: a bug in the user's loop (gradients never
            # zeroed) does not reach it, so a fitted batch says nothing against the curve signs
            # of gradients summed over steps.
            unless=(
                "layers.grad_linear_growth",
                "train.steady_climb",
                "train.rise_after_fall",
                "probe.replay_better",
            ),
            cf=-0.4,
            priority=650,
            description=(
                "One batch was fitted with the user's own optimizer settings: the model, loss and "
                "gradients can learn (contrary evidence; not when the curves show gradients "
                "summed over steps, a bug of the training loop the probe's own loop does not "
                "have)."
            ),
        ),
        RuleUnit(
            id="PROBE-BUG-REPLAY-BETTER",
            when=("probe.replay_better",),
            cf=0.7,
            priority=650,
            description=(
                "The user's model, optimizer and batches, trained by a textbook loop for as many "
                "steps, end far below the recorded run: what differs is the training loop "
                "(gradients never zeroed, steps skipped or repeated, a loss computed apart from "
                "the one stepped on)."
            ),
        ),
        RuleUnit(
            id="PROBE-BUG-CONTRA-REPLAY-MATCHES",
            when=("probe.replay_matches",),
            # A bug in the objects (parameters the optimizer does not hold, a cut graph) would
            # be replayed too: its own probes speak for it.
            unless=(
                "probe.params_not_in_optimizer",
                "probe.params_no_grad",
                "probe.grads_accumulate",
            ),
            cf=-0.4,
            priority=650,
            description=(
                "A textbook loop over the same objects and batches ends where the recorded run "
                "did: the training loop is not the difference (contrary evidence)."
            ),
        ),
        RuleUnit(
            id="BUG-RISE-AFTER-FALL",
            when=("train.rise_after_fall",),
            cf=0.3,
            priority=500,
            description=(
                "A loss that falls then climbs back is also the mark of gradients summed over "
                "steps (a missing optimizer.zero_grad()): every update is larger than the last."
            ),
        ),
        RuleUnit(
            id="BUG-CONTRA-DIVERGED",
            when=("train.diverging",),
            # Gradients summed over steps make the loss climb too: not contrary then.
            unless=("layers.grad_linear_growth", "train.steady_climb"),
            cf=-0.4,
            priority=400,
            description=(
                "The loss moved far from where it started: gradients do reach the weights "
                "(contrary to a broken gradient path)."
            ),
        ),
        RuleUnit(
            id="BUG-GRADS-ACCUMULATE",
            when=("config.grads_accumulate",),
            cf=0.85,
            priority=900,
            description=(
                "The gradients are never reset between optimizer steps: each backward adds to "
                "all the steps before, so every update is larger than the last (a missing "
                "optimizer.zero_grad())."
            ),
        ),
        RuleUnit(
            id="BUG-CONTRA-GRADS-RESET",
            when=("config.grads_reset", "layers.grad_linear_growth"),
            cf=-0.5,
            priority=780,
            description=(
                "The gradient norm grows like a power of the step count, but the loop was seen "
                "to reset the gradients between steps: the growth is not an accumulation "
                "(contrary evidence)."
            ),
        ),
        RuleUnit(
            id="BUG-CONTRA-RESET-SEEN",
            when=("config.grads_reset",),
            cf=-0.1,
            priority=400,
            description=(
                "The loop was seen to reset the gradients between steps: the commonest gradient "
                "bug, a missing zero_grad, is ruled out; a detached branch or parameters outside "
                "the optimizer remain (weak contrary evidence)."
            ),
        ),
        RuleUnit(
            id="BUG-GRAD-LINEAR",
            when=("layers.grad_linear_growth",),
            cf=0.75,
            priority=780,
            description=(
                "The gradient norm grows like a power of the step count: the gradients are "
                "summed over steps because optimizer.zero_grad() is missing (or misplaced)."
            ),
        ),
        RuleUnit(
            id="BUG-CONTRA-ALL-NORMAL",
            when=("layers.updates_normal", "layers.grads_normal"),
            cf=-0.5,
            priority=400,
            description=(
                "Gradients reach every layer and every layer moves at a healthy rate: the "
                "gradient path works."
            ),
        ),
        RuleUnit(
            id="BUG-STEADY-CLIMB",
            when=("train.steady_climb",),
            cf=0.4,
            priority=520,
            description=(
                "The loss climbs steadily after its minimum instead of jumping: updates that "
                "grow with every step, as they do when gradients are never zeroed."
            ),
        ),
    ),
)
