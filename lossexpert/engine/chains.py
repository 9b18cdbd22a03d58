"""Explaining away: attach each consequence to the root cause that produced it.

After the rules have scored every cause, a causal link (``kb/chains.py``) whose root and
consequence were both found, and whose ``via`` facts are present, makes the consequence part
of the root's story: the root is ranked first, with ``transfer`` × the consequence's
confidence added to its own (its evidence is evidence for the root), and the consequence is
listed right after it with ``explained_by``. Causes the evidence cannot tell apart (equal to two
decimals) are ordered by the priors of ``kb/priors.py``, then by the article's order.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field

from lossexpert.kb.units import CausalLink


@dataclass
class Chains:
    order: list[str] = field(default_factory=list)  # ranked; consequences after their root
    confidence: dict[str, float] = field(default_factory=dict)  # roots include transfers
    parent: dict[str, CausalLink] = field(default_factory=dict)  # consequence -> its link
    via: dict[str, list[str]] = field(default_factory=dict)  # consequence -> facts seen

    def root_of(self, cause: str) -> str:
        seen = {cause}
        while cause in self.parent:
            cause = self.parent[cause].root
            if cause in seen:  # defensive: links never form a cycle (see _choose_parents)
                break
            seen.add(cause)
        return cause

    def children(self, cause: str) -> list[str]:
        return [c for c in self.order if c in self.parent and self.parent[c].root == cause]


def resolve(
    confidence: Mapping[str, float],
    present: Iterable[str],
    links: Iterable[CausalLink],
    sort_key: Callable[[str, float], tuple[float, ...]],
    combine: Callable[[Iterable[float]], float],
    as_consequence: Mapping[str, float] | None = None,
) -> Chains:
    """``as_consequence``: each cause's confidence as a consequence, where that differs (its
    own remedy failing on a copy is what explaining away predicts, so a cause it put below
    the bar can still be attached to its root and pass its evidence on); default
    ``confidence``."""
    facts = set(present)
    evidence = {**confidence, **(as_consequence or {})}
    active = [
        link
        for link in links
        if link.root in confidence
        and link.consequence in evidence
        and confidence[link.root] > 0
        and any(v in facts for v in link.via)
        and not any(b in facts for b in link.blocked_by)
    ]
    out = Chains(confidence=dict(confidence))
    _choose_parents(out, active, evidence, sort_key)
    for cause, link in out.parent.items():
        out.via[cause] = [v for v in link.via if v in facts]
        out.confidence.setdefault(cause, 0.0)  # attached only as a consequence
    # Leaves first, so a root collects what its consequences already collected.
    transferred = dict(evidence)
    for cause in sorted(out.parent, key=lambda c: -_depth(out, c)):
        link = out.parent[cause]
        gained = combine([transferred[link.root], link.transfer * transferred[cause]])
        transferred[link.root] = gained
        out.confidence[link.root] = combine(
            [out.confidence[link.root], link.transfer * transferred[cause]]
        )
    roots = [c for c in confidence if c not in out.parent]
    for root in sorted(roots, key=lambda c: sort_key(c, out.confidence[c])):
        _emit(out, root)
    return out


def _choose_parents(
    out: Chains,
    active: list[CausalLink],
    confidence: Mapping[str, float],
    sort_key: Callable[[str, float], tuple[float, ...]],
) -> None:
    """One parent per consequence: the most credible root; a link that would close a cycle
    is skipped."""
    by_consequence: dict[str, list[CausalLink]] = {}
    for link in active:
        by_consequence.setdefault(link.consequence, []).append(link)
    for cause in sorted(by_consequence, key=lambda c: sort_key(c, confidence[c])):
        for link in sorted(
            by_consequence[cause], key=lambda k: sort_key(k.root, confidence[k.root])
        ):
            out.parent[cause] = link
            if out.root_of(cause) != cause:
                break
            del out.parent[cause]


def _depth(out: Chains, cause: str) -> int:
    depth = 0
    while cause in out.parent and depth < 50:
        cause = out.parent[cause].root
        depth += 1
    return depth


def _emit(out: Chains, cause: str) -> None:
    if cause in out.order:
        return
    out.order.append(cause)
    for child in sorted(
        (c for c, link in out.parent.items() if link.root == cause),
        key=lambda c: -out.confidence[c],
    ):
        _emit(out, child)
