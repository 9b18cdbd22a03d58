"""PyTorch Lightning adapter: a ``Callback`` that feeds ``lossexpert.watch``.

    from lossexpert.collectors.lightning import LossexpertCallback
    trainer = Trainer(callbacks=[LossexpertCallback("runs/exp1.jsonl")])

Train losses come from what ``training_step`` returns (a tensor: no sync); val/test losses
from ``trainer.callback_metrics`` at the end of each val/test epoch (``val_key``/``test_key``).
Imported only when used: lossexpert does not depend on Lightning.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

try:  # Lightning 2.x ships as `lightning`; older installs as `pytorch_lightning`
    from lightning.pytorch.callbacks import Callback
except ImportError:  # pragma: no cover - depends on what is installed
    from pytorch_lightning.callbacks import (  # type: ignore[assignment, unused-ignore]
        Callback,
    )

from lossexpert.collectors.torch_watch import Watch


class LossexpertCallback(Callback):  # type: ignore[misc, unused-ignore]
    def __init__(
        self,
        path: str | Path,
        *,
        val_key: str = "val_loss",
        test_key: str = "test_loss",
        **watch_options: Any,
    ) -> None:
        super().__init__()
        self.path = Path(path)
        self.val_key, self.test_key = val_key, test_key
        self.options = watch_options
        self.run: Watch | None = None

    def on_fit_start(self, trainer: Any, pl_module: Any) -> None:
        if not trainer.optimizers:
            return
        config = {
            "epochs": trainer.max_epochs if trainer.max_epochs and trainer.max_epochs > 0 else None,
            "max_steps": trainer.max_steps if trainer.max_steps and trainer.max_steps > 0 else None,
        }
        config.update(self.options.pop("config", {}) or {})
        self.run = Watch(
            pl_module,
            trainer.optimizers[0],
            self.path,
            config={k: v for k, v in config.items() if v is not None},
            **self.options,
        )

    def on_train_batch_end(
        self, trainer: Any, pl_module: Any, outputs: Any, batch: Any, batch_idx: int
    ) -> None:
        loss = outputs.get("loss") if isinstance(outputs, dict) else outputs
        if self.run is not None and loss is not None:
            self.run.log("train", loss, epoch=trainer.current_epoch + 1)

    def on_validation_epoch_end(self, trainer: Any, pl_module: Any) -> None:
        self._log_metric(trainer, "val", self.val_key)

    def on_test_epoch_end(self, trainer: Any, pl_module: Any) -> None:
        self._log_metric(trainer, "test", self.test_key)

    def _log_metric(self, trainer: Any, split: str, key: str) -> None:
        value = trainer.callback_metrics.get(key)
        if self.run is not None and value is not None and not trainer.sanity_checking:
            self.run.log(split, value, epoch=trainer.current_epoch + 1)

    def on_fit_end(self, trainer: Any, pl_module: Any) -> None:
        if self.run is not None:
            self.run.pause()  # keep the file open for a following trainer.test()

    def teardown(self, trainer: Any, pl_module: Any, stage: str) -> None:
        if self.run is not None and stage != "fit":
            self.run.close()

    def on_exception(self, trainer: Any, pl_module: Any, exception: BaseException) -> None:
        if self.run is not None:
            self.run.close()

    def close(self) -> None:
        if self.run is not None:
            self.run.close()
