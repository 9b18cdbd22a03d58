"""Produce the example runs by really training tiny models, each with one injected fault.

    pip install -e '.[examples]'
    python examples/make_examples.py            # writes examples/runs/*.json

Data ships with scikit-learn (digits, breast cancer, wine): nothing is downloaded. Fixed
seeds; each scenario's ``tags.injected_cause`` is its ground truth (``none`` if healthy).
Every run is recorded by the live collector, ``lossexpert.watch``, exactly as a user's
training loop would be, then stored as ``.json`` (``lossexpert convert`` does the same).
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parent))
from scenarios import Scenario, run_scenario

OUT = Path(__file__).parent / "runs"

SCENARIOS = [
    Scenario(
        "healthy_digits_mlp",
        "none",
        weight_decay=1e-4,
        epochs=15,
        description="A well-set-up MLP on digits: standardised, shuffled, He init, Adam 1e-3.",
    ),
    Scenario(
        "healthy_wine_sgd",
        "none",
        dataset="wine",
        optimizer="sgd",
        lr=0.05,
        momentum=0.9,
        batch_size=16,
        epochs=30,
        hidden=[32],
        description="A small MLP on wine with SGD+momentum: noisy but fine.",
    ),
    Scenario(
        "lr_too_high",
        "learning_rate_too_high",
        optimizer="sgd",
        lr=2.0,
        description="Plain SGD at lr 2.0: the loss blows up to Inf, then NaN.",
    ),
    Scenario(
        "lr_too_low",
        "learning_rate_too_low",
        optimizer="sgd",
        lr=1e-4,
        description="Plain SGD at lr 1e-4: the loss barely moves from its starting value.",
    ),
    Scenario(
        "zero_init",
        "weight_initialization",
        init="zeros",
        description="All weights and biases start at zero: the ReLU MLP cannot break symmetry.",
    ),
    Scenario(
        "unshuffled_sorted",
        "data_not_shuffled",
        shuffle=False,
        sort_by_label=True,
        optimizer="sgd",
        lr=0.05,
        momentum=0.9,
        epochs=15,
        description="Training set sorted by label and never shuffled: every batch is one class.",
    ),
    Scenario(
        "unnormalized_breast_cancer",
        "data_not_normalized",
        dataset="breast_cancer",
        standardize=False,
        optimizer="adam",
        lr=1e-2,
        epochs=30,
        hidden=[32],
        description="Raw breast-cancer features (scales from 1e-3 to 4e3) fed to an MLP.",
    ),
    Scenario(
        "over_regularized",
        "over_regularization",
        weight_decay=0.5,
        dropout=0.6,
        description="L2 weight decay 0.5 and dropout 0.6 from the first step.",
    ),
    Scenario(
        "softmax_then_cross_entropy",
        "loss_function",
        out_act="softmax",
        description="A softmax output layer fed to CrossEntropyLoss (which applies its own).",
    ),
    Scenario(
        "vanishing_sigmoid_deep",
        "vanishing_gradients",
        act=nn.Sigmoid,
        hidden=[64] * 10,
        optimizer="sgd",
        lr=0.1,
        init="default",
        description="A 10-hidden-layer sigmoid MLP trained with plain SGD.",
    ),
    Scenario(
        "optimizer_on_stale_params",
        "gradient_bug",
        optimizer_on_copy=True,
        description="The optimizer holds copies of the parameters: gradients flow, nothing moves.",
    ),
    Scenario(
        "dead_relu_negative_bias",
        "dead_relu",
        bias_init=-4.0,
        optimizer="sgd",
        lr=0.05,
        description="Hidden biases start at -4: most ReLU units never activate.",
    ),
    Scenario(
        "overfitting_small_data",
        "overfitting",
        train_size=100,
        hidden=[512, 512],
        epochs=300,
        batch_size=32,
        lr=3e-3,
        description="A large MLP on 100 digits for 300 epochs, no regularisation.",
    ),
    Scenario(
        "test_distribution_shift",
        "distribution_shift",
        test_transform="translate",
        description="The test digits sit two pixels to the right: another scenario than training.",
    ),
    Scenario(
        "test_noise",
        "test_noise",
        test_transform="noise",
        description="The test inputs carry heavy Gaussian noise the training data never had.",
    ),
    Scenario(
        "insufficient_training",
        "insufficient_training",
        optimizer="sgd",
        lr=0.01,
        epochs=2,
        description="Stopped after two epochs of SGD while the loss is still falling fast.",
    ),
    Scenario(
        "model_too_small",
        "model_structure",
        hidden=[2],
        epochs=30,
        description="A two-unit hidden layer cannot separate ten digit classes.",
    ),
]


def main(argv: list[str]) -> None:
    wanted = set(argv)
    OUT.mkdir(parents=True, exist_ok=True)
    workdir = Path(tempfile.mkdtemp(prefix="lossexpert-examples-"))
    for sc in SCENARIOS:
        if wanted and sc.name not in wanted:
            continue
        run = run_scenario(sc, workdir)
        path = OUT / f"{sc.name}.json"
        path.write_text(json.dumps(run, separators=(",", ":")) + "\n")
        tr = run["curves"]["train"]["loss"]
        va = run["curves"]["val"]["loss"]
        te = run["curves"]["test"]["loss"]
        print(
            f"{sc.name:32s} train {tr[0]:.3f}->{tr[-1]:.3f}  val {min(va):.3f}/{va[-1]:.3f}  "
            f"test {te[-1]:.3f}  {path.stat().st_size // 1024} KiB"
        )


if __name__ == "__main__":
    main(sys.argv[1:])
