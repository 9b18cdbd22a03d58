"""Hooks that the user's copies of a watched object do not carry.

Models are deep-copied during training (a best-checkpoint snapshot, an EMA model) and pickled
whole (``torch.save(model)``). A hook is part of the module's state, so a plain bound method or
closure drags the collector along — its file, its locks, its weak references — and the copy
fails. A ``Detachable`` copies and pickles as a hook that does nothing: the copy is the user's
model without the collector, and the original keeps it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


class Detachable:
    __slots__ = ("fn",)

    def __init__(self, fn: Callable[..., Any] | None) -> None:
        self.fn = fn

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        fn = self.fn
        return None if fn is None else fn(*args, **kwargs)

    def __deepcopy__(self, memo: dict[int, Any]) -> Detachable:
        return Detachable(None)

    def __copy__(self) -> Detachable:
        return Detachable(None)

    def __reduce__(self) -> tuple[type[Detachable], tuple[None]]:
        return (Detachable, (None,))
