"""One unit per cause: a directory with its rules, its words in every language and the
description of every rule in every language. Adding a cause is adding one directory; a unit
that lacks anything fails when the knowledge base loads, in one line naming it and what is
missing, never later in some diagnosis."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from lossexpert.kb import (
    BUILTIN_UNITS,
    CAUSE_IDS,
    UnitError,
    knowledge_base,
    load_knowledge_base,
    unit_directories,
)
from lossexpert.kb.chains import CAUSAL_LINKS
from lossexpert.kb.units import LANGUAGES
from tests.conftest import ROOT, run_cli

STUCK = ROOT / "tests" / "fixtures" / "wandb" / "stuck"  # train loss stuck, plain SGD
CJK = re.compile(r"[\u4e00-\u9fff]")
KB = knowledge_base()

RULES = '''\
"""Cause `stale_cache`: the loader reads a feature cache built for another model version."""

from lossexpert.kb.units import CauseUnit, RuleUnit

CAUSE = CauseUnit(
    id="stale_cache",
    problem="train_loss_not_decreasing",
    reference="team runbook §3",
    rank=100,
    rules=(
        RuleUnit(
            id="STALE-SGD-FLAT",
            when=("train.no_progress", "config.plain_sgd"),
            cf=0.95,
            priority=600,
            description="Flat loss under plain SGD: here, the stale feature cache.",
        ),
    ),
)
'''
EN = """\
{% macro title() %}Stale feature cache{% endmacro %}
{% macro why() %}The loader reads features cached for another model version.{% endmacro %}
{% macro remedies(c) %}
- Rebuild the feature cache for this model version.
{% endmacro %}
"""
ZH_WORDS = """\
{% macro title() %}特征缓存过期{% endmacro %}
{% macro why() %}数据加载器读取的是为另一版本模型构建的特征缓存。{% endmacro %}
{% macro remedies(c) %}
- 为当前模型版本重新构建特征缓存。
{% endmacro %}
"""
ZH_DESCRIPTION = "普通SGD下loss不动：在这里，是特征缓存过期了。"
ZH = ZH_WORDS + '{% set descriptions = {"STALE-SGD-FLAT": "' + ZH_DESCRIPTION + '"} %}\n'


def write_unit(
    folder: Path,
    name: str = "stale_cache",
    *,
    rules: str = RULES,
    en: str | None = EN,
    zh: str | None = ZH,
) -> Path:
    """A unit directory ``folder/name`` (a file left out where its text is None)."""
    unit = folder / name
    unit.mkdir(parents=True)
    for file, text in (("__init__.py", rules), ("en.j2", en), ("zh.j2", zh)):
        if text is not None:
            (unit / file).write_text(text, encoding="utf-8")
    return folder


def load_error(folder: Path) -> str:
    with pytest.raises(UnitError) as caught:
        load_knowledge_base([folder])
    message = str(caught.value)
    assert "\n" not in message and caught.value.code == "LE203"
    return message


# ------------------------------------------------------------------ adding a cause


def test_adding_a_cause_is_adding_one_directory(tmp_path: Path) -> None:
    folder = write_unit(tmp_path / "units")
    kb = load_knowledge_base([folder])
    assert list(kb.causes) == [*CAUSE_IDS, "stale_cache"]  # by rank: 100 comes last
    rule = kb.causes["stale_cache"].rules[0]
    assert kb.describe(rule, "en") == "Flat loss under plain SGD: here, the stale feature cache."
    assert kb.describe(rule, "zh") == ZH_DESCRIPTION
    assert kb.origin("stale_cache") == f"units {folder}"
    assert knowledge_base() is KB and "stale_cache" not in KB.causes  # the process's own: as is


def test_a_unit_folder_from_the_settings_is_diagnosed_in_both_languages(tmp_path: Path) -> None:
    write_unit(tmp_path / "units")
    config = tmp_path / "lossexpert.toml"
    config.write_text('units = ["units"]\n', encoding="utf-8")  # relative to the file
    env = {"LOSSEXPERT_CONFIG": str(config)}
    for lang, title in (("en", "Stale feature cache"), ("zh", "特征缓存过期")):
        out = run_cli("explain", str(STUCK), "-f", "json", "--lang", lang, env=env)
        assert out.returncode == 0, out.stderr
        top = json.loads(out.stdout)["findings"][0]
        assert top["cause"] == "stale_cache" and top["title"] == title
        assert top["reference"] == "team runbook §3"
        [trace] = top["rules"]
        assert trace["rule"] == "STALE-SGD-FLAT"
        if lang == "zh":
            assert trace["description"] == ZH_DESCRIPTION
            assert all(CJK.search(r) for r in top["remedies"])
        else:
            assert trace["description"].startswith("Flat loss under plain SGD")
    # The markdown report's rule trace speaks the diagnosis language.
    out = run_cli("explain", str(STUCK), "-f", "markdown", "--lang", "zh", env=env)
    assert out.returncode == 0, out.stderr
    [row_md] = [line for line in out.stdout.splitlines() if "`STALE-SGD-FLAT`" in line]
    assert row_md.rstrip().endswith(f"| {ZH_DESCRIPTION} |"), row_md
    rows = json.loads(run_cli("rules", "-f", "json", "--lang", "zh", env=env).stdout)["rules"]
    [row] = [r for r in rows if r["cause"] == "stale_cache"]
    assert row["description"] == ZH_DESCRIPTION and row["origin"] == f"units {tmp_path / 'units'}"


# ------------------------------------------------------------------ incomplete units


def test_a_unit_without_zh_words_fails_at_load_naming_it(tmp_path: Path) -> None:
    message = load_error(write_unit(tmp_path / "units", zh=None))
    assert message.startswith("cause unit stale_cache (")
    assert "no zh words" in message and "zh.j2" in message
    # Through the CLI: exit 2, one line, no traceback, before any diagnosis.
    config = tmp_path / "lossexpert.toml"
    config.write_text('units = ["units"]\n', encoding="utf-8")
    for args in (("explain", str(STUCK)), ("rules",)):
        out = run_cli(*args, env={"LOSSEXPERT_CONFIG": str(config)})
        assert out.returncode == 2, out.stderr
        line = out.stderr.strip()
        assert "\n" not in line and "Traceback" not in line
        assert "cause unit stale_cache" in line and "no zh words" in line


def test_a_rule_without_a_zh_description_fails_at_load_naming_unit_and_rule(
    tmp_path: Path,
) -> None:
    message = load_error(write_unit(tmp_path / "a", zh=ZH_WORDS))  # no descriptions at all
    assert "cause unit stale_cache" in message and "rule STALE-SGD-FLAT" in message
    assert "no zh description" in message
    other = ZH_WORDS + '{% set descriptions = {"STALE-OTHER": "别的规则"} %}\n'
    message = load_error(write_unit(tmp_path / "b", zh=other))  # not this rule's
    assert "cause unit stale_cache" in message and "rule STALE-SGD-FLAT" in message
    empty = ZH_WORDS + '{% set descriptions = {"STALE-SGD-FLAT": " "} %}\n'
    assert "no zh description" in load_error(write_unit(tmp_path / "c", zh=empty))


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"en": None}, "no en words (en.j2 with the macros title(), why(), remedies(c))"),
        ({"en": EN.replace("why()", "reason()")}, "en.j2: no macro why()"),
        ({"zh": ZH.replace("remedies(c)", "remedies()")}, "zh.j2: macro remedies() must take"),
        ({"zh": ZH + "{% if %}"}, "zh.j2: line 7:"),
        ({"rules": None}, "no __init__.py"),
        ({"rules": "X = 1\n"}, "defines no CAUSE = CauseUnit(...)"),
        ({"rules": "import nowhere_at_all\n"}, "cannot import: ModuleNotFoundError"),
        ({"rules": RULES.replace('id="stale_cache"', 'id="stale"')}, "its directory's name"),
        ({"rules": RULES.replace("config.plain_sgd", "config.nope")}, "unknown symptom"),
        ({"rules": RULES.replace("rank=100", "rank=1")}, "rank 1 is already model_structure's"),
        (
            {"zh": ZH.replace('"STALE-SGD-FLAT": "', '"STALE-SGD-FLAT": "x", "STRAY": "')},
            "descriptions names an unknown rule STRAY",
        ),
        (
            {"en": EN + '{% set descriptions = {"STALE-SGD-FLAT": "again"} %}'},
            "en.j2: defines descriptions",
        ),
        ({"zh": ZH_WORDS + "{% set descriptions = 3 %}"}, "must be a dict of rule ids"),
    ],
    ids=lambda v: "" if isinstance(v, str) else ",".join(v),
)
def test_an_incomplete_unit_fails_at_load_naming_it(
    change: dict[str, str | None], expected: str, tmp_path: Path
) -> None:
    message = load_error(write_unit(tmp_path / "units", **change))  # type: ignore[arg-type]
    assert message.startswith("cause unit stale_cache (") and expected in message, message


def test_a_unit_with_a_builtin_id_or_rule_id_is_refused(tmp_path: Path) -> None:
    again = RULES.replace('id="stale_cache"', 'id="dead_relu"')
    message = load_error(write_unit(tmp_path / "a", "dead_relu", rules=again))
    assert "cause unit dead_relu" in message and "defined twice" in message
    clash = RULES.replace("STALE-SGD-FLAT", "DEAD-LAYERS")
    zh = ZH.replace("STALE-SGD-FLAT", "DEAD-LAYERS")
    message = load_error(write_unit(tmp_path / "b", rules=clash, zh=zh))
    assert "rule DEAD-LAYERS: defined twice" in message and "cause unit stale_cache" in message


# ------------------------------------------------------------------ the built-in units


def test_every_builtin_cause_is_one_complete_directory() -> None:
    for directory in unit_directories(BUILTIN_UNITS):
        files = {p.name for p in directory.iterdir() if p.name != "__pycache__"}
        assert files == {"__init__.py", *(f"{lang}.j2" for lang in LANGUAGES)}, directory
    templates = BUILTIN_UNITS.parent / "templates"
    assert not list(templates.glob("*/causes")), "cause words live in their unit"


def test_every_builtin_rule_has_a_chinese_description() -> None:
    for cause in KB.causes.values():
        for rule in cause.rules:
            zh = KB.describe(rule, "zh")
            assert zh.strip() and zh != rule.description and CJK.search(zh), rule.id
            assert KB.describe(rule, "en") == rule.description
    for problem in KB.problem_rules:
        zh = problem.describe("zh")
        assert zh.strip() and zh != problem.description and CJK.search(zh), problem.id
    for link in CAUSAL_LINKS:
        zh = link.describe("zh")
        assert zh.strip() and zh != link.description and CJK.search(zh), link


def test_the_units_declare_their_own_cases() -> None:
    """A unit's hand-written cases name symptoms the knowledge base knows (the derived ones
    are built by tests/test_rules.py from the rules themselves)."""
    from lossexpert.kb.texts import texts

    known = texts("en").has_symptom
    for cause in KB.causes.values():
        for rule in cause.rules:
            for case in (*rule.also_fires_on, *rule.never_fires_on):
                assert all(known(s) for s in case), (rule.id, sorted(case))


def test_the_builtin_words_read_by_pattern_equal_the_jinja_parse() -> None:
    # The package's own units skip the Jinja parse at load (80 ms of a cold start): the
    # pattern reading must find exactly what the parser finds, and every file must parse.
    from lossexpert.errors import LossexpertError
    from lossexpert.kb.units import UnitError, check_unit, parse_words, scan_words

    for unit in knowledge_base().units.values():
        for lang, source in unit.words.items():
            scanned = scan_words(source)
            assert scanned is not None, (unit.cause.id, lang)
            assert scanned == parse_words(source, f"{unit.cause.id} {lang}", LossexpertError)
        # ... and the full check, parser and all, accepts it.
        full = check_unit(unit.cause, unit.words, where=unit.cause.id, error=UnitError)
        assert full.descriptions == unit.descriptions


def test_a_builtin_file_that_does_not_read_plainly_goes_to_the_parser() -> None:
    from lossexpert.errors import LossexpertError
    from lossexpert.kb.units import parse_words, scan_words

    twice = '{% set descriptions = {"A": "x"} %}{% set descriptions = {"B": "y"} %}'
    assert scan_words(twice) is None
    computed = '{% set descriptions = {"A": "x" ~ "y"} %}'
    assert scan_words(computed) is None
    with pytest.raises(LossexpertError, match="line 1"):
        parse_words("{% macro title() %}", "unit", LossexpertError)
