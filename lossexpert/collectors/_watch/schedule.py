"""Which optimizer steps are sampled: dense early (where most failures show), sparse later,
and never more often than the collector's time budget allows."""

from __future__ import annotations

import math
import statistics
from collections import deque

# How many step timings the budget looks at: the median of the last 64 unsampled steps is the
# plain step time (a validation pass or a checkpoint lands in one interval and moves the median
# by nothing); the median of the last 8 sampled ones is what a sample costs, once 3 are seen.
_PLAIN_WINDOW = 64
_SAMPLED_WINDOW = 8
_MIN_PLAIN = 16
_MIN_SAMPLED = 3
# The sampled steps' share of the training time. The collector's whole steady-state cost is
# to stay within 1 % (issue 12's bar for an always-on collector). On the 1.3 ms step of the
# overhead benchmark's MLP (the fastest step it is measured on) every step already pays for
# the post-step hook and ``run.log``: 0.5 % when this budget was set (0.36 % the calls, 0.16 %
# holding and copying the loss tensors), 0.1-0.7 % since a CPU loss is read at once
# (``benchmarks/overhead.py --in-loop``); a quarter of a per cent is left for samples. On a
# step of 10 ms or more the budget never binds: samples stay at every ``every``.
DEFAULT_BUDGET = 0.0025
# Plain steps timed before each sample: the median of the last _PLAIN_WINDOW then spans 8
# sampling intervals. The other steps are not timed at all, so that a plain step's hook stays
# a few attribute reads (no clock read, no reading filed).
_PLAIN_PER_SAMPLE = 8
# A sample's window: the step before it (its activation hooks are attached there), itself and
# the two steps after it (hooks detached, the gradient-reset look, caches refilled). Measured
# in the loop on the 1.3 ms MLP step: +0.05, +0.61, +0.09 and +0.03 ms; the third step after
# is within 0.02 ms of a plain one.
_AFTER = 2
# A sample's cost is the mean of its windows, each counted at most 3x their median: the
# occasional costlier sample (every 16th copies the buffered rows to the host and writes them,
# about 2-2.5x a sample on the MLP) is the collector's and counts whole; an evaluation pass or
# a checkpoint that lands in a window is the user's, and counts at most that much.
_CAP = 3.0


