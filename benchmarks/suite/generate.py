"""Generate the generalisation suite: real training runs recorded by ``lossexpert.watch``.

    pip install -e '.[examples]'
    python benchmarks/suite/generate.py [--jobs 2] [--only PATTERN] [--family tcn] [--recheck]
    python benchmarks/suite/generate.py --check-cases

Writes ``benchmarks/suite/runs/<name>.json.gz`` (the run file ``watch`` wrote, converted to
``lossexpert.run/1`` and gzipped; floats rounded to 6 significant digits) and
``benchmarks/suite/manifest.json`` (every case's labels, measurements and whether it was
kept). The cases are listed in ``cases.py`` (see ``API.md``); every one has a fixed seed.
``--only`` takes a regular expression matched against case names, ``--family`` a
comma-separated list of model families (``--family tcn``: train only that family's runs and
merge them into the manifest); the manifest entries of the other cases are kept as they were
(the check below is re-applied to them: it reads only their stored measurements). Every run
trained (kept or not) is also cached under ``--cache`` (default: a folder in the system's
temp dir), so ``--recheck`` re-applies the labelling check below to the cache without
training again. ``--check-cases`` trains nothing: it compares every manifest entry's labels with
the case ``cases.py`` builds today under that name (a case added in the wrong place shifts the
rotation of optimizers, severities and data sets of the cases after it) and lists the cases not
generated yet.

The labelling check — a run must show the problem it is labelled with — uses measurements
taken outside lossexpert, compared with the *reference* run of the same family, data set
and seed (a plain, healthy Adam run):

* ``chance``: the loss of the best input-independent prediction (the entropy of the training
  labels for cross-entropy, mean p(1-p) over classes for MSE on one-hot targets, the target
  variance for regression). ``fit``: the training loss at the end, the larger of the median of
  the last 10 % of logged batch losses and the eval-mode loss on the whole training set.
* A train-loss fault shows when the loss became non-finite, or when its fit, as a fraction of
  its chance level, is nearer chance than the reference's: ``fit/chance >= r + 0.5 * (1 - r)``
  with ``r`` the reference's fit/chance — the fault took away at least half of what a working
  run of the same model learns. Halfway is the natural boundary between "learned" and "did
  not learn"; the reference runs' own fits sit at 0-42 % of chance (the diabetes regression
  is the high one: a third of its variance is noise), printed by this script. Fractions of
  chance, not raw losses, because a fault may change the loss (MSE instead of
  cross-entropy) or the labels' entropy (class imbalance).
* One exception, written down: ``loss_function`` runs with MSE on one-hot targets are kept
  whatever their curve does — the mismatch between task and loss is the fault, by
  construction, and such a run often trains (slowly) to a small MSE: it is the case the
  issue reports as called healthy.
* ``overfitting`` shows when training fits (not a train-loss problem by the rule above) and the
  last val loss is >= 1.25 x its minimum and the rise is >= 5 % of chance: a 25 % rise is
  outside the epoch-to-epoch noise of val on these sets, and a rise under 5 % of chance is a
  wobble at the bottom of a curve that has already learned nearly everything (the reference
  runs' val rises stay under both).
* ``distribution_shift``/``test_noise`` show when training fits, val does not rise 25 % and the
  last test loss is >= 1.5 x the last val loss and above it by >= 5 % of chance (val and test
  are i.i.d. splits of one set: on the reference runs they differ by less).
* A healthy run must pass all three: fits, val does not rise 25 %, test within 1.5 x val.

A run that fails its check is **dropped** (kept in the manifest with ``kept: false`` and the
reason, its file not written), never relabelled: a fault the model trains through is not a
faulty run, and a "healthy" run that does not look healthy is not a fair negative.
"""

from __future__ import annotations

import argparse
import gzip
import json
import math
import re
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(ROOT))

RUNS = HERE / "runs"
MANIFEST = HERE / "manifest.json"
TRAIN_PROBLEM_FRACTION = 0.5  # of the way from the reference fit to chance (see above)
VAL_RISE = 1.25
VAL_RISE_OF_CHANCE = 0.05
TEST_OVER_VAL = 1.5
VAL_TEST_FAULTS = ("overfitting", "distribution_shift", "test_noise")


