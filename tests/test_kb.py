"""The knowledge base is complete and every word it needs exists."""

from __future__ import annotations

import json
import re

from lossexpert.kb import BUILTIN_UNITS, CAUSE_IDS, knowledge_base, unit_directories
from lossexpert.kb.texts import texts
from tests.conftest import run_cli

KB = knowledge_base()
CJK = re.compile(r"[\u4e00-\u9fff]")


def test_every_cause_of_the_seed_has_rules() -> None:
    # One cause per unit directory, none listed by hand: the counts are derived.
    units = [d.name for d in unit_directories(BUILTIN_UNITS)]
    assert set(KB.causes) == set(CAUSE_IDS) == set(units)
    assert len(CAUSE_IDS) == len(units) > 0
    for cause in KB.causes.values():
        assert any(r.cf > 0 for r in cause.rules), cause.id


def test_cause_ids_follow_the_units_ranks() -> None:
    from lossexpert.kb import units

    ranks = [KB.causes[c].rank for c in CAUSE_IDS]
    assert ranks == sorted(ranks) and len(set(ranks)) == len(ranks)
    assert list(KB.causes) == list(CAUSE_IDS)  # no plugin in this process
    assert units.CAUSE_IDS == CAUSE_IDS  # the old import path still answers


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


def test_rules_cli_speaks_the_language_asked() -> None:
    en = json.loads(run_cli("rules", "--format", "json").stdout)["rules"]
    out = run_cli("rules", "--format", "json", "--lang", "zh")
    assert out.returncode == 0, out.stderr
    zh = json.loads(out.stdout)["rules"]
    assert [r["rule"] for r in zh] == [r["rule"] for r in en]
    for row_en, row_zh in zip(en, zh, strict=True):
        assert CJK.search(row_zh["description"]) and row_zh["description"] != row_en["description"]
    text = run_cli("rules", "--lang", "zh").stdout
    assert "DEAD-LAYERS" in text and "大部分ReLU单元" in text
