"""Faults around the collector never stop training: a disk that fills up or turns read-only
mid-run, and a long run (100k steps) whose memory must stay flat."""

from __future__ import annotations

import errno
import os
import shutil
import subprocess
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

torch = pytest.importorskip("torch")
from torch import nn  # noqa: E402

import lossexpert  # noqa: E402


def train(run: Any, model: nn.Module, opt: Any, steps: int) -> None:
    crit = nn.CrossEntropyLoss()
    x, y = torch.randn(16, 6), torch.randint(0, 2, (16,))
    for _ in range(steps):
        loss = crit(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        run.log("train", loss)


def setup(tmp: Path, name: str, **options: Any) -> tuple[Any, nn.Module, Any]:
    torch.set_num_threads(1)
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(6, 8), nn.ReLU(), nn.Linear(8, 2))
    opt = torch.optim.SGD(model.parameters(), lr=0.05)
    run = lossexpert.watch(
        model, opt, tmp / name, loss_transfer_every=8, flush_records=10, **options
    )
    return run, model, opt


@pytest.mark.parametrize(
    ("code", "partial"),
    [(errno.ENOSPC, False), (errno.ENOSPC, True), (errno.EROFS, False)],
    ids=["disk-full", "disk-full-mid-line", "read-only"],
)
def test_write_fault_mid_run_warns_once_and_training_goes_on(
    tmp_path: Path, code: int, partial: bool
) -> None:
    """The writer's raw write fails from step 100 on (as ``os.write`` does when the disk is
    full or the file system was remounted read-only); with ``partial`` the failing write
    first puts half its bytes on disk, as a short write before ENOSPC does.

    Read-only is simulated only: the file is open, and POSIX checks permissions at open, so
    ``chmod`` of the folder (as root, or not) never fails a write; ``mount -o remount,ro``
    is refused while a file is open for writing. What does fail an open file's writes is
    the kernel forcing the file system read-only (ext4 ``errors=remount-ro``): ``EROFS``."""
    run, model, opt = setup(tmp_path, "fault.jsonl")
    train(run, model, opt, 100)
    writer = run._sink.writer
    assert writer is not None
    real_write = writer._raw_write

    def failing(fd: int, data: memoryview) -> int:
        if partial and len(data) > 1:
            real_write(fd, data[: len(data) // 2])
        raise OSError(code, os.strerror(code))

    writer._raw_write = failing  # type: ignore[method-assign]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        train(run, model, opt, 200)
        run.close()
    ours = [w for w in caught if "lossexpert.watch" in str(w.message)]
    assert len(ours) == 1 and ours[0].category is RuntimeWarning
    assert os.strerror(code) in str(ours[0].message) and "training goes on" in str(ours[0].message)
    assert run.step == 300  # training finished
    loaded = lossexpert.load_run(tmp_path / "fault.jsonl")
    assert not loaded.warnings  # cut back to the last complete line: no torn line
    losses = loaded.run.curves["train"].loss
    assert 80 <= len(losses) <= 100  # what was flushed before the fault, nothing after


@pytest.fixture
def small_tmpfs(tmp_path: Path) -> Iterator[Path]:
    """A real 64 KiB tmpfs (needs root with CAP_SYS_ADMIN; skipped elsewhere)."""
    mount = shutil.which("mount")
    target = tmp_path / "mnt"
    target.mkdir()
    if mount is None or os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root")
    done = subprocess.run(
        [mount, "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(target)],
        capture_output=True,
        check=False,
    )
    if done.returncode:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.decode().strip()}")
    try:
        yield target
    finally:
        subprocess.run(["umount", "-l", str(target)], check=False)


def test_a_real_disk_fills_up(small_tmpfs: Path) -> None:
    run, model, opt = setup(small_tmpfs, "full.jsonl", every=1, dense_every=1)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        train(run, model, opt, 800)  # ~200 KB of records (every step sampled) into 64 KiB
        run.close()
    ours = [str(w.message) for w in caught if "lossexpert.watch" in str(w.message)]
    assert len(ours) == 1 and "No space left on device" in ours[0], ours
    assert run.step == 800
    loaded = lossexpert.load_run(small_tmpfs / "full.jsonl")
    assert not loaded.warnings and loaded.run.layers[0].grad_norm
    assert 0 < len(loaded.run.curves["train"].loss) < 800


def _rss_kb() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") // 1024


@pytest.mark.skipif(not Path("/proc/self/statm").exists(), reason="needs Linux /proc")
def test_100k_steps_keep_memory_flat(tmp_path: Path) -> None:
    """100,000 optimizer steps, each with ``run.log``: the resident set grows by at most
    8 MB between step 20,000 and step 100,000. A leak of one record per step (a dict of
    ~200 bytes) would add 16 MB over those 80,000 steps; a leaked loss tensor (~300 bytes)
    24 MB. The first 20,000 steps are left out: allocator pools and the JSON buffers settle
    there. The step is the optimizer's alone (the gradient is set once), to keep the test
    at a few seconds."""
    torch.set_num_threads(1)
    model = nn.Linear(2, 1)
    opt = torch.optim.SGD(model.parameters(), lr=1e-6)
    for p in model.parameters():
        p.grad = torch.ones_like(p)
    loss = torch.tensor(0.5)
    marks: dict[int, int] = {}
    # Every 50th step sampled (no time budget): the most layer rows a default run writes.
    with lossexpert.watch(model, opt, tmp_path / "long.jsonl", overhead_budget=None) as run:
        for i in range(1, 100_001):
            opt.step()
            run.log("train", loss)
            if i in (20_000, 100_000):
                marks[i] = _rss_kb()
    growth_mb = (marks[100_000] - marks[20_000]) / 1024
    assert growth_mb <= 8, marks
    loaded = lossexpert.load_run(tmp_path / "long.jsonl").run
    assert len(loaded.curves["train"].loss) == 100_000
    assert len(loaded.layers[0].step) == 20 + (100_000 - 200) // 50
