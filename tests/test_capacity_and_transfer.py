"""Facts learned from an outside family of sequence models (trained for real here, on
scikit-learn's bundled data): a dead ReLU layer is a problem even when the loss looks plausible,
a recurrent state narrower than the classes is a bottleneck, so is a single unit in a
regression, a regression whose val loss
ends above the variance of its targets has learned nothing that transfers, and init gains
that are each modest compound through a stack of ReLU layers."""

from __future__ import annotations

from pathlib import Path

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("sklearn")
from sklearn import datasets  # noqa: E402
from torch import nn  # noqa: E402

import lossexpert  # noqa: E402
from tests._loops import bundled, loader_of, recorded_fit, watched_training  # noqa: E402


def _facts(d: lossexpert.Diagnosis) -> set[str]:
    return {s.symptom for s in d.symptoms}


def _causes(d: lossexpert.Diagnosis) -> list[str]:
    return [f.cause for f in d.findings]


def _values(d: lossexpert.Diagnosis, symptom: str) -> dict[str, object]:
    return next((dict(s.values) for s in d.symptoms if s.symptom == symptom), {})


@pytest.mark.parametrize("dead", [True, False])
def test_a_layer_of_dead_units_is_a_problem_though_the_loss_falls(
    tmp_path: Path, dead: bool
) -> None:
    x, y = bundled("digits")
    xt, yt, xv, yv = x[:1200], y[:1200], x[1200:], y[1200:]
    model = nn.Sequential(
        nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 10)
    )
    if dead:
        # The second layer starts with a large negative bias: most of its units never fire,
        # while the first layer and a few survivors still carry the fit.
        with torch.no_grad():
            model[2].bias.fill_(-4.0)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    crit = nn.CrossEntropyLoss()
    run = recorded_fit(
        tmp_path / "run.jsonl",
        model,
        opt,
        crit,
        (xt, yt),
        (xv, yv),
        epochs=6,
        batch_size=32,
        criterion=crit,
    )
    d = lossexpert.diagnose(run)
    if dead:
        assert "layers.dead_relu" in _facts(d)
        assert not d.healthy
        assert [p.id for p in d.problems][:1] == ["train_loss_not_decreasing"]
        assert "dead_relu" in _causes(d)[:2], _causes(d)
    else:
        assert "layers.dead_relu" not in _facts(d)
        assert d.healthy, _causes(d)


