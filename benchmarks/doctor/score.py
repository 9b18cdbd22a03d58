"""Score ``lossexpert.doctor`` on the generalisation suite (benchmarks/suite).

    python benchmarks/doctor/score.py [--mode recorded|own] [--subset ci|rest|all] [--budget 20]
                                      [--limit N] [--only FAULT] [--held-out rnn] [--json]

For every kept run of ``benchmarks/suite/manifest.json``, the case's objects are rebuilt
*before training* with ``benchmarks/suite/cases.py`` (``build(case)``: seeded, identical to
the ones that were trained) and handed to ``lossexpert.doctor``:

- ``--mode recorded`` (default): with ``run=`` the case's recording, so the probe facts join
  the curves and layer statistics (``run.doctor()`` after a watched training);
- ``--mode own``: without a recording; the doctor records a short run of its own.

Prints top-1 / top-3 over the faulty runs (the injected cause is the first finding, or the
root whose causal chain names it, counted the way ``benchmarks/suite/score.py`` counts and
reported apart / among the first three), false alarms over the healthy runs (any problem
reported), the passive ``diagnose()`` of the same recordings for comparison (recorded mode),
one row per family (the README table), and the median and maximum wall time per doctor call.
The ``--held-out`` families (default: the suite scorer's not looked at, rnn and tcn) are scored
apart and their runs are never printed by name. Needs torch and scikit-learn; one CPU thread.
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
    held_out: tuple[str, ...] | None = None,
    rows_to: str | None = None,
) -> dict[str, Any]:
    torch.set_num_threads(1)
    cases, suite_score = _suite()
    if held_out is None:
        held_out = held_out_families()
    if mode == "own":  # no recording needed: every case of the suite (or the CI third)
        entries = [
            {
                "case": {
                    "name": c.name,
                    "fault": c.fault,
                    "variant": c.variant,
                    "family": c.family,
                },
                "path": None,
            }
            for c in cases.cases()
            if subset == "all" or suite_score.in_ci_subset(c.name) == (subset == "ci")
        ]
    else:
        entries = suite_score.load_suite("all" if subset == "rest" else subset)
    if subset == "rest":  # the two thirds CI does not score: a check of what was designed on ci
        entries = [e for e in entries if not suite_score.in_ci_subset(e["case"]["name"])]
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
        # What the training loop calls: ``built.criterion`` is the bare loss module, which a
        # regression case wraps (``mse(out.squeeze(1), y)``); handing the module itself would
        # give the doctor a loss that broadcasts (N, 1) against (N,), a bug the run never had.
        crit = built.loss_fn
        t0 = time.perf_counter()
        try:
            d = lossexpert.doctor(
                built.model,
                built.optimizer,
                crit,
                built.train_loader,
                val_loader=built.val_loader,
                test_loader=built.test_loader,
                run=recording,
                budget_s=budget,
            )
        except Exception as exc:  # a crash is a miss, and is listed
            family = e["case"].get("family", "")
            rows.append(
                {
                    "name": name,
                    "fault": fault,
                    "family": family,
                    "error": f"{type(exc).__name__}: {exc}",
                }
            )
            if verbose and family not in held_out:
                print(f"{name:55s} ERROR {exc}", flush=True)
            continue
        seconds = time.perf_counter() - t0
        causes = [f.cause for f in d.findings]
        passive = None
        if recording is not None:
            p = lossexpert.diagnose(recording)
            passive = {
                "problems": bool(p.problems),
                "causes": [f.cause for f in p.findings],
                "explains": list(p.findings[0].explains) if p.findings else [],
            }
        row = {
            "name": name,
            "fault": fault,
            "family": e["case"].get("family", ""),
            "problems": bool(d.problems),
            "causes": causes[:3],
            "explains": list(d.findings[0].explains) if d.findings else [],
            "seconds": round(seconds, 3),
            "ran": [p.name for p in d.probes if p.status == "ran"],
            "failed": [f"{p.name}: {p.reason}" for p in d.probes if p.status == "failed"],
            # What each probe that ran measured, for reading the misses (--rows).
            "values": {p.name: p.values for p in d.probes if p.status == "ran"},
            "passive": passive,
        }
        rows.append(row)
        if verbose and row["family"] not in held_out:  # a held-out family is never read
            hit = first_hit(fault, causes, row["explains"])[0]
            mark = "ok " if (hit if fault != "none" else not d.problems) else "XX "
            pas = passive["causes"][:1] if passive else ""
            print(f"{mark}{name:55s} {seconds:5.1f}s doctor {causes[:3]} passive {pas}", flush=True)
    if rows_to is not None:  # the looked-at families' rows, for reading the misses
        seen = [r for r in rows if r.get("family", "") not in held_out]
        Path(rows_to).write_text(json.dumps(seen, indent=1))
    return _summary(rows, held_out)


def held_out_families() -> tuple[str, ...]:
    """The suite scorer's families not looked at while the rules were written (rnn, tcn)."""
    _, suite_score = _suite()
    looked = tuple(suite_score.LOOKED_AT)
    return tuple(f for f in suite_score.FAMILIES if f not in looked)