class Schedule:
    """Every ``dense_every`` steps for the first ``dense_steps``, then every ``every``.

    Defaults (10 / 200 / 50): the first few hundred updates are where divergence, dead units
    and vanishing gradients appear (FIELD-NOTES: most loss-not-decreasing bugs show within the
    first epoch), so they are sampled five times as densely as the rest of the run.

    **Time budget.** After the dense window the sparse interval is widened, never narrowed
    below ``every``, so that sampled steps cost at most ``budget`` (a fraction, default
    ``DEFAULT_BUDGET``, 0.25 %) of the training time: with a sample costing ``c`` seconds
    more than a plain step of ``t`` seconds, the interval is
    ``max(every, ceil(c / (budget * t)))``, capped at ``max_every`` so that a run of any
    length still gets layer statistics. Both are measured by the wall
    clock between consecutive optimizer steps (``perf_counter`` at the end of the steps
    ``clock`` names: the window of each sample and the 8 plain steps before it), so whatever a
    sample really costs — the statistics, the activation hooks, the device kernels when the
    host waits for them, the cache it disturbs — is counted. A sample's cost is read over its
    window (``_AFTER``: the step before it, the sampled step, the two after it) against as many
    plain steps, as the mean of the last 8 windows with each capped at 3x their median
    (``_CAP``); those neighbours are not plain steps. On a tiny launch-bound model
    (1.3 ms steps, where a sample and its neighbours cost about 0.8 ms) this means every
    ~250 steps instead of 50 (a 3.5 ms CNN step: ~110); from about 10 ms a step the interval
    stays at ``every``.
    ``budget=None`` samples exactly every ``every`` steps. With ``every`` of 1 or 2 no plain
    step is left between samples (each is a sample or a neighbour of one) to compare with: the
    budget cannot act, and the interval stays at what was asked for.
    """

    def __init__(
        self,
        every: int = 50,
        dense_steps: int = 200,
        dense_every: int = 10,
        *,
        budget: float | None = DEFAULT_BUDGET,
        max_every: int = 1000,
    ) -> None:
        self.base_every = max(1, every)
        self.every = self.base_every
        self.dense_steps = dense_steps
        self.dense_every = max(1, dense_every)
        self.budget = budget if budget is not None and budget > 0 else None
        self.max_every = max(self.base_every, max_every)
        self._plain: deque[float] = deque(maxlen=_PLAIN_WINDOW)
        # (seconds, steps) of each sample's window: the step before it, itself, _AFTER after
        self._sampled: deque[tuple[float, int]] = deque(maxlen=_SAMPLED_WINDOW)
        self._before: float | None = None  # the step before the next sample, held back
        # The open window of the last sample: its seconds so far (None: no window open), its
        # steps, and how many of them came after the sample.
        self._window: float | None = None
        self._window_steps = 0
        self._window_after = 0

    def sampled(self, step: int) -> bool:
        if step < self.dense_steps:
            return step % self.dense_every == 0
        return step % self.every == 0

    def clock(self, step: int) -> bool:
        """Whether the wall time at the end of ``step`` is read: the steps whose duration
        ``observe`` needs (the window of each sample, the ``_PLAIN_PER_SAMPLE`` plain steps
        before it) and the step before each of them. False for every other step: the
        collector's cheapest path."""
        if self.budget is None or step < self.dense_steps - 1:
            return False
        every = self.every
        phase = step % every
        return (every - phase) % every <= _PLAIN_PER_SAMPLE + 2 or 1 <= phase <= _AFTER

    def observe(self, step: int, seconds: float, sampled: bool) -> int | None:
        """The wall time of optimizer step ``step`` (one ``clock`` names, measured from the
        end of the step before it); returns the new interval if it changed."""
        if self.budget is None or step < self.dense_steps or not math.isfinite(seconds):
            self._window = self._before = None
            return None
        if sampled:
            changed = self._close() if self._window is not None else None  # back to back
            # The window so far: the step before (held back as a neighbour) and this one. A
            # window without its step before (the first after the dense window, or after a
            # pause) is left out: part of its cost would be missing.
            before, self._before = self._before, None
            self._window = seconds + before if before is not None else None
            self._window_steps, self._window_after = 2, 0
            return changed
        if self._window is not None:  # a step after a sample: part of its window
            self._window += seconds
            self._window_steps += 1
            self._window_after += 1
            return self._close() if self._window_after >= _AFTER else None
        if self.sampled(step + 1):  # the step before a sample: part of its window
            self._before = seconds
            return None
        self._plain.append(seconds)
        return None

    def _close(self) -> int | None:
        assert self._window is not None
        self._sampled.append((self._window, self._window_steps))
        self._window = None
        return self._update()

    def _update(self) -> int | None:
        if len(self._sampled) < _MIN_SAMPLED or len(self._plain) < _MIN_PLAIN:
            return None
        plain = statistics.median(self._plain)
        if plain <= 0 or self.budget is None:
            return None
        extras = [total - steps * plain for total, steps in self._sampled]
        typical = statistics.median(extras)
        cost = (
            statistics.fmean(min(extra, _CAP * typical) for extra in extras)
            if typical > 0
            else typical
        )
        wanted = self.base_every
        if cost > 0:
            # (a hair under: a window summed from four timings carries rounding error)
            wanted = max(wanted, math.ceil(cost / (self.budget * plain) - 1e-6))
        wanted = min(wanted, self.max_every)
        # Hysteresis: widen when a quarter more is needed, narrow back only below half (the
        # cost of 8 sampled windows jitters by tens of per cent on a busy machine; the interval
        # should not flicker with it).
        if self.every < wanted <= self.every * 5 // 4 or self.every // 2 <= wanted < self.every:
            return None
        if wanted == self.every:
            return None
        self.every = wanted
        return wanted