class _RowReader(nn.Module):
    """Reads an 8x8 digit row by row with a GRU; classifies from the last state."""

    def __init__(self, width: int) -> None:
        super().__init__()
        self.rnn = nn.GRU(8, width, batch_first=True)
        self.head = nn.Linear(width, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h, _ = self.rnn(x.view(-1, 8, 8))
        return self.head(h[:, -1])


@pytest.mark.parametrize("width", [1, 32])
def test_a_recurrent_state_narrower_than_the_classes_is_the_bottleneck(
    tmp_path: Path, width: int
) -> None:
    x, y = bundled("digits")
    xt, yt, xv, yv = x[:1200], y[:1200], x[1200:], y[1200:]
    model = _RowReader(width)
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    crit = nn.CrossEntropyLoss()
    run = recorded_fit(
        tmp_path / "run.jsonl",
        model,
        opt,
        crit,
        (xt, yt),
        (xv, yv),
        epochs=4,
        batch_size=32,
        criterion=crit,
    )
    assert width in run.run.config.model.hidden_sizes
    d = lossexpert.diagnose(run)
    if width == 1:
        assert "config.bottleneck" in _facts(d)
        assert _causes(d)[:1] == ["model_structure"], _causes(d)
    else:
        assert "config.bottleneck" not in _facts(d)


def _diabetes() -> tuple[torch.Tensor, torch.Tensor]:
    torch.manual_seed(0)
    data = datasets.load_diabetes()
    x = torch.tensor(data.data, dtype=torch.float32)
    x = (x - x.mean(0)) / x.std(0)
    t = torch.tensor(data.target, dtype=torch.float32)
    return x, (t - t.mean()) / t.std()


@pytest.mark.parametrize("informative", [False, True])
def test_a_regression_val_loss_above_the_target_variance_learned_nothing(
    tmp_path: Path, informative: bool
) -> None:
    x, y = _diabetes()
    xt, yt, xv, yv = x[:300], y[:300], x[300:], y[300:]
    if not informative:
        # The inputs are shuffled against the targets: nothing in them predicts the target.
        xt = xt[torch.randperm(len(xt))]
    model = nn.Sequential(
        nn.Linear(10, 128), nn.ReLU(), nn.Linear(128, 128), nn.ReLU(), nn.Linear(128, 1)
    )
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    crit = nn.MSELoss()

    def loss_fn(out: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return crit(out.squeeze(-1), target)

    run = recorded_fit(
        tmp_path / "run.jsonl",
        model,
        opt,
        loss_fn,
        (xt, yt),
        (xv, yv),
        epochs=40,
        batch_size=16,
        criterion=crit,
    )
    d = lossexpert.diagnose(run)
    if informative:
        assert "val.worse_than_chance" not in _facts(d)
    else:
        assert "val.worse_than_chance" in _facts(d)
        assert {"feature_selection", "noisy_data"} & set(_causes(d)[:3]), _causes(d)


class _SqueezedRegressor(nn.Module):
    """Two hidden ReLU layers of ``width`` and a (batch,) output, as most regressions squeeze it."""

    def __init__(self, width: int) -> None:
        super().__init__()
        self.body = nn.Sequential(
            nn.Linear(10, width), nn.ReLU(), nn.Linear(width, width), nn.ReLU(), nn.Linear(width, 1)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x).squeeze(-1)


@pytest.mark.parametrize("width", [1, 32])
def test_a_single_unit_layer_is_the_bottleneck_of_a_regression(tmp_path: Path, width: int) -> None:
    # No classes to count, but one unit passes a single number (a network needs d_in + 1 >= 2
    # in every layer to approximate a function of its inputs). Before, the squeezed (batch,)
    # output was recorded as 16 wide (the batch) and no bottleneck was read for a regression.
    x, y = _diabetes()
    torch.manual_seed(0)
    model = _SqueezedRegressor(width)
    crit = nn.MSELoss()
    run = recorded_fit(
        tmp_path / "run.jsonl",
        model,
        torch.optim.Adam(model.parameters(), lr=3e-3),
        crit,
        (x[:300], y[:300]),
        (x[300:], y[300:]),
        epochs=30,
        batch_size=16,
        criterion=crit,
    )
    assert run.run.config.model.output_width == 1
    d = lossexpert.diagnose(run)
    if width == 1:
        assert {"narrowest": 1, "needed": 2}.items() <= _values(d, "config.bottleneck").items()
        assert _causes(d)[:1] == ["model_structure"], _causes(d)
    else:
        assert "config.bottleneck" not in _facts(d)
        assert "model_structure" not in _causes(d), _causes(d)


@pytest.mark.parametrize("gain", [3.0, 1.0])
def test_init_gains_that_compound_through_relu_layers_are_named(
    tmp_path: Path, gain: float
) -> None:
    """Five ReLU layers at 3x He's gain each (std x sqrt(fan_in) = 4.2, under the one-layer
    limit of 10): the untrained output starts 3^5 = 243x too large. At He's gain: nothing."""
    x, y = bundled("digits")
    xt, yt, xv, yv = x[:1200], y[:1200], x[1200:], y[1200:]
    widths = [64, 64, 64, 64, 64]
    layers: list[nn.Module] = []
    for i, w in enumerate(widths):
        layers += [nn.Linear(64 if i == 0 else widths[i - 1], w), nn.ReLU()]
    model = nn.Sequential(*layers, nn.Linear(widths[-1], 10))
    with torch.no_grad():
        for m in model:
            if isinstance(m, nn.Linear):
                nn.init.kaiming_normal_(m.weight, nonlinearity="relu")
                m.weight.mul_(gain)
                m.bias.zero_()
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    crit = nn.CrossEntropyLoss()
    run = recorded_fit(
        tmp_path / "run.jsonl",
        model,
        opt,
        crit,
        (xt, yt),
        (xv, yv),
        epochs=3,
        batch_size=32,
        criterion=crit,
    )
    d = lossexpert.diagnose(run)
    init = [s for s in d.symptoms if s.symptom == "layers.init_scale"]
    if gain > 1:
        assert init and init[0].values["compounded"] > 100, init
        first = d.findings[0]
        assert "weight_initialization" in [first.cause, *first.explains], _causes(d)
    else:
        assert not init


def test_a_test_set_far_from_val_is_reported_beside_over_fitting(tmp_path: Path) -> None:
    # 100 digits for a 256-wide MLP at Adam 1e-2 for 200 epochs: the val loss rises (over-
    # fitting), and the test inputs carry noise of 2 standard deviations: the test loss ends
    # at 5x val. Over-fitting raises val and test alike, so the gap between them is a problem
    # of its own; before, a val problem hid it.
    x, y = bundled("digits")
    model = nn.Sequential(nn.Linear(64, 256), nn.ReLU(), nn.Linear(256, 10))
    crit = nn.CrossEntropyLoss()
    noisy = x[1400:] + 2.0 * torch.randn(x[1400:].shape, generator=torch.Generator().manual_seed(1))
    run = watched_training(
        tmp_path / "run.jsonl",
        model,
        torch.optim.Adam(model.parameters(), lr=1e-2),
        crit,
        loader_of(x[:100], y[:100], 32),
        epochs=200,
        held_out={"val": (x[1000:1400], y[1000:1400]), "test": (noisy, y[1400:])},
        criterion=crit,
    )
    d = lossexpert.diagnose(run)
    assert [p.id for p in d.problems] == ["val_loss_not_decreasing", "test_loss_not_decreasing"]
    assert _causes(d)[0] == "overfitting"
    assert {"distribution_shift", "test_noise"} & set(_causes(d)[1:3]), _causes(d)
