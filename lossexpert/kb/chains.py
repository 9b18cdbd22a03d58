"""Causal chains: root causes that produce other causes' symptoms (explaining away).

A senior engineer who sees "80 % of ReLU units dead" after a loss spike at a learning rate of
1.0 does not report dead units: the step size killed them, and lowering it is the fix. Each
link below says which root produces which consequence, which facts show the root was there
(``via``) and which show the consequence had an origin of its own (``blocked_by``).
"""

from __future__ import annotations

from lossexpert.kb.units import CausalLink

# The facts that show a step size too large for the loss surface, present before or without
# anything else that would explain them.
_STEP_TOO_LARGE = (
    "config.lr_high",
    "layers.update_high",
    "layers.update_burst",
    "layers.update_high_early",
    "train.spike_then_stall",
)

# A run cut short has its own reason to be unfinished: a root that slows the fall does not
# explain it.
_CUT_SHORT = ("train.stopped_short", "config.few_epochs")

CAUSAL_LINKS: tuple[CausalLink, ...] = (
    CausalLink(
        "learning_rate_too_high",
        "dead_relu",
        via=_STEP_TOO_LARGE,
        blocked_by=("layers.dead_from_start",),
        description=(
            "One large update pushes a ReLU's bias and weights so that it is negative on every "
            "input; it never recovers (CS231n notes: with a high learning rate 'as much as 40 % "
            "of your network can be dead')."
        ),
        zh=(
            "一次过大的更新把ReLU的偏置和权重推到对所有输入都为负的位置，它就再也无法恢复（CS23"
            "1n笔记：学习率过高时，“网络中多达40%的单元可能会死亡”）。"
        ),
    ),
    CausalLink(
        "learning_rate_too_high",
        "exploding_gradients",
        via=_STEP_TOO_LARGE,
        blocked_by=("layers.grad_huge",),
        description=(
            "Overshooting steps climb the walls of the valley, where gradients are larger, so "
            "the next step is larger still: the growth is the divergence, not its cause."
        ),
        zh=(
            "步子迈得过大，爬上了山谷的两壁，那里梯度更大，于是下一步迈得更大：梯度的增长就是发"
            "散本身，而不是发散的原因。"
        ),
    ),
    CausalLink(
        "learning_rate_too_high",
        "vanishing_gradients",
        via=("config.lr_high", "layers.update_high"),
        blocked_by=("config.deep_saturating",),
        description=(
            "Overshooting steps drive units into their flat regions (saturated or dead), "
            "after which the early layers get almost no gradient."
        ),
        zh="过大的步子把单元推进平坦区（饱和或死亡），之后前几层几乎得不到梯度。",
    ),
    # A loss still falling when a run of a usual length ends is slow, and slowness has causes:
    # "train longer" is then the consequence, and the step or the init the fix.
    CausalLink(
        "learning_rate_too_high",
        "insufficient_training",
        via=(
            "config.lr_high",
            "layers.update_high",
            "layers.update_burst",
            "layers.update_high_early",
        ),
        blocked_by=_CUT_SHORT,
        description=(
            "Steps that overshoot bounce across the valley and make only slow, noisy progress "
            "along it: the loss is still falling at the end because each step wastes most of "
            "its length, and more epochs at this rate would crawl on."
        ),
        zh=(
            "步子过大，在山谷两壁之间来回弹跳，沿着谷底只能缓慢而嘈杂地前进：训练结束时loss还在下降，"
            "是因为每一步的大部分都浪费掉了；按这个学习率再多训练几轮也只是继续慢慢爬。"
        ),
    ),
    CausalLink(
        "learning_rate_too_low",
        "insufficient_training",
        via=("config.lr_low", "layers.update_low", "layers.small_steps"),
        blocked_by=_CUT_SHORT,
        description=(
            "Steps too small move the weights a little per step: the loss is still falling "
            "at the end of a run of a usual length because the rate, not the number of "
            "epochs, sets the pace."
        ),
        zh="步子太小，每一步只让权重移动一点点：一轮正常长度的训练结束时loss仍在下降，是学习率而不是轮数决定了速度。",
    ),
    CausalLink(
        "weight_initialization",
        "insufficient_training",
        via=("layers.init_scale", "train.init_loss_high", "probe.init_loss_high"),
        blocked_by=(*_CUT_SHORT, "data.unnormalized", "config.no_input_normalization"),
        description=(
            "A run that starts far from a good init spends its first epochs undoing it "
            "(saturated or over-confident outputs give small or misleading gradients): the "
            "loss is still falling at the end because it started in the wrong place."
        ),
        zh=(
            "从很差的初始化出发，训练的前几轮都花在纠正初始化上（饱和或过于自信的输出给出很小或误导的"
            "梯度）：训练结束时loss仍在下降，是因为起点就错了。"
        ),
    ),
    CausalLink(
        "activation_function",
        "insufficient_training",
        via=("layers.saturated",),
        blocked_by=_CUT_SHORT,
        description=(
            "Units saturated in the flat tails of sigmoid/tanh pass back almost no gradient, so "
            "every step moves the loss little: it is still falling at the end because the "
            "saturated units slow it (Glorot & Bengio 2010; LeCun et al. 1998, 'Efficient "
            "BackProp')."
        ),
        zh=(
            "停在sigmoid/tanh平坦尾部的饱和单元几乎传不回梯度，每一步都只让loss动一点：训练结束时"
            "loss仍在下降，是饱和单元拖慢了它（Glorot & Bengio 2010；LeCun et al. 1998，"
            "“Efficient BackProp”）。"
        ),
    ),
    CausalLink(
        "gradient_bug",
        "learning_rate_too_high",
        via=("config.grads_accumulate", "layers.grad_linear_growth", "probe.replay_better"),
        # Seen resetting between steps: a growing gradient is then not a sum of steps.
        blocked_by=("config.grads_reset",),
        description=(
            "Gradients that are never zeroed add up: after t steps the update is t times the "
            "intended one, so any learning rate eventually becomes too high."
        ),
        zh="从不清零的梯度不断累加：t步之后，更新量是预期的t倍，所以任何学习率最终都会变得过大。",
    ),
    CausalLink(
        "gradient_bug",
        "dead_relu",
        via=("config.grads_accumulate", "layers.grad_linear_growth", "probe.replay_better"),
        # Seen resetting between steps: a growing gradient is then not a sum of steps.
        blocked_by=("config.grads_reset",),
        description="Accumulated gradients make the updates grow until units die.",
        zh="累加的梯度让更新越来越大，直到单元死亡。",
    ),
    CausalLink(
        "gradient_bug",
        "exploding_gradients",
        via=("config.grads_accumulate", "layers.grad_linear_growth", "probe.replay_better"),
        # Seen resetting between steps: a growing gradient is then not a sum of steps.
        blocked_by=("config.grads_reset",),
        description=(
            "The gradient norm grows linearly with the step count because the gradients are "
            "summed over steps, not because the network amplifies them."
        ),
        zh="梯度范数随步数线性增长，是因为梯度在各步之间被累加，而不是网络把它放大了。",
    ),
    CausalLink(
        "data_not_normalized",
        "exploding_gradients",
        via=("data.unnormalized",),
        description=(
            "The first layer's gradient is proportional to its inputs: raw features in the "
            "hundreds make it hundreds of times larger (LeCun et al., Efficient BackProp, "
            "1998, §4.3)."
        ),
        zh=(
            "第一层的梯度与其输入成正比：数值上百的原始特征会让它大上百倍（LeCun等，Efficient B"
            "ackProp，1998，§4.3）。"
        ),
    ),
    CausalLink(
        "data_not_normalized",
        "learning_rate_too_high",
        via=("data.unnormalized",),
        description=(
            "With inputs of large scale, a learning rate that is fine for standardised data "
            "overshoots: the input scale multiplies the effective step."
        ),
        zh="输入尺度很大时，对标准化数据合适的学习率会迈过头：输入的尺度放大了实际的步长。",
    ),
    CausalLink(
        "data_not_normalized",
        "dead_relu",
        via=("data.unnormalized",),
        description="Large raw inputs give large pre-activations; one update can kill units.",
        zh="大尺度的原始输入带来很大的激活前值；一次更新就可能让单元死亡。",
    ),
    CausalLink(
        "data_not_normalized",
        "activation_function",
        via=("data.unnormalized",),
        blocked_by=("config.relu_output",),
        description="Large raw inputs push sigmoid/tanh units into their flat tails.",
        zh="大尺度的原始输入把sigmoid/tanh单元推进平坦的饱和区。",
    ),
    CausalLink(
        "weight_initialization",
        "vanishing_gradients",
        via=("layers.init_scale", "layers.init_zero", "config.init_constant"),
        description=(
            "Weights too small at init shrink the signal layer after layer, forward and back "
            "(Glorot & Bengio, 2010; He et al., 2015)."
        ),
        zh=(
            "初始权重过小，信号在前向和反向传播中逐层衰减（Glorot & Bengio, 2010；He et al., 20"
            "15）。"
        ),
    ),
    CausalLink(
        "weight_initialization",
        "exploding_gradients",
        # A first loss far above chance on normalised inputs needs huge logits: the forward
        # signal grew layer after layer, and the backward pass multiplies by the same weights.
        via=(
            "layers.init_scale",
            "layers.recurrent_gain_high",
            "train.init_loss_high",
            "probe.init_loss_high",
        ),
        # Raw inputs of large scale give the same huge first loss with any init.
        blocked_by=("data.unnormalized", "config.no_input_normalization"),
        description=(
            "Weights too large at init amplify the signal layer after layer, forward and back: "
            "the first loss is far above chance and the gradients explode (He et al., 2015: "
            "a gain above 1 per layer grows exponentially with depth)."
        ),
        zh=(
            "初始权重过大，信号在前向和反向传播中逐层放大：第一个loss远高于随机水平，梯度爆炸（H"
            "e et al., 2015：每层增益大于1时随深度指数增长）。"
        ),
    ),
    CausalLink(
        "weight_initialization",
        "learning_rate_too_high",
        # Weights started large give large gradients: a usual rate then takes steps far too
        # big for the surface, and every rate of a range test looks too high.
        via=(
            "layers.init_scale",
            "layers.recurrent_gain_high",
            "train.init_loss_high",
            "probe.init_loss_high",
        ),
        blocked_by=("config.lr_high", "data.unnormalized", "config.no_input_normalization"),
        description=(
            "Weights started far too large make the gradients, and so every step, far too "
            "large: the overshooting is the init's doing while the rate is a usual one."
        ),
        zh="初始权重过大使梯度、进而每一步都过大：学习率本身正常时，步子迈过头是初始化造成的。",
    ),
    CausalLink(
        "weight_initialization",
        "overfitting",
        # Huge untrained outputs: the weights started at a scale that fits the training set
        # by memorising it (INIT-LARGE-MEMORISES gives the root its own finding).
        via=("train.init_loss_high",),
        blocked_by=("data.unnormalized", "config.no_input_normalization"),
        description=(
            "Weights started at a large scale fit the training set without learning features "
            "that transfer: the lazy regime (Chizat et al. 2019); a large initial weight norm "
            "memorises before it generalises (Liu et al. 2022)."
        ),
        zh=(
            "初始尺度过大的权重不学习可迁移的特征就能拟合训练集：即lazy regime（Chizat et al."
            " 2019）；初始权重范数过大时，模型先死记，很久之后才泛化（Liu et al. 2022）。"
        ),
    ),
    CausalLink(
        "weight_initialization",
        "dead_relu",
        via=("layers.init_scale", "layers.init_zero", "config.init_constant"),
        description="A bad init can leave ReLU units negative on every input from the start.",
        zh="不好的初始化可能从一开始就让ReLU单元对所有输入都为负。",
    ),
    # A penalty that wins drives the weights towards zero; what the layer statistics then
    # measure is the shrunk weights, not a fault of their own.
    CausalLink(
        "over_regularization",
        "vanishing_gradients",
        via=("layers.weight_shrink",),
        description=(
            "Weights decayed towards zero carry almost nothing back: the backward signal is "
            "multiplied by the same shrunk matrices layer after layer."
        ),
        zh="衰减到接近零的权重几乎传不回任何信号：反向信号逐层乘以同样被压缩的矩阵。",
    ),
    CausalLink(
        "over_regularization",
        "dead_relu",
        via=("layers.weight_shrink",),
        blocked_by=("layers.dead_from_start",),
        description=(
            "With weights and biases decayed to about zero, a ReLU's input is about zero or "
            "below on every sample: the unit reads as dead."
        ),
        zh="权重和偏置衰减到接近零后，ReLU的输入在每个样本上都接近零或为负：该单元表现为死亡。",
    ),
    CausalLink(
        "over_regularization",
        "learning_rate_too_high",
        via=("layers.weight_shrink",),
        # A rate high for the optimizer is a cause of its own.
        blocked_by=("config.lr_high",),
        description=(
            "The update ratio is the step over the weight norm: with the weights decayed to "
            "nearly nothing, an ordinary step reads as a huge one."
        ),
        zh="更新比是步长除以权重范数：权重衰减到几乎为零时，普通的一步看起来也很大。",
    ),
    CausalLink(
        "activation_function",
        "vanishing_gradients",
        via=("config.deep_saturating", "layers.saturated"),
        description=(
            "Saturated sigmoid/tanh units pass back a derivative near zero; stacked, the "
            "early layers get almost nothing (Glorot & Bengio, 2010)."
        ),
        zh=(
            "饱和的sigmoid/tanh单元传回的导数接近于零；层层叠加之后，前几层几乎什么也得不到（Gl"
            "orot & Bengio, 2010）。"
        ),
    ),
    CausalLink(
        "activation_function",
        "dead_relu",
        via=("config.relu_output",),
        description=(
            "A ReLU on the output layer: once its inputs go negative, the output and its "
            "gradient are zero and the dead units are the outputs themselves."
        ),
        zh="输出层上用了ReLU：一旦其输入变负，输出和梯度就都为零，死亡的单元就是输出本身。",
    ),
    CausalLink(
        "data_not_shuffled",
        "dead_relu",
        via=("data.ordered_batches", "train.saw_tooth"),
        description=(
            "Batches of one class pull the outputs hard one way, then the other: the large, "
            "swinging updates kill units."
        ),
        zh="单一类别的batch把输出先狠狠拉向一边，再拉向另一边：剧烈摆动的大幅更新让单元死亡。",
    ),
    CausalLink(
        "data_not_shuffled",
        "learning_rate_too_high",
        via=("data.ordered_batches", "train.saw_tooth"),
        description=(
            "The loss jumps at every change of class block: it looks like overshooting, but "
            "the batches, not the step size, are what changes."
        ),
        zh="每换一个类别块loss就跳一下：看起来像步子迈过了头，但变化的是batch，而不是步长。",
    ),
    CausalLink(
        "model_structure",
        "dead_relu",
        via=("config.bottleneck",),
        description="A layer of a few units goes silent when those few units die.",
        zh="只有几个单元的层，在这几个单元死亡后就完全沉默了。",
    ),
    CausalLink(
        "model_structure",
        "vanishing_gradients",
        via=("config.bottleneck",),
        blocked_by=("config.deep_saturating", "layers.saturated"),
        description=(
            "Everything below a layer of one or two units gets its gradient through that "
            "layer's rank-one or rank-two Jacobian: most directions of the early layers receive "
            "nothing, so their gradient is orders below the last layer's without any saturation."
        ),
        zh=(
            "瓶颈层以下的所有层，只能通过这个一两个单元的层的秩为一或二的雅可比矩阵得到梯度：前几层"
            "的大多数方向得不到任何梯度，所以即使没有饱和，它们的梯度也比最后一层小几个数量级。"
        ),
    ),
    CausalLink(
        "batch_size_too_small",
        "learning_rate_too_high",
        via=("config.batch_tiny",),
        blocked_by=("config.lr_high",),
        description=(
            "SGD's noise grows as the learning rate over the batch size (Smith & Le 2018), and "
            "the usual learning rates are usual for batches of tens to hundreds (Goyal et al. "
            "2017 scale the rate with the batch). At such a rate a batch of one or two takes "
            "steps that overshoot like a rate tens of times too high: the batch is what is out "
            "of the ordinary."
        ),
        zh=(
            "SGD的噪声随学习率与batch大小之比增长（Smith & Le 2018），而常用的学习率是对几十到几百"
            "的batch而言的（Goyal等人2017按batch大小缩放学习率）。在这样的学习率下，只有一两个样本"
            "的batch迈出的步子会像学习率高了几十倍那样越过头：不寻常的是batch的大小。"
        ),
    ),
    CausalLink(
        "exploding_gradients",
        "dead_relu",
        # Growing gradients, or a burst of updates far above the usual: huge gradients became
        # huge steps (under Adam they would not: its step does not scale with the gradient,
        # and no burst is seen then).
        via=("layers.grad_growth", "layers.update_burst"),
        blocked_by=("layers.dead_from_start",),
        description="Exploding gradients give huge updates that kill units.",
        zh="梯度爆炸带来巨大的更新，让单元死亡。",
    ),
)
