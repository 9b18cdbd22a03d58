"""Score ``lossexpert.doctor`` on the generalisation suite (benchmarks/suite).

    python benchmarks/doctor/score.py [--mode recorded|own] [--subset ci|all] [--budget 20]
                                      [--limit N] [--only FAULT] [--json]

For every kept run of ``benchmarks/suite/manifest.json``, the case's objects are rebuilt
*before training* with ``benchmarks/suite/cases.py`` (``build(case)``: seeded, identical to
the ones that were trained) and handed to ``lossexpert.doctor``:

- ``--mode recorded`` (default): with ``run=`` the case's recording, so the probe facts join
  the curves and layer statistics (``run.doctor()`` after a watched training);
- ``--mode own``: without a recording; the doctor records a short run of its own.

Prints top-1 / top-3 over the faulty runs (the injected cause is the first finding / among
the first three), false alarms over the healthy runs (any problem reported), the passive
``diagnose()`` of the same recordings for comparison (recorded mode), and the median and
maximum wall time per doctor call. Needs torch and scikit-learn; one CPU thread.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import torch

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
SUITE = ROOT / "benchmarks" / "suite"
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(SUITE))

import lossexpert  # noqa: E402


def _suite() -> tuple[Any, Any]:
    import cases  # type: ignore[import-not-found]
    import score as suite_score  # type: ignore[import-not-found]

    return cases, suite_score


def score(
    mode: str = "recorded",
    subset: str = "ci",
    budget: float = 20.0,
    limit: int | None = None,
    only: str | None = None,
    verbose: bool = True,
    variants: bool = False,
) -> dict[str, Any]:
    torch.set_num_threads(1)
    cases, suite_score = _suite()
    if mode == "own":  # no recording needed: every case of the suite (or the CI third)
        entries = [
            {"case": {"name": c.name, "fault": c.fault, "variant": c.variant}, "path": None}
            for c in cases.cases()
            if subset == "all" or suite_score.in_ci_subset(c.name)
        ]
    else:
        entries = suite_score.load_suite(subset)
    if only:
        entries = [e for e in entries if e["case"]["fault"] in (only, "none")]
    if variants:  # one case per (fault, variant): a quick look across every kind of fault
        seen: set[tuple[str, str]] = set()
        keep = []
        for e in entries:
            key = (e["case"]["fault"], e["case"].get("variant", ""))
            if key not in seen:
                seen.add(key)
                keep.append(e)
        entries = keep
    if limit:
        entries = entries[:limit]
    rows = []
    for e in entries:
        name, fault = e["case"]["name"], e["case"]["fault"]
        built = cases.build(cases.by_name(name))
        recording = suite_score.read_run(e["path"]) if mode == "recorded" else None
        crit = built.criterion if built.criterion is not None else built.loss_fn
        t0 = time.perf_counter()
        try:
            d = lossexpert.doctor(
                built.model,
                built.optimizer,
                crit,
                built.train_loader,
                val_loader=built.val_loader,
                run=recording,
                budget_s=budget,
            )
        except Exception as exc:  # a crash is a miss, and is listed
            rows.append({"name": name, "fault": fault, "error": f"{type(exc).__name__}: {exc}"})
            if verbose:
                print(f"{name:55s} ERROR {exc}", flush=True)
            continue
        seconds = time.perf_counter() - t0
        causes = [f.cause for f in d.findings]
        passive = None
        if recording is not None:
            p = lossexpert.diagnose(recording)
            passive = {"problems": bool(p.problems), "causes": [f.cause for f in p.findings]}
        row = {
            "name": name,
            "fault": fault,
            "problems": bool(d.problems),
            "causes": causes[:3],
            "seconds": round(seconds, 3),
            "ran": [p.name for p in d.probes if p.status == "ran"],
            "failed": [f"{p.name}: {p.reason}" for p in d.probes if p.status == "failed"],
            "passive": passive,
        }
        rows.append(row)
        if verbose:
            mark = (
                "ok " if (causes[:1] == [fault] or (fault == "none" and not d.problems)) else "XX "
            )
            pas = passive["causes"][:1] if passive else ""
            print(f"{mark}{name:55s} {seconds:5.1f}s doctor {causes[:3]} passive {pas}", flush=True)
    return _summary(rows)


def _summary(rows: list[dict[str, Any]]) -> dict[str, Any]:
    def tally(key: str) -> dict[str, Any]:
        faulty = [r for r in rows if r["fault"] != "none"]
        healthy = [r for r in rows if r["fault"] == "none"]

        def causes(r: dict[str, Any]) -> list[str]:
            if "error" in r:
                return []
            src = r if key == "doctor" else r.get("passive")
            return list(src["causes"]) if src else []

        def alarm(r: dict[str, Any]) -> bool:
            if "error" in r:
                return True
            src = r if key == "doctor" else r.get("passive")
            return bool(src and src["problems"])

        if key == "passive" and not any(r.get("passive") for r in rows):
            return {}
        top1 = sum(1 for r in faulty if causes(r)[:1] == [r["fault"]])
        top3 = sum(1 for r in faulty if r["fault"] in causes(r)[:3])
        alarms = [r["name"] for r in healthy if alarm(r)]
        return {
            "faulty": len(faulty),
            "top1": top1,
            "top3": top3,
            "healthy": len(healthy),
            "false_alarms": len(alarms),
            "false_alarm_names": alarms,
            "misses": [
                f"{r['name']} -> {causes(r)[:1] or r.get('error', 'nothing')}"
                for r in faulty
                if causes(r)[:1] != [r["fault"]]
            ],
            "confusion": Counter(
                f"{r['fault']} -> {(causes(r) or ['nothing'])[0]}"
                for r in faulty
                if causes(r)[:1] != [r["fault"]]
            ),
        }

    times = [r["seconds"] for r in rows if "seconds" in r]
    return {
        "doctor": tally("doctor"),
        "passive": tally("passive"),
        "median_s": round(statistics.median(times), 3) if times else None,
        "max_s": round(max(times), 3) if times else None,
        "runs": len(rows),
        "errors": [r["name"] + ": " + r["error"] for r in rows if "error" in r],
    }


def _pct(a: int, b: int) -> str:
    return f"{100 * a / b:.0f}% ({a}/{b})" if b else "-"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else "")
    ap.add_argument("--mode", choices=("recorded", "own"), default="recorded")
    ap.add_argument("--subset", choices=("ci", "all"), default="ci")
    ap.add_argument("--budget", type=float, default=20.0)
    ap.add_argument("--limit", type=int)
    ap.add_argument("--variants", action="store_true", help="one case per fault variant")
    ap.add_argument("--only", help="one fault (plus the healthy runs)")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    out = score(
        args.mode,
        args.subset,
        args.budget,
        args.limit,
        args.only,
        not args.json,
        args.variants,
    )
    if args.json:
        print(json.dumps(out, indent=2, default=dict))
        return 0
    print()
    for key in ("doctor", "passive"):
        t = out[key]
        if not t:
            continue
        print(
            f"{key:8s} top-1 {_pct(t['top1'], t['faulty'])}  top-3 {_pct(t['top3'], t['faulty'])}"
            f"  false alarms {_pct(t['false_alarms'], t['healthy'])}"
        )
    print(f"time per doctor call: median {out['median_s']} s, max {out['max_s']} s")
    t = out["doctor"]
    if t["confusion"]:
        print("doctor misses (truth -> top-1):")
        for k, n in t["confusion"].most_common():
            print(f"  {n} x {k}")
    if t["false_alarm_names"]:
        print("doctor false alarms:", ", ".join(t["false_alarm_names"]))
    for e in out["errors"]:
        print("error:", e)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
