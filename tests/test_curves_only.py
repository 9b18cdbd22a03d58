"""What the curves alone say, when the class count comes from the first loss (trained for real)."""

from __future__ import annotations

from pathlib import Path

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("sklearn")
from torch import nn  # noqa: E402

import lossexpert  # noqa: E402
from tests._loops import bundled, loader_of, watched_training  # noqa: E402

# Settled at the floor, or closing in on it from above.
FLOORS = {"train.softmax_floor", "train.near_bounded_floor"}


def _digits_curves_only(
    tmp: Path,
    name: str,
    head: list[nn.Module],
    optimizer: type[torch.optim.Optimizer],
    epochs: int,
    inputs: tuple[float, float] = (1.0, 0.0),
    batch: int = 32,
    **opt: float,
) -> lossexpert.Diagnosis:
    """A digits MLP (64-64-10, cross-entropy) with ``head`` after its logits, inputs
    scaled by ``inputs`` (scale, shift) and batches of ``batch``, read from its curves alone."""
    x, y = bundled("digits")
    x = x * inputs[0] + inputs[1]
    model = nn.Sequential(nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 10), *head)
    run = watched_training(
        tmp / f"{name}.jsonl",
        model,
        optimizer(model.parameters(), **opt),
        nn.CrossEntropyLoss(),
        loader_of(x[:1200], y[:1200], batch),
        epochs=epochs,
        held_out={"val": (x[1200:], y[1200:])},
    )
    return lossexpert.diagnose(run, evidence=("curves",))


def _squashed_then_cross_entropy(tmp: Path, squash: str) -> lossexpert.Diagnosis:
    # softmax: probabilities fed to a loss that log-softmaxes; sigmoid: each logit in (0, 1)
    head = {"softmax": [nn.Softmax(dim=1)], "sigmoid": [nn.Sigmoid()]}.get(squash, [])
    return _digits_curves_only(tmp, squash, head, torch.optim.Adam, 8, lr=1e-3)


def test_a_softmax_floor_is_read_with_the_class_count_of_the_first_loss(tmp_path: Path) -> None:
    # Curves only: no config says 10 classes, but the first loss is ln 10. The loss then
    # closes in on ln(1 + 9/e) = 1.46, the floor of probabilities read as logits. Before, the
    # floor was computed for 2 classes (0.31) and the run read as a model too small.
    d = _squashed_then_cross_entropy(tmp_path, "softmax")
    floors = [s.values for s in d.symptoms if s.symptom in FLOORS]
    assert [f["classes"] for f in floors] == [10]
    # From the curves a softmax and a sigmoid output bound the logits alike: the softmax
    # (the commoner slip) first, the output activation after it.
    causes = [f.cause for f in d.findings]
    assert causes[:2] == ["loss_function", "activation_function"], causes


def test_a_sigmoid_output_reaches_the_same_floor_and_is_named(tmp_path: Path) -> None:
    # Logits each bounded to (0, 1) by a sigmoid have the same floor as probabilities: the
    # output activation is in contention with the softmax reading (before, only the latter).
    d = _squashed_then_cross_entropy(tmp_path, "sigmoid")
    assert [f["classes"] for f in (s.values for s in d.symptoms if s.symptom in FLOORS)] == [10]
    assert "activation_function" in [f.cause for f in d.findings[:2]]


def test_logits_into_cross_entropy_show_no_floor(tmp_path: Path) -> None:
    d = _squashed_then_cross_entropy(tmp_path, "none")
    assert not FLOORS & {s.symptom for s in d.symptoms}
    assert d.healthy, [f.cause for f in d.findings]


def test_batches_below_the_bounded_floor_show_the_logits_were_not_squashed(
    tmp_path: Path,
) -> None:
    # Plain logits, plain SGD at 3.5e-3 in batches of 4 for two epochs: the smoothed loss ends
    # at ~1.5, just above ln(1 + 9/e) = 1.46, but some twenty batches went below it. Squashed
    # outputs bound every sample's loss, so no batch could: before, this slow healthy run was
    # read as a softmax before the loss and an output activation.
    d = _digits_curves_only(tmp_path, "small_batches", [], torch.optim.SGD, 2, batch=4, lr=3.5e-3)
    assert not FLOORS & {s.symptom for s in d.symptoms}
    causes = [f.cause for f in d.findings]
    assert not {"loss_function", "activation_function"} & set(causes), causes


def _raw_inputs(tmp: Path, scale: float, shift: float) -> lossexpert.Diagnosis:
    # Inputs far from unit scale, as a pipeline that skipped scaling.
    return _digits_curves_only(
        tmp, f"raw_{scale}", [], torch.optim.SGD, 4, (scale, shift), lr=0.01, momentum=0.9
    )


def test_a_first_loss_far_above_the_chance_its_flat_end_shows_is_read(tmp_path: Path) -> None:
    # Inputs x100 + 300: the untrained logits are huge (a first loss in the hundreds), then
    # the network collapses to the class prior and sits at ln 10. The flat end gives the
    # class count the first loss could not, and the first loss is read against it: before,
    # only "every input gets the same output" was said, for the init, a penalty or dead units.
    d = _raw_inputs(tmp_path, 100.0, 300.0)
    high = {s.symptom: s.values for s in d.symptoms}.get("train.init_loss_high")
    assert high is not None and high["chance"] == pytest.approx(2.3026, rel=1e-3)
    assert "data_not_normalized" in [f.cause for f in d.findings[:3]]