def _round(obj: Any) -> Any:
    if isinstance(obj, float):
        return obj if not math.isfinite(obj) else float(f"{obj:.6g}")
    if isinstance(obj, dict):
        return {k: _round(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_round(v) for v in obj]
    return obj


def _chance(built: Any) -> float:
    d = built.data
    case = built.case
    y = d.y["train"]
    if d.task == "regression":
        return float(np.var(y))
    p = np.bincount(y, minlength=d.num_classes or 2) / len(y)
    if case.p("mse_onehot"):
        return float(np.mean(p * (1 - p)))
    nz = p[p > 0]
    return float(-(nz * np.log(nz)).sum())


def run_one(name: str) -> dict[str, Any]:
    import torch

    torch.set_num_threads(1)
    import cases

    import lossexpert

    case = cases.by_name(name)
    t0 = time.perf_counter()
    built = cases.build(case)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"{name}.jsonl"
        meta = cases.train(built, path)
        run = lossexpert.load_run(path).run.model_dump(mode="json", exclude_none=True)
    wall = time.perf_counter() - t0
    full = cases._loader(built.data.x["train"], built.data.y["train"], 512, False, 0)
    train_eval = cases.evaluate(built, full)
    losses = np.asarray(run["curves"]["train"]["loss"], dtype=float)
    tail = losses[-max(1, len(losses) // 10) :]
    nonfinite = bool(not np.isfinite(losses).all()) or meta["nonfinite_val"]
    fit = max(float(np.median(tail)), train_eval)
    val = [v for v in run["curves"].get("val", {}).get("loss", []) if v is not None]
    test = [v for v in run["curves"].get("test", {}).get("loss", []) if v is not None]
    measured = {
        "chance": _chance(built),
        "fit": fit if math.isfinite(fit) else None,
        "train_tail_median": float(np.median(tail)) if np.isfinite(tail).all() else None,
        "train_eval_end": train_eval if math.isfinite(train_eval) else None,
        "nonfinite": nonfinite,
        "val_end": val[-1] if val and math.isfinite(val[-1]) else None,
        "val_min": float(np.nanmin(val)) if val and np.isfinite(val).any() else None,
        "test_end": test[-1] if test and math.isfinite(test[-1]) else None,
        "steps": meta["steps"],
        "seconds": round(wall, 2),
    }
    return {"case": case.label(), "measured": _round(measured), "run": _round(run)}


def check(entry: dict[str, Any], ref: dict[str, Any] | None) -> tuple[bool, str]:
    """Does the run show the problem it is labelled with? (the rule is in the docstring)"""
    m, fault = entry["measured"], entry["case"]["fault"]
    if ref is None:
        return False, "no reference run of this family, data set and seed"
    r = ref["measured"]
    if r["fit"] is None:
        return False, "the reference run did not train"
    chance = m["chance"]
    ratio_ref = r["fit"] / r["chance"]
    bar = chance * (ratio_ref + TRAIN_PROBLEM_FRACTION * (1 - ratio_ref))
    train_problem = m["nonfinite"] or m["fit"] is None or m["fit"] >= bar
    fit = m["fit"]
    val_rises = (
        m["val_end"] is None
        or m["val_min"] is None
        or (
            m["val_end"] >= VAL_RISE * max(m["val_min"], 1e-12)
            and m["val_end"] - m["val_min"] >= VAL_RISE_OF_CHANCE * chance
        )
    )
    test_high = (
        m["test_end"] is None
        or m["val_end"] is None
        or (
            m["test_end"] >= TEST_OVER_VAL * max(m["val_end"], 1e-12)
            and m["test_end"] - m["val_end"] >= VAL_RISE_OF_CHANCE * chance
        )
    )
    what = f"fit {fit} vs bar {bar:.3g} (ref fit/chance {ratio_ref:.2f}, chance {chance:.3g})"
    if entry["case"].get("variant") == "mse_on_onehot":
        return True, f"kept by construction (MSE on one-hot targets): {what}"
    if fault == "none":
        if train_problem:
            return False, f"healthy run does not fit: {what}"
        if val_rises:
            return False, f"healthy run's val rises: {m['val_end']} vs min {m['val_min']}"
        if test_high:
            return False, f"healthy run's test is high: {m['test_end']} vs val {m['val_end']}"
        return True, "healthy"
    if fault not in VAL_TEST_FAULTS:
        return (True, f"shows: {what}") if train_problem else (False, f"trains through: {what}")
    if train_problem:
        return False, f"{fault} run has a train-loss problem: {what}"
    if fault == "overfitting":
        return (True, "val rises") if val_rises else (False, "val does not rise 25 %")
    if val_rises:
        return False, "val rises (overfitting), not a test-only problem"
    return (True, "test high") if test_high else (False, "test not 1.5x val")


def _ref_key(label: dict[str, Any]) -> tuple[str, str, int]:
    return label["family"], label["dataset"], label["seed"]


def check_cases() -> int:
    """The manifest's labels against today's ``cases.py``; returns the number of mismatches."""
    import cases

    current = {c.name: c for c in cases.cases()}
    old = json.loads(MANIFEST.read_text())["runs"] if MANIFEST.exists() else []
    bad = 0
    for e in old:
        name = e["case"]["name"]
        if name not in current:
            print(f"  gone: {name}")
            bad += 1
        elif json.loads(json.dumps(current[name].label())) != e["case"]:
            print(f"  changed: {name}")
            bad += 1
    recorded = {e["case"]["name"] for e in old}
    missing = [n for n in current if n not in recorded]
    print(
        f"{len(old)} manifest entries, {bad} differ from cases.py; "
        f"{len(missing)} of {len(current)} cases not generated yet"
    )
    return bad


def main() -> None:
    import cases

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--only", default=None, help="regular expression on case names")
    ap.add_argument("--family", default=None, help="comma-separated model families")
    ap.add_argument("--cache", type=Path, default=Path(tempfile.gettempdir()) / "lossexpert-suite")
    ap.add_argument("--recheck", action="store_true", help="re-apply the check to the cache")
    ap.add_argument(
        "--check-cases",
        action="store_true",
        help="compare the manifest with cases.py, train nothing",
    )
    args = ap.parse_args()
    if args.check_cases:
        sys.exit(1 if check_cases() else 0)
    families = set(args.family.split(",")) if args.family else None
    unknown = (families or set()) - set(cases.FAMILIES)
    if unknown:
        ap.error(f"unknown family: {', '.join(sorted(unknown))} (known: {cases.FAMILIES})")
    wanted = [
        c.name
        for c in cases.cases()
        if (not args.only or re.search(args.only, c.name))
        and (families is None or c.family in families)
    ]
    if args.recheck:
        wanted = []
    args.cache.mkdir(parents=True, exist_ok=True)
    RUNS.mkdir(parents=True, exist_ok=True)
    old = json.loads(MANIFEST.read_text()) if MANIFEST.exists() else {"runs": []}
    entries: dict[str, dict[str, Any]] = {e["case"]["name"]: e for e in old["runs"]}
    known = {c.name for c in cases.cases()}
    entries = {k: v for k, v in entries.items() if k in known}
    t0 = time.perf_counter()
    results: dict[str, dict[str, Any]] = {}
    with ProcessPoolExecutor(max_workers=max(1, args.jobs)) as pool:
        for i, res in enumerate(pool.map(run_one, wanted), 1):
            name = res["case"]["name"]
            results[name] = res
            raw = json.dumps(res["run"], separators=(",", ":")).encode()
            (args.cache / f"{name}.json.gz").write_bytes(gzip.compress(raw, 6, mtime=0))
            entries[name] = {"case": res["case"], "measured": res["measured"]}
            m = res["measured"]
            print(
                f"[{i}/{len(wanted)}] {name:60s} fit {m['fit']} chance {m['chance']:.3g} "
                f"{m['seconds']:.1f}s",
                flush=True,
            )
    elapsed = time.perf_counter() - t0
    refs = {_ref_key(e["case"]): e for e in entries.values() if e["case"]["variant"] == "reference"}
    kept = 0
    for name, e in entries.items():
        ok, why = check(e, refs.get(_ref_key(e["case"])))
        e["kept"], e["check"] = ok, why
        e["file"] = f"runs/{name}.json.gz" if ok else None
        target = RUNS / f"{name}.json.gz"
        cached = args.cache / f"{name}.json.gz"
        if ok and (name in results or args.recheck) and cached.exists():
            raw = gzip.decompress(cached.read_bytes())
            target.write_bytes(gzip.compress(raw, compresslevel=9, mtime=0))
        elif not ok:
            target.unlink(missing_ok=True)
        kept += ok
    order = [c.name for c in cases.cases() if c.name in entries]
    MANIFEST.write_text(
        json.dumps(
            {
                "format": "lossexpert.suite/1",
                "rule": "see benchmarks/suite/generate.py: a run that does not show its label "
                "is dropped (kept: false), never relabelled",
                "runs": [entries[n] for n in order],
            },
            indent=1,
        )
        + "\n"
    )
    fits = [
        e["measured"]["fit"] / e["measured"]["chance"]
        for e in refs.values()
        if e["measured"]["fit"] is not None
    ]
    cpu = sum(e["measured"]["seconds"] for n, e in entries.items() if n in results)
    print(
        f"{len(results)} runs trained in {elapsed:.0f} s wall ({cpu:.0f} s of training, "
        f"{args.jobs} jobs); {kept} of {len(entries)} kept; reference fit/chance "
        f"{min(fits, default=math.nan):.2f}-{max(fits, default=math.nan):.2f}"
    )
    for name, e in entries.items():
        if not e["kept"]:
            print(f"  dropped {name}: {e['check']}")


if __name__ == "__main__":
    main()
