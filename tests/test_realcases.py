"""Real cases (../shared/realcases/cases.json), scored through the CLI at two levels.

The cases are read in place (never copied into the repository); the tests skip where the
shared folder is absent. The scores must not fall below what the README states.
"""

from __future__ import annotations

import importlib.util
import json
import re
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from tests.conftest import ROOT


def _load(name: str, path: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


realcases = _load("realcases_score", ROOT / "benchmarks" / "realcases" / "score.py")

pytestmark = pytest.mark.skipif(
    not realcases.CASES.exists(), reason="../shared/realcases is not present"
)

README = (ROOT / "README.md").read_text(encoding="utf-8")
ROW = re.compile(
    r"^\| (curves|curves\+config) \| (\d+)% \((\d+)/(\d+)\) \| (\d+)% \((\d+)/(\d+)\) \|"
    r" (\d+)% \((\d+)/(\d+)\) \| (\d+) \|$",
    re.M,
)


@pytest.fixture(scope="module")
def outcomes() -> list[Any]:
    return realcases.score()


def _cases() -> list[dict[str, object]]:
    return json.loads(realcases.CASES.read_text())  # type: ignore[no-any-return]


def test_every_case_is_scored_at_both_levels(outcomes: list[Any]) -> None:
    ids = [c["id"] for c in _cases()]
    for level in realcases.LEVELS:
        assert sorted(o.case for o in outcomes if o.level == level) == sorted(ids)
    for o in outcomes:
        # A case the CLI refuses is a miss with the CLI's own one-line reason, not a drop.
        if o.exit_code:
            assert o.error.startswith("LE1") and o.case in o.error, o
            assert not o.hit(3)


def test_the_csv_reads_back_as_posted(tmp_path: Path) -> None:
    """The wide CSV the scorer writes is read by the CSV importer as the posted numbers."""
    import lossexpert.collectors.importers as importers

    checked = 0
    for case in _cases():
        series = case["series"]
        assert isinstance(series, dict)
        if not any(len(series.get(s) or []) >= 2 for s in realcases.SPLITS):
            continue
        path = tmp_path / f"{case['id']}.csv"
        realcases.write_csv(case, path)
        run = importers.import_run(path, source="csv").loaded.run
        for split in realcases.SPLITS:
            posted = series.get(split) or []
            if not posted:
                assert split not in run.curves or not run.curves[split].loss
                continue
            curve = run.curves[split]
            assert [float(v) for v in curve.loss] == [float(p[1]) for p in posted], case["id"]
            assert [float(s) for s in curve.step or []] == [float(p[0]) for p in posted]
        checked += 1
    assert checked >= 10


def test_the_run_file_carries_config_facts(tmp_path: Path) -> None:
    import lossexpert

    case = next(c for c in _cases() if c["id"].startswith("dsse-38604"))  # type: ignore[union-attr]
    path = tmp_path / "case.json"
    realcases.write_run(case, path)
    run = lossexpert.load_run(path).run
    assert run.config is not None
    assert run.config.loss == "bce"
    assert run.config.num_classes == 10
    assert run.curves["train"].loss[0] == pytest.approx(-55.0254)


def test_scores_do_not_fall_below_the_readme(outcomes: list[Any]) -> None:
    at = README.index("#### Real cases")
    stated = {m[0]: m for m in ROW.findall(README[at : at + 3000])}
    assert set(stated) == set(realcases.LEVELS)
    for level in realcases.LEVELS:
        rows = [o for o in outcomes if o.level == level]
        m = stated[level]
        assert int(m[3]) == len(rows), "README counts a different number of cases"
        assert sum(o.hit(1) for o in rows) >= int(m[2]), level
        assert sum(o.hit(3) for o in rows) >= int(m[5]), level
        assert sum(o.hit(3, any_label=True) for o in rows) >= int(m[8]), level
