"""Which of the article's three problems a run has, checked in the article's order.

The val problem is only considered once the train problem is absent, and the test problem
only once both are (seed: fix the train loss first; val/test reasoning assumes it is fine).
"""

from __future__ import annotations

from typing import Final

from lossexpert.kb.units import ProblemId, ProblemRule

TRAIN: Final[ProblemId] = "train_loss_not_decreasing"
VAL: Final[ProblemId] = "val_loss_not_decreasing"
TEST: Final[ProblemId] = "test_loss_not_decreasing"

PROBLEM_RULES: tuple[ProblemRule, ...] = (
    ProblemRule(
        "PRB-TRAIN-NONFINITE",
        TRAIN,
        "train.nonfinite",
        "The train loss became NaN or Inf.",
        zh="训练集loss变成了NaN或Inf。",
        priority=1000,
    ),
    ProblemRule(
        "PRB-TRAIN-DIVERGING",
        TRAIN,
        "train.diverging",
        "The train loss climbed far above its minimum.",
        zh="训练集loss升到了远高于其最小值的位置。",
        priority=1000,
    ),
    ProblemRule(
        "PRB-TRAIN-NO-PROGRESS",
        TRAIN,
        "train.no_progress",
        "The train loss barely fell over the whole run.",
        zh="整个训练过程中训练集loss几乎没有下降。",
        priority=1000,
    ),
    ProblemRule(
        "PRB-TRAIN-AT-CHANCE",
        TRAIN,
        "train.at_chance",
        "The train loss sits at the chance level ln C.",
        zh="训练集loss停在随机猜测水平ln C。",
        priority=1000,
    ),
    ProblemRule(
        "PRB-TRAIN-HIGH-FINAL",
        TRAIN,
        "train.high_final",
        "The train loss ended far above what a fitted model reaches.",
        zh="训练集loss最终远高于一个拟合好的模型能达到的水平。",
        priority=1000,
    ),
    ProblemRule(
        "PRB-TRAIN-FROZEN-LOSS",
        TRAIN,
        "train.frozen",
        "The train loss no longer changes at all: learning has stopped.",
        zh="训练集loss完全不再变化：学习已经停止。",
        priority=1000,
    ),
    ProblemRule(
        "PRB-TRAIN-FROZEN-LAYERS",
        TRAIN,
        "layers.zero_update",
        "Layers that receive gradients never change: training is not doing what it should.",
        zh="有些层收到了梯度却从不改变：训练并没有在做它该做的事。",
        priority=1000,
    ),
    # Defects the collector measures in the loop itself: harmful whatever level the loss
    # reached (the same run with the defect fixed trains faster and further), so a run with
    # one is not healthy even when its curves look plausible.
    ProblemRule(
        "PRB-TRAIN-GRADS-CARRY-OVER",
        TRAIN,
        "config.grads_accumulate",
        "The loop never resets the gradients: every step adds up all the earlier steps' "
        "gradients, so the train loss cannot fall as it should.",
        zh="训练循环从不清零梯度：每一步都叠加了之前所有步的梯度，训练集loss无法正常下降。",
        priority=1000,
    ),
    ProblemRule(
        "PRB-TRAIN-ORDERED-BATCHES",
        TRAIN,
        "data.ordered_batches",
        "The batches come one class at a time: each stretch of training pulls the model "
        "towards one class and undoes the last, so the train loss cannot fall as it should.",
        zh="batch按类别依次到来：每一段训练都把模型拉向一个类别、抵消上一段，训练集loss无法正常下降。",
        priority=1000,
    ),
    # Inputs far from zero-mean, unit scale, measured on the training batches: LeCun et al.'s
    # Efficient BackProp (1998) asks for centred inputs of similar variance because the first
    # layer's steps otherwise zig-zag; the fit reached is worse even when the curve falls.
    # Measured on ~110 healthy runs (suite and outside families): never seen.
    ProblemRule(
        "PRB-TRAIN-RAW-INPUTS",
        TRAIN,
        "data.unnormalized",
        "The inputs are far from zero mean and unit scale: the first layer's steps are badly "
        "conditioned, so the train loss cannot fall as it should.",
        zh="输入远离零均值、单位尺度：第一层的更新条件很差，训练集loss无法正常下降。",
        priority=1000,
    ),
    # More than half a ReLU layer's units zero on every sample is the layer-level fault SMD's
    # DeadRelu rule flags whatever the loss (FIELD-NOTES: > 50 % dead); the net trains on what is
    # left, so the loss can look plausible. Measured here on ~100 healthy runs (suite and outside
    # families): never seen; every run with it was faulty.
    ProblemRule(
        "PRB-TRAIN-DEAD-LAYER",
        TRAIN,
        "layers.dead_relu",
        "More than half the units of a ReLU layer output zero for every sample: that part of "
        "the network no longer learns, so the train loss cannot fall as far as it should.",
        zh="某个ReLU层中超过一半的单元对所有样本都输出0：这部分网络不再学习，训练集loss无法降到应有的水平。",
        priority=1000,
    ),
    ProblemRule(
        "PRB-TRAIN-BELOW-FLOOR",
        TRAIN,
        "train.below_floor",
        "The train loss went below the lowest value its loss can take: it measures nothing.",
        zh="训练集loss低于其损失函数可能取到的最小值：它什么也衡量不了。",
        priority=1000,
    ),
    ProblemRule(
        "PRB-TRAIN-DEGENERATE",
        TRAIN,
        "train.exact_zero",
        "The train loss is exactly 0.0 on most batches: the objective is degenerate.",
        zh="大多数batch上训练集loss恰好为0.0：优化目标是退化的。",
        priority=1000,
    ),
    ProblemRule(
        "PRB-TRAIN-WRONG-SCALE",
        TRAIN,
        "train.start_below_chance",
        "The train loss starts far below the chance level of the task's loss: it is not "
        "the loss the task needs.",
        zh="训练集loss的起始值远低于该任务损失函数的随机猜测水平：它不是这个任务需要的损失函数。",
        priority=1000,
    ),
    ProblemRule(
        "PRB-TRAIN-LOSS-MISMATCH",
        TRAIN,
        "config.loss_task_mismatch",
        "The loss does not fit the task (a regression loss on a classification target).",
        zh="损失函数与任务不匹配（对分类目标用了回归损失）。",
        priority=1000,
    ),
    ProblemRule(
        "PRB-TRAIN-RISING-AGAIN",
        TRAIN,
        "train.rise_after_fall",
        "The train loss fell, then climbed back well above its minimum.",
        zh="训练集loss下降之后又回升，远高于其最小值。",
        priority=1000,
    ),
    ProblemRule(
        "PRB-TRAIN-ABOVE-INIT",
        TRAIN,
        "train.above_init",
        "The train loss ended well above the untrained model's loss.",
        zh="训练集loss最终远高于未训练模型的loss。",
        priority=1000,
    ),
    ProblemRule(
        "PRB-TRAIN-UNCONVERGED",
        TRAIN,
        "train.falling_fast",
        "The train loss was still falling steeply when training stopped.",
        zh="训练停止时训练集loss仍在急剧下降。",
        priority=1000,
    ),
    ProblemRule(
        "PRB-TRAIN-UNFINISHED",
        TRAIN,
        "train.unfinished",
        "The train loss was still falling, far from a fit, when training stopped.",
        zh="训练停止时训练集loss仍在下降，离拟合还很远。",
        priority=1000,
    ),
    ProblemRule(
        "PRB-VAL-RISING",
        VAL,
        "val.rising",
        "The val loss ended well above its minimum.",
        zh="验证集loss最终远高于其最小值。",
        priority=900,
        after=(TRAIN,),
    ),
    ProblemRule(
        "PRB-VAL-GAP",
        VAL,
        "val.gap",
        "The val loss ended far above the train loss.",
        zh="验证集loss最终远高于训练集loss。",
        priority=900,
        after=(TRAIN,),
    ),
    ProblemRule(
        "PRB-VAL-WORSE-THAN-CHANCE",
        VAL,
        "val.worse_than_chance",
        "The val loss ended worse than guessing while the train loss fell below it.",
        zh="训练集loss降到随机水平以下，验证集loss最终却比随机猜测还差。",
        priority=900,
        after=(TRAIN,),
    ),
    # A test loss far from the val loss is judged even beside a val problem: both splits are
    # held out from the same training, so over-fitting raises them alike and cannot open a gap
    # between them (only a train problem, which leaves nothing learned to compare, comes first).
    ProblemRule(
        "PRB-TEST-ABOVE-VAL",
        TEST,
        "test.above_val",
        "The test loss is a multiple of the val loss.",
        zh="测试集loss是验证集loss的好几倍。",
        priority=800,
        after=(TRAIN,),
    ),
    ProblemRule(
        "PRB-TEST-LAGS-VAL",
        TEST,
        "test.lags_val",
        "The test loss fell far less than the val loss: what was learned transfers to val, "
        "much less to test.",
        zh="测试集loss的下降远小于验证集loss：学到的东西能迁移到验证集，却很少迁移到测试集。",
        priority=800,
        after=(TRAIN,),
    ),
    ProblemRule(
        "PRB-TEST-INPUTS-DIFFER",
        TEST,
        "test.inputs_differ",
        "The test inputs differ from the training ones, and the test loss is well above val.",
        zh="测试集的输入与训练集不同，而且测试集loss明显高于验证集。",
        priority=800,
        after=(TRAIN,),
    ),
    ProblemRule(
        "PRB-TEST-ABOVE-TRAIN",
        TEST,
        "test.above_train",
        "Without a val split: the test loss is a multiple of the train loss.",
        zh="没有验证集：测试集loss是训练集loss的好几倍。",
        priority=800,
        after=(TRAIN, VAL),
    ),
)
