"""The live PyTorch collector: right steps, right facts, never breaks training, loses nothing."""

from __future__ import annotations

import gc
import json
import os
import signal
import subprocess
import sys
import textwrap
import time
import weakref
from pathlib import Path
from typing import Any

import pytest

torch = pytest.importorskip("torch")
from torch import nn  # noqa: E402

import lossexpert  # noqa: E402


def tiny_problem(seed: int = 0) -> tuple[Any, Any, Any]:
    torch.set_num_threads(1)
    torch.manual_seed(seed)
    x = torch.randn(256, 10)
    y = (x[:, 0] + 0.5 * x[:, 1] > 0).long()
    loader = torch.utils.data.DataLoader(
        torch.utils.data.TensorDataset(x, y), batch_size=16, shuffle=True
    )
    return x, y, loader


def mlp() -> nn.Module:
    return nn.Sequential(
        nn.Linear(10, 32), nn.ReLU(), nn.Linear(32, 32), nn.Tanh(), nn.Linear(32, 2)
    )


def records(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def test_records_config_curves_layers_and_data(tmp_path: Path) -> None:
    x, y, loader = tiny_problem()
    model = mlp()
    opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9, weight_decay=1e-4)
    crit = nn.CrossEntropyLoss()
    path = tmp_path / "run.jsonl"
    with lossexpert.watch(
        model,
        opt,
        path,
        criterion=crit,
        loader=loader,
        config={"task": "classification", "epochs": 3},
        every=5,
        dense_steps=0,
        overhead_budget=None,  # exactly every 5th step (the budget would widen it: tiny model)
    ) as run:
        for epoch in range(3):
            for xb, yb in loader:
                loss = crit(model(xb), yb)
                opt.zero_grad()
                loss.backward()
                opt.step()
                run.log("train", loss, epoch=epoch)
            model.eval()
            with torch.no_grad():
                run.log("val", crit(model(x[:64]), y[:64]).item(), epoch=epoch + 1, accuracy=0.5)
            model.train()
    loaded = lossexpert.load_run(path).run
    cfg = loaded.config
    assert cfg.optimizer is not None and cfg.optimizer.name == "sgd"
    assert cfg.optimizer.momentum == 0.9 and cfg.learning_rate == 0.05
    assert cfg.batch_size == 16 and cfg.shuffle is True and cfg.steps_per_epoch == 16
    assert cfg.loss == "cross_entropy" and cfg.num_classes == 2 and cfg.epochs == 3
    assert cfg.model is not None and cfg.model.depth == 3
    assert cfg.model.activations == ["relu", "tanh"] and cfg.model.hidden_sizes == [32, 32]
    assert len(loaded.curves["train"].loss) == 48
    assert loaded.curves["train"].steps()[-1] == 48  # steps count optimizer updates
    assert loaded.curves["val"].metrics["accuracy"] == [0.5, 0.5, 0.5]
    names = [L.name.split()[0] for L in loaded.layers]  # "0" or "0 (Linear)"
    assert names == ["0", "2", "4"]
    first = loaded.layers[0]
    assert first.step == list(range(0, 48, 5))
    assert first.activation == "relu" and first.dead_fraction is not None
    assert loaded.layers[1].activation == "tanh" and loaded.layers[1].saturated_fraction
    assert all(g is not None and g > 0 for g in first.grad_norm or [])
    assert all(0 < u < 1 for u in first.update_ratio or [])
    assert first.fan_in == 10 and first.init_weight_std and first.init_weight_std > 0
    train = loaded.data["train"]
    assert train.label_counts and sum(train.label_counts.values()) == 16 * 20
    assert train.feature_mean and len(train.feature_mean) == 10
    assert train.ordered_batch_fraction is not None and train.ordered_batch_fraction < 0.2
    assert cfg.lr_schedule is not None and set(cfg.lr_schedule.value) == {0.05}
    assert records(path)[-1]["type"] == "end"


