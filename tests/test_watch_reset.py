"""watch sees whether the loop resets the gradients between optimizer steps (config.zero_grad).

Real trainings on scikit-learn's digits: every way of resetting reads as a reset, a loop without
one reads as gradients that accumulate, and the diagnosis names the missing zero_grad first.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from sklearn.datasets import load_digits

import lossexpert
from lossexpert.collectors._watch.zeroing import CHECKS, GradientReset

X_ALL, Y_ALL = load_digits(return_X_y=True)
X = torch.tensor(X_ALL / 16.0, dtype=torch.float32)
Y = torch.tensor(Y_ALL)


def _train(path: Path, reset: str, *, batch: int = 32, lr: float = 0.05, steps: int = 60) -> None:
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(64, 64), torch.nn.ReLU(), torch.nn.Linear(64, 10))
    opt = torch.optim.SGD(model.parameters(), lr=lr)
    crit = torch.nn.CrossEntropyLoss()
    with lossexpert.watch(model, opt, path, criterion=crit, overhead_budget=None) as run:
        for i in range(steps):
            j = (i * batch) % (len(X) - batch)
            xb, yb = X[j : j + batch], Y[j : j + batch]
            if reset == "zero_grad":
                opt.zero_grad()
            elif reset == "in_place":
                opt.zero_grad(set_to_none=False)
            elif reset == "model":
                model.zero_grad()
            elif reset == "by_hand":
                for p in model.parameters():
                    if p.grad is not None:
                        p.grad.zero_()
            if reset == "micro_batches":  # 4 backward passes per step, reset after each step
                opt.zero_grad()
                for k in range(4):
                    part = slice(k * batch // 4, (k + 1) * batch // 4)
                    (crit(model(xb[part]), yb[part]) / 4).backward()
                loss = crit(model(xb), yb).detach()
            else:
                loss = crit(model(xb), yb)
                loss.backward()
            opt.step()
            run.log("train", loss)


def _zero_grad(path: Path) -> object:
    config: dict[str, object] = {}
    for line in path.read_text().splitlines():
        record = json.loads(line)
        if record["type"] in ("header", "config"):
            config.update(record.get("config", {}))
    return config.get("zero_grad")


@pytest.mark.parametrize("reset", ["zero_grad", "in_place", "model", "by_hand", "micro_batches"])
def test_every_way_of_resetting_reads_as_a_reset(reset: str, tmp_path: Path) -> None:
    path = tmp_path / "run.jsonl"
    _train(path, reset)
    assert _zero_grad(path) is True


def test_full_batch_gradients_zeroed_in_place_are_not_mistaken_for_a_sum(tmp_path: Path) -> None:
    # Consecutive full-batch gradients at a small step are nearly identical, as kept ones would
    # be; they do not grow as a sum of steps does.
    path = tmp_path / "run.jsonl"
    _train(path, "in_place", batch=len(X) - 1, lr=0.001)
    assert _zero_grad(path) is True


def test_a_loop_without_zero_grad_is_seen_and_named_first(tmp_path: Path) -> None:
    path = tmp_path / "run.jsonl"
    _train(path, "none", lr=0.05, steps=150)
    assert _zero_grad(path) is False
    d = lossexpert.diagnose(path)
    assert "config.grads_accumulate" in {s.symptom for s in d.symptoms}
    assert not d.healthy
    assert d.findings[0].cause == "gradient_bug"


def _looks(reset: GradientReset, weight: torch.Tensor, *, replace: bool, zero: bool) -> None:
    for step in range(CHECKS):
        weight.grad = torch.ones_like(weight) if weight.grad is None else weight.grad
        reset.before_sampled_step(step * 10, [weight.grad.reshape(-1)[:4].clone()])
        if replace:
            weight.grad = torch.ones_like(weight)  # zero_grad() then backward: a new tensor
        elif zero:
            weight.grad.zero_()
            weight.grad += 1
        else:
            weight.grad += 1  # kept and summed
        reset.before_next_step()


def test_without_the_values_the_same_tensors_give_no_verdict() -> None:
    # Under FSDP2 only the tensors' identity is read: new tensors are a reset, the same ones
    # (zeroed in place or kept: no telling) give no verdict, never a false "not reset".
    index = [torch.arange(4)]
    for replace, zero, want in ((True, False, True), (False, True, None), (False, False, None)):
        weight = torch.zeros(8, requires_grad=True)
        reset = GradientReset([weight], index, values=False)
        _looks(reset, weight, replace=replace, zero=zero)
        assert reset.done and reset.resolve() is want
        assert reset.resolve() is want  # asked again at the next transfer: the same answer


def test_gradients_that_are_always_zero_give_no_verdict_then_or_later() -> None:
    weight = torch.zeros(8, requires_grad=True)
    reset = GradientReset([weight], [torch.arange(4)], values=True)
    for step in range(CHECKS):
        weight.grad = torch.zeros_like(weight) if weight.grad is None else weight.grad
        reset.before_sampled_step(step * 10, [weight.grad.reshape(-1)[:4].clone()])
        reset.before_next_step()
    assert reset.resolve() is None and reset.resolve() is None


@pytest.mark.parametrize(
    ("ratios", "want"),
    [
        # Kept and summed under plain SGD on a recurrent net (an outside LSTM run): the sum
        # oscillates, rho scatters around 1 and the norm does not grow: no verdict, not "reset".
        ((1.21, 1.37, 0.99, 0.70, 1.08), None),
        # Nearly identical consecutive gradients (full batches at a small step): a reset.
        ((0.99, 1.0, 0.98, 1.01, 0.995), True),
        # Fresh mini-batch gradients overlap little: a reset.
        ((0.3, 0.1, 0.45, -0.2, 0.25), True),
    ],
)
def test_rho_near_one_without_growth_is_a_reset_only_when_the_gradients_stay_the_same(
    ratios: tuple[float, ...], want: object
) -> None:
    weight = torch.zeros(8, requires_grad=True)
    reset = GradientReset([weight], [torch.arange(4)], values=True)
    for step, rho in enumerate(ratios):
        weight.grad = torch.ones_like(weight) if weight.grad is None else weight.grad
        weight.grad.fill_(1.0)  # the same norm at every look: no growth
        reset.before_sampled_step(step * 10, [weight.grad.reshape(-1)[:4].clone()])
        weight.grad.fill_(rho)  # the same tensor, its values rho times the last look's
        reset.before_next_step()
    assert reset.done and reset.resolve() is want
