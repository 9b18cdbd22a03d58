"""Which logged name is which curve: defaults for the common names, and user overrides.

Names differ between projects (``train/loss``, ``loss/train``, ``train_loss_step``, ``loss``,
``val_loss``, ``eval/loss``, ``eval_loss``, ``test_loss``...). A name maps to a *target*:
``train``/``val``/``test`` (the split's loss), ``<split>:<metric>`` (an extra metric of that
split), ``lr`` (the learning rate), or nothing (ignored, and reported on ``--verbose``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

SPLIT_WORDS = {
    "train": ("train", "training", "tr"),
    "val": ("val", "valid", "validation", "eval", "dev"),
    "test": ("test", "testing"),
}
LOSS_WORDS = ("loss", "epoch_loss", "nll_loss", "total_loss", "objective")
LR_NAMES = re.compile(r"^(lr|learning_rate|lr[-_].*|.*[/_]learning_rate|.*[/_]lr)$")
STEP_SUFFIX = re.compile(r"_(step|epoch)$")


def _norm(name: str) -> str:
    return re.sub(r"[\s\-.]+", "_", name.strip().lower())


def _split_of(parts: list[str]) -> str | None:
    for split, words in SPLIT_WORDS.items():
        if any(p in words for p in parts):
            return split
    return None


def default_target(name: str, *, default_split: str = "train") -> str | None:
    """The target of a logged name under the default rules, or None to ignore it."""
    norm = _norm(name)
    if LR_NAMES.match(norm):
        return "lr"
    base = STEP_SUFFIX.sub("", norm)
    parts = [p for p in re.split(r"[/_]", base) if p]
    split = _split_of(parts)
    rest = [p for p in parts if split is None or p not in SPLIT_WORDS[split]]
    metric = "_".join(rest)
    if metric in LOSS_WORDS or (metric.endswith("loss") and not rest[:-1]):
        return split or default_split
    if metric in ("loss", "") and split:
        return split
    if metric.endswith("_loss") or metric == "loss":
        return split or default_split
    if metric in ("grad_norm", "gradient_norm"):
        return f"{split or default_split}:grad_norm"
    if not metric:
        return None
    return f"{split or default_split}:{metric}"


@dataclass
class Mapping_:
    """Resolve names to targets: user overrides first (``train=my/loss``), then the defaults."""

    overrides: dict[str, str] = field(default_factory=dict)  # target -> name
    mapped: dict[str, str] = field(default_factory=dict)  # name -> target, as used
    ignored: list[str] = field(default_factory=list)

    @classmethod
    def parse(cls, pairs: Iterable[str]) -> Mapping_:
        overrides: dict[str, str] = {}
        for pair in pairs:
            target, sep, name = pair.partition("=")
            target = target.strip()
            if not sep or not name.strip() or not target:
                raise ValueError(f"--map {pair!r}: expected TARGET=NAME, e.g. train=my/loss")
            if target not in ("train", "val", "test", "lr") and ":" not in target:
                raise ValueError(f"--map {pair!r}: TARGET is train, val, test, lr or split:metric")
            overrides[target] = name.strip()
        return cls(overrides=overrides)

    def resolve(
        self,
        names: Iterable[str],
        *,
        default_split: str = "train",
        loss_preference: Mapping[str, int] | None = None,
    ) -> dict[str, str]:
        """name -> target for every name that maps; one name per loss target (the best)."""
        names = list(dict.fromkeys(names))
        chosen: dict[str, str] = {}
        taken: set[str] = set()
        for target, name in self.overrides.items():
            if name in names:
                chosen[name] = target
                taken.add(target)
        candidates: dict[str, list[str]] = {}
        for name in names:
            if name in chosen:
                continue
            default = default_target(name, default_split=default_split)
            if default is None or default in taken:
                self.ignored.append(name)
                continue
            candidates.setdefault(default, []).append(name)
        for target, group in candidates.items():
            if target in ("train", "val", "test", "lr") and len(group) > 1:
                # Several names for one loss (train_loss_step and train_loss_epoch...): keep the
                # densest/most specific one, report the others as ignored.
                rank = loss_preference or {}
                group.sort(key=lambda n: (-rank.get(n, 0), _specificity(n)))
                chosen[group[0]] = target
                self.ignored.extend(group[1:])
            else:
                for name in group:
                    chosen[name] = target
        self.mapped.update(chosen)
        return chosen

    def describe(self) -> list[str]:
        lines = [f"mapped {name!r} -> {target}" for name, target in sorted(self.mapped.items())]
        lines += [f"ignored {name!r}" for name in sorted(set(self.ignored))]
        return lines


def _specificity(name: str) -> int:
    """Prefer per-step names over per-epoch ones, and explicit split names over bare 'loss'."""
    norm = _norm(name)
    if norm.endswith("_epoch"):
        return 2
    if norm in ("loss", "epoch_loss"):
        return 1
    return 0
