"""Score lossexpert on the real cases of ../shared/realcases/cases.json, through the CLI.

    python benchmarks/realcases/score.py [--cases PATH] [--json] [--keep DIR]

Two levels, each run as a user would run it (``lossexpert explain FOLDER --many``, the CLI's
batch mode, in a subprocess: the same diagnosis as ``explain FILE --format json``, one JSON line
per file; the files are written to a temporary folder, never into the repository):

* ``curves``: the posted numbers as a wide CSV table (``step,epoch,train_loss,val_loss,
  test_loss``; a blank cell where a split has no value at that x), read by the CSV importer
  (``--from csv``);
* ``curves+config``: the same numbers plus the case's ``config_facts`` as a run file
  (``lossexpert.run/1``).

A case counts as a top-k hit when the confirmed cause (the first of ``cause_ids``) is among
the first k findings; a second column counts any cause the case lists. A case the CLI cannot
read (its error for that file: too few points for the format, say), or that it calls
healthy, is a miss and is listed with the reason. Nothing is dropped.
"""

from __future__ import annotations

import argparse
import csv
import json
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
CASES = ROOT.parent / "shared" / "realcases" / "cases.json"
LEVELS = ("curves", "curves+config")
SPLITS = ("train", "val", "test")


@dataclass
class Outcome:
    case: str
    level: str
    truth: list[str]
    causes: list[str] = field(default_factory=list)  # ranked findings
    exit_code: int = 0
    error: str = ""
    healthy: bool = False

    def hit(self, k: int, any_label: bool = False) -> bool:
        wanted = self.truth if any_label else self.truth[:1]
        return any(c in wanted for c in self.causes[:k])

    def why(self) -> str:
        if self.exit_code:
            return f"exit {self.exit_code}: {self.error}"
        if not self.causes:
            return "no finding (healthy)" if self.healthy else "no finding (inconclusive)"
        return f"got {', '.join(self.causes[:3])}"


def _command() -> list[str]:
    exe = shutil.which("lossexpert")
    if exe:
        return [exe]
    return [sys.executable, "-c", "from lossexpert.cli import main; main()"]


def write_csv(case: dict[str, Any], path: Path) -> None:
    series = case["series"]
    xs = sorted({p[0] for s in SPLITS for p in series.get(s, [])})
    by_split = {s: {p[0]: p[1] for p in series.get(s, [])} for s in SPLITS}
    present = [s for s in SPLITS if series.get(s)]
    epoch = series.get("x_unit") == "epoch"
    with path.open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["step", *(["epoch"] if epoch else []), *(f"{s}_loss" for s in present)])
        for x in xs:
            vals = [by_split[s].get(x, "") for s in present]
            w.writerow([x, *([x] if epoch else []), *vals])


def write_run(case: dict[str, Any], path: Path) -> None:
    series = case["series"]
    curves: dict[str, Any] = {}
    for s in SPLITS:
        points = series.get(s) or []
        if not points:
            continue
        curve: dict[str, Any] = {
            "step": [p[0] for p in points],
            "loss": [p[1] for p in points],
        }
        if series.get("x_unit") == "epoch":
            curve["epoch"] = [p[0] for p in points]
        curves[s] = curve
    run = {
        "format": "lossexpert.run/1",
        "run": {"name": case["id"], "framework": case.get("framework", "")},
        "config": case.get("config_facts", {}),
        "curves": curves,
    }
    path.write_text(json.dumps(run, indent=1))


def explain_many(pattern: Path, extra: list[str]) -> dict[str, dict[str, Any]]:
    """``lossexpert explain 'DIR/*.csv' --many``: one JSON line per file, keyed by stem."""
    out_path = pattern.parent.with_suffix(".diagnoses.jsonl")
    cmd = [*_command(), "explain", str(pattern), "--many", "--jobs", "1", "-o", str(out_path)]
    proc = subprocess.run(
        [*cmd, *extra],
        capture_output=True,
        text=True,
        timeout=600,
    )
    if not out_path.exists():
        tail = (proc.stderr.strip().splitlines() or [""])[-1]
        raise RuntimeError(
            f"lossexpert explain --many wrote nothing (exit {proc.returncode}): {tail}"
        )
    lines = [json.loads(line) for line in out_path.read_text().splitlines() if line.strip()]
    return {Path(r["path"]).stem: r for r in lines}


def score(cases_path: Path = CASES, keep: Path | None = None) -> list[Outcome]:
    cases = json.loads(cases_path.read_text())
    out: list[Outcome] = []
    with tempfile.TemporaryDirectory() as tmp:
        base = keep or Path(tmp)
        results: dict[str, dict[str, dict[str, Any]]] = {}
        for level in LEVELS:
            folder = base / level.replace("+", "_")
            folder.mkdir(parents=True, exist_ok=True)
            for case in cases:
                if level == "curves":
                    write_csv(case, folder / f"{case['id']}.csv")
                else:
                    write_run(case, folder / f"{case['id']}.json")
            if level == "curves":
                results[level] = explain_many(folder / "*.csv", ["--from", "csv"])
            else:
                results[level] = explain_many(folder / "*.json", [])
        for case in cases:
            for level in LEVELS:
                o = Outcome(case["id"], level, list(case["cause_ids"]))
                r = results[level].get(case["id"])
                if r is None:
                    o.exit_code, o.error = 2, "no result"
                elif not r["ok"]:
                    # LE1xx: input the CLI refuses (exit 2); LE000: an internal error (exit 3)
                    o.exit_code = 3 if r.get("code") == "LE000" else 2
                    o.error = f"{r.get('code')}: {r.get('error')}"
                else:
                    d = r["diagnosis"]
                    o.causes = [f["cause"] for f in d["findings"]]
                    o.healthy = bool(d["healthy"])
                out.append(o)
    return out


def report(outcomes: list[Outcome]) -> str:
    lines = [
        "| information | top-1 | top-3 | top-3, any listed cause | not read |",
        "|---|---|---|---|---|",
    ]
    for level in LEVELS:
        rows = [o for o in outcomes if o.level == level]
        n = len(rows)
        t1 = sum(o.hit(1) for o in rows)
        t3 = sum(o.hit(3) for o in rows)
        t3a = sum(o.hit(3, any_label=True) for o in rows)
        unread = sum(o.exit_code != 0 for o in rows)
        lines.append(
            f"| {level} | {t1 / n:.0%} ({t1}/{n}) | {t3 / n:.0%} ({t3}/{n}) | "
            f"{t3a / n:.0%} ({t3a}/{n}) | {unread} |"
        )
    for level in LEVELS:
        misses = [o for o in outcomes if o.level == level and not o.hit(1)]
        lines += ["", f"Top-1 misses ({level}, {len(misses)}; [top-3] marks a top-3 hit):"]
        lines += [
            f"- {o.case}: {o.truth[0]} -> {o.why()}" + (" [top-3]" if o.hit(3) else "")
            for o in misses
        ]
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cases", type=Path, default=CASES)
    ap.add_argument("--keep", type=Path, default=None, help="write the files here, and keep them")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    if not args.cases.exists():
        print(
            f"{args.cases}: not found (the real cases live in ../shared/realcases)", file=sys.stderr
        )
        raise SystemExit(2)
    outcomes = score(args.cases, args.keep)
    if args.json:
        print(json.dumps([o.__dict__ for o in outcomes], indent=1))
    else:
        print(report(outcomes))


if __name__ == "__main__":
    main()
