"""Hugging Face ``Trainer`` adapter: a ``TrainerCallback`` that feeds ``lossexpert.watch``.

    from lossexpert.collectors.hf import LossexpertTrainerCallback
    trainer = Trainer(..., callbacks=[LossexpertTrainerCallback("runs/exp1.jsonl")])

The gradient/update statistics come from the optimizer's own step hooks (the Trainer's
optimizer wrapper is unwrapped); the losses from the Trainer's logs: ``loss`` (the mean over
each logging window) as train, ``eval_loss`` as val, ``test_loss`` as test. A NaN the Trainer's
``logging_nan_inf_filter`` hid from its loss is still visible in the recorded gradients.
Imported only when used: lossexpert does not depend on transformers.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from transformers import TrainerCallback

from lossexpert.collectors.torch_watch import Watch


class LossexpertTrainerCallback(TrainerCallback):  # type: ignore[misc, unused-ignore]
    def __init__(self, path: str | Path, **watch_options: Any) -> None:
        self.path = Path(path)
        self.options = watch_options
        self.run: Watch | None = None

    def on_train_begin(
        self,
        args: Any,
        state: Any,
        control: Any,
        model: Any = None,
        optimizer: Any = None,
        train_dataloader: Any = None,
        **kwargs: Any,
    ) -> None:
        if model is None or optimizer is None:
            return
        config = {
            "batch_size": args.per_device_train_batch_size
            * max(1, args.gradient_accumulation_steps),
            "epochs": int(args.num_train_epochs) if state.max_steps <= 0 else None,
            "max_steps": state.max_steps if state.max_steps > 0 else None,
            "learning_rate": args.learning_rate,
            "weight_decay": args.weight_decay,
        }
        config.update(self.options.pop("config", {}) or {})
        self.run = Watch(
            model,
            optimizer,
            self.path,
            loader=train_dataloader,
            config={k: v for k, v in config.items() if v is not None},
            **self.options,
        )

    def on_log(
        self, args: Any, state: Any, control: Any, logs: dict[str, Any] | None = None, **kwargs: Any
    ) -> None:
        if self.run is None or not logs:
            return
        step, epoch = state.global_step, state.epoch
        for key, split in (("loss", "train"), ("eval_loss", "val"), ("test_loss", "test")):
            if key in logs and isinstance(logs[key], int | float):
                self.run.log(split, float(logs[key]), step=step, epoch=epoch)

    def on_train_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        if self.run is not None:
            self.run.close()