def first_hit(truth: str, causes: list[str], explains: list[str]) -> tuple[bool, bool]:
    """(top-1 hit, hit through the causal chain): the suite scorer's rule
    (``benchmarks/suite/score.py``, ``score()``): the first finding is the injected cause, or
    the root whose chain names it ("Activation function -> which led to vanishing
    gradients"); the second flag counts the chain hits apart."""
    top = causes[0] if causes else "none"
    via_chain = top != truth and bool(causes) and truth in explains
    return top == truth or via_chain, via_chain


def _tally(rows: list[dict[str, Any]], key: str, hide: tuple[str, ...] = ()) -> dict[str, Any]:
    """Counts over ``rows``; the misses and false alarms of the ``hide`` families are counted
    but not named (``withheld``)."""
    faulty = [r for r in rows if r["fault"] != "none"]
    healthy = [r for r in rows if r["fault"] == "none"]

    def src(r: dict[str, Any]) -> dict[str, Any] | None:
        if "error" in r:
            return None
        return r if key == "doctor" else r.get("passive")

    def causes(r: dict[str, Any]) -> list[str]:
        s = src(r)
        return list(s["causes"]) if s else []

    def hit(r: dict[str, Any]) -> tuple[bool, bool]:
        s = src(r)
        return first_hit(r["fault"], causes(r), list(s.get("explains", [])) if s else [])

    def alarm(r: dict[str, Any]) -> bool:
        if "error" in r:
            return True
        s = src(r)
        return bool(s and s["problems"])

    if key == "passive" and not any(r.get("passive") for r in rows):
        return {}
    missed = [r for r in faulty if not hit(r)[0]]
    alarmed = [r for r in healthy if alarm(r)]
    misses = [r for r in missed if r.get("family", "") not in hide]
    alarms = [r["name"] for r in alarmed if r.get("family", "") not in hide]
    return {
        "faulty": len(faulty),
        "top1": sum(1 for r in faulty if hit(r)[0]),
        "chain_top1": sum(1 for r in faulty if hit(r)[1]),
        "top3": sum(1 for r in faulty if r["fault"] in causes(r)[:3]),
        "healthy": len(healthy),
        "false_alarms": len(alarmed),
        "false_alarm_names": alarms,
        "misses": [f"{r['name']} -> {causes(r)[:1] or r.get('error', 'nothing')}" for r in misses],
        "confusion": Counter(f"{r['fault']} -> {(causes(r) or ['nothing'])[0]}" for r in misses),
        "withheld": len(missed) - len(misses) + len(alarmed) - len(alarms),
    }


