"""Which optimizer steps are sampled: dense early (where most failures show), sparse later."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Schedule:
    """Every ``dense_every`` steps for the first ``dense_steps``, then every ``every``.

    Defaults (10 / 200 / 50): the first few hundred updates are where divergence, dead units
    and vanishing gradients appear (FIELD-NOTES: most loss-not-decreasing bugs show within the
    first epoch), so they are sampled five times as densely as the rest of the run.
    """

    every: int = 50
    dense_steps: int = 200
    dense_every: int = 10

    def __post_init__(self) -> None:
        object.__setattr__(self, "every", max(1, self.every))
        object.__setattr__(self, "dense_every", max(1, self.dense_every))

    def sampled(self, step: int) -> bool:
        if step < self.dense_steps:
            return step % self.dense_every == 0
        return step % self.every == 0
