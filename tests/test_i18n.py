"""Both languages cover the same keys, so no string falls back silently."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from jinja2 import Environment, nodes

import lossexpert
from lossexpert.kb.texts import LANGUAGES
from tests.conftest import EXAMPLES

PKG = Path(lossexpert.__file__).parent
KB_TEMPLATES = PKG / "kb" / "templates"
KB_UNITS = PKG / "kb" / "causes"
REPORT_TEMPLATES = PKG / "reports" / "templates"
CJK = re.compile(r"[\u4e00-\u9fff]")


def _names(path: Path) -> set[str]:
    """Macro names, top-level variables and dict-literal keys defined by a template."""
    source = path.read_text(encoding="utf-8")
    tree = Environment().parse(source)
    found = {m.name for m in tree.find_all(nodes.Macro)}
    found |= {
        a.target.name for a in tree.find_all(nodes.Assign) if isinstance(a.target, nodes.Name)
    }
    found |= {f"key:{k}" for k in re.findall(r'^\s*"([A-Za-z_.]+)":', source, re.M)}
    return found


def test_languages_are_english_and_chinese() -> None:
    assert set(LANGUAGES) == {"en", "zh"}


@pytest.mark.parametrize("lang", [lang for lang in LANGUAGES if lang != "en"])
def test_kb_template_sets_cover_the_same_keys(lang: str) -> None:
    en_files = sorted(
        p.relative_to(KB_TEMPLATES / "en") for p in (KB_TEMPLATES / "en").rglob("*.j2")
    )
    other = sorted(p.relative_to(KB_TEMPLATES / lang) for p in (KB_TEMPLATES / lang).rglob("*.j2"))
    assert en_files == other
    for rel in en_files:
        assert _names(KB_TEMPLATES / "en" / rel) == _names(KB_TEMPLATES / lang / rel), rel


@pytest.mark.parametrize("lang", [lang for lang in LANGUAGES if lang != "en"])
def test_every_cause_unit_has_the_same_words_in_every_language(lang: str) -> None:
    units = sorted(p.parent for p in KB_UNITS.glob("*/en.j2"))
    assert units
    for unit in units:
        # The same macros; the other language also holds the rules' descriptions.
        assert _names(unit / "en.j2") == _names(unit / f"{lang}.j2") - {"descriptions"}, unit


@pytest.mark.parametrize("lang", [lang for lang in LANGUAGES if lang != "en"])
def test_report_labels_cover_the_same_keys(lang: str) -> None:
    en = _names(REPORT_TEMPLATES / "labels_en.j2")
    assert en == _names(REPORT_TEMPLATES / f"labels_{lang}.j2")
    assert len(en) > 30


@pytest.mark.parametrize("path", EXAMPLES, ids=[p.stem for p in EXAMPLES])
def test_chinese_for_every_finding_of_every_example(path: Path) -> None:
    en = lossexpert.diagnose(path, lang="en")
    zh = lossexpert.diagnose(path, lang="zh")
    assert zh.lang == "zh"
    assert CJK.search(zh.summary)
    assert [f.cause for f in zh.findings] == [f.cause for f in en.findings]
    for f_zh, f_en in zip(zh.findings, en.findings, strict=True):
        texts = [f_zh.title, f_zh.explanation, *f_zh.remedies, *(e.text for e in f_zh.evidence)]
        for text in texts:
            assert CJK.search(text), text
        assert len(f_zh.remedies) == len(f_en.remedies)  # conditional remedies match too
        assert [t.rule for t in f_zh.rules] == [t.rule for t in f_en.rules]
        for trace in f_zh.rules:  # the rule trace speaks the diagnosis language too
            assert CJK.search(trace.description), trace.rule
    for p in zh.problems:
        assert CJK.search(p.title) and all(CJK.search(e.text) for e in p.evidence)
    for m in zh.missing:
        assert CJK.search(m.text), m.key
    assert all(CJK.search(r.description) for r in zh.not_fired)


def test_every_symptom_sentence_renders_in_both_languages() -> None:
    """Render each example's symptoms in each language: a missing macro would raise."""
    for path in EXAMPLES:
        for lang in LANGUAGES:
            d = lossexpert.diagnose(path, lang=lang)
            assert all(s.text for s in d.symptoms)


def test_cli_lang_option(tmp_path: Path) -> None:
    from tests.conftest import run_cli

    for fmt in ("text", "markdown", "json", "html"):
        target = tmp_path / f"out.{fmt}"
        out = run_cli(
            "explain", str(EXAMPLES[0]), "--lang", "zh", "--format", fmt, "-o", str(target)
        )
        assert out.returncode == 0, out.stderr
        assert CJK.search(target.read_text(encoding="utf-8"))
    # The markdown trace: each fired rule with its description in Chinese.
    d = lossexpert.diagnose(EXAMPLES[0], lang="zh")
    markdown = (tmp_path / "out.markdown").read_text(encoding="utf-8")
    for trace in (t for f in d.findings for t in f.rules):
        assert f"`{trace.rule}`" in markdown and CJK.search(trace.description)
        assert trace.description.split("：")[0] in markdown
    bad = run_cli("explain", str(EXAMPLES[0]), "--lang", "fr")
    assert bad.returncode == 2 and "--lang" in bad.stderr