def _summary(rows: list[dict[str, Any]], held_out: tuple[str, ...] = ()) -> dict[str, Any]:
    times = [r["seconds"] for r in rows if "seconds" in r]
    families = sorted({r.get("family", "") for r in rows}, key=_family_order)
    seen = [r for r in rows if r.get("family", "") not in held_out]
    return {
        "doctor": _tally(rows, "doctor", held_out),
        "passive": _tally(rows, "passive", held_out),
        "looked_at": {"doctor": _tally(seen, "doctor"), "passive": _tally(seen, "passive")},
        "families": {
            fam: {
                "held_out": fam in held_out,
                "doctor": _tally([r for r in rows if r.get("family") == fam], "doctor", held_out),
                "passive": _tally([r for r in rows if r.get("family") == fam], "passive", held_out),
            }
            for fam in families
        },
        "median_s": round(statistics.median(times), 3) if times else None,
        "max_s": round(max(times), 3) if times else None,
        "runs": len(rows),
        "errors": [
            r["name"] + ": " + r["error"]
            for r in rows
            if "error" in r and r.get("family", "") not in held_out
        ],
    }


def _family_order(fam: str) -> tuple[int, str]:
    order = ("mlp", "cnn", "resnet", "transformer", "regression", "rnn")
    return (order.index(fam) if fam in order else len(order), fam)


def _pct(a: int, b: int) -> str:
    return f"{100 * a / b:.0f}% ({a}/{b})" if b else "-"


def _cells(t: dict[str, Any]) -> str:
    if not t:
        return "- | - | -"
    return (
        f"{_pct(t['top1'], t['faulty'])} | {_pct(t['top3'], t['faulty'])} | "
        f"{t['false_alarms']} of {t['healthy']}"
    )


def table(out: dict[str, Any]) -> str:
    """The README table: doctor vs passive per family, the held-out family marked."""
    lines = [
        "| family | doctor top-1 | doctor top-3 | doctor false alarms "
        "| passive top-1 | passive top-3 | passive false alarms |",
        "|---|---|---|---|---|---|---|",
    ]
    for fam, t in out["families"].items():
        mark = " (held out)" if t["held_out"] else ""
        lines.append(f"| {fam}{mark} | {_cells(t['doctor'])} | {_cells(t['passive'])} |")
    lines.append(f"| **all** | {_cells(out['doctor'])} | {_cells(out['passive'])} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else "")
    ap.add_argument("--mode", choices=("recorded", "own"), default="recorded")
    ap.add_argument(
        "--subset",
        choices=("ci", "all", "rest"),
        default="ci",
        help="ci: the third CI scores; rest: the other two thirds; all: every kept run",
    )
    ap.add_argument("--budget", type=float, default=20.0)
    ap.add_argument("--limit", type=int)
    ap.add_argument("--variants", action="store_true", help="one case per fault variant")
    ap.add_argument("--only", help="one fault (plus the healthy runs)")
    ap.add_argument(
        "--held-out",
        help="families scored apart whose runs are never printed by name (default: the "
        "suite scorer's families not looked at, rnn and tcn)",
    )
    ap.add_argument("--rows", help="write the looked-at families' rows (JSON) to this file")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    held = (
        held_out_families()
        if args.held_out is None
        else tuple(f for f in args.held_out.split(",") if f)
    )
    out = score(
        args.mode,
        args.subset,
        args.budget,
        args.limit,
        args.only,
        not args.json,
        args.variants,
        held,
        args.rows,
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
            f"  (top-1 through the causal chain: {t['chain_top1']})"
        )
    if held:
        for key in ("doctor", "passive"):
            t = out["looked_at"][key]
            if t:
                print(
                    f"{key:8s} without {','.join(held)}: top-1 {_pct(t['top1'], t['faulty'])}"
                    f"  top-3 {_pct(t['top3'], t['faulty'])}"
                    f"  false alarms {_pct(t['false_alarms'], t['healthy'])}"
                )
    print(f"time per doctor call: median {out['median_s']} s, max {out['max_s']} s")
    print()
    print(table(out))
    t = out["looked_at"]["doctor"]
    if t["confusion"]:
        print(f"\ndoctor misses (truth -> top-1){' without ' + ','.join(held) if held else ''}:")
        for k, n in t["confusion"].most_common():
            print(f"  {n} x {k}")
    if t["false_alarm_names"]:
        print("doctor false alarms:", ", ".join(t["false_alarm_names"]))
    for e in out["errors"]:
        print("error:", e)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
