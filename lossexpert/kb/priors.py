"""How often each root cause is behind a failed training, before looking at this run.

Used only to break ties between causes whose confidences are equal to two decimals (the
evidence cannot tell them apart), never to move a cause past stronger evidence. The values are
ordinal, not measured frequencies: they order the causes by the size of the fault categories
they belong to in the public bug studies:

- Humbatova et al., "Taxonomy of Real Faults in Deep Learning Systems", ICSE 2020 (1,059
  GitHub/Stack Overflow artefacts + 20 interviews): *Training* is the largest top-level
  category — hyperparameters (the learning rate first among them), loss function, training
  data quality and preprocessing (missing normalisation) — ahead of model structure, tensors
  and inputs, and API misuse.
- Islam et al., "A Comprehensive Study on Deep Learning Bug Characteristics", FSE 2019:
  data bugs and structural (logic, wiring) bugs are the most frequent bug types.
- Zhang et al., "An Empirical Study on TensorFlow Program Bugs", ISSTA 2018: incorrect model
  parameters or structure is the most common root cause.

Mechanisms (dead units, vanishing or exploding gradients) rank low: in these studies they are
symptoms of a root fault (a step size, an init, unscaled inputs) rather than faults of their own.
"""

from __future__ import annotations

from types import MappingProxyType

PRIORS = MappingProxyType(
    {
        # Training: hyperparameters, loss, data quality and preprocessing (largest category).
        "learning_rate_too_high": 0.90,
        "overfitting": 0.90,
        "data_not_normalized": 0.80,
        "loss_function": 0.75,
        "learning_rate_too_low": 0.70,
        "distribution_shift": 0.70,
        "noisy_data": 0.55,
        "insufficient_training": 0.45,
        "over_regularization": 0.40,
        "class_imbalance": 0.40,
        "batch_size_too_small": 0.35,
        "batch_size_too_large": 0.35,
        "optimizer_choice": 0.35,
        "data_not_shuffled": 0.45,
        # Structure and wiring (logic bugs, wrong parameters or structure).
        "gradient_bug": 0.65,
        "model_structure": 0.60,
        "activation_function": 0.50,
        "weight_initialization": 0.50,
        "feature_selection": 0.30,
        "test_noise": 0.30,
        # Mechanisms: usually the consequence of one of the above.
        "exploding_gradients": 0.35,
        "vanishing_gradients": 0.30,
        "dead_relu": 0.30,
    }
)


def prior(cause: str) -> float:
    return PRIORS.get(cause, 0.0)