def test_steps_count_optimizer_updates_not_forwards(tmp_path: Path) -> None:
    x, _y, loader = tiny_problem()
    model = mlp()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    crit = nn.CrossEntropyLoss()
    path = tmp_path / "accum.jsonl"
    with lossexpert.watch(model, opt, path, criterion=crit) as run:
        for i, (xb, yb) in enumerate(loader):  # 16 batches, accumulate 4 -> 4 updates
            loss = crit(model(xb), yb) / 4
            loss.backward()
            model(xb)  # a second forward in the same step
            model.eval()
            with torch.no_grad():
                model(x[:8])  # evaluation inside training
            model.train()
            if (i + 1) % 4 == 0:
                opt.step()
                opt.zero_grad()
                run.log("train", loss * 4)
    assert run.step == 4
    steps = lossexpert.load_run(path).run.curves["train"].steps()
    assert steps == [1, 2, 3, 4]


def test_a_failing_hook_warns_once_and_training_goes_on(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _x, _y, loader = tiny_problem()
    model = mlp()
    opt = torch.optim.SGD(model.parameters(), lr=0.05)
    crit = nn.CrossEntropyLoss()

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("boom inside the collector")

    monkeypatch.setattr(torch, "_foreach_norm", broken)
    path = tmp_path / "broken.jsonl"
    with (
        pytest.warns(RuntimeWarning, match="layers collection failed") as caught,
        lossexpert.watch(model, opt, path, criterion=crit, every=1) as run,
    ):
        for _ in range(2):
            for xb, yb in loader:
                loss = crit(model(xb), yb)
                opt.zero_grad()
                loss.backward()
                opt.step()
                run.log("train", loss)
    assert sum("layers collection failed" in str(w.message) for w in caught) == 1
    assert run.step == 32  # training finished
    loaded = lossexpert.load_run(path).run
    assert len(loaded.curves["train"].loss) == 32  # and the run was still written
    assert lossexpert.diagnose(path).run.name == "broken"


def test_hooks_are_removed_and_nothing_keeps_the_model_alive(tmp_path: Path) -> None:
    _x, _y, loader = tiny_problem()
    model = mlp()
    opt = torch.optim.SGD(model.parameters(), lr=0.05)
    crit = nn.CrossEntropyLoss()
    with (
        pytest.raises(ValueError, match="user error"),
        lossexpert.watch(model, opt, tmp_path / "exc.jsonl", criterion=crit) as run,
    ):
        for xb, yb in loader:
            loss = crit(model(xb), yb)
            opt.zero_grad()
            loss.backward()
            opt.step()
            run.log("train", loss)
            raise ValueError("user error")
    assert not opt._optimizer_step_pre_hooks and not opt._optimizer_step_post_hooks
    assert all(not m._forward_hooks and not m._forward_pre_hooks for m in model.modules())
    assert not crit._forward_pre_hooks
    assert records(tmp_path / "exc.jsonl")[-1]["type"] == "end"
    ref = weakref.ref(model)
    del model, opt, run
    gc.collect()
    assert ref() is None


def test_memory_stays_flat(tmp_path: Path) -> None:
    model = nn.Linear(4, 2)
    opt = torch.optim.SGD(model.parameters(), lr=0.01)
    xb, yb = torch.randn(8, 4), torch.randint(0, 2, (8,))
    crit = nn.CrossEntropyLoss()
    with lossexpert.watch(model, opt, tmp_path / "long.jsonl", criterion=crit) as run:
        for i in range(3000):
            loss = crit(model(xb), yb)
            opt.zero_grad()
            loss.backward()
            opt.step()
            run.log("train", loss)
            if i in (1000, 2999):
                held = (len(run._pending_losses), run._layers.pending)
                assert held[0] < run.loss_transfer_every and held[1] < run.transfer_every
    assert len(lossexpert.load_run(tmp_path / "long.jsonl").run.curves["train"].loss) == 3000


def test_amp_skipped_steps_are_counted(tmp_path: Path) -> None:
    model = nn.Linear(4, 2)
    opt = torch.optim.SGD(model.parameters(), lr=0.01)

    class SkippingScaler:
        """Stands in for GradScaler.step when it finds inf gradients: no optimizer step."""

        def __init__(self) -> None:
            self.calls = 0

        def step(self, optimizer: Any) -> None:
            self.calls += 1
            if self.calls % 2 == 0:
                optimizer.step()

    scaler = SkippingScaler()
    path = tmp_path / "amp.jsonl"
    with lossexpert.watch(model, opt, path, scaler=scaler) as run:
        for _ in range(6):
            loss = model(torch.randn(3, 4)).sum()
            opt.zero_grad()
            loss.backward()
            scaler.step(opt)
            run.log("train", loss)
    skipped = [r for r in records(path) if r.get("kind") == "amp_skipped_step"]
    assert len(skipped) == 3 and run.step == 3
    assert "step" not in vars(scaler)  # our wrapper is gone


KILL_SCRIPT = textwrap.dedent("""
    import sys, torch, lossexpert
    from torch import nn
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, 2))
    opt = torch.optim.SGD(model.parameters(), lr=0.05)
    crit = nn.CrossEntropyLoss()
    x, y = torch.randn(64, 8), torch.randint(0, 2, (64,))
    run = lossexpert.watch(model, opt, sys.argv[1], criterion=crit, flush_records=20,
                           flush_seconds=0.05, loss_transfer_every=8, transfer_every=2)
    step = 0
    while True:
        loss = crit(model(x), y)
        opt.zero_grad(); loss.backward(); opt.step()
        run.log("train", loss)
        step += 1
        if step == 200:
            print("ready", flush=True)
""")


def test_sigkill_leaves_a_readable_run(tmp_path: Path) -> None:
    script = tmp_path / "train.py"
    script.write_text(KILL_SCRIPT)
    path = tmp_path / "killed.jsonl"
    proc = subprocess.Popen(
        [sys.executable, str(script), str(path)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == "ready"
        time.sleep(0.3)
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    text = path.read_text()
    assert '"type":"end"' not in text  # it really died mid-run
    loaded = lossexpert.load_run(path)
    assert len(loaded.run.curves["train"].loss) >= 150
    assert loaded.run.layers and loaded.run.layers[0].grad_norm
    diagnosis = lossexpert.diagnose(path)
    assert diagnosis.run.source == str(path)
    # A torn last line (as a kill mid-write leaves) is ignored with a warning.
    torn = tmp_path / "torn.jsonl"
    torn.write_text(text.rstrip("\n") + "\n" + '{"type":"loss","split":"tr')
    loaded_torn = lossexpert.load_run(torn)
    assert any("torn last line" in w for w in loaded_torn.warnings)
    assert len(loaded_torn.run.curves["train"].loss) == len(loaded.run.curves["train"].loss)


DDP_SCRIPT = textwrap.dedent("""
    import os, sys, torch, torch.distributed as dist, lossexpert
    from torch import nn
    rank, world = int(sys.argv[2]), 2
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=sys.argv[3])
    dist.init_process_group("gloo", rank=rank, world_size=world)
    torch.manual_seed(0)
    model = nn.parallel.DistributedDataParallel(
        nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, 2)))
    opt = torch.optim.SGD(model.parameters(), lr=0.05)
    crit = nn.CrossEntropyLoss()
    torch.manual_seed(100 + rank)  # each rank sees different data
    x, y = torch.randn(32, 8), torch.randint(0, 2, (32,))
    with lossexpert.watch(model, opt, sys.argv[1], criterion=crit, every=1, dense_every=1,
                          average_across_ranks=True) as run:
        for _ in range(5):
            loss = crit(model(x), y)
            opt.zero_grad(); loss.backward(); opt.step()
            run.log("train", loss)
            local = torch.tensor([loss.item()])
            dist.all_reduce(local)
            if rank == 0:
                print("mean", local.item() / world, flush=True)
    print("grad", rank, model.module[0].weight.grad.norm().item(), flush=True)
    dist.destroy_process_group()
    # Gloo's threads can abort a rank at interpreter teardown ("terminate called without an
    # active exception", 1 run in 10 here) after all the work is done: leave without it.
    sys.stdout.flush()
    os._exit(0)
""")


def test_ddp_two_processes_only_rank0_writes(tmp_path: Path) -> None:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = str(s.getsockname()[1])
    script = tmp_path / "ddp.py"
    script.write_text(DDP_SCRIPT)
    path = tmp_path / "ddp.jsonl"
    procs = [
        subprocess.Popen(
            [sys.executable, str(script), str(path), str(rank), port],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for rank in (0, 1)
    ]
    outs = [p.communicate(timeout=180) for p in procs]
    for p, (_out, err) in zip(procs, outs, strict=True):
        assert p.returncode == 0, err
    lines = records(path)
    assert sum(1 for r in lines if r["type"] == "header") == 1  # rank 1 wrote nothing
    means = [float(line.split()[1]) for line in outs[0][0].splitlines() if line.startswith("mean")]
    logged = [r["value"] for r in lines if r["type"] == "loss"]
    logged += [v for r in lines if r["type"] == "losses" for v in r["value"]]
    assert logged == pytest.approx(means, rel=1e-5)  # each logged loss is the ranks' mean
    grads = {
        line.split()[1]: float(line.split()[2])
        for out, _ in outs
        for line in out.splitlines()
        if line.startswith("grad")
    }
    assert grads["0"] == pytest.approx(grads["1"])  # identical after all-reduce
    layer = lossexpert.load_run(path).run.layers[0]
    assert layer.name.split()[0] == "0" and len(layer.step) == 5


def test_the_batch_size_is_read_from_the_first_forward_without_a_loader(tmp_path: Path) -> None:
    # Dead-unit counts depend on the batch size; without loader= it is seen in the model's
    # first training forward: a (batch, outputs) output whose first dimension is the input's.
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 3))
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    x, y = torch.randn(12, 4), torch.randint(0, 3, (12,))
    path = tmp_path / "run.jsonl"
    with lossexpert.watch(model, opt, path=path) as run:
        for i in range(6):
            loss = nn.functional.cross_entropy(model(x[2 * i : 2 * i + 2]), y[2 * i : 2 * i + 2])
            opt.zero_grad()
            loss.backward()
            opt.step()
            run.log("train", loss)
    config = lossexpert.load_run(path).run.config
    assert config.batch_size == 2 and config.model is not None and config.model.output_width == 3


def test_plain_train_losses_are_written_column_wise_and_read_back_exactly(tmp_path: Path) -> None:
    # The train loss logged every step goes in one "losses" record per batched copy; a val
    # loss with an epoch and a metric keeps its own "loss" record, in order.
    x, y, loader = tiny_problem()
    model = mlp()
    opt = torch.optim.SGD(model.parameters(), lr=0.05)
    crit = nn.CrossEntropyLoss()
    path = tmp_path / "run.jsonl"
    logged: list[float] = []
    with lossexpert.watch(model, opt, path, criterion=crit, loss_transfer_every=10) as run:
        for epoch in range(2):
            for xb, yb in loader:
                loss = crit(model(xb), yb)
                opt.zero_grad()
                loss.backward()
                opt.step()
                run.log("train", loss)
                logged.append(loss.item())
            run.log("val", crit(model(x), y).detach(), epoch=epoch + 1, accuracy=0.5)
    kinds = [r["type"] for r in records(path)]
    assert kinds.count("losses") >= 3 and kinds.count("loss") == 2
    curves = lossexpert.load_run(path).run.curves
    assert curves["train"].loss == pytest.approx(logged, rel=1e-6)
    assert curves["train"].steps() == list(range(1, len(logged) + 1))
    assert len(curves["val"].loss) == 2 and curves["val"].metrics["accuracy"] == [0.5, 0.5]


def test_a_cpu_loss_is_read_at_once_and_a_held_one_is_copied_in_order(tmp_path: Path) -> None:
    # On the CPU the number is read when logged (no sync to save, and keeping 256 loss
    # tensors alive costs more than reading them); a loss the collector must hold (here one
    # to average across ranks, with no process group: kept as it is) is copied at the flush.
    # Both kinds, interleaved, come back in order and exact.
    _, _, loader = tiny_problem()
    model = mlp()
    opt = torch.optim.SGD(model.parameters(), lr=0.05)
    crit = nn.CrossEntropyLoss()
    path = tmp_path / "run.jsonl"
    logged: list[float] = []
    with lossexpert.watch(model, opt, path, criterion=crit, loss_transfer_every=7) as run:
        for i, (xb, yb) in enumerate(loader):
            loss = crit(model(xb), yb)
            opt.zero_grad()
            loss.backward()
            opt.step()
            run.average_across_ranks = i % 2 == 1  # every other loss is held as a tensor
            run.log("train", loss)
            logged.append(loss.item())
            kinds = {type(entry[3]) for entry in run._pending_losses}
            assert kinds <= {float, torch.Tensor}
            if i == 0:
                assert kinds == {float}
    curves = lossexpert.load_run(path).run.curves
    assert curves["train"].loss == pytest.approx(logged, rel=1e-6)
    assert curves["train"].steps() == list(range(1, len(logged) + 1))


def test_a_losses_record_with_unequal_columns_is_refused_naming_the_line(tmp_path: Path) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text(
        '{"type": "header", "format": "lossexpert.run/1"}\n'
        '{"type": "losses", "split": "train", "step": [1, 2, 3], "value": [2.3, 2.2]}\n'
    )
    with pytest.raises(lossexpert.RunSchemaError, match=r"line 2.*step has 3 entries"):
        lossexpert.load_run(path)


def test_a_plain_step_calls_no_pre_step_hook_and_a_sampled_one_gets_its_statistics(
    tmp_path: Path,
) -> None:
    """The pre-step hook exists only before the steps that need it: a plain step's optimizer
    has none of ours (the post-step hook, which counts steps, is the only one left)."""
    x, y, _ = tiny_problem()
    model = mlp()
    opt = torch.optim.SGD(model.parameters(), lr=0.05)
    hooks_before: dict[int, int] = {}
    with lossexpert.watch(
        model,
        opt,
        tmp_path / "run.jsonl",
        every=20,
        dense_steps=40,
        dense_every=5,
        overhead_budget=None,
    ) as run:
        for step in range(200):
            hooks_before[step] = len(opt._optimizer_step_pre_hooks)
            loss = nn.functional.cross_entropy(model(x), y)
            opt.zero_grad()
            loss.backward()
            opt.step()
            run.log("train", loss)
        assert len(opt._optimizer_step_post_hooks) == 1
    assert len(opt._optimizer_step_pre_hooks) == 0 and len(opt._optimizer_step_post_hooks) == 0
    # Sampled steps (every 5th of the first 40, then every 20th) have it, and so does the step
    # after each of the first samples (the gradient-reset look); late plain steps do not.
    assert all(hooks_before[s] == 1 for s in (0, 5, 35, 40, 60, 180))
    assert all(hooks_before[s] == 0 for s in (61, 75, 99, 150, 199))
    first = lossexpert.load_run(tmp_path / "run.jsonl").run.layers[0]
    sampled = [int(s) for s in first.step]
    assert sampled[:8] == [0, 5, 10, 15, 20, 25, 30, 35] and 180 in sampled
    ratios = first.update_ratio or []
    assert len(ratios) == len(sampled)  # the pre-step part ran at every sample
    assert all(r is not None and r > 0 for r in ratios)


class _Recurrent(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.lstm = nn.LSTM(3, 24, num_layers=2, batch_first=True)
        self.attn = nn.MultiheadAttention(24, 2, batch_first=True)
        self.head = nn.Linear(24, 2)

    def forward(self, x: Any) -> Any:
        h, _ = self.lstm(x)
        a, _ = self.attn(h, h, h)
        out: Any = self.head(a[:, -1])
        return out


def test_recurrent_and_attention_weights_are_layers(tmp_path: Path) -> None:
    # An LSTM keeps its weights as weight_ih_l{k}/weight_hh_l{k} (no `.weight`) and attention
    # its packed input projection: before, only the Linear head was described, so a recurrent
    # net's gradients were never seen.
    torch.manual_seed(0)
    model = _Recurrent()
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    x, y = torch.randn(64, 6, 3), torch.randint(0, 2, (64,))
    path = tmp_path / "rnn.jsonl"
    with lossexpert.watch(model, opt, path, overhead_budget=None) as run:
        for _ in range(12):
            loss = nn.functional.cross_entropy(model(x), y)
            opt.zero_grad()
            loss.backward()
            opt.step()
            run.log("train", loss)
    loaded = lossexpert.load_run(path).run
    layers = {L.name: L for L in loaded.layers}
    expected = [f"lstm.weight_{k}_l{i}" for i in (0, 1) for k in ("ih", "hh")]
    assert [n for n in layers if n.startswith("lstm")] == expected
    assert "attn.in_proj_weight" in layers and "head" in layers
    for name in expected:
        L = layers[name]
        assert L.type == "LSTM" and L.fan_in == 24  # the hidden size the default init uses
        # PyTorch's U(-1/sqrt(h), 1/sqrt(h)): std x sqrt(h) = 1/sqrt(3), a healthy init scale.
        assert L.init_weight_std is not None
        assert abs(L.init_weight_std * 24**0.5 - 3**-0.5) < 0.05
        assert L.grad_norm and all(g > 0 for g in L.grad_norm)
    assert loaded.config.model is not None
    # Two stacked LSTM layers, the attention's output projection, the head.
    assert loaded.config.model.depth == 4


def test_a_second_run_on_the_same_path_is_appended_and_is_the_one_read(tmp_path: Path) -> None:
    # Re-running a script with the same path used to give a file whose steps go backwards:
    # "steps must not decrease", exit 2. Now: a warning when the second watch starts, the
    # earlier run kept in the file, the latest one read back (with a warning saying so).
    _, _, loader = tiny_problem()
    path = tmp_path / "exp.jsonl"
    for lr in (0.1, 0.01):
        torch.manual_seed(0)
        model = mlp()
        opt = torch.optim.SGD(model.parameters(), lr=lr)
        if lr == 0.01:
            with pytest.warns(RuntimeWarning, match="already holds a run"):
                run = lossexpert.watch(model, opt, path)
        else:
            run = lossexpert.watch(model, opt, path)
        with run:
            for xb, yb in loader:
                loss = nn.functional.cross_entropy(model(xb), yb)
                opt.zero_grad()
                loss.backward()
                opt.step()
                run.log("train", loss)
    assert path.read_text().count('"type":"header"') == 2
    loaded = lossexpert.load_run(path)
    assert loaded.run.config.learning_rate == 0.01 or (
        loaded.run.config.optimizer is not None and loaded.run.config.optimizer.lr == 0.01
    )
    assert len(loaded.run.curves["train"].loss) == len(loader)
    assert any("another run in the same file" in w for w in loaded.warnings)


@pytest.mark.parametrize("steps", [0, 3, 40])
def test_the_watched_model_can_be_deep_copied_and_saved_whole(tmp_path: Path, steps: int) -> None:
    """A best-checkpoint snapshot (``copy.deepcopy(model)``), an EMA model and
    ``torch.save(model)`` during training: the hooks are part of the module's state, and
    before they dragged the collector (its file, locks, weak references) into the copy, which
    failed. The copy is the model without the collector; the original keeps recording."""
    import copy
    import io

    x, y, loader = tiny_problem()
    model = mlp()
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    crit = nn.CrossEntropyLoss()
    path = tmp_path / "run.jsonl"
    with lossexpert.watch(model, opt, path, criterion=crit, loader=loader) as run:
        batches = (batch for _ in range(10) for batch in loader)

        def step() -> None:
            xb, yb = next(batches)
            loss = crit(model(xb), yb)
            opt.zero_grad()
            loss.backward()
            opt.step()
            run.log("train", loss)

        for _ in range(steps):
            step()
        snapshot = copy.deepcopy(model)
        buffer = io.BytesIO()
        torch.save(model, buffer)
        buffer.seek(0)
        restored = torch.load(buffer, weights_only=False)
        for copied in (snapshot, restored):
            # The copies compute what the model computes, and run no collector code.
            assert torch.equal(copied(x), model(x))
            copied_opt = torch.optim.SGD(copied.parameters(), lr=0.1)
            crit(copied(x[:16]), y[:16]).backward()
            copied_opt.step()
        recorded = run.step
        step()
        assert run.step == recorded + 1  # the original is still watched
        run.log("val", 0.5)
    assert len(lossexpert.load_run(path).run.curves["train"].loss) == steps + 1
