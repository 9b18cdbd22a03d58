"""Knowledge-base plugins (entry points ``lossexpert.kb``) and ``[tool.lossexpert]`` settings.

A small plugin package is built into a real wheel by setuptools and put on ``sys.path`` of a
fresh ``lossexpert`` process (``PYTHONPATH``), so its cause is found through its entry-point
metadata exactly as after ``pip install``."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import ROOT, example

STUCK = ROOT / "tests" / "fixtures" / "wandb" / "stuck"  # train loss stuck, plain SGD
CLI = [sys.executable, "-c", "from lossexpert.cli import main; main()"]

WORDS_EN = """\
{% macro title() %}Stale feature cache{% endmacro %}
{% macro why() %}The loader reads features cached for another model version.{% endmacro %}
{% macro remedies(c) %}
- Rebuild the feature cache for this model version.
{% endmacro %}
"""
WORDS_ZH = """\
{% macro title() %}特征缓存过期{% endmacro %}
{% macro why() %}数据加载器读取的是为另一版本模型构建的特征缓存。{% endmacro %}
{% macro remedies(c) %}
- 为当前模型版本重新构建特征缓存。
{% endmacro %}
"""


def words_zh(namespace: str) -> str:
    """The zh words, with the description of the unit's rule in Chinese (required, as for a
    built-in unit)."""
    rule = f"{namespace}.STALE-SGD-FLAT"
    text = "普通SGD下loss不动：在ACME，这是特征缓存过期。"
    return WORDS_ZH + f'{{% set descriptions = {{"{rule}": "{text}"}} %}}\n'


def unit(namespace: str, words: dict[str, str]) -> dict[str, Any]:
    return {
        "id": f"{namespace}.stale_cache",
        "problem": "train_loss_not_decreasing",
        "reference": "ACME runbook §3",
        "rank": 100,
        "rules": [
            {
                "id": f"{namespace}.STALE-SGD-FLAT",
                "when": ["train.no_progress", "config.plain_sgd"],
                "cf": 0.95,
                "priority": 600,
                "description": "Flat loss under plain SGD: at ACME, the stale cache.",
            }
        ],
        "words": words,
    }


def build_wheel(tmp: Path, dist: str, namespace: str, units: list[dict[str, Any]]) -> Path:
    """A real wheel, built by setuptools from a real project with an entry point."""
    src = tmp / f"{dist}-src"
    package = src / f"{dist.replace('-', '_')}"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text(f"UNITS = {units!r}\n", encoding="utf-8")
    (src / "pyproject.toml").write_text(
        textwrap.dedent(
            f"""\
            [build-system]
            requires = ["setuptools>=64"]
            build-backend = "setuptools.build_meta"

            [project]
            name = "{dist}"
            version = "0.1.0"

            [project.entry-points."lossexpert.kb"]
            {namespace} = "{package.name}:UNITS"
            """
        )
    )
    out = tmp / "dist"
    subprocess.run(
        [sys.executable, "-c", f"from setuptools import build_meta; "
         f"print(build_meta.build_wheel({str(out)!r}))"],
        cwd=src, check=True, capture_output=True, timeout=120,
    )
    return next(out.glob(f"{package.name}-*.whl"))


@pytest.fixture(scope="module")
def wheels(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    pytest.importorskip("setuptools", reason="setuptools builds the plugin's wheel")
    tmp = tmp_path_factory.mktemp("plugins")
    return {
        "good": build_wheel(
            tmp, "acme-kb", "acme", [unit("acme", {"en": WORDS_EN, "zh": words_zh("acme")})]
        ),
        "no_zh": build_wheel(tmp, "broken-kb", "broken", [unit("broken", {"en": WORDS_EN})]),
        # zh words, but without the description of the rule in Chinese
        "no_zh_rule": build_wheel(
            tmp, "terse-kb", "terse", [unit("terse", {"en": WORDS_EN, "zh": WORDS_ZH})]
        ),
    }


def cli(*args: str, path: list[Path], cwd: Path, config: Path | None = None) -> Any:
    env = {k: v for k, v in os.environ.items() if k != "LOSSEXPERT_CONFIG"}
    env["PYTHONPATH"] = os.pathsep.join([*(str(p) for p in path), str(ROOT)])
    if config is not None:
        env["LOSSEXPERT_CONFIG"] = str(config)
    return subprocess.run(
        [*CLI, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=120
    )


def test_plugin_cause_is_diagnosed_in_both_languages(
    wheels: dict[str, Path], tmp_path: Path
) -> None:
    for lang, title in (("en", "Stale feature cache"), ("zh", "特征缓存过期")):
        out = cli("explain", str(STUCK), "-f", "json", "--lang", lang,
                  path=[wheels["good"]], cwd=tmp_path)
        assert out.returncode == 0, out.stderr
        d = json.loads(out.stdout)
        top = d["findings"][0]
        assert top["cause"] == "acme.stale_cache" and top["title"] == title
        assert top["reference"] == "ACME runbook §3"
        assert [r["rule"] for r in top["rules"]] == ["acme.STALE-SGD-FLAT"]
        description = top["rules"][0]["description"]
        assert description == (
            "普通SGD下loss不动：在ACME，这是特征缓存过期。"
            if lang == "zh"
            else "Flat loss under plain SGD: at ACME, the stale cache."
        )
        assert {e["symptom"] for e in top["evidence"]} == {"train.no_progress", "config.plain_sgd"}
    # Without the wheel on the path the same run has no such cause.
    import lossexpert
    from lossexpert.collectors.importers import import_run

    plain = lossexpert.diagnose(import_run(STUCK).loaded.run)  # this process has no plugin
    assert "acme.stale_cache" not in [f.cause for f in plain.findings]


def test_rules_lists_where_each_rule_came_from(wheels: dict[str, Path], tmp_path: Path) -> None:
    out = cli("rules", "-f", "json", path=[wheels["good"]], cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    rows = json.loads(out.stdout)["rules"]
    plugin = [r for r in rows if r.get("origin", "").startswith("plugin")]
    assert [r["rule"] for r in plugin] == ["acme.STALE-SGD-FLAT"]
    assert plugin[0]["origin"] == "plugin acme (acme-kb 0.1.0)"
    builtin = [r for r in rows if r["kind"] == "cause" and r not in plugin]
    assert builtin and all(r["origin"] == "lossexpert" for r in builtin)
    text = cli("rules", path=[wheels["good"]], cwd=tmp_path).stdout
    assert "acme.STALE-SGD-FLAT" in text and "[plugin acme (acme-kb 0.1.0)]" in text


def test_unit_without_zh_words_fails_at_load_naming_it(
    wheels: dict[str, Path], tmp_path: Path
) -> None:
    for args in (("explain", str(STUCK)), ("rules",)):
        out = cli(*args, path=[wheels["no_zh"]], cwd=tmp_path)
        assert out.returncode == 2, out.stderr
        line = out.stderr.strip()
        assert "\n" not in line and "Traceback" not in line
        assert "broken.stale_cache" in line and "no zh words" in line


def test_unit_without_a_zh_rule_description_fails_at_load_naming_it(
    wheels: dict[str, Path], tmp_path: Path
) -> None:
    for args in (("explain", str(STUCK), "--lang", "en"), ("rules",)):
        out = cli(*args, path=[wheels["no_zh_rule"]], cwd=tmp_path)
        assert out.returncode == 2, out.stderr
        line = out.stderr.strip()
        assert "\n" not in line and "Traceback" not in line
        assert "terse.stale_cache" in line and "terse.STALE-SGD-FLAT" in line
        assert "no zh description" in line


def test_settings_select_plugins_and_thresholds(wheels: dict[str, Path], tmp_path: Path) -> None:
    both = [wheels["good"], wheels["no_zh"]]
    config = tmp_path / "lossexpert.toml"
    config.write_text('plugins = ["acme"]\n')  # the broken one is installed, not selected
    out = cli("explain", str(STUCK), "-f", "json", path=both, cwd=tmp_path, config=config)
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["findings"][0]["cause"] == "acme.stale_cache"
    config.write_text("plugins = []\n")
    out = cli("explain", str(STUCK), "-f", "json", path=both, cwd=tmp_path, config=config)
    assert out.returncode == 0 and "acme.stale_cache" not in out.stdout
    config.write_text('plugins = ["nope"]\n')
    out = cli("explain", str(STUCK), path=both, cwd=tmp_path, config=config)
    assert out.returncode == 2 and "nope" in out.stderr and str(config) in out.stderr


def test_pyproject_thresholds_apply_to_the_diagnosis(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """[tool.lossexpert] of the nearest pyproject.toml: the run's lr 1e-5 under plain SGD is
    "too low" by the default floor; a project that trains with tiny lrs lowers the floor."""
    from typer.testing import CliRunner

    import lossexpert
    from lossexpert.cli import app
    from lossexpert.collectors.importers import import_run

    run = import_run(STUCK).loaded.run
    project = tmp_path / "project"
    (project / "sub").mkdir(parents=True)
    monkeypatch.delenv("LOSSEXPERT_CONFIG", raising=False)
    monkeypatch.chdir(project / "sub")
    assert "config.lr_low" in {s.symptom for s in lossexpert.diagnose(run).symptoms}
    (project / "pyproject.toml").write_text(
        '[project]\nname = "x"\n\n[tool.lossexpert.thresholds]\nlr_low_sgd = 1e-6\n'
    )
    assert "config.lr_low" not in {s.symptom for s in lossexpert.diagnose(run).symptoms}
    # A threshold passed by the caller still wins over the file.
    passed = lossexpert.diagnose(run, thresholds={"lr_low_sgd": 1e-3})
    assert "config.lr_low" in {s.symptom for s in passed.symptoms}
    (project / "pyproject.toml").write_text("[tool.lossexpert.thresholds]\nlr_lowest = 1\n")
    bad = CliRunner().invoke(app, ["explain", str(STUCK)])
    assert bad.exit_code == 2
    line = bad.stderr.strip()
    assert "tool.lossexpert.thresholds.lr_lowest" in line and "\n" not in line
    assert str(project / "pyproject.toml") in line


def test_unrelated_broken_pyproject_is_ignored(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import lossexpert
    from lossexpert._plugins import ConfigError, settings

    monkeypatch.delenv("LOSSEXPERT_CONFIG", raising=False)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "pyproject.toml").write_text("[project\nname = 'broken'\n")
    assert settings().source is None  # not ours: diagnoses go on with the defaults
    assert lossexpert.diagnose(example("softmax_then_cross_entropy")).findings
    (tmp_path / "pyproject.toml").write_text("[tool.lossexpert\nplugins = []\n")
    with pytest.raises(ConfigError, match="not TOML"):
        settings()
