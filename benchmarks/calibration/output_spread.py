"""Where ``input_blind_max_spread`` and ``input_blind_min_classes`` come from: how much the
per-example cross-entropy varies across inputs for a network at its default initialisation,
against a network whose output is the same for every input.

    python benchmarks/calibration/output_spread.py      # ~20 s on 2 cores

A model that outputs one distribution p for every input has per-example loss -ln p[y]: it
varies only with the label, by the spread of ln p over the classes, which is 0 at the uniform
output and about the relative class-count imbalance at the prior (a few % on a set called
balanced). A network that reads its input, even untrained, gives each input its own logits.
Measured with PyTorch's default initialisation, 3 widths x 5 seeds per row, on
scikit-learn's bundled classification sets (standardised, MLPs) and on random sequences
(N(0, 1), 20 steps of 8 features; LSTM, GRU, Elman RNN, 1-D conv, a 2-layer transformer
encoder) with 2, 4 and 10 classes; not on the benchmark suite's runs.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from statistics import median

import torch
from sklearn import datasets
from sklearn.preprocessing import StandardScaler

SETS = {
    "digits": datasets.load_digits,
    "iris": datasets.load_iris,
    "wine": datasets.load_wine,
    "breast_cancer": datasets.load_breast_cancer,
}
WIDTHS = (16, 32, 64)
SEEDS = range(5)
SEQ_SHAPE = (512, 20, 8)  # sequences, steps, features
SEQ_CLASSES = (2, 4, 10)

Net = Callable[[torch.Tensor], torch.Tensor]


def _mlp(inputs: int, width: int, classes: int) -> Net:
    return torch.nn.Sequential(
        torch.nn.Linear(inputs, width), torch.nn.ReLU(), torch.nn.Linear(width, classes)
    )


def _sequence_net(kind: str, features: int, width: int, classes: int) -> Net:
    head = torch.nn.Linear(width, classes)
    if kind in ("lstm", "gru", "rnn"):
        cell = {"lstm": torch.nn.LSTM, "gru": torch.nn.GRU, "rnn": torch.nn.RNN}[kind]
        rnn = cell(features, width, batch_first=True)
        return lambda x: head(rnn(x)[0][:, -1])
    if kind == "conv1d":
        conv = torch.nn.Sequential(
            torch.nn.Conv1d(features, width, 3), torch.nn.ReLU(), torch.nn.AdaptiveAvgPool1d(1)
        )
        return lambda x: head(conv(x.transpose(1, 2)).squeeze(-1))
    embed = torch.nn.Linear(features, width)
    layer = torch.nn.TransformerEncoderLayer(width, 4, 2 * width, batch_first=True)
    encoder = torch.nn.TransformerEncoder(layer, 2, enable_nested_tensor=False)
    return lambda x: head(encoder(embed(x)).mean(1))


def _spreads(make: Callable[[int], Net], x: torch.Tensor, y: torch.Tensor) -> list[float]:
    out = []
    for seed in SEEDS:
        for width in WIDTHS:
            torch.manual_seed(seed)
            net = make(width)
            with torch.no_grad():
                loss = torch.nn.functional.cross_entropy(net(x), y, reduction="none")
            out.append(float(loss.std()))
    return out


@dataclass(frozen=True)
class Row:
    name: str
    classes: int
    constant: float | None  # spread of a constant output at the class prior (real sets only)
    least: float
    median: float


def measure() -> list[Row]:
    rows = []
    for name, load in SETS.items():
        x_np, y_np = load(return_X_y=True)
        x = torch.tensor(StandardScaler().fit_transform(x_np), dtype=torch.float32)
        y = torch.tensor(y_np)
        classes = int(y.max()) + 1
        prior = torch.bincount(y).float() / y.numel()
        constant = float((-torch.log(prior[y])).std())
        spreads = _spreads(lambda w, i=x.shape[1], c=classes: _mlp(i, w, c), x, y)
        rows.append(Row(f"{name}, mlp", classes, constant, min(spreads), median(spreads)))
    generator = torch.Generator().manual_seed(0)
    x = torch.randn(*SEQ_SHAPE, generator=generator)
    for classes in SEQ_CLASSES:
        y = torch.randint(0, classes, (SEQ_SHAPE[0],), generator=generator)
        for kind in ("lstm", "gru", "rnn", "conv1d", "transformer"):
            spreads = _spreads(
                lambda w, k=kind, c=classes: _sequence_net(k, SEQ_SHAPE[2], w, c), x, y
            )
            rows.append(
                Row(f"random sequences, {kind}", classes, None, min(spreads), median(spreads))
            )
    return rows


def main() -> None:
    print("| data, model | classes | constant output at the prior | default init: least | median |")
    print("|---|---|---|---|---|")
    for r in measure():
        const = "–" if r.constant is None else f"{r.constant:.3f}"
        print(f"| {r.name} | {r.classes} | {const} | {r.least:.3f} | {r.median:.3f} |")


if __name__ == "__main__":
    main()
