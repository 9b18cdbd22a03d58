"""Score lossexpert's diagnoses on the labelled suite in benchmarks/diagnosis/runs/.

    python benchmarks/diagnosis/score.py [--half test|tune|all] [--confusion] [--json]

For three levels of information — everything the collector records (``all``); curves plus
config (``curves+config``); curves only (``curves``) — prints top-1 and top-3 accuracy over
the faulty runs, the false-alarm rate over the healthy runs (a healthy run with any problem
reported), and per-cause precision and recall of the top-1 cause; ``--confusion`` adds the
confusion table (truth -> top-1 prediction) at the ``all`` level.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
import lossexpert  # noqa: E402

# The suite: the runs generated for it, plus the bundled examples (their scenarios are the
# rest of the tuning half; examples/make_examples.py writes them).
RUN_DIRS = (Path(__file__).parent / "runs", ROOT / "examples" / "runs")
LEVELS: dict[str, tuple[str, ...]] = {
    "all": ("curves", "config", "layers", "data"),
    "curves+config": ("curves", "config"),
    "curves": ("curves",),
}


@dataclass
class Score:
    level: str
    faulty: int = 0
    top1: int = 0
    top3: int = 0
    healthy: int = 0
    alarms: int = 0
    pairs: list[tuple[str, str]] = field(default_factory=list)  # (truth, top-1 prediction)

    def row(self) -> dict[str, Any]:
        return {
            "level": self.level,
            "faulty": self.faulty,
            "top1": self.top1 / self.faulty if self.faulty else 0.0,
            "top3": self.top3 / self.faulty if self.faulty else 0.0,
            "healthy": self.healthy,
            "false_alarm": self.alarms / self.healthy if self.healthy else 0.0,
        }

    def per_cause(self) -> dict[str, tuple[float, float, int]]:
        """cause -> (precision, recall, support) of the top-1 prediction."""
        truths = Counter(t for t, _ in self.pairs if t != "none")
        predicted = Counter(p for _, p in self.pairs if p != "none")
        hits = Counter(t for t, p in self.pairs if t == p and t != "none")
        out = {}
        for cause in sorted(set(truths) | set(predicted)):
            precision = hits[cause] / predicted[cause] if predicted[cause] else 0.0
            recall = hits[cause] / truths[cause] if truths[cause] else 0.0
            out[cause] = (precision, recall, truths[cause])
        return out


def load_suite(half: str) -> list[tuple[Path, str, str]]:
    suite = []
    for path in sorted(p for folder in RUN_DIRS for p in folder.glob("*.json")):
        tags = json.loads(path.read_text())["run"]["tags"]
        run_half = tags.get("half", "tune")  # the bundled examples were used for tuning
        if half in ("all", run_half):
            suite.append((path, tags["injected_cause"], run_half))
    return suite


def score(half: str) -> dict[str, Score]:
    suite = load_suite(half)
    scores = {level: Score(level) for level in LEVELS}
    for path, truth, _ in suite:
        run = lossexpert.load_run(path)
        for level, evidence in LEVELS.items():
            d = lossexpert.diagnose(run, evidence=evidence)
            causes = [f.cause for f in d.findings]
            s = scores[level]
            if truth == "none":
                s.healthy += 1
                s.alarms += 0 if d.healthy else 1
                s.pairs.append(("none", causes[0] if causes else "none"))
            else:
                s.faulty += 1
                # As benchmarks/suite/score.py counts it: the injected cause first, or the
                # root whose causal chain names it ("weight init -> exploding gradients").
                chain = d.findings[0].explains if d.findings else []
                s.top1 += int(bool(causes) and (causes[0] == truth or truth in chain))
                s.top3 += int(truth in causes[:3])
                s.pairs.append((truth, causes[0] if causes else "none"))
    return scores


def markdown(scores: dict[str, Score], half: str, confusion: bool) -> str:
    lines = [
        f"Suite half: {half} ({scores['all'].faulty} faulty runs, "
        f"{scores['all'].healthy} healthy runs)",
        "",
        "| information | top-1 | top-3 | false alarms (healthy) |",
        "|---|---|---|---|",
    ]
    for s in scores.values():
        r = s.row()
        lines.append(
            f"| {r['level']} | {r['top1']:.0%} ({s.top1}/{s.faulty}) | "
            f"{r['top3']:.0%} ({s.top3}/{s.faulty}) | "
            f"{r['false_alarm']:.0%} ({s.alarms}/{s.healthy}) |"
        )
    lines += [
        "",
        "Per cause, top-1, all information:",
        "",
        "| cause | precision | recall | runs |",
        "|---|---|---|---|",
    ]
    for cause, (p, r, n) in scores["all"].per_cause().items():
        lines.append(f"| {cause} | {p:.2f} | {r:.2f} | {n} |")
    if confusion:
        table: dict[str, Counter[str]] = defaultdict(Counter)
        for truth, predicted in scores["all"].pairs:
            table[truth][predicted] += 1
        lines += ["", "Confusion (truth -> top-1 prediction), all information:", ""]
        for truth in sorted(table):
            row = ", ".join(f"{p} x{n}" for p, n in table[truth].most_common())
            lines.append(f"- {truth}: {row}")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--half", choices=("test", "tune", "all"), default="test")
    parser.add_argument("--confusion", action="store_true")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    scores = score(args.half)
    if args.json:
        print(json.dumps({lvl: s.row() for lvl, s in scores.items()}, indent=2))
    else:
        print(markdown(scores, args.half, args.confusion))


if __name__ == "__main__":
    main()
