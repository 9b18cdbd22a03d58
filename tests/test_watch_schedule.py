"""The sampling schedule: dense early, then as sparse as the collector's time budget needs."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from lossexpert.collectors._watch.schedule import Schedule


def drive(schedule: Schedule, seconds: Callable[[int, bool], float], steps: int) -> list[int]:
    """Steps of ``seconds(step, sampled)``, timed as the collector times them (the end of a
    step read only where ``clock`` says, a duration only between two consecutive readings);
    the intervals chosen."""
    chosen = []
    last = -2
    for step in range(steps):
        sampled = schedule.sampled(step)
        if not schedule.clock(step):
            continue
        if last == step - 1:
            new = schedule.observe(step, seconds(step, sampled), sampled)
            if new is not None:
                chosen.append(new)
        last = step
    return chosen


def feed(schedule: Schedule, plain_s: float, sampled_s: float, steps: int) -> list[int]:
    """Steps of ``plain_s`` seconds, sampled ones ``sampled_s``; the intervals chosen."""
    return drive(schedule, lambda step, sampled: sampled_s if sampled else plain_s, steps)


def test_a_costly_sample_on_a_fast_step_widens_the_interval_to_fit_the_budget() -> None:
    # 1 ms steps, a sample costs 0.4 ms more: 0.4 / (0.005 * 1) = 80 steps per sample.
    schedule = Schedule(50, 200, 10, budget=0.005)
    assert feed(schedule, 0.001, 0.0014, 2000) == [80]
    assert schedule.sampled(2000) and not schedule.sampled(2050)


def test_on_a_slower_step_the_interval_stays_at_every() -> None:
    # 20 ms steps, the same 0.4 ms: 4 steps would fit the budget; never denser than `every`.
    schedule = Schedule(50, 200, 10, budget=0.005)
    assert feed(schedule, 0.020, 0.0204, 3000) == []
    assert schedule.every == 50


def test_the_dense_window_is_never_thinned_and_the_interval_is_capped() -> None:
    schedule = Schedule(50, 200, 10, budget=0.005, max_every=1000)
    assert feed(schedule, 0.001, 1.0, 200) == []  # inside the dense window: no change
    assert [s for s in range(200) if schedule.sampled(s)] == list(range(0, 200, 10))
    assert feed(schedule, 0.001, 1.0, 5000)[-1] == 1000  # a run of any length keeps samples


def test_without_a_budget_the_interval_is_exact() -> None:
    schedule = Schedule(50, 200, 10, budget=None)
    assert feed(schedule, 0.001, 1.0, 3000) == []
    assert [s for s in range(1000, 1200) if schedule.sampled(s)] == [1000, 1050, 1100, 1150]


def test_a_validation_pass_in_one_interval_does_not_move_it() -> None:
    def seconds(step: int, sampled: bool) -> float:
        if step % 300 == 249:
            return 5.0  # the evaluation loop between epochs lands in one timed step
        return 0.0204 if sampled else 0.020

    assert drive(Schedule(50, 200, 10, budget=0.005), seconds, 3000) == []


def test_only_the_steps_the_budget_needs_are_timed() -> None:
    # 1 ms steps, a sample costs 0.4 ms more: the same interval as when every step is timed,
    # from the window of each sample and the plain steps just before it.
    schedule = Schedule(50, 200, 10, budget=0.005)
    assert feed(schedule, 0.001, 0.0014, 2000) == [80]
    timed = [s for s in range(4000, 4800) if schedule.clock(s)]
    # per sample: the start of the first plain step, 8 plain, the step before, itself, 2 after
    assert len(timed) <= 13 * 800 // 80
    assert all(schedule.clock(s) for s in (3990, 3991, 3999, 4000, 4001, 4002))  # sample 4000
    assert not any(schedule.clock(s) for s in (3989, 4003, 4040))
    assert not Schedule(50, 200, 10, budget=None).clock(4000)  # nothing to time
    assert not Schedule(50, 200, 10).clock(100)  # the dense window is never timed


def test_a_real_watch_records_the_widened_interval(tmp_path: Path) -> None:
    torch = pytest.importorskip("torch")
    import lossexpert

    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(8, 16), torch.nn.ReLU(), torch.nn.Linear(16, 2))
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    x, y = torch.randn(32, 8), torch.randint(0, 2, (32,))
    path = tmp_path / "run.jsonl"
    # A budget no sample can fit: the interval goes to its cap after the dense window.
    with lossexpert.watch(
        model, opt, path, every=5, dense_steps=10, dense_every=2, overhead_budget=1e-9
    ) as run:
        for _ in range(200):
            loss = torch.nn.functional.cross_entropy(model(x), y)
            opt.zero_grad()
            loss.backward()
            opt.step()
            run.log("train", loss)
    records = [json.loads(line) for line in path.read_text().splitlines()]
    events = [r for r in records if r["type"] == "event" and r["kind"] == "sampling_interval"]
    assert events and events[0]["every"] == 1000
    sampled = [r["step"] for r in records if r["type"] == "layers"]
    assert sampled[:5] == [0, 2, 4, 6, 8]  # the dense window, untouched
    assert all(s <= events[0]["step"] for s in sampled)  # nothing after the widening
    loaded = lossexpert.load_run(path).run  # the event reads back; the run is whole
    assert len(loaded.curves["train"].loss) == 200


def test_a_samples_cost_is_read_over_the_steps_around_it() -> None:
    # Half of a 0.4 ms sample lands in the step before it (activation hooks attached there):
    # read over its window, the sample still costs 0.4 ms, so 80 steps per sample.
    schedule = Schedule(50, 200, 10, budget=0.005)

    def seconds(step: int, sampled: bool) -> float:
        return 0.0012 if sampled or schedule.sampled(step + 1) else 0.001

    assert drive(schedule, seconds, 2000) == [80]


def test_a_costlier_sample_now_and_then_counts_and_an_evaluation_pass_counts_little() -> None:
    # 1 ms steps, samples 0.4 ms more, every 4th 1.2 ms more (it copies the buffered rows):
    # the collector's own cost, so the mean of the windows counts it, 0.6 ms: 120 steps.
    seen = [0]

    def drains(step: int, sampled: bool) -> float:
        if not sampled:
            return 0.001
        seen[0] += 1
        return 0.0022 if seen[0] % 4 == 0 else 0.0014

    schedule = Schedule(50, 200, 10, budget=0.005)
    drive(schedule, drains, 5000)
    # 2 or 3 of the last 8 windows are costlier: 0.6-0.7 ms, 120-140 steps; the median alone
    # would keep 80.
    assert 115 <= schedule.every <= 145
    # An evaluation pass of 5 s in one sample's window counts as at most 3x a sample.
    def evaluation(step: int, sampled: bool) -> float:
        if step == 1599:  # the step before sample 1600, once 8 windows are in
            return 5.0
        return 0.0014 if sampled else 0.001

    chosen = drive(Schedule(50, 200, 10, budget=0.005), evaluation, 3000)
    assert chosen and max(chosen) <= 100  # (7 x 0.4 + 1.2) / 8 = 0.5 ms: 100 steps at most


def test_with_no_plain_step_between_samples_the_interval_stays_as_asked() -> None:
    # every=1 or 2: each step is a sample or its neighbour, so there is no plain step to
    # measure a sample against; every=3 leaves one, and a budget no sample fits widens it.
    for every, expected in ((1, 1), (2, 2), (3, 1000)):
        schedule = Schedule(every, 200, 10, budget=1e-9)
        feed(schedule, 0.001, 0.002, 3000)
        assert schedule.every == expected, every
