"""The Lightning and Hugging Face adapters, each on a real tiny offline training run."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

torch = pytest.importorskip("torch")

import lossexpert  # noqa: E402


def records(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def test_lightning_callback(tmp_path: Path) -> None:
    pl = pytest.importorskip("lightning.pytorch")
    from torch import nn

    from lossexpert.collectors.lightning import LossexpertCallback

    class Model(pl.LightningModule):  # type: ignore[misc]
        def __init__(self) -> None:
            super().__init__()
            self.net = nn.Sequential(nn.Linear(6, 16), nn.ReLU(), nn.Linear(16, 3))
            self.loss = nn.CrossEntropyLoss()

        def training_step(self, batch: Any, batch_idx: int) -> Any:
            x, y = batch
            return self.loss(self.net(x), y)

        def validation_step(self, batch: Any, batch_idx: int) -> None:
            x, y = batch
            self.log("val_loss", self.loss(self.net(x), y))

        def configure_optimizers(self) -> Any:
            return torch.optim.Adam(self.parameters(), lr=1e-2)

    torch.manual_seed(0)
    x = torch.randn(96, 6)
    y = x[:, :3].argmax(1)
    data = torch.utils.data.TensorDataset(x, y)
    train = torch.utils.data.DataLoader(data, batch_size=16, shuffle=True)
    val = torch.utils.data.DataLoader(data, batch_size=32)
    path = tmp_path / "lightning.jsonl"
    callback = LossexpertCallback(path, config={"task": "classification"})
    trainer = pl.Trainer(
        max_epochs=4,
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        accelerator="cpu",
        callbacks=[callback],
        num_sanity_val_steps=0,
    )
    trainer.fit(Model(), train, val)
    callback.close()
    run = lossexpert.load_run(path).run
    assert len(run.curves["train"].loss) == 24  # 6 batches x 4 epochs
    assert run.curves["train"].steps()[-1] == 24
    assert len(run.curves["val"].loss) == 4
    assert run.config.optimizer is not None and run.config.optimizer.name == "adam"
    assert run.config.epochs == 4
    assert [L.name for L in run.layers] == ["net.0", "net.2"]
    assert run.layers[0].grad_norm and run.layers[0].dead_fraction is not None
    assert records(path)[-1]["type"] == "end"
    assert lossexpert.diagnose(path).run.name == "lightning"


def test_hf_trainer_callback(tmp_path: Path) -> None:
    transformers = pytest.importorskip("transformers")
    from lossexpert.collectors.hf import LossexpertTrainerCallback
    from tests.fixtures.make_log_fixtures import tiny_bert, token_dataset

    torch.manual_seed(0)
    model = tiny_bert()
    path = tmp_path / "hf.jsonl"
    args = transformers.TrainingArguments(
        output_dir=str(tmp_path / "out"),
        max_steps=24,
        per_device_train_batch_size=8,
        learning_rate=5e-4,
        logging_steps=2,
        eval_strategy="steps",
        eval_steps=8,
        save_strategy="no",
        report_to=[],
        use_cpu=True,
        disable_tqdm=True,
        seed=0,
    )
    trainer = transformers.Trainer(
        model=model,
        args=args,
        train_dataset=token_dataset(96),
        eval_dataset=token_dataset(32),
        callbacks=[LossexpertTrainerCallback(path, every=4, dense_steps=0)],
    )
    trainer.train()
    run = lossexpert.load_run(path).run
    assert run.curves["train"].steps() == list(range(2, 25, 2))
    assert run.curves["val"].steps() == [8, 16, 24]
    assert run.config.max_steps == 24 and run.config.batch_size == 8
    assert run.config.optimizer is not None and run.config.optimizer.name == "adamw"
    names = [L.name for L in run.layers]
    assert "classifier" in names and any("attention" in n for n in names)
    classifier = run.layers[names.index("classifier")]
    assert classifier.step == [0, 4, 8, 12, 16, 20]  # optimizer updates, sampled every 4
    assert all(g is not None and g > 0 for g in classifier.grad_norm or [])
    assert run.config.lr_schedule is not None  # the linear decay is visible
    assert run.config.lr_schedule.value[0] > run.config.lr_schedule.value[-1]
    assert lossexpert.diagnose(path).run.name == "hf"
