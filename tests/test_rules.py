"""Every rule of the knowledge base, with its should-fire and should-not-fire cases.

The cases are derived from each unit's declaration (its symptoms, its exclusions, its problem)
and run through the real experta engine, so they check the compiled rule, not the spec.
"""

from __future__ import annotations

import pytest

from lossexpert.engine.inference import infer
from lossexpert.engine.symptoms import Symptom
from lossexpert.kb import CauseUnit, RuleUnit, knowledge_base

KB = knowledge_base()
TRIGGERS = {
    "train_loss_not_decreasing": ("train.high_final", "train.no_progress", "train.nonfinite"),
    "val_loss_not_decreasing": ("val.gap", "val.rising"),
    "test_loss_not_decreasing": ("test.above_val", "test.above_train"),
}
CAUSE_RULES = [(c, r) for c in KB.causes.values() for r in c.rules]


def fired(names: set[str] | frozenset[str]) -> list[str]:
    return infer([Symptom(n, _source(n), 0.8) for n in sorted(names)]).fired


def _source(name: str) -> str:  # type: ignore[return]
    prefix = name.split(".")[0]
    return {"train": "curves", "val": "curves", "test": "curves"}.get(prefix, prefix)


def _trigger(cause: CauseUnit, rule: RuleUnit) -> str:
    """A symptom that establishes the rule's problem without blocking the rule."""
    problem = rule.problem or cause.problem  # a rule may fire under another problem
    own = {p.when for p in KB.problem_rules if p.problem == problem}
    in_when = [s for s in rule.when if s in own]
    if in_when:
        return in_when[0]
    blocked = set(rule.when) | set(rule.unless)
    return next(t for t in TRIGGERS[problem] if t not in blocked)


def _ids(pairs: list[tuple[CauseUnit, RuleUnit]]) -> list[str]:
    return [r.id for _, r in pairs]


@pytest.mark.parametrize(("cause", "rule"), CAUSE_RULES, ids=_ids(CAUSE_RULES))
def test_rule_fires_on_its_symptoms(cause: CauseUnit, rule: RuleUnit) -> None:
    case = {_trigger(cause, rule), *rule.when}
    assert rule.id in fired(case)
    for extra in rule.also_fires_on:
        assert rule.id in fired({_trigger(cause, rule), *extra})


@pytest.mark.parametrize(("cause", "rule"), CAUSE_RULES, ids=_ids(CAUSE_RULES))
def test_rule_needs_every_symptom(cause: CauseUnit, rule: RuleUnit) -> None:
    trigger = _trigger(cause, rule)
    for missing in rule.when:
        case = {trigger, *rule.when} - {missing}
        if missing == trigger:  # the problem itself would be gone: use another trigger
            others = [t for t in TRIGGERS[cause.problem] if t not in (*rule.when, *rule.unless)]
            if not others:
                continue
            case.add(others[0])
        assert rule.id not in fired(case), f"fired without {missing}"


ELSEWHERE = [p for p in CAUSE_RULES if p[1].also_under]


@pytest.mark.parametrize(("cause", "rule"), ELSEWHERE, ids=_ids(ELSEWHERE))
def test_rule_fires_under_each_further_problem_and_says_which(
    cause: CauseUnit, rule: RuleUnit
) -> None:
    for problem in rule.also_under:
        trigger = next(t for t in TRIGGERS[problem] if t not in (*rule.when, *rule.unless))
        result = infer([Symptom(n, _source(n), 0.8) for n in sorted({trigger, *rule.when})])
        supports = [s for s in result.supports if s.rule.id == rule.id]
        assert [s.problem for s in supports] == [problem]


@pytest.mark.parametrize(
    ("cause", "rule"),
    [p for p in CAUSE_RULES if p[1].unless],
    ids=_ids([p for p in CAUSE_RULES if p[1].unless]),
)
def test_rule_is_blocked_by_its_exclusions(cause: CauseUnit, rule: RuleUnit) -> None:
    trigger = _trigger(cause, rule)
    for blocker in rule.unless:
        assert rule.id not in fired({trigger, *rule.when, blocker}), f"fired despite {blocker}"
    for case in rule.never_fires_on:
        assert rule.id not in fired(case)


@pytest.mark.parametrize(("cause", "rule"), CAUSE_RULES, ids=_ids(CAUSE_RULES))
def test_rule_needs_its_problem(cause: CauseUnit, rule: RuleUnit) -> None:
    all_triggers = {p.when for p in KB.problem_rules}
    if set(rule.when) & all_triggers:
        pytest.skip("the rule's own symptoms establish its problem")
    assert rule.id not in fired(set(rule.when))


@pytest.mark.parametrize("rule", KB.problem_rules, ids=[p.id for p in KB.problem_rules])
def test_problem_rules_follow_the_articles_order(rule: object) -> None:
    from lossexpert.kb.units import ProblemRule

    assert isinstance(rule, ProblemRule)
    assert rule.id in fired({rule.when})
    for earlier in rule.after:
        blocker = TRIGGERS[earlier][0]
        result = infer([Symptom(rule.when, "curves", 0.8), Symptom(blocker, "curves", 0.8)])
        assert rule.id not in result.fired
        assert rule.problem not in result.problems


def test_healthy_symptoms_establish_no_problem_and_no_cause() -> None:
    result = infer(
        [
            Symptom("train.still_falling", "curves", 0.9),
            Symptom("config.lr_typical", "config", 0.6),
            Symptom("config.no_regularization", "config", 0.6),
        ]
    )
    assert result.problems == []
    assert result.supports == []


def test_contrary_evidence_lowers_a_cause() -> None:
    from lossexpert.engine.inference import combine

    base = {"train.no_progress", "layers.dead_relu"}
    alone = infer([Symptom(n, _source(n), 1.0) for n in base])
    with_zero = infer([Symptom(n, _source(n), 1.0) for n in base | {"layers.init_zero"}])

    def dead(result: object) -> float:
        return combine(s.cf for s in result.supports if s.cause.id == "dead_relu")  # type: ignore[attr-defined]

    assert dead(with_zero) < dead(alone)
