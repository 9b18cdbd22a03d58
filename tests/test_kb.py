"""The knowledge base is complete and every word it needs exists."""

from __future__ import annotations

import json

from lossexpert.kb import CAUSE_IDS, knowledge_base
from lossexpert.kb.texts import texts
from tests.conftest import run_cli

KB = knowledge_base()


def test_every_cause_of_the_seed_has_rules() -> None:
    assert set(KB.causes) == set(CAUSE_IDS)
    assert len(CAUSE_IDS) == 23
    for cause in KB.causes.values():
        assert any(r.cf > 0 for r in cause.rules), cause.id


def test_every_symptom_a_rule_needs_has_a_sentence() -> None:
    words = texts("en")
    names = {n for c in KB.causes.values() for r in c.rules for n in (*r.when, *r.unless)}
    names |= {p.when for p in KB.problem_rules}
    missing = sorted(n for n in names if not words.has_symptom(n))
    assert missing == []


def test_every_cause_has_title_explanation_and_a_remedy() -> None:
    words = texts("en")
    ctx = {"cfg": {}, "s": {}, "chance": None}
    for cause in CAUSE_IDS:
        assert words.cause_title(cause)
        assert len(words.cause_why(cause)) > 40
        assert words.cause_remedies(cause, ctx), cause


def test_rules_cli_covers_all_causes() -> None:
    out = run_cli("rules", "--format", "json")
    assert out.returncode == 0, out.stderr
    payload = json.loads(out.stdout)
    assert set(payload["causes"]) == set(CAUSE_IDS)
    assert {r["cause"] for r in payload["rules"] if r["kind"] == "cause"} == set(CAUSE_IDS)
    for row in payload["rules"]:
        assert row["rule"] and row["problem"] and row["description"]
        assert isinstance(row["priority"], int)
