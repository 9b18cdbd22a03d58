"""Cause `loss_function`: 训练集loss不下降 §4 选择合适的损失函数."""

from lossexpert.kb.units import CauseUnit, RuleUnit

CAUSE = CauseUnit(
    id="loss_function",
    problem="train_loss_not_decreasing",
    reference="训练集loss不下降 §4 选择合适的损失函数",
    rank=5,
    rules=(
        RuleUnit(
            id="LOSS-SOFTMAX-CE",
            when=("config.softmax_before_ce",),
            cf=0.8,
            priority=800,
            description=(
                "Cross-entropy already applies log-softmax; a softmax before it squashes the "
                "logits twice."
            ),
        ),
        RuleUnit(
            id="LOSS-SOFTMAX-FLOOR",
            when=("train.softmax_floor",),
            cf=0.55,
            priority=700,
            description=(
                "The loss stopped at ln(1+(C-1)/e), exactly where softmax-then-cross-entropy "
                "bottoms out."
            ),
        ),
        RuleUnit(
            id="LOSS-CONTRA-SQUASHING-OUTPUT",
            when=("config.squashing_output",),
            unless=("config.softmax_before_ce", "config.loss_task_mismatch"),
            cf=-0.4,
            priority=700,
            description=(
                "The bounded outputs come from the output layer's sigmoid/tanh: the loss is the "
                "right one, what it is fed is not."
            ),
        ),
        RuleUnit(
            id="LOSS-TASK-MISMATCH",
            when=("config.loss_task_mismatch",),
            cf=0.7,
            priority=750,
            description=(
                "The loss does not fit the task (seed: cross-entropy for classification, MSE for "
                "regression)."
            ),
        ),
        RuleUnit(
            id="PROBE-LOSS-TARGETS",
            when=("probe.targets_out_of_range",),
            cf=0.8,
            priority=650,
            description="The targets do not fit the output: class indices beyond the output width.",
        ),
        RuleUnit(
            id="PROBE-LOSS-MSE-ONEHOT",
            when=("probe.mse_on_onehot",),
            cf=0.6,
            priority=650,
            description=(
                "A regression loss on one-hot class targets: cross-entropy on logits fits "
                "classification."
            ),
        ),
        RuleUnit(
            id="PROBE-LOSS-BELOW-FLOOR",
            when=("probe.init_loss_below_floor",),
            cf=0.7,
            priority=650,
            description=(
                "The loss is below its possible floor: the targets are not what the loss expects."
            ),
        ),
        RuleUnit(
            id="PROBE-LOSS-OVERFIT-FAILS",
            when=("probe.overfit_fails",),
            unless=("probe.symmetric_weights", "probe.zero_grads"),
            cf=0.25,
            priority=650,
            description=(
                "Neither the user's optimizer nor Adam 1e-3 could fit one small batch: a structural"
                " or gradient problem, not a tuning one."
            ),
        ),
        RuleUnit(
            id="PROBE-LOSS-CONTRA-OVERFIT-OK",
            when=("probe.overfit_ok",),
            cf=-0.3,
            priority=650,
            description=(
                "One batch was fitted with the user's own optimizer settings: the model, loss and "
                "gradients can learn (contrary evidence)."
            ),
        ),
        RuleUnit(
            id="LOSS-BELOW-FLOOR",
            when=("train.below_floor",),
            cf=0.85,
            priority=820,
            description=(
                "Cross-entropy, BCE, NLL and MSE cannot go below zero: a negative loss means "
                "targets outside the loss's range (BCE on labels 0-9 or 0-255) or NLL fed "
                "something that is not log-probabilities."
            ),
        ),
        RuleUnit(
            id="LOSS-NEGATIVE",
            when=("train.negative",),
            cf=0.45,
            priority=600,
            description=(
                "The loss went below zero; unless it is a log-likelihood or has an adversarial "
                "term by design, the loss and its targets do not match."
            ),
        ),
        RuleUnit(
            id="LOSS-WRONG-SCALE",
            when=("train.start_below_chance",),
            cf=0.7,
            priority=760,
            description=(
                "A classifier's cross-entropy starts near ln C whatever the model; a first loss "
                "far below it is another loss (MSE on one-hot targets starts near 1/C)."
            ),
        ),
        RuleUnit(
            id="LOSS-DEGENERATE",
            when=("train.exact_zero",),
            cf=0.4,
            priority=600,
            description=(
                "A loss of exactly 0.0 on most batches: the objective is trivial (a target the "
                "inputs contain, a loss computed on the wrong tensors or masked to nothing)."
            ),
        ),
        RuleUnit(
            id="PROBE-LOSS-PROBABILITIES",
            when=("probe.outputs_softmax",),
            cf=0.7,
            priority=650,
            description=(
                "The model already outputs probabilities (rows summing to 1) into a loss that "
                "applies its own softmax."
            ),
        ),
        RuleUnit(
            id="LOSS-NEAR-BOUNDED-FLOOR",
            when=("train.near_bounded_floor",),
            cf=0.45,
            priority=690,
            description=(
                "The loss closes in on ln(1+(C-1)/e) and never crosses it: probabilities "
                "(softmax) fed to a loss that applies log-softmax itself."
            ),
        ),
        RuleUnit(
            id="LOSS-CONTRA-UNSQUASHED-FLOOR",
            when=("train.near_bounded_floor", "config.unsquashed_output"),
            cf=-0.3,
            priority=690,
            description=(
                "The loss seems held above a bounded floor, but no module of the model squashes "
                "its outputs: feeding probabilities to a loss that expects logits is ruled out "
                "in its usual form (contrary evidence)."
            ),
        ),
    ),
)
