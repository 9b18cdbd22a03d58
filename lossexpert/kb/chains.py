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
    ),
    CausalLink(
        "gradient_bug",
        "learning_rate_too_high",
        via=("layers.grad_linear_growth",),
        description=(
            "Gradients that are never zeroed add up: after t steps the update is t times the "
            "intended one, so any learning rate eventually becomes too high."
        ),
    ),
    CausalLink(
        "gradient_bug",
        "dead_relu",
        via=("layers.grad_linear_growth",),
        description="Accumulated gradients make the updates grow until units die.",
    ),
    CausalLink(
        "gradient_bug",
        "exploding_gradients",
        via=("layers.grad_linear_growth",),
        description=(
            "The gradient norm grows linearly with the step count because the gradients are "
            "summed over steps, not because the network amplifies them."
        ),
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
    ),
    CausalLink(
        "data_not_normalized",
        "learning_rate_too_high",
        via=("data.unnormalized",),
        description=(
            "With inputs of large scale, a learning rate that is fine for standardised data "
            "overshoots: the input scale multiplies the effective step."
        ),
    ),
    CausalLink(
        "data_not_normalized",
        "dead_relu",
        via=("data.unnormalized",),
        description="Large raw inputs give large pre-activations; one update can kill units.",
    ),
    CausalLink(
        "data_not_normalized",
        "activation_function",
        via=("data.unnormalized",),
        blocked_by=("config.relu_output",),
        description="Large raw inputs push sigmoid/tanh units into their flat tails.",
    ),
    CausalLink(
        "weight_initialization",
        "vanishing_gradients",
        via=("layers.init_scale", "layers.init_zero", "config.init_constant"),
        description=(
            "Weights too small at init shrink the signal layer after layer, forward and back "
            "(Glorot & Bengio, 2010; He et al., 2015)."
        ),
    ),
    CausalLink(
        "weight_initialization",
        "exploding_gradients",
        via=("layers.init_scale",),
        description="Weights too large at init amplify the signal layer after layer.",
    ),
    CausalLink(
        "weight_initialization",
        "dead_relu",
        via=("layers.init_scale", "layers.init_zero", "config.init_constant"),
        description="A bad init can leave ReLU units negative on every input from the start.",
    ),
    CausalLink(
        "activation_function",
        "vanishing_gradients",
        via=("config.deep_saturating", "layers.saturated"),
        description=(
            "Saturated sigmoid/tanh units pass back a derivative near zero; stacked, the "
            "early layers get almost nothing (Glorot & Bengio, 2010)."
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
    ),
    CausalLink(
        "data_not_shuffled",
        "dead_relu",
        via=("data.ordered_batches", "train.saw_tooth"),
        description=(
            "Batches of one class pull the outputs hard one way, then the other: the large, "
            "swinging updates kill units."
        ),
    ),
    CausalLink(
        "data_not_shuffled",
        "learning_rate_too_high",
        via=("data.ordered_batches", "train.saw_tooth"),
        description=(
            "The loss jumps at every change of class block: it looks like overshooting, but "
            "the batches, not the step size, are what changes."
        ),
    ),
    CausalLink(
        "model_structure",
        "dead_relu",
        via=("config.bottleneck",),
        description="A layer of a few units goes silent when those few units die.",
    ),
    CausalLink(
        "exploding_gradients",
        "dead_relu",
        via=("layers.grad_growth",),
        description="Exploding gradients give huge updates that kill units.",
    ),
)
