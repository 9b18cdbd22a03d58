"""The committed benchmark figures: the scorer must not fall below what the README states."""

from __future__ import annotations

import re
import sys

import pytest

from tests.conftest import ROOT

sys.path.insert(0, str(ROOT / "benchmarks" / "diagnosis"))
import score

README = (ROOT / "README.md").read_text(encoding="utf-8")
ROW = re.compile(
    r"^\| (all|curves\+config|curves) \| (\d+)% \(\d+/\d+\) \| (\d+)% \(\d+/\d+\) "
    r"\| (\d+)% \(\d+/\d+\) \|$",
    re.M,
)


def readme_figures(half: str) -> dict[str, tuple[int, int, int]]:
    test_at, tune_at = README.index("Held-out (`test`) half:"), README.index("Tuning half,")
    block = README[test_at:tune_at] if half == "test" else README[tune_at : tune_at + 600]
    return {m[0]: (int(m[1]), int(m[2]), int(m[3])) for m in ROW.findall(block)}


@pytest.mark.parametrize("half", ["test", "tune"])
def test_scores_do_not_fall_below_the_readme(half: str) -> None:
    stated = readme_figures(half)
    assert set(stated) == set(score.LEVELS)
    for level, s in score.score(half).items():
        row = s.row()
        top1, top3, alarms = stated[level]
        assert round(100 * row["top1"]) >= top1, (half, level, row)
        assert round(100 * row["top3"]) >= top3, (half, level, row)
        assert round(100 * row["false_alarm"]) <= alarms, (half, level, row)


def test_suite_shape() -> None:
    suite = score.load_suite("all")
    causes = [cause for _, cause, _ in suite if cause != "none"]
    assert sum(1 for _, cause, _ in suite if cause == "none") >= 10
    assert all(causes.count(c) >= 2 for c in set(causes))
    assert {half for _, _, half in suite} == {"tune", "test"}
